"""A school's registry read with little memory: sheets read row by row, sheet
XML too large to keep scanned in pieces, the registry handed to the parent
through a side file (same results as the whole-file paths)."""
from __future__ import annotations

import copy
import datetime as dt
import io
import os
import tempfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from test_collect_rules import _mentor_pairs, pair, registry
from test_collect_rules import copy as copy_facts
from test_collect_streaming import CREATED, _plain
from xlflow.consolidate import collect as C
from xlflow.consolidate import intake, registry_side
from xlflow.consolidate.collect_stream import collect_stream
from xlflow.errors import ReadError
from xlflow.reading import grid, safety
from xlflow.reading.grid import load_book
from xlflow.validation.validate import validate_file
from xlflow.writing.programme import write_programme_workbook
from xlflow.writing.sample import generate_school, write_samples
from xlflow.writing.sample_files import school_tasks

AS_OF = dt.date(2026, 2, 1)


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


def _through_side_files(files, folder):
    """The facts as the stream's workers send them: each registry's people and
    pairs in a side file, its record without them."""
    out = []
    for f in files:
        f = copy.deepcopy(f)
        if f.kind == "school":
            f.side = registry_side.write_side(str(folder), f.record, f.pair_cells)
            f.record, f.pair_cells = {**f.record, "mentors": [], "mentees": [], "pairs": []}, {}
        out.append(f)
    return out


def _payload(files):
    run, payload = collect_stream(files, AS_OF, CREATED)
    try:
        return _plain(payload), run.exit_code()
    finally:
        run.close()


def test_registries_handed_over_in_side_files_give_the_same_payload(tmp_path):
    listed, extra, other = pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-9", "У-9"), pair("П-3", "Н-1", "У-3")
    edited = dict(listed, mentor_id="Н-7", start_date="2025-10-01")
    done = [{"direction": "A", "completion": "выполнено", "due_date": "2025-10-01"}]
    loaded = _mentor_pairs(5) + [pair("Г-1", "Н-2", "У-0"), pair("Г-2", "Н-3", "У-0")]
    files = [registry([listed, other] + loaded, mentors=["Н-1", "Н-2", "Н-3"], mentees=["У-1", "У-3"]),
             registry([listed], name="Книга школы (старая).xlsx"),
             copy_facts(edited, name="a.xlsx", roadmap=done), copy_facts(listed, name="b.xlsx"),
             copy_facts(extra, name="extra.xlsx"), copy_facts(other, name="alien.xlsx", code="ОО-001"),
             registry([other], code="ОО-002", name="Другая школа.xlsx")] + [copy_facts(p) for p in loaded]
    files.sort(key=lambda f: f.name)
    whole = _payload(files)
    codes = {p["code"] for p in whole[0]["tables"]["problems"]}
    assert {C.COPY_DIFFERS, C.NOT_IN_BANK, C.OTHER_SCHOOL, C.CONFLICTING_COPIES, C.MENTOR_OVERLOAD} <= codes
    sided = _through_side_files(files, tmp_path)
    assert sum(f.side is not None for f in sided) == 3
    assert _payload(sided) == whole
    assert not list(tmp_path.iterdir())  # every side file was copied and deleted


def test_a_worker_dying_while_it_writes_the_side_file_is_charged_to_the_registry(tmp_path, monkeypatch):
    folder = tmp_path / "копии"
    write_samples(folder, 3, seed=5, jobs=1)
    monkeypatch.setattr(registry_side, "write_side", _write_then_die)  # the workers are forked with it
    seen = {f.name: f for f in intake.iter_facts(folder, [], AS_OF, jobs=1)}
    school = [f for f in seen.values() if f.name.startswith("Книга школы")]
    assert len(school) == 1 and school[0].status == "rejected"
    assert [p.code for p in school[0].problems] == ["worker-crashed"]
    assert sum(f.status is None and f.kind == "programme" for f in seen.values()) == 3
    assert not [p for p in Path(tempfile.gettempdir()).glob("xlflow-registry-*") if _ours(p)]


