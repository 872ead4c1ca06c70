"""An xlsxwriter worksheet that writes xlflow's workbooks faster, with the same bytes.

Some methods of xlsxwriter's ``Worksheet`` (private hooks among them) are
overridden; all produce exactly what the base methods produce
(``tests/test_writer.py`` compares the XML of whole workbooks written with this
class and with the stock one):

* ``_prepare_formula``: xlsxwriter rewrites every formula it stores
  (data-validation sources, conditional-format rules, cell formulas) with about
  130 regular-expression substitutions for Excel's "future functions". The
  programme workbook carries ~40 such formulas, the same ones in every copy,
  and that rewriting was about a third of the time to write a copy. It is a
  pure function of the formula text and of the flag saying whether future
  functions are expanded, so its result is memoised.
* ``data_validation`` and ``_write_data_validation``: a copy carries ~30 data
  validations with long Russian input and error messages, the same in every
  copy. Checking and normalising the options, and turning them into XML
  (escaping every message), are pure functions of the options (and of the
  range), so both results are memoised per process; a validation whose options
  cannot be frozen (a literal list of values) takes the base methods.
* ``conditional_format`` of the plain kinds xlflow uses (``cell`` and
  ``formula`` rules): the checked options are memoised the same way; what
  depends on the workbook (the dxf index of the format, the rule's priority)
  and the range are filled in per call as the base method does.
* ``_write_cols``: the ``<cols>`` element (widths of ~50 column ranges, the
  same in every copy) is memoised by the columns' properties when no column
  has a format.
* ``_write_cell``: nearly every cell of a programme workbook has a format (input
  cells are unlocked and coloured, blank or not). The base method builds an
  attribute list per cell and escapes each attribute (the integer style index
  through a caught ``TypeError``). Blank, shared-string and number cells with
  a format are written here with one formatted string; every other cell
  (formulas, no format, ``constant_memory`` inline strings) goes to the base
  method.

Used only for xlflow's own workbooks (``add_worksheet(name, worksheet_class=CachedFormulaWorksheet)``);
if a future xlsxwriter drops a private hook or renames its cell tuples, the
matching override is simply unused.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
from functools import lru_cache
from typing import Any

from xlsxwriter import worksheet as _xw
from xlsxwriter.utility import xl_range, xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import Worksheet

_BASE_PREPARE = getattr(Worksheet, "_prepare_formula", None)
_BASE_WRITE_CELL = getattr(Worksheet, "_write_cell", None)
_BASE_DV = getattr(Worksheet, "data_validation", None)
_BASE_WRITE_DV = getattr(Worksheet, "_write_data_validation", None)
_BASE_CF = getattr(Worksheet, "conditional_format", None)
_BASE_WRITE_COLS = getattr(Worksheet, "_write_cols", None)
_convert_range_args = getattr(_xw, "convert_range_args", None)
_CACHE_MAX = 4096
_DV_OPTIONS: dict[tuple, dict] = {}  # (frozen options, date settings) -> checked options without "cells"
_DV_XML: dict[tuple, str] = {}  # frozen checked options -> <dataValidation> XML
_CF_OPTIONS: dict[tuple, dict] = {}  # frozen options without the format -> checked options
_CF_KINDS = ("cell", "formula")
_COLS_XML: dict[tuple, str] = {}  # frozen column properties -> <cols> XML

BLANK, SHARED_STRING, NUMBER = 0, 1, 2
_DATE_TYPES = (dt.date, dt.time, dt.timedelta)  # datetime is a date


def _cell_kinds() -> dict[type, int]:
    """Cell tuple class -> kind written by the fast path ({} if xlsxwriter changed them)."""
    names = {"CellBlankTuple": BLANK, "CellStringTuple": SHARED_STRING,
             "CellNumberTuple": NUMBER, "CellDatetimeTuple": NUMBER}
    fields = {BLANK: ("format",), SHARED_STRING: ("string", "format"), NUMBER: ("number", "format")}
    kinds = {}
    for name, kind in names.items():
        cls = getattr(_xw, name, None)
        if cls is None or getattr(cls, "_fields", None) != fields[kind]:
            return {}
        kinds[cls] = kind
    return kinds


_FAST_KINDS = _cell_kinds() if _BASE_WRITE_CELL is not None else {}


def freeze(options: Any) -> tuple | None:
    """Hashable copy of a validation's options (lists of cells as tuples); None if not possible."""
    if not isinstance(options, dict):
        return None
    items = []
    for key, value in options.items():
        if key == "cells" and isinstance(value, list):
            value = tuple(tuple(c) for c in value)
        elif not isinstance(value, (str, int, float, type(None), *_DATE_TYPES)):
            return None
        items.append((key, value))
    return tuple(items)


def _captured(ws: Worksheet, write: Any, *args: Any) -> str:
    """What ``write(ws, *args)`` writes to the worksheet's XML, as a string."""
    fh, ws.fh = ws.fh, io.StringIO()
    try:
        write(ws, *args)
        return ws.fh.getvalue()
    finally:
        ws.fh = fh


def _cols_key(ws: Worksheet) -> tuple | None:
    """Hashable properties of the worksheet's columns; None if a column has a format."""
    items = []
    for col, info in sorted(ws.col_info.items()):
        if not dataclasses.is_dataclass(info) or getattr(info, "column_format", None) is not None:
            return None
        items.append((col, *(getattr(info, f.name) for f in dataclasses.fields(info))))
    return ws.default_col_width, ws.max_digit_width, tuple(items)


def _remember(cache: dict, key: tuple, value: Any) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value


class _NoFutureFunctions:
    """Stands in for ``self`` in the base method: only this attribute is read."""

    use_future_functions = False


