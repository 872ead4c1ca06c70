"""School-wide rules, the duplicate rule and the figures, on in-memory facts
(no files): each rule has a failing and a passing case."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from xlflow.consolidate import collect as C
from xlflow.consolidate import school_stats as S

CODE = "ОО-777"
PAIRS_SHEET = "Пары и группы"
COLS = {"group_id": "A", "mentor_id": "C", "mentee_id": "D", "start_date": "I", "planned_end_date": "J"}


def pair(gid, mentor, mentee, start="2025-09-01", end="2026-05-31", gtype="пара"):
    return {"group_id": gid, "group_type": gtype, "mentor_id": mentor, "mentee_id": mentee,
            "mentoring_form": "педагог – педагог", "kind": "традиционное (один на один)", "mode": "очный",
            "start_date": start, "planned_end_date": end}


def _cells(pairs):
    return {(i, k): (PAIRS_SHEET, f"{col}{i + 4}") for i in range(len(pairs)) for k, col in COLS.items()}


def registry(pairs, mentors=None, mentees=None, code=CODE, name="Книга школы.xlsx"):
    mentors = mentors if mentors is not None else sorted({p["mentor_id"] for p in pairs})
    mentees = mentees if mentees is not None else sorted({p["mentee_id"] for p in pairs})
    rec = {"passport": {"school_code": code, "school_name": "Школа № 5"},
           "mentors": [{"id": m, "full_name": f"Наставник {m}"} for m in mentors],
           "mentees": [{"id": m, "full_name": f"Наставляемый {m}", "category": S.YOUNG_SPECIALIST}
                       for m in mentees],
           "pairs": pairs, "diagnostics": [], "roadmap": [], "rubric": []}
    return C.FileFacts(path=name, name=name, kind="school", record=rec,
                       meta={"workbook_kind": "school", "school_code": code, "directions": ["A", "B"]},
                       fingerprint=json.dumps(rec, sort_keys=True), pair_cells=_cells(pairs))


def copy(p, name=None, code=CODE, roadmap=(), passport=None, mtime=0.0):
    rec = {"passport": {"school_code": code, **(passport or {})},
           "mentors": [{"id": p["mentor_id"], "full_name": "x"}],
           "mentees": [{"id": p["mentee_id"], "full_name": "y"}],
           "pairs": [p], "diagnostics": [], "roadmap": list(roadmap), "rubric": []}
    name = name or f"{p['group_id']}-{p['mentee_id']}.xlsx"
    return C.FileFacts(path=name, name=name, kind="programme", mtime=mtime, record=rec,
                       meta={"workbook_kind": "programme", "school_code": code,
                             "programme_id": p["group_id"], "mentee_id": p["mentee_id"]},
                       fingerprint=json.dumps(rec, sort_keys=True), pair_cells=_cells([p]))


def codes(result):
    return sorted(p.code for p in C.all_problems(result))


def by_name(result, name):
    return next(f for f in result.files if f.name == name)


# ---------------------------------------------------------------- load limits

def _mentor_pairs(n, overlapping=True):
    out = []
    for i in range(n):
        start = "2025-09-01" if overlapping else f"{2022 + i}-09-01"
        end = "2026-05-31" if overlapping else f"{2023 + i}-05-31"
        out.append(pair(f"П-{i}", "Н-1", f"У-{i}", start, end))
    return out


def test_mentor_in_five_overlapping_programmes_is_reported():
    pairs = _mentor_pairs(5)
    result = C.consolidate([registry(pairs)] + [copy(p) for p in pairs])
    problems = [p for p in C.all_problems(result) if p.code == C.MENTOR_OVERLOAD]
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.sheet, p.cell) == ("Книга школы.xlsx", PAIRS_SHEET, "C4")
    assert p.params["count"] == 5 and p.params["value"] == "Н-1"
    assert "01.09.2025" in p.message
    row = next(r for r in S.load_table(result.data) if r["person_id"] == "Н-1")
    assert (row["max_concurrent"], row["over_limit"], row["peak_date"]) == (5, True, "2025-09-01")
    assert C.exit_code(result) == 1


@pytest.mark.parametrize("pairs", [_mentor_pairs(4), _mentor_pairs(6, overlapping=False)])
def test_mentor_within_limit_is_not_reported(pairs):
    result = C.consolidate([registry(pairs)] + [copy(p) for p in pairs])
    assert C.MENTOR_OVERLOAD not in codes(result)
    assert C.exit_code(result) == 0


def test_mentee_overload_counts_across_files_and_actual_end_dates():
    # three programmes of one mentee; the first ended early (actual end date in its copy)
    pairs = [pair("П-1", "Н-1", "У-1", "2025-09-01", "2026-05-31"),
             pair("П-2", "Н-2", "У-1", "2025-10-01", "2026-05-31"),
             pair("П-3", "Н-3", "У-1", "2025-11-01", "2026-05-31")]
    early = copy(pairs[0], passport={"actual_end_date": "2025-10-15", "status": "прекращена досрочно"})
    fine = C.consolidate([registry(pairs), early, copy(pairs[1]), copy(pairs[2])])
    assert C.MENTEE_OVERLOAD not in codes(fine)
    late = C.consolidate([registry(pairs)] + [copy(p) for p in pairs])
    problem = next(p for p in C.all_problems(late) if p.code == C.MENTEE_OVERLOAD)
    assert problem.params["count"] == 3 and problem.cell == "D4"


def test_overlap_counts_both_ends():
    a = (dt.date(2025, 9, 1), dt.date(2025, 12, 31))
    assert S.max_overlap([a, (dt.date(2025, 12, 31), dt.date(2026, 3, 1))]) == (2, dt.date(2025, 12, 31))
    assert S.max_overlap([a, (dt.date(2026, 1, 1), dt.date(2026, 3, 1))])[0] == 1


# ---------------------------------------------------------------- banks, missing, unlisted, other school

def test_copy_person_missing_from_curator_bank():
    p = pair("П-1", "Н-1", "У-1")
    stranger = pair("П-1", "Н-9", "У-1")
    bad = C.consolidate([registry([p]), copy(stranger, name="c.xlsx")])
    problem = next(x for x in C.all_problems(bad) if x.code == C.NOT_IN_BANK)
    assert (problem.file, problem.cell, problem.params["value"]) == ("c.xlsx", "C4", "Н-9")
    assert by_name(bad, "c.xlsx").status == C.WITH_PROBLEMS
    good = C.consolidate([registry([p]), copy(p, name="c.xlsx")])
    assert C.NOT_IN_BANK not in codes(good)
    assert by_name(good, "c.xlsx").status == C.ACCEPTED


def test_missing_copy_is_reported_at_the_registry_row():
    pairs = [pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-1", "У-2")]
    result = C.consolidate([registry(pairs), copy(pairs[0])])
    problem = next(x for x in C.all_problems(result) if x.code == C.MISSING_COPY)
    assert (problem.file, problem.sheet, problem.cell) == ("Книга школы.xlsx", PAIRS_SHEET, "D5")
    assert problem.params == {"programme": "П-2", "mentee": "У-2"}
    figs = S.figures(result.data, S.load_table(result.data))
    assert (figs["copies_expected"], figs["copies_received"], figs["copies_missing"]) == (2, 1, 1)
    complete = C.consolidate([registry(pairs)] + [copy(p) for p in pairs])
    assert C.MISSING_COPY not in codes(complete)


def test_copy_for_unlisted_pair_is_reported_and_counted():
    listed, extra = pair("П-1", "Н-1", "У-1"), pair("П-9", "Н-1", "У-2")
    reg = registry([listed], mentees=["У-1", "У-2"])
    result = C.consolidate([reg, copy(listed), copy(extra, name="extra.xlsx")])
    problem = next(x for x in C.all_problems(result) if x.code == C.UNLISTED_COPY)
    assert (problem.file, problem.cell) == ("extra.xlsx", "A4")
    assert [p.in_registry for p in result.data.programmes] == [True, False]
    assert by_name(result, "extra.xlsx").status == C.WITH_PROBLEMS
    ok = C.consolidate([registry([listed, extra]), copy(listed), copy(extra, name="extra.xlsx")])
    assert C.UNLISTED_COPY not in codes(ok)


def test_copy_of_another_school_is_rejected():
    p = pair("П-1", "Н-1", "У-1")
    result = C.consolidate([registry([p]), copy(p), copy(p, name="alien.xlsx", code="ОО-001")])
    alien = by_name(result, "alien.xlsx")
    assert alien.status == C.REJECTED
    assert [x.code for x in alien.problems] == [C.OTHER_SCHOOL]
    assert alien.problems[0].params == {"found": "ОО-001", "expected": CODE}
    same = C.consolidate([registry([p]), copy(p)])
    assert C.OTHER_SCHOOL not in codes(same)


def test_without_registry_copies_still_count():
    p = pair("П-1", "Н-1", "У-1")
    result = C.consolidate([copy(p)])
    assert codes(result) == [C.NO_REGISTRY]
    assert result.data.school["code"] == CODE and len(result.data.programmes) == 1
    assert C.exit_code(result) == 1


# ---------------------------------------------------------------- duplicates

def test_identical_copy_counts_once():
    p = pair("П-1", "Н-1", "У-1")
    a, b = copy(p, name="a.xlsx"), copy(p, name="a (2).xlsx")
    result = C.consolidate([registry([p]), a, b])
    assert len(result.data.programmes) == 1
    assert {f.name: f.status for f in result.files if f.kind == "programme"} == {
        "a.xlsx": C.ACCEPTED, "a (2).xlsx": C.DUPLICATE}
    assert result.duplicate_of == {"a (2).xlsx": "a.xlsx"}


def _item(mark, done=None):
    item = {"direction": "A", "due_date": "2025-10-01", "completion": mark}
    return {**item, "done_date": done} if done else item


@pytest.mark.parametrize("older, newer, winner", [
    # more activities done wins, even over a later file
    ({"roadmap": [_item("выполнено", "2025-10-01")], "mtime": 1}, {"roadmap": [], "mtime": 2}, "old.xlsx"),
    # same number done: the later date entered wins
    ({"roadmap": [_item("выполнено", "2025-10-09")], "mtime": 1},
     {"roadmap": [_item("выполнено", "2025-10-02"), _item("перенесено")], "mtime": 2}, "old.xlsx"),
    # same dates: the later modification time wins
    ({"roadmap": [_item("перенесено")], "mtime": 1}, {"roadmap": [_item("не выполнено")], "mtime": 2}, "new.xlsx"),
])
def test_conflicting_copies_follow_the_documented_rule(older, newer, winner):
    p = pair("П-1", "Н-1", "У-1")
    files = [copy(p, name="old.xlsx", roadmap=older["roadmap"], mtime=older["mtime"]),
             copy(p, name="new.xlsx", roadmap=newer["roadmap"], mtime=newer["mtime"])]
    result = C.consolidate([registry([p])] + files)
    loser = "new.xlsx" if winner == "old.xlsx" else "old.xlsx"
    assert by_name(result, winner).status == C.WITH_PROBLEMS
    assert by_name(result, loser).status == C.SUPERSEDED
    conflict = [x for x in C.all_problems(result) if x.code == C.CONFLICTING_COPIES]
    assert {x.file for x in conflict} == {winner, loser}
    assert all(x.params["counted"] == winner and x.params["other"] == loser for x in conflict)
    assert result.data.programmes[0].file == winner


def test_conflict_tie_goes_to_the_last_name():
    p = pair("П-1", "Н-1", "У-1")
    files = [copy(p, name="b.xlsx", roadmap=[_item("перенесено")]), copy(p, name="a.xlsx")]
    result = C.consolidate([registry([p])] + files)
    assert by_name(result, "b.xlsx").status == C.WITH_PROBLEMS
    assert by_name(result, "a.xlsx").status == C.SUPERSEDED


# ---------------------------------------------------------------- figures on hand-made data

def test_roadmap_deficit_and_rubric_figures():
    p1, p2 = pair("Г-1", "Н-1", "У-1", gtype="группа"), pair("Г-1", "Н-1", "У-2", gtype="группа")
    c1 = copy(p1, roadmap=[
        {"direction": "A", "due_date": "2026-01-10", "completion": "выполнено", "done_date": "2026-01-10"},
        {"direction": "A", "due_date": "2026-01-10", "completion": "перенесено"},
        {"direction": "B", "due_date": "2026-09-10"},
        {"direction": "B", "due_date": "не дата", "completion": "не выполнено"},
        {"direction": "Б", "due_date": "2026-09-10"}])
    c1.record["diagnostics"] = [
        {"stage": "entry", "aspect": "deficit", "direction": "A", "level": 3},
        {"stage": "final", "aspect": "deficit", "direction": "A", "level": 1},
        {"stage": "entry", "aspect": "strength", "direction": "A", "level": 2},
        {"stage": "entry", "aspect": "deficit", "direction": "B", "level": "три"}]
    c1.record["rubric"] = [{"indicator": i, "score": 2} for i in range(1, 10)]
    c2 = copy(p2)
    c2.record["diagnostics"] = [{"stage": "entry", "aspect": "deficit", "direction": "A", "level": 2}]
    c2.record["rubric"] = [{"indicator": 1, "score": 0}]
    result = C.consolidate([registry([p1, p2]), c1, c2])
    figs, tables = S.compute(result.data, dt.date(2026, 2, 1))
    assert (figs["pairs"], figs["groups"], figs["programmes"], figs["mentors"], figs["mentees"]) == (0, 1, 2, 1, 2)
    assert figs["roadmap"] == {"planned": 5, "done": 1, "partial": 0, "postponed": 1, "not_done": 1,
                               "overdue": 1, "completion_percent": 20.0}
    by_dir = {r["direction"]: r["planned"] for r in tables["roadmap_directions"]}
    assert by_dir == {"A": 2, "B": 2, S.NO_DIRECTION: 1}
    deficits = {r["direction"]: r for r in tables["deficits"]}
    assert deficits["A"] == {"direction": "A", "entry_mean": 2.5, "final_mean": 1.0, "change": -1.5,
                             "entry_n": 2, "final_n": 1, "entry_high": 1, "final_high": 0,
                             "entry_sum": 5, "final_sum": 1}
    assert deficits["B"]["entry_n"] == 0 and deficits["B"]["entry_mean"] is None
    levels = {r["level"]: r["programmes"] for r in tables["rubric_levels"]}
    assert levels == {"оптимальный": 1, "допустимый": 0, "недопустимый": 0, "не оценено": 1}
    assert tables["rubric_indicators"][0]["mean"] == 1.0 and tables["rubric_indicators"][1]["n"] == 1
    assert [r["total"] for r in tables["rubric_programmes"]] == [18, None]
    statuses = {r["status"]: r["programmes"] for r in tables["statuses"]}
    assert statuses == {S.STATUS_UNKNOWN: 2}


def test_payload_matches_schema_and_layout():
    from xlflow.consolidate.export import schema_errors, summary_layout

    p = pair("П-1", "Н-1", "У-1")
    result = C.consolidate([registry([p, pair("П-2", "Н-2", "У-2")]), copy(p)])
    payload = C.build_payload(result, dt.date(2026, 5, 1), dt.datetime(2026, 5, 2, 10, 0, tzinfo=dt.timezone.utc))
    assert schema_errors(payload) == []
    assert payload["created"] == "2026-05-02T10:00:00Z"
    for name, rows in payload["tables"].items():
        keys = [c["key"] for c in summary_layout()["tables"][name]["columns"]]
        assert all(list(r) == keys for r in rows), name


def test_as_of_parsing():
    assert C.parse_as_of("31.05.2026") == dt.date(2026, 5, 31)
    assert C.parse_as_of("2026-05-31") == dt.date(2026, 5, 31)
    assert C.parse_as_of(None, today=dt.date(2026, 1, 2)) == dt.date(2026, 1, 2)
    with pytest.raises(C.XlflowError):
        C.parse_as_of("31/05/2026")


def test_misspelt_choices_are_left_out_of_the_figures():
    good, bad = pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-2", "У-2")
    bad["mode"] = "очно-заочный"
    c1, c2 = copy(good, passport={"status": "завершена"}), copy(bad, passport={"status": "планруется"})
    result = C.consolidate([registry([good, bad]), c1, c2])
    _, tables = S.compute(result.data, dt.date(2026, 6, 1))
    assert {r["status"]: r["programmes"] for r in tables["statuses"]} == {"завершена": 1, S.STATUS_UNKNOWN: 1}
    modes = {r["value"]: r["programmes"] for r in tables["breakdown"] if r["dimension"] == "mode"}
    assert modes == {"очный": 1}
    assert [r["mode"] for r in tables["programmes"]] == ["очный", None]


def test_copy_pair_row_differing_from_the_registry():
    listed = pair("П-1", "Н-1", "У-1", "2025-09-01", "2026-05-31")
    edited = dict(listed, planned_end_date="2026-08-31")
    result = C.consolidate([registry([listed]), copy(edited, name="c.xlsx")])
    [problem] = [p for p in C.all_problems(result) if p.code == C.COPY_DIFFERS]
    assert (problem.file, problem.sheet, problem.cell) == ("c.xlsx", PAIRS_SHEET, "J4")
    assert problem.params == {"column": "Плановая дата окончания", "value": "31.08.2026", "registry": "31.05.2026"}
    assert result.data.programmes[0].planned_end == dt.date(2026, 5, 31)  # the registry counts
    same = C.consolidate([registry([listed]), copy(listed, name="c.xlsx")])
    assert C.COPY_DIFFERS not in codes(same)