_WRITE_SIDE = registry_side.write_side


def _write_then_die(folder, data, cells):
    _WRITE_SIDE(folder, data, cells)
    (Path(folder) / f"owner-{os.getppid()}").touch()
    os.abort()


def _ours(folder: Path) -> bool:
    return (folder / f"owner-{os.getpid()}").exists()


def test_equal_texts_of_a_long_sheet_share_one_object(tmp_path):
    path = tmp_path / "long.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("people")
    for r in range(600):
        ws.write_row(r, 0, [f"Н-{r:03d}", "учитель", "русский язык" if r % 2 else "математика", r])
    wb.close()
    rows = load_book(path).sheets["people"].rows
    assert rows == load_book(path, engine="openpyxl").sheets["people"].rows
    assert rows[300][1] is rows[500][1] and rows[301][2] is rows[599][2]
    assert rows[300][2] is not rows[301][2] and len({id(r[0]) for r in rows}) == 600


@pytest.fixture(scope="module")
def long_registry(tmp_path_factory) -> Path:
    """A sample school's registry with 300 pairs and a few mistakes."""
    school = generate_school(7, n_copies=300, error_rate=0.3)
    folder = tmp_path_factory.mktemp("registry")
    tasks, path, _copies = school_tasks(school, folder)
    registry = copy.deepcopy(school.registry)
    registry["pairs"][200]["start_date"] = "31.02.2026"  # a bad date, far down the table
    registry["pairs"][250]["mentor_id"] = "Н-нет"  # not in the bank
    write_programme_workbook(path, tasks[0].options, registry, lock_prefilled=tasks[0].lock_prefilled)
    return path


def test_a_long_registry_reads_and_validates_as_without_sharing(long_registry, monkeypatch):
    shared = validate_file(long_registry, today=AS_OF)
    pairs = shared.parsed.data["pairs"]
    assert len(pairs) >= 300
    days: dict[str, list[str]] = {}
    for row in pairs:
        for key in ("start_date", "planned_end_date", "order_date"):
            if key in row:
                days.setdefault(row[key], []).append(row[key])
    repeated = [same for same in days.values() if len(same) > 1]
    assert repeated and all(day is same[0] for same in repeated for day in same)  # one object per date
    monkeypatch.setattr(grid, "_SHARED_FROM", 10 ** 9)
    plain = validate_file(long_registry, today=AS_OF)
    assert shared.parsed.data == plain.parsed.data
    assert dict(shared.parsed.cells.items()) == dict(plain.parsed.cells.items())
    assert [(p.code, p.sheet, p.cell, p.message) for p in shared.problems] == \
        [(p.code, p.sheet, p.cell, p.message) for p in plain.problems]
    assert {"bad-date"} <= {p.code for p in shared.problems}


def test_the_sheet_scan_runs_before_the_cells_are_read_but_fails_after_the_parser(tmp_path, monkeypatch):
    path = _book(tmp_path / "big.xlsx", rows=20)
    events = []
    scan, norm = grid._xlsx_extras, grid._norm_rows
    monkeypatch.setattr(grid, "_xlsx_extras", lambda *a: events.append("scan") or scan(*a))
    monkeypatch.setattr(grid, "_norm_rows", lambda *a: events.append("cells") or norm(*a))
    assert load_book(path).sheets["big"].rows[6][1] == "#DIV/0!"
    assert events == ["scan", "cells", "cells"]

    def fails(what):
        def fail(*_args):
            raise ValueError(f"{what} failed")
        return fail

    monkeypatch.setattr(grid, "_xlsx_extras", fails("scan"))
    with pytest.raises(ReadError) as info:
        load_book(path)
    assert info.value.code == "workbook-corrupt" and "scan failed" in info.value.message
    monkeypatch.setattr(grid, "_norm_rows", fails("parser"))
    with pytest.raises(ReadError) as info:
        load_book(path)
    assert "parser failed" in info.value.message
