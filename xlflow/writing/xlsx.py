"""xlsxwriter workbooks with safe defaults.

Every workbook xlflow writes goes through :func:`new_workbook`, which switches
off xlsxwriter's guessing: a string is always written as a string, never turned
into a formula (``=HYPERLINK(...)``), a URL or a number. User text therefore can
never become a formula in any output.
"""
from __future__ import annotations

import functools
import os
import re
import threading
from collections import namedtuple
from typing import Any

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.utility import xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import Worksheet

SAFE_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


# held while xlsxwriter's module-level ZipFile is swapped: two threads storing
# leveled workbooks at once would otherwise each keep the other's swap as the
# class to restore, and the module could stay swapped
_STORE_LOCK = threading.Lock()


class _LeveledWorkbook(xlsxwriter.Workbook):
    """A workbook whose parts are deflated at ``zip_level`` (zlib 1-9) rather
    than zlib's default 6 (xlsxwriter has no option for it: the zip class its
    module uses is swapped while the parts are stored, one workbook at a time)."""

    zip_level = 6

    def _store_workbook(self) -> None:
        with _STORE_LOCK:
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


# what xlsxwriter changes in an inline string: XML specials, control characters (as _xHHHH_),
# text that looks like such an escape, non-characters, and leading or trailing whitespace (kept
# by an attribute); a rich string starts with "<r>"
CONTROL_OR_NONCHARACTER = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_LIKE_ESCAPE = re.compile(r"_x[0-9a-fA-F]{4}_")


def inline_unchanged(text: str) -> bool:
    """True when xlsxwriter (``constant_memory``) writes ``text`` as an inline
    string as it is: about a third of the cost of its escaping, as a text
    without control characters or non-characters is mostly all printable
    (:meth:`str.isprintable`, one quick scan; JSON escapes newlines)."""
    if "&" in text or "<" in text or ">" in text or _LIKE_ESCAPE.search(text) or text[:1].isspace() \
            or text[-1:].isspace():
        return False
    return text.isprintable() or not CONTROL_OR_NONCHARACTER.search(text)


_Unchanged = namedtuple("String", ["string", "format"])  # a String cell whose text needs no escaping


class InlineTextSheet(Worksheet):
    """A worksheet that writes long texts (:meth:`write_inline`: the hidden
    sheet's payload text) in one cheap check (:func:`inline_unchanged`)
    instead of xlsxwriter's escaping passes where they would change nothing.
    The XML is the same."""

    def write_inline(self, row: int, col: int, text: str) -> int:
        """``write_string(row, col, text)``; without xlsxwriter's escaping when
        :func:`inline_unchanged` (in ``constant_memory`` mode, within Excel's cell length)."""
        if not (self.constant_memory and len(text.encode("utf-16-le", "surrogatepass")) <= 2 * self.xls_strmax
                and inline_unchanged(text)):
            return self.write_string(row, col, text)
        if self._check_dimensions(row, col):
            return -1
        if row > self.previous_row:  # as _write_string: the previous row goes to the file
            self._write_single_row(row)
        self.table[row][col] = _Unchanged(text, None)
        return 0

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        if type(cell) is _Unchanged and row not in self.row_info and col not in self.col_info:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" t="inlineStr"><is><t>{cell.string}</t></is></c>')
        else:  # a row or column format may apply: the base method (which escapes nothing here)
            super()._write_cell(row, col, cell)
