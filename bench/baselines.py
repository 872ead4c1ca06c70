"""Baselines the benchmarks compare xlflow with, measured in the same run.

Readers (each reads every cell value of every sheet of one workbook):

* ``pandas_openpyxl``: ``pandas.read_excel(sheet_name=None, engine="openpyxl")``,
  what a user would write;
* ``openpyxl_full`` / ``openpyxl_readonly``: ``openpyxl.load_workbook`` and its
  ``read_only=True`` mode, iterating all values;
* ``pandas_calamine``: ``pandas.read_excel(sheet_name=None, engine="calamine")``;
* ``calamine_raw``: python-calamine directly, ``to_python()`` of every sheet;
* ``floor``: unzip + expat parse of the sheet XML and shared strings, building
  nothing (no reader can be faster than this in Python).

Writer: ``xlsxwriter_alone`` writes given cells (values only) with xlsxwriter.

Run as a script, this module is the baseline *loop* over a folder (used by the
collect benchmark as a child process so that start-up and memory are measured
the same way as ``xlflow collect``)::

    python bench/baselines.py pandas_openpyxl FOLDER
    python bench/baselines.py calamine_raw FOLDER --procs 2   # split over 2 forked processes
    python bench/baselines.py pandas_openpyxl FOLDER --share 2/5  # every 5th file from the 3rd
    python bench/baselines.py pandas_openpyxl --startup       # the loop's start-up alone

``--share K/N`` lets a long loop be spread over the rounds of a benchmark, one
share per round; ``--startup`` imports what the reader needs and reads nothing,
so that the start-ups of the extra shares can be taken off their sum.
"""
from __future__ import annotations

import datetime as dt
import sys
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

Cell = tuple[int, int, object]  # 0-based row, 0-based column, value


# --------------------------------------------------------------------------- readers

def pandas_openpyxl(path: Path) -> object:
    import pandas as pd

    return pd.read_excel(path, sheet_name=None, engine="openpyxl", header=None)


def pandas_calamine(path: Path) -> object:
    import pandas as pd

    return pd.read_excel(path, sheet_name=None, engine="calamine", header=None)


def openpyxl_full(path: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            n += len(row)
    wb.close()
    return n


def openpyxl_readonly(path: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    n = 0
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                n += len(row)
    finally:
        wb.close()
    return n


def calamine_raw(path: Path) -> list:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        return [wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names]
    finally:
        close = getattr(wb, "close", None)
        if close is not None:
            close()


def floor(path: Path) -> int:
    """Unzip every worksheet and the shared strings and run expat over them."""
    from xml.parsers import expat

    n = 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet") or name == "xl/sharedStrings.xml":
                data = zf.read(name)
                expat.ParserCreate().Parse(data, True)
                n += len(data)
    return n


READERS: dict[str, Callable[[Path], object]] = {
    "pandas_openpyxl": pandas_openpyxl,
    "openpyxl_full": openpyxl_full,
    "openpyxl_readonly": openpyxl_readonly,
    "pandas_calamine": pandas_calamine,
    "calamine_raw": calamine_raw,
    "floor": floor,
}

LABELS = {
    "pandas_openpyxl": '`pandas.read_excel(sheet_name=None, engine="openpyxl")`',
    "openpyxl_full": "openpyxl `load_workbook`",
    "openpyxl_readonly": "openpyxl `load_workbook(read_only=True)`",
    "pandas_calamine": '`pandas.read_excel(sheet_name=None, engine="calamine")`',
    "calamine_raw": "python-calamine directly",
    "floor": "floor: unzip + expat, building nothing",
}


# --------------------------------------------------------------------------- writer

def workbook_cells(path: Path) -> dict[str, list[Cell]]:
    """Every non-empty cell value of every sheet of ``path`` (sheet order kept).

    The cached results of formula cells are taken as plain values: the baseline
    writes the same number of cells, with no formats, validations or formulas."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out: dict[str, list[Cell]] = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        cells = [(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v != ""]
        out[name] = cells
    return out


def xlsxwriter_alone(path: Path, sheets: dict[str, list[Cell]]) -> None:
    """Write ``sheets`` with plain xlsxwriter (one date format, nothing else)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    for name, cells in sheets.items():
        ws = wb.add_worksheet(name)
        for r, c, v in cells:
            if isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, c, v, date_fmt)
            elif isinstance(v, dt.time):
                ws.write_string(r, c, v.isoformat())
            else:
                ws.write(r, c, v)
    wb.close()


# --------------------------------------------------------------------------- loop (child)

def list_inputs(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.xlsx") if not p.name.startswith((".", "~$")))


def loop(reader: str, paths: Iterable[Path]) -> int:
    read = READERS[reader]
    n = 0
    for p in paths:
        read(p)
        n += 1
    return n


def loop_forked(reader: str, paths: list[Path], procs: int) -> int:
    """:func:`loop` split over ``procs`` forked processes (every ``procs``-th
    file each), as xlflow's workers share a folder: the machine's own scaling
    of the same reading over several cores, measured beside ``--jobs N``."""
    import os

    pids = []
    for k in range(procs):
        pid = os.fork()
        if pid == 0:  # the child reads its share and leaves without Python's clean-up
            try:
                loop(reader, paths[k::procs])
            except BaseException:  # noqa: BLE001 - reported through the exit code
                os._exit(1)
            os._exit(0)
        pids.append(pid)
    if any(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0 for pid in pids):
        raise RuntimeError(f"a {reader} child failed")
    return len(paths)


# the modules a reader imports on its first file (what ``--startup`` imports)
IMPORTS = {
    "pandas_openpyxl": ("pandas", "openpyxl"),
    "pandas_calamine": ("pandas", "python_calamine"),
    "openpyxl_full": ("openpyxl",),
    "openpyxl_readonly": ("openpyxl",),
    "calamine_raw": ("python_calamine",),
    "floor": (),
}


def _share(text: str) -> tuple[int, int] | None:
    """``K/N`` (0 <= K < N) as (K, N), else None."""
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit()) or not 0 <= int(k) < int(n):
        return None
    return int(k), int(n)


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    usage = (f"usage: python bench/baselines.py {{{'|'.join(READERS)}}} FOLDER [--procs N | --share K/N]\n"
             f"       python bench/baselines.py READER --startup")
    if len(args) == 2 and args[1] == "--startup" and args[0] in READERS:
        import importlib

        for name in IMPORTS[args[0]]:
            importlib.import_module(name)
        print(f"{args[0]}: start-up only")
        return 0
    procs, share = 1, (0, 1)
    if len(args) == 4 and args[2] == "--procs" and args[3].isdigit() and int(args[3]) >= 1:
        procs = int(args.pop())
        args.pop()
    elif len(args) == 4 and args[2] == "--share" and (parsed := _share(args[3])) is not None:
        share = parsed
        del args[2:]
    if len(args) != 2 or args[0] not in READERS:
        print(usage, file=sys.stderr)
        return 2
    paths = list_inputs(Path(args[1]))[share[0]::share[1]]
    n = loop(args[0], paths) if procs == 1 else loop_forked(args[0], paths, procs)
    print(f"{args[0]}: {n} files" + (f" in {procs} processes" if procs > 1 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
