"""Return the user's own workbook with its problems marked.

Each faulty cell gets a fill colour (light red for errors, light yellow for
warnings) and a note (comment) explaining the problem; a new first sheet
«Ошибки» lists every problem with a link to its cell. Nothing else changes:
the file is loaded and saved with openpyxl, values, formulas, styles, data
validations, protection and hidden sheets are kept. The input is never
overwritten and the output is written atomically.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from xlflow.errors import XlflowError
from xlflow.fileio import atomic_output, refuse_overwriting_inputs
from xlflow.problems import Problem

SHEET_TITLE = "Ошибки"
COMMENT_AUTHOR = "xlflow"
ERROR_FILL = "FFFFC7CE"
WARNING_FILL = "FFFFEB9C"
HEADER_FILL = "FFD9E1F2"
SUPPORTED = (".xlsx",)
HEADERS = ("№", "Важность", "Лист", "Ячейка", "Что исправить", "Код")
WIDTHS = (5, 15, 24, 8, 80, 24)
MESSAGE_CHARS_PER_LINE = 70  # of the message column (width 80), with a margin for wide letters
LINE_HEIGHT = 15
_SEVERITY = {"error": "ошибка", "warning": "предупреждение"}


def _clean(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub(" ", text)


def _check_paths(src: Path, out: Path) -> None:
    if src.suffix.lower() not in SUPPORTED:
        raise XlflowError(
            f"Пометить ошибки можно только в файле .xlsx, а «{src.name}» — другого формата. "
            "Сохраните файл как «Книга Excel (.xlsx)» и повторите.", code="annotate-format")
    if out.suffix.lower() != ".xlsx":
        raise XlflowError(
            f"Файл с пометками должен иметь расширение .xlsx (указано «{out.name}»).",
            code="annotate-format")
    refuse_overwriting_inputs(out, [src])


def annotate_workbook(src: str | os.PathLike, problems: Iterable[Problem],
                      out: str | os.PathLike) -> Path:
    """Write ``out``: a copy of ``src`` with ``problems`` marked; returns ``out``."""
    import openpyxl

    src_path, out_path = Path(src), Path(out)
    _check_paths(src_path, out_path)
    problems = sorted(problems, key=Problem.sort_key)
    try:
        wb = openpyxl.load_workbook(src_path, rich_text=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise XlflowError(f"Не удалось открыть «{src_path.name}» для пометок: {exc}.",
                          code="annotate-open") from exc
    marked = mark_cells(wb, problems)
    add_problem_sheet(wb, problems, marked)
    with atomic_output(out_path) as tmp:
        wb.save(tmp)
    return out_path


def _anchor(ws: Any, ref: str) -> Any:
    """The cell to mark: the top-left cell when ``ref`` lies in a merged range."""
    for rng in ws.merged_cells.ranges:
        if ref in rng:
            return ws.cell(rng.min_row, rng.min_col)
    return ws[ref]


def _resolve(wb: Any, problem: Problem) -> tuple[str, str] | None:
    if not problem.sheet or not problem.cell or problem.sheet not in wb.sheetnames:
        return None
    ws = wb[problem.sheet]
    try:
        cell = _anchor(ws, problem.cell)
    except ValueError:
        return None
    return ws.title, cell.coordinate


def mark_cells(wb: Any, problems: list[Problem]) -> dict[int, tuple[str, str]]:
    """Fill and comment every faulty cell; returns problem index -> (sheet, cell) marked."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    by_cell: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    marked: dict[int, tuple[str, str]] = {}
    for i, problem in enumerate(problems):
        place = _resolve(wb, problem)
        if place is not None:
            by_cell[place].append(problem)
            marked[i] = place
    for (sheet, ref), found in by_cell.items():
        cell = wb[sheet][ref]
        colour = ERROR_FILL if any(p.is_error for p in found) else WARNING_FILL
        cell.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
        text = _note_text(found, cell.comment.text if cell.comment else None)
        lines = sum(1 + len(line) // 45 for line in text.splitlines())
        cell.comment = Comment(text, COMMENT_AUTHOR, height=min(400, 20 + 15 * lines), width=320)
    return marked


def _note_text(found: list[Problem], existing: str | None) -> str:
    own = [f"{_SEVERITY.get(p.severity, p.severity).capitalize()}: {p.message}" for p in found]
    text = "\n".join(own)
    if existing:
        text = existing.rstrip() + "\n\n— xlflow —\n" + text
    return _clean(text)


def _unique_title(wb: Any) -> str:
    title, n = SHEET_TITLE, 2
    while title in wb.sheetnames:
        title = f"{SHEET_TITLE} ({n})"
        n += 1
    return title


def _text(cell: Any, value: str) -> None:
    """Write ``value`` as plain text: never a formula, whatever it starts with."""
    cell.value = _clean(value)
    cell.data_type = "s"


def add_problem_sheet(wb: Any, problems: list[Problem], marked: dict[int, tuple[str, str]]) -> Any:
    """A new first sheet listing ``problems`` with links to the marked cells."""
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(_unique_title(wb), 0)
    for j, (header, width) in enumerate(zip(HEADERS, WIDTHS), start=1):
        cell = ws.cell(1, j)
        _text(cell, header)
        cell.font = Font(bold=True)
        cell.fill = PatternFill(fill_type="solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
        ws.column_dimensions[cell.column_letter].width = width
    for i, problem in enumerate(problems):
        _problem_row(ws, i + 2, i + 1, problem, marked.get(i))
    if not problems:
        _text(ws.cell(2, 5), "Ошибок не найдено.")
    ws.freeze_panes = "A2"
    _print_setup(ws)
    ws.auto_filter.ref = f"A1:F{max(2, len(problems) + 1)}"
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=2, max_row=len(problems) + 1):
        for cell in row:
            cell.alignment = wrap
    _activate(wb, ws)
    return ws


def _print_setup(ws: Any) -> None:
    """A4 landscape, all columns on one page width, header row on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def _problem_row(ws: Any, row: int, number: int, problem: Problem, place: tuple[str, str] | None) -> None:
    from openpyxl.styles import Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    ws.cell(row, 1).value = number
    _text(ws.cell(row, 2), _SEVERITY.get(problem.severity, problem.severity))
    _text(ws.cell(row, 3), problem.sheet or "весь файл")
    _text(ws.cell(row, 4), place[1] if place else (problem.cell or ""))
    _text(ws.cell(row, 5), problem.message)
    lines = -(-len(problem.message) // MESSAGE_CHARS_PER_LINE)
    ws.row_dimensions[row].height = LINE_HEIGHT * max(1, lines)
    _text(ws.cell(row, 6), problem.code)
    target = place or ((problem.sheet, "A1") if problem.sheet and problem.sheet in ws.parent.sheetnames else None)
    if target is not None:
        sheet_name = target[0].replace("'", "''")
        link_cell = ws.cell(row, 4) if place else ws.cell(row, 3)
        link_cell.hyperlink = Hyperlink(ref=link_cell.coordinate, location=f"'{sheet_name}'!{target[1]}",
                                        tooltip="Перейти к ячейке")
        link_cell.font = Font(color="FF0563C1", underline="single")


def _activate(wb: Any, ws: Any) -> None:
    """Open the workbook on the problem sheet (and on it alone: no grouped sheets)."""
    for other in wb.worksheets:
        other.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = wb.worksheets.index(ws)


ANNOTATED_SUFFIX = "_ошибки.xlsx"


def annotation_targets(inputs: list[str], out: str | os.PathLike) -> dict[str, Path]:
    """Where the marked copy of each input goes.

    One input: ``out`` is the file (or an existing folder to put it in).
    Several inputs: ``out`` must be a folder; each copy is named
    «<имя файла>_ошибки.xlsx». Raises XlflowError for a wrong call."""
    out_path = Path(out)
    if len(inputs) == 1 and not out_path.is_dir():
        targets = {inputs[0]: out_path}
    elif out_path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods") or out_path.is_file():
        raise XlflowError(
            f"Проверяется несколько файлов, а в --annotate указан файл «{out_path.name}». "
            "Укажите папку: в неё будут записаны копии с пометками для каждого файла.",
            code="annotate-needs-folder")
    else:
        targets = _folder_targets(inputs, out_path)
    for target in targets.values():
        refuse_overwriting_inputs(target, inputs)
        if target.suffix.lower() != ".xlsx":
            raise XlflowError(f"Файл с пометками должен иметь расширение .xlsx (указано «{target.name}»).",
                              code="annotate-format")
    return targets


def _folder_targets(inputs: list[str], folder: Path) -> dict[str, Path]:
    targets: dict[str, Path] = {}
    used: set[str] = set()
    for item in inputs:
        stem, n = Path(item).stem, 2
        name = stem + ANNOTATED_SUFFIX
        while name.casefold() in used:
            name = f"{stem} ({n}){ANNOTATED_SUFFIX}"
            n += 1
        used.add(name.casefold())
        targets[item] = folder / name
    return targets
