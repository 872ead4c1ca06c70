"""Problems are data, not exceptions.

Every problem xlflow finds in a user's file has a stable ``code`` (registered
once, with its severity and a Russian message template that says what to do),
a position (file, sheet, A1 cell) and the parameters that fill the template.
A :class:`Report` collects all problems of a run (never stopping at the first)
and renders them as text or JSON; the exit code follows from it.

Each area of xlflow registers its own codes with :func:`register` at import
time (reading, safety, validation rules, consolidation), so the catalogue has
one entry per code and ``all_codes()`` lists them for the documentation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Iterator

ERROR = "error"
WARNING = "warning"

_SEVERITY_RU = {ERROR: "ошибка", WARNING: "предупреждение"}


@dataclass(frozen=True)
class CodeInfo:
    code: str
    severity: str
    template: str  # Russian, str.format fields from Problem.params
    title: str = ""  # short English description for developers


_CODES: dict[str, CodeInfo] = {}


def register(code: str, severity: str, template: str, title: str = "") -> str:
    """Register a problem code; returns the code so modules can keep a constant.

    Registering the same code twice with a different template is a programming
    error (codes are stable identifiers)."""
    if severity not in (ERROR, WARNING):
        raise ValueError(severity)
    info = CodeInfo(code, severity, template, title)
    old = _CODES.get(code)
    if old is not None and old != info:
        raise ValueError(f"problem code {code!r} registered twice with different texts")
    _CODES[code] = info
    return code


def code_info(code: str) -> CodeInfo:
    return _CODES[code]


def all_codes() -> list[CodeInfo]:
    return sorted(_CODES.values(), key=lambda c: c.code)


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass
class Problem:
    code: str
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    severity: str = ""  # filled from the registry when empty

    def __post_init__(self) -> None:
        if self.code not in _CODES:
            raise KeyError(f"unregistered problem code {self.code!r}")
        if not self.severity:
            self.severity = _CODES[self.code].severity

    @property
    def message(self) -> str:
        return _CODES[self.code].template.format_map(_SafeDict(self.params))

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def where(self) -> str:
        """Human position: «файл, лист «X», ячейка B7»."""
        parts = []
        if self.file:
            parts.append(f"файл {self.file}")
        if self.sheet:
            parts.append(f"лист «{self.sheet}»")
        if self.cell:
            parts.append(f"ячейка {self.cell}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message,
            "params": {k: _jsonable(v) for k, v in self.params.items()},
        }

    def sort_key(self) -> tuple:
        return (self.file or "", _sheet_rank(self.sheet), _cell_key(self.cell), self.code)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return str(v)


@lru_cache(maxsize=1)
def _sheet_order() -> dict[str, int]:
    from xlflow.layout import load_layout

    return {sheet.name: i for i, sheet in enumerate(load_layout().sheets)}


def _sheet_rank(sheet: str | None) -> tuple:
    """Whole-file problems first, then sheets in workbook order, then others by name."""
    if not sheet:
        return (0, 0, "")
    order = _sheet_order()
    return (1, order.get(sheet, len(order)), sheet)


def _cell_key(cell: str | None) -> tuple:
    if not cell:
        return (0, 0)
    letters = "".join(ch for ch in cell if ch.isalpha())
    digits = "".join(ch for ch in cell if ch.isdigit())
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return (int(digits or 0), n)


@dataclass
class Report:
    """All problems of one run, over one or many files."""

    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(sorted(self.problems, key=Problem.sort_key))

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unreadable

    def exit_code(self) -> int:
        """0 valid, 1 problems found, 2 some file could not be read at all."""
        if self.unreadable:
            return 2
        return 0 if not self.errors else 1

    def for_file(self, file: str) -> list[Problem]:
        return [p for p in self if p.file == file]

    def to_text(self) -> str:
        lines = []
        for p in self:
            where = p.where()
            lines.append(f"[{_SEVERITY_RU[p.severity]}] {p.code}: {where}: {p.message}")
        n_err, n_warn = len(self.errors), len(self.warnings)
        nfiles = len(self.files) or len({p.file for p in self.problems})
        if not self.problems:
            lines.append(f"Проверено файлов: {nfiles}. Ошибок не найдено.")
        else:
            lines.append(f"Проверено файлов: {nfiles}. Ошибок: {n_err}, предупреждений: {n_warn}.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "files": list(self.files),
            "unreadable": sorted(self.unreadable),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
