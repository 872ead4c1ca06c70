"""Collect's spilled path (facts on disk, figures one programme at a time, long
tables read back row by row) gives exactly the payload of the in-memory
reference (:func:`consolidate` + :func:`build_payload`), and the same files."""
from __future__ import annotations

import copy as copying
import datetime as dt
import json

import pytest

from test_collect import build_folder
from test_collect_rules import _mentor_pairs, copy, pair, registry

from xlflow.consolidate import collect as C
from xlflow.consolidate import export
from xlflow.consolidate.collect_stream import collect_stream
from xlflow.consolidate.intake import read_all, scan_folder
from xlflow.errors import XlflowError

AS_OF = dt.date(2026, 2, 1)
CREATED = dt.datetime(2026, 2, 2, 9, 30, tzinfo=dt.timezone.utc)


def _plain(value):
    """The payload with every streamed table read into a list."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, export.RowStream)):
        return [_plain(v) for v in value]
    return value


def assert_same_as_reference(facts, as_of=AS_OF):
    run, streamed = collect_stream(copying.deepcopy(facts), as_of, CREATED)
    try:
        result = C.consolidate(facts)
        reference = C.build_payload(result, as_of, CREATED)
        assert _plain(streamed) == reference
        # key order and number formatting too: the texts written to the files are the same
        assert "".join(export.iter_json(streamed, indent=1)) == json.dumps(reference, ensure_ascii=False, indent=1)
        assert export.payload_text(streamed) == json.dumps(reference, ensure_ascii=False, separators=(",", ":"),
                                                           sort_keys=True)
        assert run.exit_code() == C.exit_code(result)
        assert len(streamed["tables"]["files"]) == len(reference["tables"]["files"])
    finally:
        run.close()
    return reference


def test_sample_folder_with_versions_duplicates_and_strangers(tmp_path):
    folder = tmp_path / "копии"
    build_folder(folder)
    outputs = C.check_call(folder, tmp_path / "S.xlsx")
    facts = read_all(scan_folder(folder, outputs), AS_OF, jobs=1)
    reference = assert_same_as_reference(facts)
    statuses = {r["status"] for r in reference["tables"]["files"]}
    assert {"accepted", "accepted_with_problems", "duplicate", "superseded", "rejected", "skipped"} <= statuses
    assert reference["figures"]["copies_missing"] >= 1 and reference["figures"]["copies_unlisted"] >= 1


def test_overloads_located_in_the_registry_and_in_copies():
    pairs = _mentor_pairs(5) + [pair("Г-1", "Н-2", "У-0"), pair("Г-2", "Н-3", "У-0")]
    with_registry = assert_same_as_reference([registry(pairs)] + [copy(p) for p in pairs])
    assert with_registry["figures"]["mentors_over_limit"] == 1
    assert with_registry["figures"]["mentees_over_limit"] == 1
    without = assert_same_as_reference([copy(p) for p in pairs])
    assert {p["code"] for p in without["tables"]["problems"]} >= {C.MENTOR_OVERLOAD, C.MENTEE_OVERLOAD, C.NO_REGISTRY}


def test_versions_strangers_banks_and_differing_rows():
    listed, extra, other = pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-9", "У-9"), pair("П-3", "Н-1", "У-3")
    edited = dict(listed, mentor_id="Н-7", start_date="2025-10-01")
    done = [{"direction": "A", "completion": "выполнено", "due_date": "2025-10-01"}]
    files = [registry([listed, other], mentors=["Н-1"], mentees=["У-1", "У-3"]),
             copy(edited, name="a.xlsx", roadmap=done), copy(edited, name="a (2).xlsx", roadmap=done),
             copy(listed, name="b.xlsx"), copy(extra, name="extra.xlsx"),
             copy(other, name="alien.xlsx", code="ОО-001"), copy(other, name="чужая книга.xlsx", code="ОО-001"),
             registry([other], code="ОО-002", name="Другая школа.xlsx")]
    files[-1].problems = [C.Problem(C.NO_IDENTITY, file=files[-1].name)]
    reference = assert_same_as_reference(files)
    codes = {p["code"] for p in reference["tables"]["problems"]}
    assert {C.COPY_DIFFERS, C.NOT_IN_BANK, C.UNLISTED_COPY, C.OTHER_SCHOOL, C.DUPLICATE_COPY,
            C.CONFLICTING_COPIES, C.MISSING_COPY} <= codes


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