@lru_cache(maxsize=4096)
def _prepared(formula: str, expand: bool) -> str:
    assert _BASE_PREPARE is not None
    return _BASE_PREPARE(_NoFutureFunctions(), formula, expand)


class CachedFormulaWorksheet(Worksheet):
    if _BASE_PREPARE is not None:
        def _prepare_formula(self, formula, expand_future_functions=False):  # noqa: ANN001, ANN202
            if not isinstance(formula, str):
                return _BASE_PREPARE(self, formula, expand_future_functions)
            return _prepared(formula, bool(expand_future_functions or self.use_future_functions))

    if _FAST_KINDS:
        def _write_cell(self, row, col, cell):  # noqa: ANN001, ANN202
            kind = _FAST_KINDS.get(type(cell))
            if kind is None or not cell.format or self.constant_memory:
                return _BASE_WRITE_CELL(self, row, col, cell)
            ref = xl_rowcol_to_cell_fast(row, col)
            style = cell.format._get_xf_index()
            if kind == BLANK:
                self.fh.write(f'<c r="{ref}" s="{style}"/>')
            elif kind == SHARED_STRING:
                self.fh.write(f'<c r="{ref}" s="{style}" t="s"><v>{cell.string}</v></c>')
            else:
                self.fh.write(f'<c r="{ref}" s="{style}"><v>{cell.number:.16G}</v></c>')
            return None

    if _BASE_DV is not None and _BASE_WRITE_DV is not None and _convert_range_args is not None:
        @_convert_range_args
        def data_validation(self, first_row, first_col, last_row, last_col, options=None):  # noqa: ANN001, ANN202
            frozen = freeze(options)
            if frozen is None or "other_cells" in options or "multi_range" in options:
                return _BASE_DV(self, first_row, first_col, last_row, last_col, options)
            key = (frozen, self.date_1904, self.remove_timezone)
            checked = _DV_OPTIONS.get(key)
            if checked is None:
                before = len(self.validations)
                result = _BASE_DV(self, first_row, first_col, last_row, last_col, options)
                if result == 0 and len(self.validations) == before + 1:
                    _remember(_DV_OPTIONS, key, {k: v for k, v in self.validations[-1].items() if k != "cells"})
                return result
            if self._check_dimensions(first_row, first_col, True, True) \
                    or self._check_dimensions(last_row, last_col, True, True):
                return -1
            self.validations.append({**checked, "cells": [[first_row, first_col, last_row, last_col]]})
            return 0

        def _write_data_validation(self, options):  # noqa: ANN001, ANN202
            frozen = freeze(options)
            if frozen is None:
                return _BASE_WRITE_DV(self, options)
            key = (frozen, self.use_future_functions)
            xml = _DV_XML.get(key)
            if xml is None:
                xml = _captured(self, _BASE_WRITE_DV, options)
                _remember(_DV_XML, key, xml)
            self.fh.write(xml)
            return None

    if _BASE_WRITE_COLS is not None:
        def _write_cols(self):  # noqa: ANN202
            key = _cols_key(self) if self.col_info else None
            if key is None:
                return _BASE_WRITE_COLS(self)
            xml = _COLS_XML.get(key)
            if xml is None:
                xml = _captured(self, _BASE_WRITE_COLS)
                _remember(_COLS_XML, key, xml)
            self.fh.write(xml)
            return None

    if _BASE_CF is not None and _convert_range_args is not None:
        @_convert_range_args
        def conditional_format(self, first_row, first_col, last_row, last_col, options=None):  # noqa: ANN001, ANN202
            key = _cf_key(self, options)
            checked = _CF_OPTIONS.get(key) if key is not None else None
            if checked is None:
                return self._first_conditional_format(key, first_row, first_col, last_row, last_col, options)
            if self._check_dimensions(first_row, first_col, True, True) \
                    or self._check_dimensions(last_row, last_col, True, True):
                return -1
            rule = dict(checked)
            if options.get("format"):
                rule["format"] = options["format"]._get_dxf_index()
            rule["priority"] = self.dxf_priority
            self.dxf_priority += 1
            self.cond_formats.setdefault(_cf_range(first_row, first_col, last_row, last_col, options), []).append(rule)
            return 0

        def _first_conditional_format(self, key, first_row, first_col, last_row, last_col, options):  # noqa: ANN001, ANN202
            result = _BASE_CF(self, first_row, first_col, last_row, last_col, options)
            if key is None or result != 0:
                return result
            rule = (self.cond_formats.get(_cf_range(first_row, first_col, last_row, last_col, options)) or [{}])[-1]
            if rule and "is_data_bar_2010" not in rule:
                _remember(_CF_OPTIONS, key, {k: v for k, v in rule.items() if k not in ("format", "priority")})
            return result


def _cf_key(ws: Worksheet, options: Any) -> tuple | None:
    """Cache key of a plain conditional format (its options without the format object)."""
    if not isinstance(options, dict) or options.get("type") not in _CF_KINDS or ws.use_data_bars_2010:
        return None
    frozen = freeze({k: v for k, v in options.items() if k != "format"})
    return None if frozen is None else (frozen, bool(options.get("format")))


def _cf_range(first_row: int, first_col: int, last_row: int, last_col: int, options: dict) -> str:
    """The range a conditional format is stored under, as the base method computes it."""
    if "multi_range" in options:
        return options["multi_range"].replace("$", "")
    first_row, last_row = min(first_row, last_row), max(first_row, last_row)
    first_col, last_col = min(first_col, last_col), max(first_col, last_col)
    return xl_range(first_row, first_col, last_row, last_col)
