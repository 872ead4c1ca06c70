"""`xlflow merge`: school summaries -> the municipal workbook.

Steps: find the input files (files or folders, recursive); read each one as a
school summary (workbook with the hidden ``_xlflow`` payload, or its ``.json``
copy) and refuse anything else with a registered Russian reason; keep one
collection per school (identity = school code; the newest ``created`` /
``as_of`` wins, the content hash breaks ties; the workbook and the JSON of the
same collection count once); compute the municipal figures; write the workbook,
``<name>.json`` and CSV tables atomically. Every file ends up in the «Файлы»
sheet with its status.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from xlflow import __version__
from xlflow.consolidate import export
from xlflow.consolidate.merge_inputs import Found, Skipped, discover
from xlflow.consolidate.municipal_stats import (
    NAMES_NONE, NAMES_PLAIN, NAMES_PSEUDONYMS, SchoolFigures, municipal_figures,
    municipal_layout, ru_timestamp, school_figures_from_summary,
)
from xlflow.consolidate.municipal_writer import output_paths, write_municipal
from xlflow.consolidate.pseudonym import pseudonymizer
from xlflow.errors import ReadError, XlflowError
from xlflow.fileio import same_file
from xlflow.problems import ERROR, WARNING, Problem, Report, register

MUNICIPAL_TEMPLATE_ID = "xlflow-municipal-summary"
PROGRAMME_TEMPLATE_ID = "xlflow-programme"

NOT_SUMMARY = register(
    "merge-not-summary", ERROR,
    "Файл не является сводкой школы ({found}). Пришлите сводку, созданную командой "
    "«xlflow collect»: книгу сводки (.xlsx) или её копию .json.",
    "input is not a school summary")
PROGRAMME_WORKBOOK = register(
    "merge-programme-workbook", ERROR,
    "Это книга программы наставничества, а не сводка школы. Сначала соберите книги школы "
    "командой «xlflow collect», затем объединяйте полученные сводки.",
    "input is a programme workbook, not a summary")
UNREADABLE = register(
    "merge-unreadable", ERROR,
    "Файл не удалось прочитать: {reason}. Попросите школу прислать сводку заново "
    "(книгу сводки или её копию .json).",
    "input cannot be opened at all")
UNKNOWN_VERSION = register(
    "merge-unknown-version", ERROR,
    "Сводка школы записана в формате версии {found}, а эта версия xlflow читает сводки версий "
    "{supported}. {advice}",
    "school summary of a version this xlflow cannot read")
NO_SCHOOL_CODE = register(
    "merge-no-school-code", ERROR,
    "В сводке не указан код школы, поэтому её нельзя сопоставить с другими сводками. "
    "Попросите школу указать код организации в книге куратора и пересобрать сводку.",
    "school summary without a school code")
INVALID_SUMMARY = register(
    "merge-invalid-summary", ERROR,
    "Сводка школы не соответствует формату ({reason}). Попросите школу пересобрать её "
    "командой «xlflow collect», не изменяя файл вручную.",
    "school summary payload does not match its schema")
REPLACED = register(
    "merge-replaced", WARNING,
    "Сводка школы {school_code} от {created} заменена более новой сводкой от {newer_created} "
    "(файл {newer_file}): учтена только более новая.{note}",
    "older collection of a school replaced by a newer one")
DUPLICATE = register(
    "merge-duplicate", WARNING,
    "Это та же сводка школы {school_code}, что и в файле {kept_file} (книга и её копия .json "
    "или повторная отправка): учтена один раз.",
    "same collection given twice")
MUNICIPAL_INPUT = register(
    "merge-municipal-input", WARNING,
    "Это муниципальная сводка (результат «xlflow merge»), а не сводка школы: она пропущена, "
    "чтобы не учесть школы дважды.",
    "a municipal summary given as input is skipped")

ACCEPTED, REPLACED_STATUS, DUPLICATE_STATUS, REJECTED, SKIPPED = (
    "accepted", "replaced", "duplicate", "rejected", "skipped")


@dataclass
class FileEntry:
    """One input file and what became of it (a row of the «Файлы» sheet)."""

    file: str
    status: str
    school_code: str = ""
    collected: str = ""
    reason: str = ""
    problem: Problem | None = None

    def to_dict(self) -> dict:
        return {"file": self.file, "status": self.status, "school_code": self.school_code,
                "collected": self.collected, "reason": self.reason}


@dataclass
class Candidate:
    """A readable school summary, before choosing one collection per school."""

    found: Found
    payload: dict
    figures: SchoolFigures
    digest: str

    @property
    def identity(self) -> str:
        return self.figures.school_code.casefold()

    def rank(self) -> tuple:
        """Newest first when sorted descending: created, as_of, then content hash."""
        return (self.payload.get("created") or "", self.payload.get("as_of") or "", self.digest)


@dataclass
class MergeResult:
    exit_code: int
    files: list[FileEntry]
    report: Report
    outputs: dict[str, Path] = field(default_factory=dict)
    document: dict | None = None

    @property
    def schools(self) -> int:
        return len(self.document["figures"]["schools"]) if self.document else 0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def problem_lines(self) -> list[str]:
        """One Russian line per file that was not simply accepted."""
        severity = {ERROR: "ошибка", WARNING: "предупреждение"}
        return [f"[{severity[p.severity]}] {p.file}: {p.message}" for p in self.report]

    def text(self) -> str:
        """Short Russian summary of the run."""
        lines = [f"Файлов: {len(self.files)}; принято сводок школ: {self.count(ACCEPTED)}, "
                 f"заменено более новыми: {self.count(REPLACED_STATUS)}, "
                 f"повторов: {self.count(DUPLICATE_STATUS)}, отклонено: {self.count(REJECTED)}, "
                 f"пропущено: {self.count(SKIPPED)}."]
        if self.document:
            fig = self.document["figures"]
            tot = fig["totals"]
            lines.append(f"Школ в муниципальной сводке: {tot['schools']}; наставников: {tot['mentors']}, "
                         f"наставляемых: {tot['mentees']}, пар: {tot['pairs']}, групп: {tot['groups']}.")
            lines.append(f"Требуют внимания школ: {tot['attention_schools']}.")
            lines.append(f"Муниципальная книга: {self.outputs['xlsx']}")
        else:
            lines.append("Ни одна сводка школы не принята: муниципальная книга не создана.")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "exit_code": self.exit_code,
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "schools": self.schools,
            "files": [f.to_dict() for f in self.files],
            "problems": self.report.to_dict()["problems"],
        }


# ---------------------------------------------------------------- reading one file

def _problem(code: str, item: Found, /, **params: object) -> Problem:
    return Problem(code, file=item.display, params=params)


def _rejected(found: Found, problem: Problem, school_code: str = "", collected: str = "") -> FileEntry:
    return FileEntry(found.display, REJECTED, school_code, collected, problem.message, problem)


def _meta_rows(path: Path) -> list[list]:
    """Rows of the hidden ``_xlflow`` sheet; ReadError when the file is no workbook."""
    from python_calamine import CalamineWorkbook

    from xlflow.reading.safety import precheck

    precheck(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several unrelated types
        raise ReadError(UNREADABLE, str(path),
                        reason=f"это не книга Excel или файл повреждён ({type(exc).__name__})") from exc
    try:
        if export.META_SHEET not in wb.sheet_names:
            raise ReadError(NOT_SUMMARY, str(path), found="книга Excel без служебного листа «_xlflow»")
        return wb.get_sheet_by_name(export.META_SHEET).to_python(skip_empty_area=False)
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError(UNREADABLE, str(path),
                        reason=f"служебный лист «_xlflow» не читается ({type(exc).__name__})") from exc
    finally:
        wb.close()


def _first_values(rows: Iterable[Sequence]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for row in rows:
        if len(row) >= 2 and isinstance(row[0], str) and row[0] not in meta:
            meta[row[0]] = "" if row[1] is None else str(row[1])
    return meta


MAX_JSON_BYTES = 100 * 1024 * 1024  # a summary of thousands of programmes is a few MB


def _load_json(path: Path) -> object:
    import json

    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ReadError(UNREADABLE, str(path), reason=f"файл .json слишком большой для сводки школы "
                            f"({size // (1024 * 1024)} МБ при пределе {MAX_JSON_BYTES // (1024 * 1024)} МБ)")
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadError(UNREADABLE, str(path), reason=f"файл не читается как текст ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise ReadError(NOT_SUMMARY, str(path), found="файл .json с ошибкой синтаксиса") from exc


def read_payload(path: Path) -> tuple[str, dict | None]:
    """(template_id, payload) of a file; the payload only for a school summary.

    Raises ReadError (a registered code) for anything that is not readable."""
    if path.suffix.lower() == ".json":
        data = _load_json(path)
        if not isinstance(data, dict):
            raise ReadError(NOT_SUMMARY, str(path), found="в файле .json нет объекта сводки")
        template_id = str(data.get("template_id") or "")
        return template_id, data if template_id == export.SCHOOL_TEMPLATE_ID else None
    rows = _meta_rows(path)
    template_id = _first_values(rows).get("template_id", "")
    if template_id != export.SCHOOL_TEMPLATE_ID:
        return template_id, None
    return template_id, export.payload_from_meta_rows(rows, str(path))


def _supported_versions() -> list[int]:
    return list(municipal_layout()["accepted_school_summary"]["versions"])


def _version_problem(found: Found, version: object) -> Problem | None:
    supported = _supported_versions()
    if version in supported and not isinstance(version, bool):
        return None
    newer = isinstance(version, int) and not isinstance(version, bool) and version > max(supported)
    advice = ("Обновите xlflow у себя: сводку сделала более новая версия программы." if newer else
              "Попросите школу пересобрать сводку командой «xlflow collect» текущей версии.")
    return _problem(UNKNOWN_VERSION, found, found="не указана" if version is None else version,
                    supported=", ".join(map(str, supported)), advice=advice)


# the columns merge reads from the tables of a school summary; other tables and
# columns are only checked to be lists of objects
USED_COLUMNS = {
    "statuses": ("status", "programmes"),
    "rubric_levels": ("level", "programmes"),
    "rubric_programmes": ("mentor_id", "total", "level"),
    "deficits": ("direction", "entry_mean", "entry_n", "entry_sum", "final_mean", "final_n", "final_sum"),
    "load": ("role", "person_id", "full_name", "programmes"),
    "programmes": ("mentor_id", "status"),
}


@lru_cache(maxsize=None)
def _summary_validator():
    """A validator of ``school_summary.schema.json`` that checks everything merge
    reads (identity, figures, the columns of :data:`USED_COLUMNS`) and only the
    shape of the rest (rows of problems, files... can be many)."""
    import copy

    import jsonschema

    from xlflow.schemas import load_schema

    schema = copy.deepcopy(load_schema("school_summary.schema.json"))
    tables = schema["properties"]["tables"]["properties"]
    for name, table in tables.items():
        columns = table["items"]["properties"]
        used = {c: columns[c] for c in USED_COLUMNS.get(name, ()) if c in columns}
        table["items"] = {"type": "object", "properties": used}
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_error(payload: dict) -> str | None:
    """The first schema violation of a school summary payload (path: message), or None."""
    error = next(iter(_summary_validator().iter_errors(payload)), None)
    if error is None:
        return None
    where = "/".join(map(str, error.absolute_path))
    return f"{where}: {error.message}" if where else error.message


def _not_school_summary(found: Found, template_id: str) -> FileEntry:
    if template_id == MUNICIPAL_TEMPLATE_ID:
        p = _problem(MUNICIPAL_INPUT, found)
        return FileEntry(found.display, SKIPPED, reason=p.message, problem=p)
    if template_id == PROGRAMME_TEMPLATE_ID:
        return _rejected(found, _problem(PROGRAMME_WORKBOOK, found))
    what = f"вид файла «{template_id}»" if template_id else "нет отметки сводки xlflow"
    return _rejected(found, _problem(NOT_SUMMARY, found, found=what))


def read_candidate(found: Found) -> Candidate | FileEntry:
    """A school summary ready to merge, or the file's entry explaining why not."""
    try:
        template_id, payload = read_payload(found.path)
    except ReadError as err:
        return _rejected(found, Problem(err.code, file=found.display, params=err.params))
    if payload is None:
        return _not_school_summary(found, template_id)
    problem = _version_problem(found, payload.get("schema_version"))
    if problem is None:
        error = schema_error(payload)
        if error:
            problem = _problem(INVALID_SUMMARY, found, reason=error)
    code = str((payload.get("school") or {}).get("code") or "").strip() if isinstance(
        payload.get("school"), dict) else ""
    if problem is None and not code:
        problem = _problem(NO_SCHOOL_CODE, found)
    if problem is not None:
        return _rejected(found, problem, code, str(payload.get("created") or ""))
    digest = export.sha256_text(export.payload_text(payload))
    return Candidate(found, payload, school_figures_from_summary(payload), digest)


