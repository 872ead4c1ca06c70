"""A member inflated in one piece is scanned whole (``_PartScanner.scan_whole``);
the outcome must be the one of the streaming scan (``feed`` then ``close``)
over the same bytes, for ordinary and for hostile sheets. The bounds it finds
may only be tighter (a plain first piece bounds rows and columns loosely)."""
from __future__ import annotations

import random
import zipfile

import pytest

import hostile
from xlflow.errors import ReadError
from xlflow.reading import safety
from xlflow.reading.safety import Limits

SNIPPETS = [
    b'<row r="200000"><c r="A200000"><v>1</v></c></row>',
    b'<row r="5"><c r="ZZZ5"><v>1</v></c></row>',
    b'<row r="5"><c r="B5" r="XFD5"><v>1</v></c></row>',
    b'<x:row r="7"><x:c r="AB7"><x:v>1</x:v></x:c></x:row>',
    b'<row><c><v>1</v></c><c/><c/></row>',
    b'<c r="A1"',
    b'<dimension ref="A1:XFD1048576"/>',
    b'<sst uniqueCount="999999999">',
    b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b'<row r="9"><c r="B9" t="str"><v>r</v></c></row>',
    b'<row r="9" spans="1:3"><c r="C9" s="2"/></row>',
    b"</sheetData>",
    b"<sheetData>",
    b"<",
]


def _outcome(scan, data: bytes, limits: Limits):
    scanner = safety._PartScanner("f.xlsx", "xl/worksheets/sheet1.xml", limits, ods=False)
    try:
        scan(scanner, data)
    except ReadError as err:
        return err.code
    return ("passed", scanner.row_bound + scanner.implicit_rows, scanner.col_bound + scanner.implicit_cells)


def _streamed(scanner, data: bytes) -> None:
    scanner.feed(data)
    scanner.close()


def _whole(scanner, data: bytes) -> None:
    scanner.scan_whole(data)


@pytest.fixture(scope="module")
def sheet(tmp_path_factory) -> bytes:
    path = hostile.valid_xlsx(tmp_path_factory.mktemp("whole") / "base.xlsx", sheets=1, rows=40)
    with zipfile.ZipFile(path) as zf:
        return zf.read(hostile.SHEET1)


@pytest.mark.parametrize("limits", [Limits(), Limits(max_rows=39), Limits(max_cols=5)])
def test_ordinary_sheet(sheet, limits):
    assert _outcome(_whole, sheet, limits) == _outcome(_streamed, sheet, limits)


def test_hostile_insertions_scan_alike(sheet):
    rng = random.Random(5)
    tags = [i for i in range(len(sheet)) if sheet[i:i + 1] == b"<"]
    seen = set()
    for _ in range(400):
        data = sheet
        for _ in range(rng.randint(1, 2)):
            at = rng.choice(tags + [len(data)])
            data = data[:at] + rng.choice(SNIPPETS) + data[at:]
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data))]  # cut short
        for limits in (Limits(), Limits(max_rows=39)):
            whole, streamed = _outcome(_whole, data, limits), _outcome(_streamed, data, limits)
            if isinstance(whole, tuple) and isinstance(streamed, tuple):
                assert whole[1] <= streamed[1] and whole[2] <= streamed[2], data[-300:]
            else:
                assert whole == streamed, data[-300:]
            seen.add(whole if isinstance(whole, str) else "passed")
    assert {"passed", "sheet-too-large", "xml-entities", "not-a-workbook"} <= seen


@pytest.mark.parametrize("limits", [Limits(max_cols=20), Limits(max_cells=1000), Limits(max_rows=50)])
def test_tight_limits_bound_ordinary_sheets_exactly(tmp_path, limits):
    """Limits below the fast path's bound (26 columns, 99,999 rows) refused
    every sheet as "up to row 99999 and column 26"; now only real extents count."""
    small = hostile.valid_xlsx(tmp_path / "small.xlsx", sheets=1, rows=5, cols=3)
    assert safety.check(small, limits).kind == "xlsx"
    wide = hostile.valid_xlsx(tmp_path / "wide.xlsx", sheets=1, rows=60, cols=22)
    with pytest.raises(ReadError) as info:
        safety.check(wide, limits)
    assert info.value.code == "sheet-too-large"
    assert "строки 60 и столбца 22" in info.value.message
