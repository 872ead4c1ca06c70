"""Merged ranges are searched from the first «mergeCell» tag on, and found
exactly as a search of the whole sheet finds them."""
from __future__ import annotations

import pytest

from xlflow.reading.grid import _MERGE, _ref_to_rc, _scan_sheet_xml

CELLS = b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>%s</t></is></c></row></sheetData>'


def _whole(data: bytes) -> list[tuple[int, int, int, int]]:
    """The ranges a search from the start of the sheet finds."""
    out = []
    for m in _MERGE.finditer(data):
        r0, c0 = _ref_to_rc(m.group(1))
        r1, c1 = _ref_to_rc(m.group(2)) if m.group(2) else (r0, c0)
        out.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
    return out


@pytest.mark.parametrize("sheet, count", [
    (CELLS % b"x" + b'<mergeCells count="2"><mergeCell ref="A1:B2"/><mergeCell ref="C3:D4"/></mergeCells>', 2),
    (CELLS % b"x" + b'<x:mergeCells count="1"><x:mergeCell ref="B2:A1"/></x:mergeCells>', 1),
    (CELLS % b"mergeCell &lt;mergeCell" + b'<mergeCells><mergeCell ref="E5"/></mergeCells>', 1),
    (b'<mergeCell ref="A1:C1"/>' + CELLS % b"x", 1),
    (b'<ab:mergeCellx:mergeCell ref="A1:B1"/><mergeCell ref="C1:D1"/>', 1),
    (CELLS % b"no merged ranges", 0),
    (CELLS % b"x" + b'<mergeCells><mergeCell ref="A1:B1"/></mergeCells><dataValidations><dataValidation '
     b'sqref="A1"><formula1>"mergeCell"</formula1></dataValidation></dataValidations><pageSetup/>', 1),
    (CELLS % b"x" + b'<mergeCells><mergeCell ref="A1:B1"/><mergeCell\nref="C1:D2"/></mergeCells><x a="b"/>', 2),
    (CELLS % b"x" + b'<mergeCells><mergeCell ref="A1:B1"/><mergeCell ref="C1:D2"', 2),
])
def test_merged_ranges_as_a_whole_search_finds_them(sheet, count):
    _, merged = _scan_sheet_xml(sheet)
    assert merged == _whole(sheet)
    assert len(merged) == count
