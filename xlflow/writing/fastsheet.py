"""An xlsxwriter worksheet that prepares each distinct formula once per process.

xlsxwriter rewrites every formula it stores (data-validation sources,
conditional-format rules, cell formulas) with about 130 regular-expression
substitutions for Excel's "future functions". The programme workbook carries
~40 such formulas, the same ones in every copy, and that rewriting was about a
third of the time to write a copy (``split``, ``sample --count 1000``).

The rewriting is a pure function of the formula text and of the flag saying
whether future functions are expanded, so its result is memoised. Used only for
xlflow's own workbooks (``add_worksheet(name, worksheet_class=CachedFormulaWorksheet)``);
if a future xlsxwriter drops the private hook, the override is simply unused.
"""
from __future__ import annotations

from functools import lru_cache

from xlsxwriter.worksheet import Worksheet

_BASE_PREPARE = getattr(Worksheet, "_prepare_formula", None)


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
