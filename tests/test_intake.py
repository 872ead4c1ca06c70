"""collect's intake as a stream (:func:`iter_facts`): the workers recognise
xlflow's own summaries, the parent scans cheaply, and every file gets the
same facts as reading each file in the parent."""
from __future__ import annotations

import copy
import datetime as dt
import os
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

import hostile
from test_scan import _summary
from xlflow.consolidate import intake, registry_side, scan_plan
from xlflow.writing.sample import write_samples

AS_OF = dt.date(2026, 5, 31)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("копии")
    write_samples(root, 5, seed=3, error_rate=0.4, jobs=1)
    copies = sorted(p for p in root.glob("*.xlsx"))
    shutil.copy2(copies[1], root / (copies[1].stem + " (2).xlsx"))  # byte-identical copy
    os.link(copies[2], root / "жёсткая ссылка.xlsx")
    _summary(root / "Сводка.xlsx", "xlflow-school-summary")
    shutil.copy2(root / "Сводка.xlsx", root / "Сводка (копия).xlsx")  # a duplicate of a summary
    _summary(root / "Муниципалитет.xlsx", "xlflow-municipal-summary")
    _summary(root / "Чужая сводка.xlsx", "xlflow-something-else")
    hostile.random_bytes(root / "шум.xlsx")
    hostile.empty(root / "пусто.xlsx")
    (root / "~$Сводка.xlsx").write_bytes(b"lock")
    (root / "заметки.txt").write_text("не книга", encoding="utf-8")
    return root


def _view(f) -> tuple:
    problems = [(p.code, p.file, p.sheet, p.cell, p.params, p.severity) for p in f.problems]
    return (f.path, f.name, f.mtime, f.status, f.reason, f.kind, f.meta, f.record, f.fingerprint,
            f.pair_cells, problems)


def _side_rows(f) -> tuple:
    """The rows of a registry's side file (read before the stream goes on)."""
    with sqlite3.connect(f.side) as db:
        rows = ([tuple(r) for r in db.execute("SELECT * FROM bank ORDER BY rowid")],
                [_unpickled(r) for r in db.execute("SELECT * FROM reg_pairs ORDER BY rowid")])
    db.close()
    return rows


def _unpickled(row: tuple) -> tuple:
    return (*row[:-1], pickle.loads(row[-1]))


def _whole_rows(f) -> tuple:
    pairs = registry_side.pair_rows(f.record["pairs"], f.pair_cells)
    return list(registry_side.bank_rows(f.record)), [_unpickled(r) for r in pairs]


def _without_tables(f):
    f = copy.copy(f)
    f.record = {**f.record, "mentors": [], "mentees": [], "pairs": []}
    f.pair_cells, f.side = {}, None
    return f


def test_stream_equals_reading_each_file_in_this_process(folder):
    """Workers, queueing and naming change nothing: each file's facts are those
    of reading it here (:func:`read_facts`), or of its scan entry when the scan
    (which here also opens every workbook for its template id) settles it; only
    a registry's people and pairs come in a side file instead of its facts."""
    from xlflow.scan import CANDIDATE, scan_inputs

    entries = scan_inputs([folder], purpose="collect", templates=True).entries
    reference = [intake.read_facts(e.path, e.name, AS_OF) if e.status == CANDIDATE else intake._facts_of_entry(e)
                 for e in entries]
    streamed, side_rows = [], {}
    for f in intake.iter_facts(folder, [], AS_OF, jobs=2):
        if f.side is not None:
            side_rows[f.name] = _side_rows(f)
        streamed.append(f)
    registries = [f for f in reference if f.kind == "school"]
    assert len(registries) == 1 and registries[0].record["pairs"] and registries[0].record["mentors"]
    assert side_rows == {f.name: _whole_rows(f) for f in registries}
    assert not any(os.path.exists(os.path.dirname(f.side)) for f in streamed if f.side)  # the folder went
    reference = [_without_tables(f) if f.kind == "school" else f for f in reference]
    assert [_view(_without_tables(f) if f.side else f) for f in streamed] == [_view(f) for f in reference]
    by_name = {f.name: f for f in streamed}
    assert by_name["Сводка.xlsx"].status == "skipped"
    assert "сводка школы" in by_name["Сводка.xlsx"].reason
    assert by_name["Сводка (копия).xlsx"].reason == by_name["Сводка.xlsx"].reason
    assert "сводка муниципалитета" in by_name["Муниципалитет.xlsx"].reason
    assert by_name["Чужая сводка.xlsx"].status == "rejected"
    assert by_name["жёсткая ссылка.xlsx"].status == "duplicate"
    assert sum(f.status == "duplicate" for f in streamed) == 2