# ---------------------------------------------------------------- one collection per school

def _kept_file_order(c: Candidate) -> tuple:
    """Among copies of one collection: the workbook before the JSON, then by name."""
    return (c.found.path.suffix.lower() != ".xlsx", c.found.display)


def choose_collections(candidates: Sequence[Candidate]) -> tuple[list[Candidate], list[FileEntry]]:
    """One collection per school: the newest; entries for every candidate file."""
    by_school: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_school.setdefault(c.identity, []).append(c)
    kept, entries = [], []
    for identity in sorted(by_school):
        group = sorted(by_school[identity], key=Candidate.rank, reverse=True)
        newest = group[0]
        copies = sorted((c for c in group if c.digest == newest.digest), key=_kept_file_order)
        winner = copies[0]
        kept.append(winner)
        entries.append(_entry(winner, ACCEPTED, ""))
        for c in copies[1:]:
            if _is_twin(c, winner):
                entries.append(_entry(c, DUPLICATE_STATUS, TWIN_REASON.format(kept_file=winner.found.display)))
                continue
            p = _problem(DUPLICATE, c.found, school_code=c.figures.school_code, kept_file=winner.found.display)
            entries.append(_entry(c, DUPLICATE_STATUS, p.message, p))
        for c in group:
            if c.digest != newest.digest:
                p = _problem(REPLACED, c.found, school_code=c.figures.school_code,
                             created=ru_timestamp(c.payload.get("created") or "?"),
                             newer_created=ru_timestamp(newest.payload.get("created") or "?"),
                             newer_file=winner.found.display, note=_replaced_note(c, newest))
                entries.append(_entry(c, REPLACED_STATUS, p.message, p))
    return kept, entries


