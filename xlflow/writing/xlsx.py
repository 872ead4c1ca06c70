"""xlsxwriter workbooks with safe defaults.

Every workbook xlflow writes goes through :func:`new_workbook`, which switches
off xlsxwriter's guessing: a string is always written as a string, never turned
into a formula (``=HYPERLINK(...)``), a URL or a number. User text therefore can
never become a formula in any output.
"""
from __future__ import annotations

import functools
import os

import xlsxwriter
import xlsxwriter.workbook

SAFE_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


class _LeveledWorkbook(xlsxwriter.Workbook):
    """A workbook whose parts are deflated at ``zip_level`` (zlib 1-9) rather
    than zlib's default 6 (xlsxwriter has no option for it)."""

    zip_level = 6

    def _store_workbook(self) -> None:
        plain = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = functools.partial(plain, compresslevel=self.zip_level)
        try:
            super()._store_workbook()
        finally:
            xlsxwriter.workbook.ZipFile = plain


def new_workbook(path: str | os.PathLike, zip_level: int | None = None, **options: object) -> xlsxwriter.Workbook:
    """A workbook with :data:`SAFE_OPTIONS`; ``zip_level``: deflate its parts
    at that zlib level (1 is ~4x faster than the default 6; a summary came out about a third larger)."""
    opts = dict(SAFE_OPTIONS)
    opts.update(options)
    if zip_level is None:
        return xlsxwriter.Workbook(str(path), opts)
    wb = _LeveledWorkbook(str(path), opts)
    wb.zip_level = zip_level
    return wb


def print_report_sheets(wb: xlsxwriter.Workbook) -> None:
    """Print setup for report workbooks (school and municipal summaries).

    Every visible sheet prints on A4 landscape, one page wide (as many pages
    tall as needed), with narrow margins and centred horizontally, so a head
    of school printing the summary never finds the figures on a separate page
    from their labels. Call just before ``wb.close()``."""
    for ws in wb.worksheets():
        if ws.hidden:
            continue
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        ws.center_horizontally()
