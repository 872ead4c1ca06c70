"""The school summary written row by row (constant memory) equals the
in-memory workbook cell for cell: no sheet writes a row out of order."""
from __future__ import annotations

import datetime as dt

import openpyxl

from xlflow.consolidate.collect import collect
from xlflow.consolidate.school_writer import write_school_summary
from xlflow.writing.sample import write_samples


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}


def test_streamed_summary_equals_in_memory_summary(tmp_path):
    write_samples(tmp_path / "in", 8, seed=4, error_rate=0.3, jobs=1)
    outcome = collect(tmp_path / "in", tmp_path / "S.xlsx", as_of=dt.date(2026, 5, 25), jobs=1)
    streamed = write_school_summary(tmp_path / "streamed.xlsx", outcome.payload, constant_memory=True)
    in_memory = write_school_summary(tmp_path / "memory.xlsx", outcome.payload, constant_memory=False)
    a, b = _cells(streamed), _cells(in_memory)
    assert list(a) == list(b)
    for sheet in b:
        assert a[sheet] == b[sheet], sheet
    assert sum(len(rows) for rows in b.values()) > 50
