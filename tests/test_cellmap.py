"""CellMap: the reader's compact cell map behaves as the plain dict it replaces."""
from __future__ import annotations

import pickle
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlflow.layout import load_layout
from xlflow.reading.cellmap import CellMap
from xlflow.reading.programme import read_programme
from xlflow.validation.locate import CellLocator
from xlflow.validation.validate import validate_records
from xlflow.writing.sample import write_samples

KEYS = ("id", "name", "date", "mark", "note")
LETTERS = ("A", "B", "D", "AA", "ZZ")


def plain_dict(tables: dict, other: dict) -> dict:
    """The map as the reader built it before: one entry per cell and per row."""
    out = dict(other)
    for table, (sheet, rows) in tables.items():
        for i, (number, mask) in enumerate(rows):
            present = [j for j in range(len(KEYS)) if mask >> j & 1]
            out[(table, i)] = (sheet, f"{LETTERS[present[0]]}{number}")
            for j in present:
                out[(table, i, KEYS[j])] = (sheet, f"{LETTERS[j]}{number}")
    return out


def cell_map(tables: dict, other: dict) -> CellMap:
    cells = CellMap()
    for path, at in other.items():
        cells[path] = at
    for table, (sheet, rows) in tables.items():
        cells.add_table(table, sheet, list(zip(KEYS, LETTERS)))
        for i, (number, mask) in enumerate(rows):
            cells.add_row(table, i, number, mask)
    return cells


rows_st = st.lists(st.tuples(st.integers(1, 1_048_576), st.integers(1, 2 ** len(KEYS) - 1)), max_size=12)
tables_st = st.dictionaries(st.sampled_from(["pairs", "mentors", "mentees"]),
                            st.tuples(st.sampled_from(["Пары", "Наставники"]), rows_st), max_size=3)
other_st = st.dictionaries(st.tuples(st.sampled_from(["meta", "passport", "diagnostics"]), st.text(max_size=3)),
                           st.tuples(st.just("Паспорт"), st.sampled_from(["B2", "C7"])), max_size=5)
probe_st = st.tuples(st.sampled_from(["pairs", "mentors", "meta"]), st.integers(-2, 14),
                     st.sampled_from(KEYS + ("other",)))


@settings(max_examples=150, deadline=None)
@given(tables_st, other_st, st.lists(probe_st, max_size=10))
def test_same_as_the_plain_dict(tables, other, probes):
    expected = plain_dict(tables, other)
    cells = cell_map(tables, other)
    assert dict(cells.items()) == expected
    assert {k: cells[k] for k in cells} == expected
    assert len(cells) == len(expected)
    for path in probes + [p[:2] for p in probes] + list(expected)[:5]:
        assert cells.get(path) == expected.get(path)
        assert (path in cells) == (path in expected)
    assert pickle.loads(pickle.dumps(cells)) == expected


def test_rows_must_come_in_order_with_a_value():
    cells = CellMap()
    cells.add_table("pairs", "Пары", [("id", "A"), ("name", "B")])
    with pytest.raises(ValueError):
        cells.add_row("pairs", 1, 5, 1)  # row 0 missing
    with pytest.raises(ValueError):
        cells.add_row("pairs", 0, 5, 0)  # an empty row is no record
    with pytest.raises(ValueError):
        cells.add_row("pairs", 0, 5, 4)  # a column the table does not have
    with pytest.raises(ValueError):
        cells[("pairs", 0, "id")] = ("Пары", "A5")  # table cells only through add_row
    with pytest.raises(ValueError):
        cells.add_table("pairs", "Пары", [])
    cells[("meta", "x")] = ("Мета", "B1")
    with pytest.raises(TypeError):
        cells.get(["meta", "x"])  # unhashable, as in a dict


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("cellmap")
    write_samples(out, 4, seed=77, error_rate=0.5, jobs=1)
    return sorted(p for p in out.glob("*.xlsx") if not p.name.startswith("."))


def test_every_table_value_points_at_its_cell(copies):
    for path in copies:
        parsed = read_programme(path)
        wb = openpyxl.load_workbook(path, read_only=False)
        for table, records in parsed.data.items():
            if not isinstance(records, list) or parsed.cells.table(table) is None:
                continue
            for i, rec in enumerate(records):
                for key in rec:
                    sheet, ref = parsed.cells[(table, i, key)]
                    assert wb[sheet][ref].value is not None, (path.name, table, i, key)
                assert parsed.cells[(table, i)] in [parsed.cells[(table, i, k)] for k in rec]
                assert parsed.cell_of((table, i, "no-such-key")) == parsed.cells[(table, i)]
            assert (table, len(records)) not in parsed.cells
        assert dict(parsed.cells.items()) == {k: parsed.cells[k] for k in parsed.cells}


def test_validation_places_problems_as_with_the_plain_dict(copies):
    for path in copies:
        parsed = read_programme(path)
        plain = dict(parsed.cells.items())
        problems = validate_records(parsed.data, parsed.cells, file="x", today=None)
        assert problems == validate_records(parsed.data, plain, file="x", today=None)
        layout = load_layout()
        compact, reference = CellLocator(parsed.cells, layout), CellLocator(plain, layout)
        for table in ("pairs", "mentors", "mentees", "diagnostics", "rubric", "passport"):
            for index in (-1, 0, 2, 10_000):
                for field in (None, "id", "full_name", "mentee_id", "comment", "no-such-key", 3):
                    path_ = (table, index) if field is None else (table, index, field)
                    assert compact.position(path_) == reference.position(path_), (path.name, path_)
