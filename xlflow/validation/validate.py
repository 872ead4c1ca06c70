"""Validate programme workbooks: reading problems + schema checks + domain rules.

``validate_file(path)`` never raises for a bad *file*: a file that cannot be
read becomes one whole-file Problem (the ReadError's code) and the result has
no parsed records. ``validate_files(paths)`` checks every file, so one broken
file never stops the others.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from xlflow.errors import ReadError
from xlflow.layout import load_layout
from xlflow.problems import ERROR, Problem, Report, register
from xlflow.validation.context import RuleContext
from xlflow.validation.locate import CellLocator, layout_cells
from xlflow.validation.rules import run_rules
from xlflow.validation.schema import schema_problems


READ_FAILED = register(
    "read-unexpected", ERROR,
    "Файл не удалось прочитать ({error}). Откройте его в Excel или LibreOffice, сохраните заново как «Книга Excel (.xlsx)» и проверьте ещё раз.",
    "the reader failed unexpectedly on this file")


@dataclass
class FileResult:
    path: str
    parsed: Any = None  # xlflow.reading.programme.ParsedWorkbook, None if unreadable
    problems: list[Problem] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.parsed is not None

    @property
    def ok(self) -> bool:
        return self.readable and not any(p.is_error for p in self.problems)


def validate_records(data: Mapping, cells: Mapping | None = None, file: str | None = None,
                     today: dt.date | None = None) -> list[Problem]:
    """Schema and rule problems of records ``data`` whose values sit at ``cells``
    (default: where the writer would put them, for records without a file)."""
    layout = load_layout()
    if cells is None:
        cells = layout_cells(data, layout)
    locator = CellLocator(cells, layout)
    problems = schema_problems(data, locator, file=file, layout=layout)
    ctx = RuleContext(data=data, locator=locator, file=file, layout=layout,
                      today=today or dt.date.today())
    faulty = {(p.sheet, p.cell) for p in problems if p.cell}
    # A rule finding at a cell whose value the schema already rejected is noise.
    problems.extend(p for p in run_rules(ctx) if not p.cell or (p.sheet, p.cell) not in faulty)
    return dedupe(problems)


def dedupe(problems: Iterable[Problem]) -> list[Problem]:
    """Drop exact repeats (same code at the same place with the same message)."""
    seen: set[tuple] = set()
    out = []
    for p in problems:
        key = (p.code, p.file, p.sheet, p.cell, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def display_name(path: str | os.PathLike) -> str:
    return os.fspath(path)


def validate_file(path: str | os.PathLike, today: dt.date | None = None) -> FileResult:
    """Read and check one workbook."""
    from xlflow.reading.programme import read_programme

    name = display_name(path)
    try:
        parsed = read_programme(path)
    except ReadError as exc:
        return FileResult(name, None, [Problem(exc.code, file=name, params=dict(exc.params))])
    except Exception as exc:  # a reader bug on one odd file must not stop the other files
        error = f"{type(exc).__name__}: {exc}"[:200]
        return FileResult(name, None, [Problem(READ_FAILED, file=name, params={"error": error})])
    problems = [_with_file(p, name) for p in parsed.problems]
    problems.extend(validate_records(parsed.data, parsed.cells, file=name, today=today))
    return FileResult(name, parsed, dedupe(problems))


def _with_file(problem: Problem, name: str) -> Problem:
    if problem.file == name:
        return problem
    return Problem(problem.code, file=name, sheet=problem.sheet, cell=problem.cell,
                   params=dict(problem.params), severity=problem.severity)


def validate_files(paths: Iterable[str | os.PathLike], today: dt.date | None = None,
                   isolate: bool | None = None) -> Report:
    """A Report over all ``paths``; unreadable files are listed in ``report.unreadable``."""
    return validate_files_detailed(paths, today=today, isolate=isolate)[0]


def _check(path: str, today: dt.date | None = None) -> FileResult:
    return validate_file(path, today=today)


def _results(paths: list[str], today: dt.date | None, isolate: bool | None) -> Iterable[FileResult]:
    if isolate is None:
        isolate = len(paths) > 1  # one file: no worker start-up (the 0.5 s budget of the CLI)
    if not isolate:
        yield from (validate_file(p, today=today) for p in paths)
        return
    from xlflow.reading.isolate import Failure, read_isolated

    for path, value in read_isolated(paths, functools.partial(_check, today=today)):
        if isinstance(value, Failure):  # the worker died, timed out or ran out of memory
            value = FileResult(path, None, [value.to_problem(path)])
        yield value


def validate_files_detailed(paths: Iterable[str | os.PathLike], today: dt.date | None = None,
                            isolate: bool | None = None) -> tuple[Report, list[FileResult]]:
    """Like :func:`validate_files`, also returning each file's result (for annotation).

    With ``isolate`` (default: when there are several files) each file is read
    and checked in a worker process with memory and time limits
    (:mod:`xlflow.reading.isolate`), so a file that crashes the parser costs
    only its own result and the files are checked on all cores."""
    report = Report()
    results = []
    for result in _results([display_name(p) for p in paths], today, isolate):
        results.append(result)
        report.files.append(result.path)
        report.extend(result.problems)
        if not result.readable:
            report.unreadable.add(result.path)
    return report, results


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")


def expand_inputs(items: Iterable[str]) -> list[str]:
    """Files as given; a folder stands for its workbooks (not recursive, sorted,
    without temporary «~$…» and «.~…» files). Raises XlflowError for an empty folder."""
    from xlflow.errors import XlflowError

    out: list[str] = []
    for item in items:
        if not os.path.isdir(item):
            out.append(item)
            continue
        found = sorted(
            os.path.join(item, name) for name in os.listdir(item)
            if name.lower().endswith(WORKBOOK_SUFFIXES) and not name.startswith(("~$", ".~"))
            and os.path.isfile(os.path.join(item, name)))
        if not found:
            raise XlflowError(f"В папке «{item}» нет книг (.xlsx, .xlsm, .ods).", code="empty-folder")
        out.extend(found)
    return out
