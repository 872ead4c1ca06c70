"""Cells and rows written with a namespace prefix (``<x:c>``) are bounded
exactly like plain ones: the fast path never takes them for a plain sheet."""
from __future__ import annotations

import pytest

import hostile
from xlflow.errors import ReadError
from xlflow.reading.safety import precheck


@pytest.mark.parametrize("tail", [
    b'<x:row r="200000"><x:c r="A200000"><x:v>1</x:v></x:c></x:row>',
    b'<x:row r="5"><x:c r="ZZZ5"><x:v>1</x:v></x:c></x:row>',
    b'<row r="5"><x:c\tr="A300000"/></row>',
])
def test_prefixed_far_cell_is_refused(tmp_path, tail):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    far = hostile.replace_in_sheet(base, tmp_path / "far.xlsx", b"</sheetData>", tail + b"</sheetData>")
    with pytest.raises(ReadError) as info:
        precheck(far)
    assert info.value.code == "sheet-too-large"


def test_prefixed_near_cell_passes(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    near = hostile.replace_in_sheet(base, tmp_path / "near.xlsx", b"</sheetData>",
                                    b'<x:row r="40"><x:c r="B40"><x:v>1</x:v></x:c></x:row></sheetData>')
    assert precheck(near) == "xlsx"
