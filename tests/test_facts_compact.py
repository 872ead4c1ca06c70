"""What the worker sends of a big registry stays compact and answers as before."""
from __future__ import annotations

import pickle
import random

import pytest

from xlflow.consolidate.facts import _FEW_PAIRS, _SLICE, PAIR_CELL_KEYS, PairCells, _pair_cells, fingerprint
from xlflow.reading.cellmap import CellMap
from xlflow.reading.programme import ParsedWorkbook

COLUMNS = [("group_id", "A"), ("mentor_id", "B"), ("mentee_id", "C"), ("start_date", "E"),
           ("planned_end_date", "F"), ("comment", "H")]


def registry(rows: int, seed: int = 5) -> ParsedWorkbook:
    rnd = random.Random(seed)
    cells = CellMap()
    cells[("passport", "school_code")] = ("Паспорт", "B3")
    cells.add_table("pairs", "Пары", COLUMNS)
    pairs = []
    for i in range(rows):
        mask = rnd.randrange(1, 1 << len(COLUMNS))
        cells.add_row("pairs", i, 2 + i + rnd.randrange(3) * i, mask)
        pairs.append({k: f"v{i}" for j, (k, _) in enumerate(COLUMNS) if mask >> j & 1})
    return ParsedWorkbook("reg.xlsx", {"pairs": pairs}, cells)


@pytest.mark.parametrize("rows", [3, _FEW_PAIRS + 1, 700])
def test_pair_cells_answer_as_the_plain_dict(rows):
    parsed = registry(rows)
    plain = _pair_cells(ParsedWorkbook(parsed.path, parsed.data, dict(parsed.cells.items())))
    got = _pair_cells(parsed)
    assert isinstance(got, PairCells) == (rows > _FEW_PAIRS)
    assert dict(got.items()) == plain
    assert len(plain) == rows * len(PAIR_CELL_KEYS)  # a missing key falls back to the row's first cell
    for where in [(0, "mentee_id"), (rows - 1, "start_date"), (rows, "group_id"), (-1, "group_id"),
                  (0, "comment"), ("0", "group_id"), (0,)]:
        assert got.get(where, (None, None)) == plain.get(where, (None, None))
        assert (where in got) == (where in plain)
    again = pickle.loads(pickle.dumps(got))
    assert dict(again.items()) == plain


def test_pair_cells_pickle_smaller_than_the_dict():
    parsed = registry(2000)
    compact = _pair_cells(parsed)
    plain = dict(compact.items())
    assert len(pickle.dumps(compact)) * 5 < len(pickle.dumps(plain))


def test_long_tables_hash_in_slices_without_ambiguity():
    rows = [{"group_id": f"Г-{i}", "n": i} for i in range(3 * _SLICE + 7)]
    base = fingerprint({"pairs": rows, "mentors": []})
    assert fingerprint({"pairs": [dict(r) for r in rows], "mentors": []}) == base
    for change in (lambda r: r[_SLICE + 3].update(n=-1), lambda r: r.pop(), lambda r: r.append({}),
                   lambda r: r.insert(_SLICE, r.pop(0))):
        other = [dict(r) for r in rows]
        change(other)
        assert fingerprint({"pairs": other, "mentors": []}) != base
    moved = {"pairs": rows[:_SLICE], "mentors": rows[_SLICE:]}
    assert fingerprint(moved) != base


def test_parsed_days_are_the_same_on_every_call():
    import datetime as dt

    from xlflow.consolidate.school_stats import parse_date

    values = ["2025-09-01", "2025-02-30", "2024-02-29", "нет", "", "2025-09-02"] * 2
    expected = [dt.date(2025, 9, 1), None, dt.date(2024, 2, 29), None, None, dt.date(2025, 9, 2)] * 2
    assert [parse_date(v) for v in values] == expected
    assert parse_date(dt.date(2025, 1, 2)) == dt.date(2025, 1, 2) and parse_date(20250901) is None