def _replaced_note(old: Candidate, newest: Candidate) -> str:
    """What the office should check about a replaced summary (or nothing)."""
    note = ""
    if old.rank()[:2] == newest.rank()[:2]:
        note += (" Даты создания совпадают: выбрана одна сводка по контрольной сумме; уточните у "
                 "школы, какая из них окончательная.")
    a, b = old.figures.school_name.strip(), newest.figures.school_name.strip()
    if a and b and a.casefold() != b.casefold():
        note += (f" Внимание: в сводках разные названия школы («{a}» и «{b}») — проверьте, "
                 "не указан ли в одной из них чужой код школы.")
    return note


TWIN_REASON = "копия .json той же сводки, что и книга {kept_file}: учтена один раз"


def _is_twin(c: Candidate, winner: Candidate) -> bool:
    """The JSON copy written by collect beside the workbook of the same collection."""
    a, b = c.found.path, winner.found.path
    return a.parent == b.parent and a.stem == b.stem and {a.suffix.lower(), b.suffix.lower()} == {".json", ".xlsx"}


def _entry(c: Candidate, status: str, reason: str, problem: Problem | None = None) -> FileEntry:
    return FileEntry(c.found.display, status, c.figures.school_code,
                     str(c.payload.get("created") or ""), reason, problem)