def test_each_file_is_yielded_as_soon_as_read(folder):
    events = []
    seen = []
    for f in intake.iter_facts(folder, [], AS_OF, jobs=1, on_scan=lambda n: events.append(n),
                               progress=lambda f: events.append(f.name)):
        seen.append((f.name, len(events)))
    to_read = events[0]
    assert isinstance(to_read, int) and len(events) == 1 + to_read
    read = events[1:]
    # a file read is yielded right after its progress call, before the next file is read
    assert [(name, at) for name, at in seen if name in read] == [(n, i + 2) for i, n in enumerate(read)]
    names = [name for name, _at in seen]
    assert len(names) == len(set(names)) == len([p for p in folder.rglob("*") if p.is_file()])


intake_read_facts = intake.read_facts


def test_a_crash_is_reported_for_its_file_and_a_crashing_summary_is_still_skipped(folder, monkeypatch):
    target = folder.parent / "с крахом"
    shutil.copytree(folder, target, symlinks=True)
    crash = sorted(target.glob("*.xlsx"))[0]
    crash.rename(crash.with_name("Авария на складе (крах).xlsx"))
    monkeypatch.setattr(intake, "read_facts", _abort_on_summaries_or_crash)
    by_name = {f.name: f for f in intake.iter_facts(target, [], AS_OF, jobs=2)}
    crashed = by_name["Авария на складе (крах).xlsx"]
    assert crashed.status == "rejected" and [p.code for p in crashed.problems] == ["worker-crashed"]
    # the summaries that crash their worker are recognised by the parent; the duplicate follows the first
    assert by_name["Сводка.xlsx"].status == "skipped" and "сводка школы" in by_name["Сводка.xlsx"].reason
    assert by_name["Сводка (копия).xlsx"].reason == by_name["Сводка.xlsx"].reason
    assert "сводка муниципалитета" in by_name["Муниципалитет.xlsx"].reason
    assert sum(f.status is None for f in by_name.values()) >= 3


def _abort_on_summaries_or_crash(path: str, name: str, as_of: dt.date, side_dir: str | None = None):
    if "(крах)" in path or "Сводка (копия)" in path or "Муниципалитет" in path:
        os.abort()
    return intake_read_facts(path, name, as_of, side_dir)


def test_the_parent_knows_every_code_a_worker_sends(folder, tmp_path):
    """Codes are registered by the modules that use them; a fresh parent that
    never read a file itself must still render what its workers report."""
    import subprocess
    import sys

    import openpyxl

    source = next(p for p in sorted(folder.glob("*.xlsx")) if p.name.startswith("П-"))
    wb = openpyxl.load_workbook(source)
    wb["Банк наставляемых"].title = "Переименован"
    (tmp_path / "папка").mkdir()
    wb.save(tmp_path / "папка" / "копия.xlsx")
    script = ("import datetime, sys\n"
              "from xlflow.consolidate.intake import iter_facts\n"
              "for f in iter_facts(sys.argv[1], [], datetime.date(2026, 5, 31), jobs=1):\n"
              "    for p in f.problems:\n"
              "        print(p.code, p.message)\n")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "папка")], capture_output=True,
                         text=True, encoding="utf-8", check=False)
    assert run.returncode == 0, run.stderr
    assert "sheet-missing" in run.stdout


