"""What the reader keeps from copy to copy (normalisers per directions, table
plans per header row, metadata directions) never changes what a copy reads:
records, cells and problems are those of a reader that starts afresh."""
from __future__ import annotations

from pathlib import Path

import pytest

from test_reader import LAYOUT, put, skeleton, write_inline
from xlflow.reading import grid, programme
from xlflow.reading.programme import read_programme


def _fresh() -> None:
    programme._PLANS.clear()
    programme._SHARED_CONVERTERS.clear()
    programme._BY_LABELS.clear()
    programme._directions_of_text.cache_clear()


def _outcome(path: Path) -> tuple:
    parsed = read_programme(path)
    problems = [(p.code, p.sheet, p.cell, p.message) for p in parsed.problems]
    return parsed.data, dict(parsed.cells.items()), problems


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shared")
    clean = skeleton()
    put(clean, "mentors", "A4", "Н-1")
    put(clean, "mentors", "E4", 5)
    renamed = skeleton()
    put(renamed, "mentors", "E3", "Стаж")  # a renamed required column
    put(renamed, "mentors", "M3", "Телефон")  # an extra one
    put(renamed, "mentors", "A4", "Н-1")
    put(renamed, "mentors", "E4", 5)
    own = skeleton(directions=["Своё направление"])
    put(own, "roadmap", "A4", "Своё направление")
    return {name: write_inline(root / f"{name}.xlsx", cells)
            for name, cells in (("clean", clean), ("renamed", renamed), ("own", own),
                                ("numbers", _rubric_numbers(True)), ("ones", _rubric_numbers(1)),
                                ("labels", _passport_moved()))}


def _rubric_numbers(first: object) -> dict:
    """Scores by the «№» column, whose first number is ``first`` (1 and True
    are equal as keys, but only 1 is the first indicator)."""
    cells = skeleton()
    rubric = LAYOUT.sheet("rubric")
    first0 = rubric.first_row - 1
    for i in range(len(rubric.indicators)):
        cells[rubric.name][(first0 + i, 0)] = first if i == 0 else i + 1
        cells[rubric.name][(first0 + i, 3)] = 1
    return cells


def _passport_moved() -> dict:
    """Two passport labels swapped: each value still goes to its own field."""
    cells = skeleton()
    spec = LAYOUT.sheet("passport")
    a, b = spec.fields[0], spec.fields[1]
    sheet = cells[spec.name]
    ra, rb = spec.row_of(a.key) - 1, spec.row_of(b.key) - 1
    sheet[(ra, 0)], sheet[(rb, 0)] = b.header, a.header
    sheet[(ra, 1)], sheet[(rb, 1)] = "значение второго поля", "значение первого поля"
    return cells


def test_copies_read_in_turn_read_as_alone(copies):
    alone = {}
    for name, path in copies.items():
        _fresh()
        alone[name] = _outcome(path)
    _fresh()
    for name in ("clean", "renamed", "clean", "own", "renamed", "own", "clean", "numbers", "ones",
                 "numbers", "labels", "clean", "labels", "ones"):
        assert _outcome(copies[name]) == alone[name], name
    assert len(alone["ones"][0]["rubric"]) == len(alone["numbers"][0]["rubric"]) + 1
    assert any(code == "column-missing" for code, *_ in alone["renamed"][2])
    assert not any(code.startswith("column-") for code, *_ in alone["clean"][2])


def test_only_clean_header_rows_are_kept(copies):
    _fresh()
    read_programme(copies["renamed"])
    kept = len(programme._PLANS)
    read_programme(copies["clean"])
    assert len(programme._PLANS) == kept + 1  # the clean mentors header joins; the renamed one never did


def test_cells_that_cannot_be_keys_are_read_without_keeping_anything():
    _fresh()
    spec = LAYOUT.sheet("passport")
    built = []
    for _ in range(2):
        assert programme._by_labels(spec, (["a list cell"], "x"), lambda: built.append(1) or "found") == "found"
    assert built == [1, 1] and not programme._BY_LABELS


def test_long_table_plan_is_neither_kept_nor_taken(tmp_path):
    long = skeleton()
    for i in range(grid._SHARED_FROM + 5):
        put(long, "mentors", f"A{4 + i}", f"Н-{i}")
    path = write_inline(tmp_path / "long.xlsx", long)
    _fresh()
    first = _outcome(path)
    assert not any(plan[2].located and plan[0].key == "mentors" for plan in programme._PLANS.values())
    assert _outcome(path) == first and len(first[0]["mentors"]) == grid._SHARED_FROM + 5


def test_header_key_cache_keeps_equal_numbers_of_other_types_apart():
    """1, 1.0 and True compare equal in Python; as header texts they differ."""
    from xlflow.reading.programme import header_key

    keys = [header_key(v) for v in (1, True, 1.0, 1, True)]
    assert keys[0] == keys[3] == "1" and keys[1] == keys[4] != "1" and keys[2] == "1.0"
