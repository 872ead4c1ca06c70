"""An xlsxwriter worksheet that writes xlflow's workbooks faster, with the same bytes.

Two private hooks of xlsxwriter's ``Worksheet`` are overridden; both produce
exactly what the base methods produce (``tests/test_writer.py`` compares the
XML of whole workbooks written with this class and with the stock one):

* ``_prepare_formula``: xlsxwriter rewrites every formula it stores
  (data-validation sources, conditional-format rules, cell formulas) with about
  130 regular-expression substitutions for Excel's "future functions". The
  programme workbook carries ~40 such formulas, the same ones in every copy,
  and that rewriting was about a third of the time to write a copy. It is a
  pure function of the formula text and of the flag saying whether future
  functions are expanded, so its result is memoised.
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

from functools import lru_cache

from xlsxwriter import worksheet as _xw
from xlsxwriter.utility import xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import Worksheet

_BASE_PREPARE = getattr(Worksheet, "_prepare_formula", None)
_BASE_WRITE_CELL = getattr(Worksheet, "_write_cell", None)

BLANK, SHARED_STRING, NUMBER = 0, 1, 2


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
            fmt = cell.format
            if kind is None or not fmt or self.constant_memory:
                return _BASE_WRITE_CELL(self, row, col, cell)
            ref = xl_rowcol_to_cell_fast(row, col)
            style = fmt._get_xf_index()
            if kind == BLANK:
                self.fh.write(f'<c r="{ref}" s="{style}"/>')
            elif kind == SHARED_STRING:
                self.fh.write(f'<c r="{ref}" s="{style}" t="s"><v>{cell.string}</v></c>')
            else:
                self.fh.write(f'<c r="{ref}" s="{style}"><v>{cell.number:.16G}</v></c>')
            return None