# ---------------------------------------------------------------- the whole merge

def _names_mode(with_names: bool, secret: bytes | str | None) -> str:
    if with_names and secret is not None:
        raise XlflowError("Выберите что-то одно: --with-names (ФИО) или --pseudonymize (псевдонимы).",
                          code="bad-call")
    if secret is not None:
        if not secret:
            raise XlflowError("Для псевдонимов нужен секрет управления образования (--secret-file "
                              "или переменная XLFLOW_SECRET).", code="secret-missing")
        return NAMES_PSEUDONYMS
    return NAMES_PLAIN if with_names else NAMES_NONE


def _check_out(out: Path) -> Path:
    if out.is_dir():
        raise XlflowError(f"«{out}» — это папка. Укажите имя файла, например МУНИЦИПАЛИТЕТ.xlsx.",
                          code="bad-output")
    if out.suffix.lower() != ".xlsx":
        raise XlflowError(f"Муниципальная сводка записывается в книгу .xlsx, а указано «{out.name}». "
                          "Укажите имя вида МУНИЦИПАЛИТЕТ.xlsx.", code="bad-output")
    return out


def _template_of(path: Path) -> str | None:
    """``template_id`` of an existing workbook or JSON file (None when it has none)."""
    from xlflow.scan import read_template_id

    if path.suffix.lower() != ".json":
        return read_template_id(path)
    try:
        data = _load_json(path)
    except ReadError:
        return None
    return data.get("template_id") if isinstance(data, dict) else None


