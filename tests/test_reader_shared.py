"""What the reader keeps from copy to copy (normalisers per directions, table
plans per header row, metadata directions) never changes what a copy reads:
records, cells and problems are those of a reader that starts afresh."""
from __future__ import annotations

from pathlib import Path

import pytest

from test_reader import EXTRA, LAYOUT, put, skeleton, write_inline
from xlflow.reading import grid, kept, programme
from xlflow.reading.programme import read_programme


def _fresh() -> None:
    programme._PLANS.clear()
    programme._SHARED_CONVERTERS.clear()
    kept.BY_LABELS.clear()
    programme._FOUND.clear()
    programme._MATRIX_PLANS.clear()
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
                                ("labels", _passport_moved()), ("no label", _passport_label_gone()),
                                ("sheets", _sheets_renamed()), ("matrix", _matrix(0)),
                                ("matrix moved", _matrix(1)), ("matrix extra", _matrix(0, "Лишний")),
                                ("matrix true", _matrix(0, True)), ("matrix one", _matrix(0, 1)),
                                ("matrix swapped", _matrix_swapped()))}


def _passport_label_gone() -> dict:
    """A passport label deleted: the field is reported at the label's place."""
    cells = skeleton()
    spec = LAYOUT.sheet("passport")
    del cells[spec.name][(spec.row_of(spec.fields[2].key) - 1, 0)]
    return cells


def _sheets_renamed() -> dict:
    """The passport sheet's name in capitals (still found), the rubric sheet gone."""
    cells = skeleton()
    passport, rubric = LAYOUT.sheet("passport").name, LAYOUT.sheet("rubric").name
    cells[passport.upper()] = cells.pop(passport)
    del cells[rubric]
    return cells


def _matrix(shift: int, extra: object = None) -> dict:
    """Diagnostics filled, its stage rows ``shift`` rows lower (an inserted
    row), with an ``extra`` header cell after the directions (1 and True are
    equal as keys, but not the same header)."""
    cells = skeleton()
    spec = LAYOUT.sheet("diagnostics")
    sheet = cells[spec.name]
    hdr = spec.header_row - 1
    width = len(LAYOUT.directions([EXTRA]))
    moved = {}
    for (r, c), v in sheet.items():
        moved[(r + shift if r > hdr else r, c)] = v
    for _, _, _, row1 in spec.rows():
        moved[(row1 - 1 + shift, spec.first_direction_col)] = 2
    if extra is not None:
        moved[(hdr, spec.first_direction_col + width)] = extra
    cells[spec.name] = moved
    return cells


def _matrix_swapped() -> dict:
    """The first two direction columns swapped: the values follow their headers."""
    cells = _matrix(0)
    spec = LAYOUT.sheet("diagnostics")
    sheet, hdr, c = cells[spec.name], spec.header_row - 1, spec.first_direction_col
    sheet[(hdr, c)], sheet[(hdr, c + 1)] = sheet[(hdr, c + 1)], sheet[(hdr, c)]
    return cells


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
                 "numbers", "labels", "clean", "labels", "ones", "no label", "clean", "no label",
                 "sheets", "clean", "sheets", "matrix", "matrix moved", "matrix", "matrix extra",
                 "matrix", "matrix extra", "matrix one", "matrix true", "matrix one", "matrix true",
                 "matrix swapped", "matrix", "matrix swapped"):
        assert _outcome(copies[name]) == alone[name], name
    assert len(alone["ones"][0]["rubric"]) == len(alone["numbers"][0]["rubric"]) + 1
    assert any(code == "field-missing" for code, *_ in alone["no label"][2])
    sheets = {(code, params) for code, _, _, params in alone["sheets"][2]}
    assert alone["sheets"][0]["passport"] == alone["clean"][0]["passport"]
    assert any(code == "sheet-missing" and LAYOUT.sheet("rubric").name in text for code, text in sheets)
    assert len(alone["matrix"][0]["diagnostics"]) == len(alone["matrix moved"][0]["diagnostics"]) > 0
    assert alone["matrix"][1] != alone["matrix moved"][1]  # the same items, one row lower
    assert any(code == "column-unknown" for code, *_ in alone["matrix extra"][2])
    assert not any(code == "column-unknown" for code, *_ in alone["matrix"][2])
    assert alone["matrix one"][2] != alone["matrix true"][2]  # «1» and «TRUE» reported as typed
    assert alone["matrix swapped"][0]["diagnostics"] != alone["matrix"][0]["diagnostics"]
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
        assert kept.by_labels(spec, (["a list cell"], "x"), lambda: built.append(1) or "found") == "found"
    assert built == [1, 1] and not kept.BY_LABELS


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
