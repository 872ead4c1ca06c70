"""Filled programme workbook -> records in the shape of ``schemas/programme.schema.json``.

The reader follows ``workbook_templates/programme.json`` through
:mod:`xlflow.layout`, but it never trusts positions blindly:

* sheets are found by name, tolerating case, spaces and ``ё``/``е``;
* table columns are found by their header text in the header row (reordered
  columns still read right), the header row itself is searched near its place;
* passport fields are found by their label in the label column;
* blank rows inside a table are skipped, rows past the template's rows are read,
  and every value keeps its true cell in :attr:`ParsedWorkbook.cells`.

What cannot be read is reported as a :class:`~xlflow.problems.Problem`: missing
sheets and columns, merged cells over input cells, formula errors. Values are
normalised by :mod:`xlflow.reading.normalize`; a value that cannot be normalised
stays raw so that schema validation reports it at its cell. ``computed`` is
recalculated from the inputs, never read from formula cells.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from xlflow.errors import ReadError
from xlflow.layout import (Column, FormSpec, Layout, MatrixSpec, RubricSpec, TableSpec, col_index,
                           col_letter, load_layout)
from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.reading.cellmap import CellMap
from xlflow.reading.computed import compute
from xlflow.reading.grid import GridBook, SheetGrid, load_book, long_sheet, register_once, sharing_for
from xlflow.reading.kept import Kept, by_labels, hashable, padded
from xlflow.reading.normalize import (choice_key, is_empty, normalize, normalize_level,
                                     normalizer)
from xlflow.reading.rowshape import row_shape

NOT_XLFLOW = register_once(
    "not-xlflow-workbook", ERROR,
    "Эта книга не похожа на книгу программы наставничества: в ней нет листов шаблона xlflow. "
    "Возьмите книгу, созданную командой «xlflow new» или выданную куратором.",
    "no metadata and no known sheets")
METADATA_MISSING = register(
    "metadata-missing", WARNING,
    "В книге нет служебного листа «{sheet_name}» (шаблон и версия). Книга прочитана по "
    "заголовкам листов; для надёжной проверки возьмите свежую копию у куратора.",
    "hidden metadata sheet is missing")
TEMPLATE_UNKNOWN = register(
    "template-unknown", ERROR,
    "Книга создана по другому шаблону («{found}»), а не по шаблону программы наставничества. "
    "Возьмите книгу, созданную командой «xlflow new».",
    "metadata names another template")
TEMPLATE_VERSION = register(
    "template-version-mismatch", ERROR,
    "Книга создана по шаблону версии {found}, а эта версия xlflow читает шаблон версии {expected}. "
    "Перенесите данные в свежую книгу (xlflow new) или обновите xlflow.",
    "template_version differs from the layout")
SHEET_MISSING = register(
    "sheet-missing", ERROR,
    "В книге нет листа «{sheet_name}». Не удаляйте и не переименовывайте листы: возьмите свежую "
    "копию книги и перенесите в неё данные.",
    "a layout sheet is missing")
COLUMN_MISSING = register(
    "column-missing", ERROR,
    "Не найден обязательный столбец «{header}». Верните заголовок столбца точно как в шаблоне "
    "(или возьмите свежую копию книги).",
    "required column header not found")
COLUMN_MISSING_OPTIONAL = register(
    "column-missing-optional", WARNING,
    "Не найден столбец «{header}»; его данные не прочитаны. Верните заголовок столбца как в шаблоне.",
    "optional column header not found")
COLUMN_UNKNOWN = register(
    "column-unknown", WARNING,
    "Столбец «{header}» не входит в шаблон, его данные не читаются. Если это опечатка в "
    "заголовке, исправьте её как в шаблоне.",
    "unknown column header")
COLUMN_DUPLICATE = register(
    "column-duplicate", WARNING,
    "Столбец «{header}» повторяется; читается только первый такой столбец ({first}). Перенесите "
    "данные в столбец {first} и удалите повтор.",
    "a header appears twice")
DATA_WITHOUT_HEADER = register(
    "data-without-header", WARNING,
    "Данные в столбце без заголовка не читаются («{value}»). Перенесите их в нужный столбец таблицы.",
    "values in a column without header")
FIELD_MISSING = register(
    "field-missing", WARNING,
    "Не найдена строка «{header}» в столбце подписей. Верните подпись как в шаблоне; значение "
    "этого поля не прочитано.",
    "passport label not found")
MERGED_CELLS = register(
    "merged-cells", ERROR,
    "Ячейки {range} объединены, и часть данных в них не читается. Отмените объединение "
    "(Главная → Объединить → Отменить) и впишите значение в каждую ячейку.",
    "merged range over input cells")
FORMULA_ERROR = register(
    "formula-error", ERROR,
    "В ячейке ошибка формулы «{value}». Впишите значение вместо формулы.",
    "formula error value in an input cell")
ROWS_CAPPED = register(
    "rows-capped", ERROR,
    "На листе больше {limit} строк; строки после {limit}-й не прочитаны. Удалите лишние строки "
    "или разделите данные на несколько книг.",
    "sheet longer than the row cap")

_ERROR_TEXTS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
    "#ПУСТО!", "#ДЕЛ/0!", "#ЗНАЧ!", "#ССЫЛКА!", "#ССЫЛ!", "#ИМЯ?", "#ЧИСЛО!", "#Н/Д",
})
_LO_ERROR = re.compile(r"Err:\d{3}")
_ERROR_STARTS = frozenset("#E ")  # first characters of an error value (see is_error_value)
_BIG = 1 << 30
_HEADER_SEARCH = 12  # rows below the expected header row that are searched for it

__all__ = ["ParsedWorkbook", "read_programme", "is_error_value", "compute"]


@dataclass
class ParsedWorkbook:
    path: str
    data: dict
    cells: Mapping = field(default_factory=dict)  # a CellMap when read from a file
    problems: list = field(default_factory=list)

    def cell_of(self, path: tuple) -> tuple[str, str] | None:
        """(sheet, A1) of a JSON path, falling back to its nearest parent."""
        path = tuple(path)
        while path:
            hit = self.cells.get(path)
            if hit is not None:
                return hit
            path = path[:-1]
        return None


def is_error_value(value: Any) -> bool:
    """A formula error shown as a value (Excel in English or Russian, LibreOffice)."""
    if not isinstance(value, str) or not value or len(value) > 16 or value.lstrip()[:1] not in ("#", "E"):
        return False
    s = value.strip().upper()
    return s in _ERROR_TEXTS or _LO_ERROR.fullmatch(value.strip()) is not None


@lru_cache(maxsize=8192, typed=True)  # typed: 1, 1.0 and True are different headers
def header_key(value: Any) -> str:
    """Comparison key of a header or label (case, spaces, ё, dashes, "*" marks)."""
    if value is None:
        return ""
    return choice_key(str(value).strip().strip("*").strip()).strip("*: ")


_LETTERS = [col_letter(i) for i in range(702)]


def a1(row0: int, col0: int) -> str:
    """0-based row and column -> A1 reference (cached column letters)."""
    if col0 < 702:
        return f"{_LETTERS[col0]}{row0 + 1}"
    return f"{col_letter(col0)}{row0 + 1}"


# ---------------------------------------------------------------- context

@dataclass
class _Ctx:
    path: str
    layout: Layout
    directions: list[str]
    problems: list[Problem] = field(default_factory=list)
    cells: CellMap = field(default_factory=CellMap)
    inputs: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    converters: dict[int, Callable[[Any], Any]] = field(default_factory=dict)

    def problem(self, code: str, sheet: str | None = None, cell: str | None = None,
                **params: Any) -> None:
        self.problems.append(Problem(code, self.path, sheet, cell, params))

    def take(self, grid: SheetGrid, row: int, col: int) -> Any:
        """Cell value, or None for an empty cell or a (reported) formula error."""
        v = grid.value(row, col)
        if v is None:
            return None
        if isinstance(v, str):
            if is_error_value(v):
                self.problem(FORMULA_ERROR, grid.name, a1(row, col), value=v.strip())
                return None
            if is_empty(v):
                return None
        return v

    def input_area(self, grid: SheetGrid, r0: int, c0: int, r1: int, c1: int) -> None:
        self.inputs.setdefault(grid.name, []).append((r0, c0, r1, c1))

    def input_areas(self, grid: SheetGrid, areas: list[tuple[int, int, int, int]]) -> None:
        self.inputs.setdefault(grid.name, []).extend(areas)

    def use_directions(self, directions: list[str]) -> None:
        self.directions = directions
        self.converters = _shared_converters(self.layout, directions)

    def choices(self, column: Column) -> list:
        if column.list is None:
            return []
        return self.layout.choices(column.list, self.directions)

    def converter(self, column: Column) -> Callable[[Any], Any]:
        conv = self.converters.get(id(column))
        if conv is None:
            open_list = column.list is not None and self.layout.is_open(column.list)
            conv = self.converters[id(column)] = normalizer(column.type, self.choices(column), open_list)
        return conv

    def value(self, raw: Any, column: Column) -> Any:
        return self.converter(column)(raw)


_SHARED_CONVERTERS = Kept(64)  # schools with their own directions: bounded


def _shared_converters(layout: Layout, directions: list[str]) -> dict[int, Callable[[Any], Any]]:
    """The normalisers (by column id) of every copy read with this layout and
    these directions: built once, not per copy (the cached layout keeps its
    columns, so their ids stay theirs)."""
    key = (id(layout), tuple(directions))
    converters = _SHARED_CONVERTERS.take(key, layout)
    if converters is None:
        converters = {}
        _SHARED_CONVERTERS.keep(key, layout, converters)
    return converters


# ---------------------------------------------------------------- sheets and metadata

def _sheet_lookup(names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in names:
        out.setdefault(n, n)
    for n in names:
        out.setdefault(header_key(n), n)
    return out


def _resolve(lookup: dict[str, str], wanted: str) -> str | None:
    return lookup.get(wanted) or lookup.get(header_key(wanted))


def _meta_value(key: str, values: list[Any]) -> Any:
    if key == "directions":
        return _directions_value(values)
    v = values[0]
    if key == "template_version":
        return normalize_level(v)
    return normalize(v, "text")


def _directions_value(values: list[Any]) -> list[str]:
    if len(values) == 1 and isinstance(values[0], str):
        return list(_directions_of_text(values[0].strip()))
    return [" ".join(p.split()) for p in (str(v) for v in values) if not is_empty(p)]


@lru_cache(maxsize=64)
def _directions_of_text(text: str) -> tuple[str, ...]:
    """Directions of the metadata cell (cached: every copy of a school repeats it)."""
    if text.startswith("["):  # JSON, as the writer stores it; broken JSON: use the sheet headers
        try:
            parsed = json.loads(text)
        except ValueError:
            return ()
        if not isinstance(parsed, list):
            return ()
        return tuple(" ".join(str(x).split()) for x in parsed if not is_empty(x))
    return tuple(" ".join(p.split()) for p in re.split(r"[\n;]", text) if not is_empty(p))


def _read_meta(grid: SheetGrid, layout: Layout, ctx_cells: dict) -> dict:
    """Key/value rows (key in column A, value(s) from column B on)."""
    keys = set(layout.meta_keys)
    meta: dict[str, Any] = {}
    for r, row in enumerate(grid.rows):
        if not row or not isinstance(row[0], str) or row[0].strip() not in keys:
            continue
        key = row[0].strip()
        values = [v for v in row[1:] if not is_empty(v)]
        if not values or key in meta:
            continue
        meta[key] = _meta_value(key, values)
        ctx_cells[("meta", key)] = (grid.name, a1(r, 1))
    return {k: meta[k] for k in layout.meta_keys if k in meta and meta[k] not in ("", [])}


# ---------------------------------------------------------------- passport (form)

def _field_rows(spec: FormSpec, labels: tuple) -> list[tuple[Column, int | None]]:
    """Each passport field with the row of its label (None: not found)."""
    rows_by_label: dict[str, int] = {}
    for r, label in enumerate(labels):
        if label is not None:
            rows_by_label.setdefault(header_key(label), r)
    return [(f, rows_by_label.get(header_key(f.header))) for f in spec.fields]


def _read_passport(ctx: _Ctx, spec: FormSpec, grid: SheetGrid) -> dict:
    label_col = col_index(spec.raw.get("label_col", "A"))
    value_col = col_index(spec.raw.get("value_col", "B"))
    labels = tuple(row[label_col] if label_col < len(row) else None for row in grid.rows)
    out: dict[str, Any] = {}
    for f, r, cell in by_labels(spec, labels, lambda: _field_cells(spec, labels, label_col, value_col)):
        if r is None:
            ctx.problem(FIELD_MISSING, grid.name, cell, header=f.header)
            continue
        ctx.cells[("passport", f.key)] = (grid.name, cell)
        ctx.input_area(grid, r, value_col, r, value_col)
        raw = ctx.take(grid, r, value_col)
        if raw is not None:
            out[f.key] = ctx.value(raw, f)
    return out


def _field_cells(spec: FormSpec, labels: tuple, label_col: int,
                 value_col: int) -> list[tuple[Column, int | None, str]]:
    """Each passport field, the row of its label and the cell it names: the
    value's cell, or for a label not found the label's place in the template."""
    return [(f, r, a1(r, value_col) if r is not None else a1(spec.row_of(f.key) - 1, label_col))
            for f, r in _field_rows(spec, labels)]


# ---------------------------------------------------------------- tables

def _locate_header(grid: SheetGrid, keys: dict[str, str], expected: int) -> tuple[int, dict[str, int]]:
    """(header row, {column key: col}) choosing the row near ``expected`` with most matches."""
    best_row, best = expected, _match_header(grid, expected, keys)
    if len(best) == len(set(keys.values())):
        return best_row, best
    for r in range(max(0, expected - 2), min(grid.height, expected + _HEADER_SEARCH)):
        found = _match_header(grid, r, keys)
        if len(found) > len(best):
            best_row, best = r, found
    return best_row, best


def _match_header(grid: SheetGrid, row: int, keys: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    cells = grid.rows[row] if row < grid.height else []
    for c, v in enumerate(cells):
        k = keys.get(header_key(v)) if v is not None else None
        if k is not None and k not in found:
            found[k] = c
    return found


def _report_extra_columns(ctx: _Ctx, grid: SheetGrid, hdr: int, found: dict[str, int],
                          keys: dict[str, str], ignore: frozenset[str] = frozenset()) -> set[int]:
    """Warn about unknown and repeated headers; return their columns."""
    extra = set()
    known = set(found.values())
    row = grid.rows[hdr] if hdr < grid.height else []
    for c, v in enumerate(row):
        if c in known or is_empty(v) or header_key(v) in ignore:
            continue
        extra.add(c)
        twin = keys.get(header_key(v))
        if twin is not None and twin in found:
            ctx.problem(COLUMN_DUPLICATE, grid.name, a1(hdr, c), header=str(v).strip(),
                        first=a1(hdr, found[twin]).rstrip("0123456789"))
        else:
            ctx.problem(COLUMN_UNKNOWN, grid.name, a1(hdr, c), header=str(v).strip())
    return extra


def _report_missing_columns(ctx: _Ctx, grid: SheetGrid, hdr: int, columns: tuple[Column, ...],
                            found: dict[str, int]) -> None:
    for i, col in enumerate(columns):
        if col.key in found:
            continue
        code = COLUMN_MISSING if col.required else COLUMN_MISSING_OPTIONAL
        ctx.problem(code, grid.name, a1(hdr, i), header=col.header)


@dataclass(frozen=True)
class _TablePlan:
    """Where a table's columns are (header row, located columns with their
    letters, normalisers and bits, every headed column, the width they span)."""

    hdr: int
    located: list
    headed: frozenset[int]
    width: int
    columns: list  # (key, letter) of each located column, for the cell map
    areas: list  # the input area of each located column, below the header row


# Plans of header rows read before without a problem, by (spec, normalisers,
# header row values): copies of one template repeat their header rows. A
# long table (a school's registry) is read once: its plan is neither kept nor
# taken from a copy's.
_PLANS = Kept(256)


def _table_plan(ctx: _Ctx, spec: TableSpec, grid: SheetGrid) -> _TablePlan:
    expected = spec.header_row - 1
    key = hashable((id(spec), id(ctx.converters), tuple(grid.rows[expected]) if expected < grid.height else ())) \
        if not long_sheet(grid) else None
    hit = _PLANS.take(key, spec, ctx.converters)
    if hit is not None:
        return hit
    reported = len(ctx.problems)
    keys = {header_key(c.header): c.key for c in spec.columns}
    hdr, found = _locate_header(grid, keys, expected)
    _report_missing_columns(ctx, grid, hdr, spec.columns, found)
    extra = _report_extra_columns(ctx, grid, hdr, found, keys)
    by_key = {c.key: c for c in spec.columns}
    share = sharing_for(grid)  # a registry's table: equal values, one object
    located = [(k, c, _LETTERS[c] if c < len(_LETTERS) else col_letter(c), share(ctx.converter(by_key[k])), 1 << j)
               for j, (k, c) in enumerate(sorted(found.items(), key=lambda kv: kv[1]))]
    headed = frozenset(found.values()) | extra
    plan = _TablePlan(hdr, located, headed, max(headed, default=-1) + 1,
                      [(k, letter) for k, _, letter, _, _ in located],
                      [(hdr + 1, c, _BIG, c) for _, c, _, _, _ in located])
    if hdr == expected and len(ctx.problems) == reported:  # by that row alone, nothing reported
        _PLANS.keep(key, spec, ctx.converters, plan)
    return plan


def _read_table(ctx: _Ctx, spec: TableSpec, grid: SheetGrid) -> list[dict]:
    plan = _table_plan(ctx, spec, grid)
    hdr, located, headed, width = plan.hdr, plan.located, plan.headed, plan.width
    ctx.cells.add_table(spec.key, grid.name, plan.columns)
    ctx.input_areas(grid, plan.areas)
    unheaded: set[int] = set()
    records: list[dict] = []
    rows = grid.rows
    shape = row_shape([k for k, *_ in located]) if long_sheet(grid) else None
    for r in range(hdr + 1, len(rows)):
        row = rows[r]
        if not row:
            continue
        rec = _table_row(ctx, grid.name, row, r, located, (spec.key, len(records)))
        if len(row) > width:
            _check_unheaded(ctx, grid, r, headed, unheaded)
        if rec:
            records.append(rec if shape is None else shape(rec))
    return records


def _table_row(ctx: _Ctx, sheet: str, row: list, r: int, located: list, where: tuple[str, int]) -> dict:
    """One table row as a record; records which columns hold values (their
    cells, and the row's first cell, in :class:`CellMap`)."""
    rec: dict[str, Any] = {}
    n = len(row)
    mask = 0
    for key, c, letter, conv, bit in located:
        if c >= n:
            break
        v = row[c]
        if v is None:
            continue
        if type(v) is str:  # never "" in a grid
            first = v[0]
            if first in _ERROR_STARTS and is_error_value(v):
                ctx.problem(FORMULA_ERROR, sheet, letter + str(r + 1), value=v.strip())
                continue
            if (len(v) <= 3 and not v.isalnum() or first.isspace() or v[-1].isspace()) and is_empty(v):
                continue
        rec[key] = conv(v)
        mask |= bit
    if mask:
        ctx.cells.add_row(where[0], where[1], r + 1, mask)
    return rec


def _check_unheaded(ctx: _Ctx, grid: SheetGrid, r: int, headed: frozenset[int], reported: set[int]) -> None:
    row = grid.rows[r]
    for c, v in enumerate(row):
        if v is None or c in headed or c in reported or is_empty(v):
            continue
        reported.add(c)
        ctx.problem(DATA_WITHOUT_HEADER, grid.name, a1(r, c), value=str(v).strip()[:40])


# ---------------------------------------------------------------- diagnostics (matrix)

def _stage_rows(spec: MatrixSpec, grid: SheetGrid, hdr: int) -> dict[tuple[str, str, str], int]:
    """(stage, aspect, part) -> row, found by the labels in columns A and B."""
    stage_keys = {header_key(s["label"]): s["key"] for s in spec.stages}
    part_keys = {}
    for asp in spec.aspects:
        part_keys[header_key(asp["text_label"])] = (asp["key"], "text")
        part_keys[header_key(asp["level_label"])] = (asp["key"], "level")
    out: dict[tuple[str, str, str], int] = {}
    stage = None
    for r in range(hdr + 1, grid.height):
        a_key = header_key(grid.value(r, 0))
        for label, key in stage_keys.items():
            if a_key and label in a_key:
                stage = key
        part = part_keys.get(header_key(grid.value(r, 1)))
        if stage and part and (stage, *part) not in out:
            out[(stage, part[0], part[1])] = r
    if not out:  # no labels at all: the template's positions, relative to the header row
        shift = hdr - (spec.header_row - 1)
        out = {(st, asp, part): row1 - 1 + shift for st, asp, part, row1 in spec.rows()}
    return out


def _missing_stage_rows(ctx: _Ctx, spec: MatrixSpec, grid: SheetGrid, rows: dict) -> None:
    """Report rows whose labels were not found (their cells are not read)."""
    stages = {s["key"]: s["label"] for s in spec.stages}
    aspects = {a["key"]: a for a in spec.aspects}
    for st, asp, part, row1 in spec.rows():
        if (st, asp, part) not in rows:
            label = aspects[asp]["text_label" if part == "text" else "level_label"]
            ctx.problem(FIELD_MISSING, grid.name, a1(row1 - 1, 1), header=f"{stages[st]}: {label}")


_MATRIX_PLANS = Kept(64)


def _diagnostics_plan(ctx: _Ctx, spec: MatrixSpec, grid: SheetGrid) -> tuple[list, dict]:
    """The direction columns (sorted by column) and the (stage, aspect, part)
    rows of the matrix; kept, like a table's plan, per directions, header row
    and label columns when they were found where expected without a problem."""
    expected = spec.header_row - 1
    key = None
    if expected < grid.height and not long_sheet(grid):
        header = tuple(grid.rows[expected])
        labels = (grid.height, *(v for row in grid.rows[expected + 1:] for v in padded(row, 2)))
        key = hashable((id(spec), tuple(ctx.directions), header, labels, tuple(map(type, header + labels))))
    hit = _MATRIX_PLANS.take(key, spec)
    if hit is not None:
        return hit
    reported = len(ctx.problems)
    keys = {header_key(d): d for d in ctx.directions}
    hdr, found = _locate_header(grid, keys, expected)
    row_headers = frozenset(header_key(h) for h in spec.raw.get("row_header_cols", ()))
    _report_extra_columns(ctx, grid, hdr, found, keys, row_headers)
    columns = sorted(found.items(), key=lambda kv: kv[1])
    rows = _stage_rows(spec, grid, hdr)
    _missing_stage_rows(ctx, spec, grid, rows)
    if hdr == expected and len(found) == len(set(keys.values())) and len(ctx.problems) == reported:
        _MATRIX_PLANS.keep(key, spec, (columns, rows))  # by the rows in the key alone, nothing reported
    return columns, rows


def _read_diagnostics(ctx: _Ctx, spec: MatrixSpec, grid: SheetGrid) -> list[dict]:
    columns, rows = _diagnostics_plan(ctx, spec, grid)
    level_list = normalizer("choice", ctx.layout.choices(spec.raw.get("level_list", "intensity")))
    items: list[dict] = []
    for st in spec.stages:
        for asp in spec.aspects:
            r_text = rows.get((st["key"], asp["key"], "text"), -1)  # -1: not found, reads as empty
            r_level = rows.get((st["key"], asp["key"], "level"), -1)
            for r in (r_text, r_level):
                if columns and r >= 0:
                    ctx.input_area(grid, r, columns[0][1], r, columns[-1][1])
            texts, levels = _row_or_empty(grid, r_text), _row_or_empty(grid, r_level)
            for direction, c in columns:
                if (c >= len(texts) or texts[c] is None) and (c >= len(levels) or levels[c] is None):
                    continue  # both cells empty: no item (most of the matrix)
                item = _diagnostic_item(ctx, grid, (r_text, r_level, c), len(items), level_list)
                if item:
                    items.append({"stage": st["key"], "aspect": asp["key"], "direction": direction, **item})
    return items


def _row_or_empty(grid: SheetGrid, r: int) -> list:
    return grid.rows[r] if 0 <= r < len(grid.rows) else []


def _diagnostic_item(ctx: _Ctx, grid: SheetGrid, where: tuple[int, int, int], index: int,
                     level_list: Callable[[Any], Any]) -> dict:
    r_text, r_level, c = where
    item: dict[str, Any] = {}
    text = ctx.take(grid, r_text, c)
    level = ctx.take(grid, r_level, c)
    if text is not None:
        item["description"] = normalize(text, "long_text")
        ctx.cells[("diagnostics", index, "description")] = (grid.name, a1(r_text, c))
    if level is not None:
        item["level"] = level_list(level)
        ctx.cells[("diagnostics", index, "level")] = (grid.name, a1(r_level, c))
    if item:
        first = r_text if text is not None else r_level
        ctx.cells[("diagnostics", index)] = (grid.name, a1(first, c))
        ctx.cells[("diagnostics", index, "direction")] = (grid.name, a1(first, c))
    return item


# ---------------------------------------------------------------- rubric

def _read_rubric(ctx: _Ctx, spec: RubricSpec, grid: SheetGrid) -> list[dict]:
    headers = spec.raw["headers"]
    keys = {header_key(text): key for key, text in headers.items()}
    hdr, found = _locate_header(grid, keys, spec.header_row - 1)
    for i, key in enumerate(headers):
        if key in ("score", "comment") and key not in found:
            ctx.problem(COLUMN_MISSING, grid.name, a1(hdr, i), header=headers[key])
    score_list = ctx.layout.choices(spec.raw.get("score_list", "rubric_scores"))
    converters = {"score": normalizer("choice", score_list), "comment": normalizer("long_text")}
    items = []
    for indicator, r in _rubric_rows(spec, grid, hdr, found):
        item = _rubric_item(ctx, grid, r, found, len(items), converters)
        if item:
            ctx.cells[("rubric", len(items))] = (grid.name, a1(r, found.get("score", 0)))
            items.append({"indicator": indicator, **item})
    return items


def _rubric_rows(spec: RubricSpec, grid: SheetGrid, hdr: int, found: dict[str, int]) -> list[tuple[int, int]]:
    """(indicator number, row) by the numbers in the «№» column, down to the total row.

    A deleted or inserted row therefore never moves a score to another
    indicator, and the total (a formula) is never read as a score. Without the
    «№» column the rows are taken by position."""
    n = len(spec.indicators)
    if "number" not in found:
        return [(i + 1, hdr + 1 + i) for i in range(n)]
    width = max(found[k] for k in ("indicator", "criterion", "number") if k in found) + 1
    cells: list = [hdr, *found.items()]
    for row in grid.rows[hdr + 1:hdr + 1 + 2 * n]:  # each row's label cells
        cells += padded(row, width)
    return by_labels(spec, tuple(cells), lambda: _numbered_rows(spec, grid, hdr, found))


def _numbered_rows(spec: RubricSpec, grid: SheetGrid, hdr: int, found: dict[str, int]) -> list[tuple[int, int]]:
    n = len(spec.indicators)
    total_keys = {header_key(spec.raw.get("total_label")), header_key(spec.raw.get("level_label"))}
    label_cols = [found[k] for k in ("indicator", "criterion", "number") if k in found]
    out: list[tuple[int, int]] = []
    seen: set[int] = set()
    for r in range(hdr + 1, min(grid.height, hdr + 1 + 2 * n)):
        if any(header_key(grid.value(r, c)) in total_keys for c in label_cols):
            break
        number = normalize_level(grid.value(r, found["number"]))
        if type(number) is int and 1 <= number <= n and number not in seen:
            seen.add(number)
            out.append((number, r))
    return out


def _rubric_item(ctx: _Ctx, grid: SheetGrid, r: int, found: dict[str, int], index: int,
                 converters: dict[str, Callable[[Any], Any]]) -> dict:
    item: dict[str, Any] = {}
    for key, conv in converters.items():
        if key not in found:
            continue
        c = found[key]
        ctx.input_area(grid, r, c, r, c)
        raw = ctx.take(grid, r, c)
        if raw is not None:
            item[key] = conv(raw)
            ctx.cells[("rubric", index, key)] = (grid.name, a1(r, c))
    return item


# ---------------------------------------------------------------- merged cells

def _check_merged(ctx: _Ctx, book: GridBook) -> None:
    for name, grid in book.sheets.items():
        areas = ctx.inputs.get(name, ())
        for r0, c0, r1, c1 in grid.merged:
            if (r0, c0) == (r1, c1):
                continue
            if any(r0 <= ar1 and ar0 <= r1 and c0 <= ac1 and ac0 <= c1 for ar0, ac0, ar1, ac1 in areas):
                rng = f"{a1(r0, c0)}:{a1(r1, c1)}"
                ctx.problem(MERGED_CELLS, name, a1(r0, c0), range=rng)


# ---------------------------------------------------------------- entry point

def _default_meta(layout: Layout, data: dict, directions: list[str]) -> dict:
    has_programme = bool(data["roadmap"] or data["rubric"] or data["diagnostics"] or data["reflection"])
    return {"template_id": layout.template_id, "template_version": layout.version,
            "workbook_kind": "programme" if has_programme else "school", "directions": directions}


def _check_meta(ctx: _Ctx, meta: dict, sheet: str) -> None:
    layout = ctx.layout
    tid = meta.get("template_id")
    if tid is not None and tid != layout.template_id:
        ctx.problem(TEMPLATE_UNKNOWN, sheet, ctx.cells.get(("meta", "template_id"), (None, None))[1], found=tid)
    version = meta.get("template_version")
    if version is not None and version != layout.version:
        ctx.problem(TEMPLATE_VERSION, sheet, ctx.cells.get(("meta", "template_version"), (None, None))[1],
                    found=version, expected=layout.version)


def _header_directions(book: GridBook, sheet: str | None, spec: MatrixSpec, layout: Layout) -> list[str]:
    """Directions written in the diagnostics header (used when metadata is missing)."""
    standard = layout.directions()
    if sheet is None:
        return standard
    grid = book.sheets[sheet]
    row = grid.rows[spec.header_row - 1] if spec.header_row - 1 < grid.height else []
    extra = [str(v) for v in row[spec.first_direction_col:] if not is_empty(v)]
    return layout.directions(extra)


@dataclass(frozen=True)
class _SheetsFound:
    """Which sheet of a workbook is each layout sheet (None: missing), the
    metadata sheet, and the sheets to read, in the layout's order."""

    actual: dict[str, str | None]
    meta: str | None
    wanted: list[str]


_FOUND = Kept(64)


def _sheets_found(layout: Layout, names: list[str]) -> _SheetsFound:
    """:class:`_SheetsFound` of a workbook's sheet ``names``, kept per names
    (copies of one template repeat them; callers never change it)."""
    key = (id(layout), tuple(names))
    found = _FOUND.take(key, layout)
    if found is None:
        lookup = _sheet_lookup(names)
        actual = {s.key: _resolve(lookup, s.name) for s in layout.sheets if s.kind != "text"}
        meta = _resolve(lookup, layout.meta_sheet)
        wanted = [s.name for s in layout.sheets if s.kind != "text"] + [layout.meta_sheet]
        found = _SheetsFound(actual, meta, [n for n in (_resolve(lookup, w) for w in wanted) if n is not None])
        _FOUND.keep(key, layout, found)
    return found


def _wanted_sheets(layout: Layout, names: list[str]) -> list[str]:
    return _sheets_found(layout, names).wanted


def read_programme(path: str | os.PathLike, *, engine: str = "calamine") -> ParsedWorkbook:
    """Read a filled programme workbook. Raises :class:`xlflow.errors.ReadError` when unreadable."""
    layout = load_layout()
    name = str(path)
    book = load_book(name, lambda names: _wanted_sheets(layout, names), engine=engine)
    found = _sheets_found(layout, book.sheet_names)
    actual, meta_sheet = found.actual, found.meta
    ctx = _Ctx(name, layout, layout.directions(), problems=list(book.problems))
    meta: dict = {}
    if meta_sheet is not None:
        meta = _read_meta(book.sheets[meta_sheet], layout, ctx.cells)
    if not any(actual.values()) and meta.get("template_id") != layout.template_id:
        raise ReadError(NOT_XLFLOW, name)  # no programme sheet and no (or another) template id
    if meta_sheet is not None:
        _check_meta(ctx, meta, meta_sheet)
    diag_spec = layout.sheet("diagnostics")
    assert isinstance(diag_spec, MatrixSpec)
    ctx.use_directions(meta.get("directions") or _header_directions(book, actual["diagnostics"], diag_spec, layout))
    data = _read_sheets(ctx, book, actual)
    if meta_sheet is None:
        ctx.problem(METADATA_MISSING, None, None, sheet_name=layout.meta_sheet)
        meta = _default_meta(layout, data, ctx.directions)
    else:
        meta.setdefault("directions", ctx.directions)
    _check_capped(ctx, book)
    _check_merged(ctx, book)
    data = {"meta": meta, **data}
    data["computed"] = compute(data, layout)
    return ParsedWorkbook(name, data, ctx.cells, ctx.problems)


def _read_sheets(ctx: _Ctx, book: GridBook, actual: dict[str, str | None]) -> dict:
    data: dict[str, Any] = {"passport": {}, "mentors": [], "mentees": [], "pairs": [],
                            "diagnostics": [], "roadmap": [], "rubric": [], "reflection": []}
    for spec in ctx.layout.sheets:
        if spec.kind == "text":
            continue
        sheet = actual[spec.key]
        if sheet is None:
            ctx.problem(SHEET_MISSING, None, None, sheet_name=spec.name)
            continue
        grid = book.sheets[sheet]
        if isinstance(spec, FormSpec):
            data[spec.key] = _read_passport(ctx, spec, grid)
        elif isinstance(spec, TableSpec):
            data[spec.key] = _read_table(ctx, spec, grid)
            if long_sheet(grid) and list(actual.values()).count(sheet) == 1:
                grid.rows = []  # a registry's long table: its records are read, its cells not needed again
        elif isinstance(spec, MatrixSpec):
            data[spec.key] = _read_diagnostics(ctx, spec, grid)
        elif isinstance(spec, RubricSpec):
            data[spec.key] = _read_rubric(ctx, spec, grid)
    return data


def _check_capped(ctx: _Ctx, book: GridBook) -> None:
    from xlflow.reading.grid import MAX_ROWS

    for name, grid in book.sheets.items():
        if grid.capped:
            ctx.problem(ROWS_CAPPED, name, None, limit=MAX_ROWS)
