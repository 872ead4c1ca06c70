"""A school's registry read with little memory: sheets read row by row, sheet
XML too large to keep scanned in pieces, the registry handed to the parent
through a side file (same results as the whole-file paths)."""
from __future__ import annotations

import io

import openpyxl
import pytest
import xlsxwriter

from xlflow.reading import grid, safety
from xlflow.reading.grid import load_book


def _book(path, rows: int = 400):
    wb = xlsxwriter.Workbook(str(path))
    big = wb.add_worksheet("big")
    for r in range(rows):
        big.write_row(r, 0, [f"id-{r}", r * 1.5, "  ", r])
    big.write_formula("B7", "=1/0", None, "#DIV/0!")
    big.write_formula("D333", "=NA()", None, "#N/A")
    big.merge_range("E10:F12", "merged")
    big.merge_range(f"A{rows + 3}:C{rows + 3}", "below")
    small = wb.add_worksheet("small")
    small.write("A1", "x")
    small.merge_range("B2:C2", "m")
    wb.close()
    return path


def test_sheets_too_large_to_keep_are_scanned_in_pieces(tmp_path, monkeypatch):
    path = _book(tmp_path / "big.xlsx")
    kept = load_book(path)
    assert kept.sheets["big"].rows[6][1] == "#DIV/0!" and kept.sheets["big"].rows[332][3] == "#N/A"
    assert (9, 4, 11, 5) in kept.sheets["big"].merged and (402, 0, 402, 2) in kept.sheets["big"].merged
    monkeypatch.setattr(safety, "_KEEP_MEMBER", 1)  # nothing kept: every sheet is read from the zip
    monkeypatch.setattr(grid, "_CHUNK", 97)  # pieces far smaller than a row
    streamed = load_book(path)
    assert not safety.check(str(path)).parts
    for name in ("big", "small"):
        assert streamed.sheets[name].rows == kept.sheets[name].rows
        assert streamed.sheets[name].merged == kept.sheets[name].merged


def test_scan_in_pieces_equals_the_whole_scan():
    rows = [f'<x:row r="{r}"><x:c r="A{r}" t="e"><x:v>#REF!</x:v></x:c><x:c r="B{r}"><x:v>{r}</x:v></x:c></x:row>'
            for r in range(1, 60)]
    xml = ("<x:worksheet><x:sheetData>" + "".join(rows) + "</x:sheetData><x:mergeCells>"
           + "".join(f'<x:mergeCell ref="C{r}:D{r + 1}"/>' for r in range(1, 30)) + "</x:mergeCells></x:worksheet>")
    data = xml.encode()
    whole = grid._scan_sheet_xml(data)
    assert len(whole[0]) == 59 and len(whole[1]) == 29
    for chunk in (1, 50, 333, 1 << 20):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(grid, "_CHUNK", chunk)
            assert grid._scan_sheet_stream(io.BytesIO(data)) == whole


def test_sheet_starting_away_from_a1_reads_as_with_openpyxl(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "a"
    ws["D5"], ws["F9"], ws["E7"] = "x", 3.0, "y"
    wb.create_sheet("empty")
    wb.save(tmp_path / "offset.xlsx")
    by_calamine = load_book(tmp_path / "offset.xlsx")
    by_openpyxl = load_book(tmp_path / "offset.xlsx", engine="openpyxl")
    assert by_calamine.sheets["a"].rows == by_openpyxl.sheets["a"].rows
    assert by_calamine.sheets["a"].rows[4] == [None, None, None, "x"]
    assert by_calamine.sheets["empty"].rows == []
