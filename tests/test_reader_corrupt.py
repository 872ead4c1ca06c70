"""A damaged shared-string reference is a clean read error on both engines.

Found by tests/fuzz_workbooks.py: openpyxl raised a bare IndexError."""
from __future__ import annotations

import re
import zipfile

import pytest

from xlflow.errors import ReadError
from xlflow.reading.grid import read_grids
from hostile import SHEET1, replace_in_sheet, valid_xlsx


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_shared_string_index_past_the_table(tmp_path, engine):
    good = valid_xlsx(tmp_path / "good.xlsx", sheets=1, rows=3, cols=2)
    with zipfile.ZipFile(good) as zf:
        sheet = zf.read(SHEET1)
    cell = re.search(rb'<c r="B1"[^>]*t="s"[^>]*><v>\d+</v></c>', sheet).group(0)
    broken = re.sub(rb"<v>\d+</v>", b"<v>99999</v>", cell)
    bad = replace_in_sheet(good, tmp_path / "bad.xlsx", cell, broken)
    assert read_grids(good, engine=engine)  # the intact file reads
    with pytest.raises(ReadError) as info:
        read_grids(bad, engine=engine)
    assert info.value.code == "workbook-corrupt"
    assert "bad.xlsx" in str(info.value.file)
