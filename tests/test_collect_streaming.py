"""Collect's spilled payload (facts on disk, figures one programme at a time,
long tables read back row by row): the texts written from it are exactly what
the ``json`` module gives for the same payload read into lists, every table
reads back as many rows as it announces, and a mix of versions, strangers and
differing rows gets each file its status. The figures themselves are checked
against an independent computation in ``test_collect.py``."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from test_collect import build_folder
from test_collect_rules import CREATED, _cells, _plain, collect_facts, copy, message, pair, registry

from xlflow.consolidate import collect as C
from xlflow.consolidate import export
from xlflow.consolidate.collect_stream import collect_stream
from xlflow.consolidate.facts import DUPLICATE, REJECTED, SUPERSEDED, WITH_PROBLEMS
from xlflow.consolidate.intake import iter_facts
from xlflow.errors import XlflowError
from xlflow.problems import Problem

AS_OF = dt.date(2026, 2, 1)


def test_sample_folder_texts_equal_the_json_modules(tmp_path):
    folder = tmp_path / "копии"
    build_folder(folder)
    outputs = C.check_call(folder, tmp_path / "S.xlsx")
    run, streamed = collect_stream(iter_facts(folder, outputs, AS_OF, jobs=1), AS_OF, CREATED)
    try:
        plain = _plain(streamed)
        # key order and number formatting too: the texts written to the files are the json module's
        assert "".join(export.iter_json(streamed, indent=1)) == json.dumps(plain, ensure_ascii=False, indent=1)
        assert export.payload_text(streamed) == json.dumps(plain, ensure_ascii=False, separators=(",", ":"),
                                                           sort_keys=True)
        for name, rows in streamed["tables"].items():
            assert len(rows) == len(plain["tables"][name]), name
        assert run.exit_code() == 1
    finally:
        run.close()
    statuses = {r["status"] for r in plain["tables"]["files"]}
    assert {"accepted", "accepted_with_problems", "duplicate", "superseded", "rejected", "skipped"} <= statuses
    assert plain["figures"]["copies_missing"] >= 1 and plain["figures"]["copies_unlisted"] >= 1


def test_versions_strangers_banks_and_differing_rows():
    listed, extra, other = pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-9", "У-9"), pair("П-3", "Н-1", "У-3")
    edited = dict(listed, mentor_id="Н-7", start_date="2025-10-01")
    done = [{"direction": "A", "completion": "выполнено", "due_date": "2025-10-01"}]
    files = [registry([listed, other], mentors=["Н-1"], mentees=["У-1", "У-3"]),
             copy(edited, name="a.xlsx", roadmap=done), copy(edited, name="a (2).xlsx", roadmap=done),
             copy(listed, name="b.xlsx"), copy(extra, name="extra.xlsx"),
             copy(other, name="alien.xlsx", code="ОО-001"), copy(other, name="чужая книга.xlsx", code="ОО-001"),
             registry([other], code="ОО-002", name="Другая школа.xlsx")]
    files[-1].problems = [Problem(C.NO_IDENTITY, file=files[-1].name)]
    result = collect_facts(files)
    assert {r["file"]: r["status"] for r in result.table("files")} == {
        "Книга школы.xlsx": WITH_PROBLEMS, "a.xlsx": WITH_PROBLEMS, "a (2).xlsx": DUPLICATE,
        "b.xlsx": SUPERSEDED, "extra.xlsx": WITH_PROBLEMS, "alien.xlsx": REJECTED,
        "чужая книга.xlsx": REJECTED, "Другая школа.xlsx": REJECTED}
    by_file = {}
    for p in result.problems():
        by_file.setdefault(p["file"], []).append(p["code"])
    assert by_file == {
        "Книга школы.xlsx": [C.MISSING_COPY],
        "a.xlsx": [C.CONFLICTING_COPIES, C.COPY_DIFFERS, C.NOT_IN_BANK, C.COPY_DIFFERS],
        "a (2).xlsx": [C.DUPLICATE_COPY], "b.xlsx": [C.CONFLICTING_COPIES],
        "extra.xlsx": [C.UNLISTED_COPY, C.NOT_IN_BANK, C.NOT_IN_BANK],
        "alien.xlsx": [C.OTHER_SCHOOL], "чужая книга.xlsx": [C.OTHER_SCHOOL],
        "Другая школа.xlsx": [C.OTHER_SCHOOL]}  # its own problem is dropped: a rejected file is not checked
    assert [(r["programme_id"], r["file"]) for r in result.table("programmes")] == [
        ("П-1", "a.xlsx"), ("П-3", None), ("П-2", "extra.xlsx")]
    assert result.exit_code == 1


def test_a_users_own_csv_beside_the_summary_is_not_overwritten(tmp_path):
    (tmp_path / "in").mkdir()
    own = tmp_path / "S.programmes.csv"
    own.write_text("моя таблица\n1,2\n", encoding="utf-8")
    with pytest.raises(XlflowError) as info:
        C.check_call(tmp_path / "in", tmp_path / "S.xlsx")
    assert info.value.code == "output-is-input" and "S.programmes.csv" in info.value.message
    assert own.read_text(encoding="utf-8") == "моя таблица\n1,2\n"
    ours = export.write_csv(own, [c["key"] for c in export.table_columns("programmes")], [])
    assert C.check_call(tmp_path / "in", tmp_path / "S.xlsx")[0] == tmp_path / "S.xlsx" and ours.exists()


def test_a_copy_naming_many_people_missing_from_the_banks():
    """The banks are asked about all copies' people at once; every person
    missing from them is reported once, at its cell, in row order."""
    rows = [pair("Г-1", "Н-1" if i % 3 else f"Н-{i}", f"У-{i}", gtype="группа") for i in range(192)]
    group = copy(rows[0], name="группа.xlsx")
    group.record["pairs"], group.pair_cells = rows, _cells(rows)
    mentees = [f"У-{i}" for i in range(0, len(rows), 2)]
    result = collect_facts([registry(rows[:1], mentors=["Н-1", "Н-3"], mentees=mentees), group])
    missing = [(p["cell"], p["message"]) for p in result.problems() if p["code"] == C.NOT_IN_BANK]
    expected = []
    for i, row in enumerate(rows):
        for key, label, known in (("mentor_id", "Наставника", ("Н-1", "Н-3")), ("mentee_id", "Наставляемого", mentees)):
            if row[key] not in known:
                expected.append((_cells(rows)[(i, key)][1], message(C.NOT_IN_BANK, role=label, value=row[key])))
    assert len(expected) > 64 and missing == expected
