"""School and municipal summaries print on A4 landscape, one page wide."""
from __future__ import annotations

import openpyxl
import pytest

from xlflow.consolidate.collect import collect
from xlflow.consolidate.merge import merge_summaries
from xlflow.writing.sample import write_samples


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    root = tmp_path_factory.mktemp("print")
    write_samples(root / "in", 3, seed=1, jobs=1)
    school = root / "Сводка.xlsx"
    collect(root / "in", school, jobs=1)
    municipal = root / "Муниципалитет.xlsx"
    merge_summaries([school], municipal)
    return [school, municipal]


def test_every_visible_report_sheet_prints_landscape_one_page_wide(summaries):
    for path in summaries:
        wb = openpyxl.load_workbook(path)
        visible = [ws for ws in wb if ws.sheet_state == "visible"]
        assert len(visible) >= 5, path
        for ws in visible:
            setup = ws.page_setup
            assert setup.orientation == "landscape", (path.name, ws.title)
            assert int(setup.paperSize) == 9, (path.name, ws.title)
            assert ws.sheet_properties.pageSetUpPr.fitToPage, (path.name, ws.title)
            # fitToWidth is omitted when 1 (the XML default); fitToHeight 0 = as many pages as needed
            assert int(setup.fitToWidth or 1) == 1 and int(setup.fitToHeight) == 0, (path.name, ws.title)