def _refuse_overwrite(out: Path, names: str, given: Sequence[Found | Skipped]) -> None:
    """Outputs may replace the files of an earlier municipal summary, never a
    file named as input nor anybody else's file."""
    existing = [p for p in output_paths(out, names).values() if p.exists()]
    for path in existing:
        for item in given:
            if item.explicit and same_file(path, item.path):
                raise XlflowError(
                    f"Файл результата {path} совпадает с входным файлом {item.display}. Укажите другое "
                    "имя в --out: входные файлы xlflow не изменяет.", code="output-is-input")
    main = [p for p in (out, out.with_suffix(".json")) if p.exists()]
    if existing and (not main or any(_template_of(p) != MUNICIPAL_TEMPLATE_ID for p in main)):
        raise XlflowError(
            f"Файл {(main or existing)[0]} уже существует и не является муниципальной сводкой xlflow. "
            "Чужие и входные файлы xlflow не перезаписывает: укажите другое имя в --out.",
            code="output-is-input")


def _drop_stale_names(out: Path, names: str) -> None:
    """An earlier run with names left ``<name>.mentors.csv``: remove it when the
    new summary carries no names, so no personal data stays beside it."""
    stale = output_paths(out, NAMES_PLAIN)["mentors"]
    if names == NAMES_NONE and stale.exists():
        stale.unlink()


def _skipped_entry(s: Skipped) -> FileEntry:
    """A file the scanner did not hand over: rejected when unreadable, a
    duplicate when it is a copy of another input, skipped otherwise."""
    if s.unreadable:
        return FileEntry(s.display, REJECTED, reason=s.reason, problem=s.problem)
    if s.duplicate:
        return FileEntry(s.display, DUPLICATE_STATUS, reason=s.reason, problem=s.problem)
    return FileEntry(s.display, SKIPPED, reason=s.reason)


