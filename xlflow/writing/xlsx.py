"""xlsxwriter workbooks with safe defaults.

Every workbook xlflow writes goes through :func:`new_workbook`, which switches
off xlsxwriter's guessing: a string is always written as a string, never turned
into a formula (``=HYPERLINK(...)``), a URL or a number. User text therefore can
never become a formula in any output.
"""
from __future__ import annotations

import os

import xlsxwriter

SAFE_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


def new_workbook(path: str | os.PathLike, **options: object) -> xlsxwriter.Workbook:
    opts = dict(SAFE_OPTIONS)
    opts.update(options)
    return xlsxwriter.Workbook(str(path), opts)