def test_names_and_paths_as_the_scan_gives_them(folder, tmp_path):
    nested = tmp_path / "папка"
    shutil.copytree(folder, nested / "2025" / "осень")
    hostile.random_bytes(nested / "верхний.xlsx")
    from xlflow.scan import scan_inputs

    for given in (str(nested), str(nested) + os.sep):
        expected = [(e.path, e.name) for e in scan_inputs([given], purpose="collect").entries]
        todo, others, renamed = scan_plan.plan_of(given, scan_plan.scan_entries(given, []))
        assert len(todo) > 5 and others and not renamed  # candidates kept as their path alone
        assert [todo[k] for k in range(len(todo))] == [p for p, _n in expected if p not in
                                                       {e.path for e in others.values()}]
        got = [(f.path, f.name) for f in intake.iter_facts(given, [], AS_OF, jobs=2)]
        assert got == expected
        assert any(name.startswith("2025/осень/") for _p, name in got)


def test_plan_keeps_paths_compact_and_names_that_do_not_follow_from_them():
    from xlflow.scan import SKIPPED, ScanEntry

    folder = os.path.join(os.sep, "папка")
    inside = [ScanEntry(os.path.join(folder, "а.xlsx"), "а.xlsx"),
              ScanEntry(os.path.join(folder, "б.txt"), "б.txt", status=SKIPPED),
              ScanEntry(os.path.join(folder, "в\udcff.xlsx"), "другое имя")]
    todo, others, renamed = scan_plan.plan_of(folder, inside)
    assert todo.prefix == os.path.join(folder, "") and len(todo) == 2
    assert [todo[0], todo[1]] == [inside[0].path, inside[2].path]
    assert others == {1: inside[1]} and renamed == {1: "другое имя"}
    with pytest.raises(IndexError):
        todo[2]
    outside = ScanEntry(os.path.join(os.sep, "другая", "г.xlsx"), "г.xlsx")
    todo, others, renamed = scan_plan.plan_of(folder, inside + [outside])
    assert todo.prefix == "" and [todo[k] for k in range(3)] == [inside[0].path, inside[2].path, outside.path]
    assert renamed == {0: "а.xlsx", 1: "другое имя", 2: "г.xlsx"}


def test_the_scan_in_a_child_gives_the_plan_the_parent_would_make(folder, monkeypatch):
    from xlflow.consolidate import forked

    def plain(todo, others, renamed):
        return [todo[k] for k in range(len(todo))], {pos: (e.path, e.name, e.code) for pos, e in others.items()}, renamed

    in_child = plain(*scan_plan.Scan(str(folder), []).result())
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    assert plain(*scan_plan.Scan(str(folder), []).result()) == in_child
    assert len(in_child[0]) > 5


def test_files_much_bigger_than_the_copies_are_read_first_largest_first():
    kib = 1 << 10
    sizes = [30 * kib] * 20
    sizes[17], sizes[3] = 1300 * kib, 170 * kib
    assert scan_plan.big_first(sizes) == [17, 3]
    assert scan_plan.big_first([30 * kib] * 5) == []  # nothing stands out
    assert scan_plan.big_first([]) == []
    small = [kib] * 10 + [20 * kib]  # 20x the typical file, but below the floor
    assert scan_plan.big_first(small) == []
    many = [30 * kib] * 100 + [500 * kib + i for i in range(40)]
    first = scan_plan.big_first(many)
    assert len(first) == scan_plan.MOST_FIRST and first[0] == 139 and first == sorted(first, reverse=True)


def test_the_plan_names_the_registry_among_copies_to_read_first(tmp_path):
    folder = tmp_path / "school"
    folder.mkdir()
    for i in range(6):
        (folder / f"copy{i}.xlsx").write_bytes(b"PK\x03\x04%d" % i + b"x" * 40_000)  # distinct, zip-like
    (folder / "registry.xlsx").write_bytes(b"PK\x03\x04" + b"x" * 400_000)
    todo, _others, _renamed = scan_plan.plan_of(str(folder), scan_plan.scan_entries(str(folder), []))
    names = [todo.tail(k) for k in range(len(todo))]
    assert [names[k] for k in todo.first] == ["registry.xlsx"]