def _document(kept: Sequence[Candidate], entries: Sequence[FileEntry], names: str,
              secret: bytes | None, created: str) -> dict:
    from xlflow.layout import load_layout

    pseudo = pseudonymizer(secret) if secret else None
    figures = municipal_figures([c.figures for c in kept], load_layout().directions(),
                                names=names, pseudonymize=pseudo)
    return {
        "template_id": MUNICIPAL_TEMPLATE_ID,
        "schema_version": municipal_layout()["version"],
        "xlflow_version": __version__,
        "created": created,
        "figures": figures,
        "files": sorted((_saved_file_row(e) for e in entries), key=_file_order),
    }


HIDDEN_NAME = "(имя файла скрыто: в именах копий программ бывают ФИО)"


def _saved_file_row(entry: FileEntry) -> dict:
    """The row of the «Файлы» sheet and JSON. A programme copy sent by mistake
    is usually named after its mentor and mentee, so the saved output keeps
    only its folder (the console report still shows the full name)."""
    row = entry.to_dict()
    if entry.problem is not None and entry.problem.code == PROGRAMME_WORKBOOK:
        row["file"] = str(Path(entry.file).parent / HIDDEN_NAME)
    return row


_STATUS_ORDER = {REJECTED: 0, ACCEPTED: 1, REPLACED_STATUS: 2, DUPLICATE_STATUS: 3, SKIPPED: 4}


def _file_order(entry: FileEntry | dict) -> tuple:
    """Rejected files first (what to fix), then accepted, replaced, duplicates, skipped; by name."""
    e = entry if isinstance(entry, dict) else entry.to_dict()
    return (_STATUS_ORDER[e["status"]], e["file"])


def _exit_code(entries: Sequence[FileEntry]) -> int:
    return 1 if any(e.status == REJECTED for e in entries) else 0


def _report(entries: Sequence[FileEntry]) -> Report:
    report = Report(files=[e.file for e in entries])
    report.extend(e.problem for e in entries if e.problem is not None)
    return report


def merge_summaries(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                    with_names: bool = False, pseudonymize_secret: bytes | str | None = None,
                    created: str | None = None) -> MergeResult:
    """Merge school summaries into the municipal workbook ``out`` (plus
    ``<name>.json`` and ``<name>.<table>.csv`` beside it).

    Raises :class:`XlflowError` for a bad call (no input, missing secret, output
    equal to an input); problems in files are entries of the result.
    ``exit_code``: 0 every input accepted (replaced copies are fine), 1 some rejected."""
    out = _check_out(Path(out))
    secret = pseudonymize_secret.encode("utf-8") if isinstance(pseudonymize_secret, str) else pseudonymize_secret
    names = _names_mode(with_names, secret)
    found, skipped = discover(inputs)
    entries: list[FileEntry] = [_skipped_entry(s) for s in skipped]
    candidates = []
    for f in found:
        item = read_candidate(f)
        if isinstance(item, Candidate):
            candidates.append(item)
        else:
            entries.append(item)
    kept, chosen = choose_collections(candidates)
    entries.extend(chosen)
    if not kept and not any(e.status == REJECTED for e in entries):
        where = ", ".join(str(p) for p in inputs)
        raise XlflowError(f"В {where} не найдено ни одной сводки школы (книги или .json, созданных "
                          "командой «xlflow collect»).", code="no-inputs")
    _refuse_overwrite(out, names, [*found, *skipped])
    entries.sort(key=_file_order)
    result = MergeResult(_exit_code(entries), entries, _report(entries))
    if kept:
        stamp = created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        result.document = _document(kept, entries, names, secret, stamp)
        result.outputs = write_municipal(result.document, out)
        _drop_stale_names(out, names)
    return result
