"""School-wide rules, the duplicate rule and the figures, on hand-made facts
(no files) run through collect's consolidation (:func:`collect_stream`): each
rule has a failing and a passing case."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest

from xlflow.consolidate import collect as C
from xlflow.consolidate import school_stats as S
from xlflow.consolidate.collect_stream import collect_stream
from xlflow.consolidate.export import RowStream
from xlflow.consolidate.facts import ACCEPTED, DUPLICATE, REJECTED, SUPERSEDED, WITH_PROBLEMS, FileFacts
from xlflow.errors import XlflowError
from xlflow.problems import Problem

CODE = "ОО-777"
PAIRS_SHEET = "Пары и группы"
AS_OF = dt.date(2026, 2, 1)
CREATED = dt.datetime(2026, 2, 2, 9, 30, tzinfo=dt.timezone.utc)
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
    return FileFacts(path=name, name=name, kind="school", record=rec,
                       meta={"workbook_kind": "school", "school_code": code, "directions": ["A", "B"]},
                       fingerprint=json.dumps(rec, sort_keys=True), pair_cells=_cells(pairs))


def copy(p, name=None, code=CODE, roadmap=(), passport=None, mtime=0.0):
    rec = {"passport": {"school_code": code, **(passport or {})},
           "mentors": [{"id": p["mentor_id"], "full_name": "x"}],
           "mentees": [{"id": p["mentee_id"], "full_name": "y"}],
           "pairs": [p], "diagnostics": [], "roadmap": list(roadmap), "rubric": []}
    name = name or f"{p['group_id']}-{p['mentee_id']}.xlsx"
    return FileFacts(path=name, name=name, kind="programme", mtime=mtime, record=rec,
                       meta={"workbook_kind": "programme", "school_code": code,
                             "programme_id": p["group_id"], "mentee_id": p["mentee_id"]},
                       fingerprint=json.dumps(rec, sort_keys=True), pair_cells=_cells([p]))


def _plain(value):
    """The payload with every streamed table read into a list."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, RowStream)):
        return [_plain(v) for v in value]
    return value


@dataclass
class Run:
    """What collect gave for some facts: the payload (tables as lists) and the exit code."""

    payload: dict
    exit_code: int

    @property
    def figures(self) -> dict:
        return self.payload["figures"]

    def table(self, name: str) -> list[dict]:
        return self.payload["tables"][name]

    def problems(self, code: str | None = None) -> list[dict]:
        return [p for p in self.table("problems") if code is None or p["code"] == code]

    def codes(self) -> list[str]:
        return sorted(p["code"] for p in self.problems())

    def file(self, name: str) -> dict:
        return next(r for r in self.table("files") if r["file"] == name)

    def status(self, name: str) -> str:
        return self.file(name)["status"]


def collect_facts(files, as_of=AS_OF) -> Run:
    """Collect's consolidation (:func:`collect_stream`) over hand-made facts."""
    run, payload = collect_stream(files, as_of, CREATED)
    try:
        return Run(_plain(payload), run.exit_code())
    finally:
        run.close()


def message(code, **params) -> str:
    return Problem(code, params=params).message


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
    result = collect_facts([registry(pairs)] + [copy(p) for p in pairs])
    [p] = result.problems(C.MENTOR_OVERLOAD)
    assert (p["file"], p["sheet"], p["cell"]) == ("Книга школы.xlsx", PAIRS_SHEET, "C4")
    assert p["message"] == message(C.MENTOR_OVERLOAD, value="Н-1", count=5, groups="П-0, П-1, П-2, П-3, П-4",
                                   day="01.09.2025")
    row = next(r for r in result.table("load") if r["person_id"] == "Н-1")
    assert (row["max_concurrent"], row["over_limit"], row["peak_date"]) == (5, True, "2025-09-01")
    assert result.figures["mentors_over_limit"] == 1
    assert result.exit_code == 1


@pytest.mark.parametrize("pairs", [_mentor_pairs(4), _mentor_pairs(6, overlapping=False)])
def test_mentor_within_limit_is_not_reported(pairs):
    result = collect_facts([registry(pairs)] + [copy(p) for p in pairs])
    assert C.MENTOR_OVERLOAD not in result.codes()
    assert result.figures["mentors_over_limit"] == 0
    assert result.exit_code == 0


def test_mentee_overload_counts_across_files_and_actual_end_dates():
    # three programmes of one mentee; the first ended early (actual end date in its copy)
    pairs = [pair("П-1", "Н-1", "У-1", "2025-09-01", "2026-05-31"),
             pair("П-2", "Н-2", "У-1", "2025-10-01", "2026-05-31"),
             pair("П-3", "Н-3", "У-1", "2025-11-01", "2026-05-31")]
    early = copy(pairs[0], passport={"actual_end_date": "2025-10-15", "status": "прекращена досрочно"})
    fine = collect_facts([registry(pairs), early, copy(pairs[1]), copy(pairs[2])])
    assert C.MENTEE_OVERLOAD not in fine.codes()
    late = collect_facts([registry(pairs)] + [copy(p) for p in pairs])
    [problem] = late.problems(C.MENTEE_OVERLOAD)
    assert problem["cell"] == "D4"
    assert problem["message"] == message(C.MENTEE_OVERLOAD, value="У-1", count=3, groups="П-1, П-2, П-3",
                                         day="01.11.2025")


def test_overlap_counts_both_ends():
    a = (dt.date(2025, 9, 1), dt.date(2025, 12, 31))
    assert S.max_overlap([a, (dt.date(2025, 12, 31), dt.date(2026, 3, 1))]) == (2, dt.date(2025, 12, 31))
    assert S.max_overlap([a, (dt.date(2026, 1, 1), dt.date(2026, 3, 1))])[0] == 1


def test_overloads_located_in_the_registry_else_in_copies():
    pairs = _mentor_pairs(5) + [pair("Г-1", "Н-2", "У-0"), pair("Г-2", "Н-3", "У-0")]
    with_registry = collect_facts([registry(pairs)] + [copy(p) for p in pairs])
    [mentor] = with_registry.problems(C.MENTOR_OVERLOAD)
    [mentee] = with_registry.problems(C.MENTEE_OVERLOAD)
    # the first registry row that names the person
    assert [(p["file"], p["cell"]) for p in (mentor, mentee)] == [("Книга школы.xlsx", "C4"),
                                                                  ("Книга школы.xlsx", "D4")]
    without = collect_facts([copy(p) for p in pairs])
    assert (without.figures["mentors_over_limit"], without.figures["mentees_over_limit"]) == (1, 1)
    [mentor] = without.problems(C.MENTOR_OVERLOAD)
    [mentee] = without.problems(C.MENTEE_OVERLOAD)
    # the first copy by programme and mentee code whose own pair row names the person
    assert (mentor["file"], mentor["sheet"], mentor["cell"]) == ("П-0-У-0.xlsx", PAIRS_SHEET, "C4")
    assert (mentee["file"], mentee["sheet"], mentee["cell"]) == ("Г-1-У-0.xlsx", PAIRS_SHEET, "D4")
    assert mentee["message"] == message(C.MENTEE_OVERLOAD, value="У-0", count=3, groups="Г-1, Г-2, П-0",
                                        day="01.09.2025")
    assert C.NO_REGISTRY in without.codes() and without.exit_code == 1


# ---------------------------------------------------------------- banks, missing, unlisted, other school

def test_copy_person_missing_from_curator_bank():
    p = pair("П-1", "Н-1", "У-1")
    stranger = pair("П-1", "Н-9", "У-1")
    bad = collect_facts([registry([p]), copy(stranger, name="c.xlsx")])
    [problem] = bad.problems(C.NOT_IN_BANK)
    assert (problem["file"], problem["sheet"], problem["cell"]) == ("c.xlsx", PAIRS_SHEET, "C4")
    assert problem["message"] == message(C.NOT_IN_BANK, role="Наставника", value="Н-9")
    assert bad.status("c.xlsx") == WITH_PROBLEMS
    good = collect_facts([registry([p]), copy(p, name="c.xlsx")])
    assert C.NOT_IN_BANK not in good.codes()
    assert good.status("c.xlsx") == ACCEPTED


def test_missing_copy_is_reported_at_the_registry_row():
    pairs = [pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-1", "У-2")]
    result = collect_facts([registry(pairs), copy(pairs[0])])
    [problem] = result.problems(C.MISSING_COPY)
    assert (problem["file"], problem["sheet"], problem["cell"]) == ("Книга школы.xlsx", PAIRS_SHEET, "D5")
    assert problem["message"] == message(C.MISSING_COPY, programme="П-2", mentee="У-2")
    figs = result.figures
    assert (figs["copies_expected"], figs["copies_received"], figs["copies_missing"]) == (2, 1, 1)
    assert result.status("Книга школы.xlsx") == WITH_PROBLEMS
    complete = collect_facts([registry(pairs)] + [copy(p) for p in pairs])
    assert C.MISSING_COPY not in complete.codes()


def test_copy_for_unlisted_pair_is_reported_and_counted():
    listed, extra = pair("П-1", "Н-1", "У-1"), pair("П-9", "Н-1", "У-2")
    reg = registry([listed], mentees=["У-1", "У-2"])
    result = collect_facts([reg, copy(listed), copy(extra, name="extra.xlsx")])
    [problem] = result.problems(C.UNLISTED_COPY)
    assert (problem["file"], problem["cell"]) == ("extra.xlsx", "A4")
    assert problem["message"] == message(C.UNLISTED_COPY, programme="П-9", mentee="У-2")
    assert [(r["programme_id"], r["in_registry"]) for r in result.table("programmes")] == [
        ("П-1", True), ("П-9", False)]
    assert result.figures["copies_unlisted"] == 1
    assert result.status("extra.xlsx") == WITH_PROBLEMS
    ok = collect_facts([registry([listed, extra]), copy(listed), copy(extra, name="extra.xlsx")])
    assert C.UNLISTED_COPY not in ok.codes()


def test_copy_of_another_school_is_rejected():
    p = pair("П-1", "Н-1", "У-1")
    result = collect_facts([registry([p]), copy(p), copy(p, name="alien.xlsx", code="ОО-001")])
    assert result.status("alien.xlsx") == REJECTED
    assert [x["code"] for x in result.problems() if x["file"] == "alien.xlsx"] == [C.OTHER_SCHOOL]
    expected = message(C.OTHER_SCHOOL, found="ОО-001", expected=CODE)
    assert result.problems(C.OTHER_SCHOOL)[0]["message"] == expected == result.file("alien.xlsx")["reason"]
    same = collect_facts([registry([p]), copy(p)])
    assert C.OTHER_SCHOOL not in same.codes()


def test_registry_of_another_school_is_rejected_and_the_school_with_most_copies_wins():
    p = pair("П-1", "Н-1", "У-1")
    other = registry([p], code="ОО-002", name="Другая школа.xlsx")
    result = collect_facts([registry([p]), copy(p), other])
    assert result.status("Другая школа.xlsx") == REJECTED
    assert result.problems(C.OTHER_SCHOOL)[0]["message"] == message(C.OTHER_SCHOOL, found="ОО-002", expected=CODE)
    assert result.payload["school"]["code"] == CODE


def test_without_registry_copies_still_count():
    p = pair("П-1", "Н-1", "У-1")
    result = collect_facts([copy(p)])
    assert result.codes() == [C.NO_REGISTRY]
    assert result.payload["school"]["code"] == CODE
    assert result.figures["programmes"] == len(result.table("programmes")) == 1
    assert result.exit_code == 1


# ---------------------------------------------------------------- duplicates

def test_identical_copy_counts_once():
    p = pair("П-1", "Н-1", "У-1")
    a, b = copy(p, name="a.xlsx"), copy(p, name="a (2).xlsx")
    result = collect_facts([registry([p]), a, b])
    assert result.figures["programmes"] == len(result.table("programmes")) == 1
    assert {r["file"]: r["status"] for r in result.table("files") if r["kind"] == "programme"} == {
        "a.xlsx": ACCEPTED, "a (2).xlsx": DUPLICATE}
    assert {r["file"]: r["duplicate_of"] for r in result.table("files") if r["duplicate_of"]} == {
        "a (2).xlsx": "a.xlsx"}
    assert [x["message"] for x in result.problems(C.DUPLICATE_COPY)] == [message(C.DUPLICATE_COPY, other="a.xlsx")]


def _item(mark, done=None):
    item = {"direction": "A", "due_date": "2025-10-01", "completion": mark}
    return {**item, "done_date": done} if done else item


@pytest.mark.parametrize("older, newer, winner, why", [
    # more activities done wins, even over a later file
    ({"roadmap": [_item("выполнено", "2025-10-01")], "mtime": 1}, {"roadmap": [], "mtime": 2}, "old.xlsx",
     "в нём больше выполненных мероприятий: 1 против 0"),
    # same number done: the later date entered wins
    ({"roadmap": [_item("выполнено", "2025-10-09")], "mtime": 1},
     {"roadmap": [_item("выполнено", "2025-10-02"), _item("перенесено")], "mtime": 2}, "old.xlsx",
     "в нём более поздняя внесённая дата: 09.10.2025"),
    # same dates: the later modification time wins
    ({"roadmap": [_item("перенесено")], "mtime": 1}, {"roadmap": [_item("не выполнено")], "mtime": 2}, "new.xlsx",
     "он изменён позже"),
])
def test_conflicting_copies_follow_the_documented_rule(older, newer, winner, why):
    p = pair("П-1", "Н-1", "У-1")
    files = [copy(p, name="old.xlsx", roadmap=older["roadmap"], mtime=older["mtime"]),
             copy(p, name="new.xlsx", roadmap=newer["roadmap"], mtime=newer["mtime"])]
    result = collect_facts([registry([p])] + files)
    loser = "new.xlsx" if winner == "old.xlsx" else "old.xlsx"
    assert result.status(winner) == WITH_PROBLEMS
    assert result.status(loser) == SUPERSEDED
    assert result.file(loser)["duplicate_of"] == winner
    conflict = result.problems(C.CONFLICTING_COPIES)
    assert {x["file"] for x in conflict} == {winner, loser}
    expected = message(C.CONFLICTING_COPIES, counted=winner, other=loser, key="П-1, У-1", why=why)
    assert all(x["message"] == expected for x in conflict)
    assert result.table("programmes")[0]["file"] == winner


def test_conflict_tie_goes_to_the_last_name():
    p = pair("П-1", "Н-1", "У-1")
    files = [copy(p, name="b.xlsx", roadmap=[_item("перенесено")]), copy(p, name="a.xlsx")]
    result = collect_facts([registry([p])] + files)
    assert result.status("b.xlsx") == WITH_PROBLEMS
    assert result.status("a.xlsx") == SUPERSEDED
    assert "его имя последнее по алфавиту" in result.problems(C.CONFLICTING_COPIES)[0]["message"]


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
    result = collect_facts([registry([p1, p2]), c1, c2], dt.date(2026, 2, 1))
    figs, tables = result.figures, result.payload["tables"]
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
    result = collect_facts([registry([p, pair("П-2", "Н-2", "У-2")]), copy(p)], dt.date(2026, 5, 1))
    payload = result.payload
    assert schema_errors(payload) == []
    assert (payload["created"], payload["as_of"]) == ("2026-02-02T09:30:00Z", "2026-05-01")
    assert list(payload["tables"]) == list(summary_layout()["tables"])
    for name, rows in payload["tables"].items():
        keys = [c["key"] for c in summary_layout()["tables"][name]["columns"]]
        assert all(list(r) == keys for r in rows), name


def test_as_of_parsing():
    assert C.parse_as_of("31.05.2026") == dt.date(2026, 5, 31)
    assert C.parse_as_of("2026-05-31") == dt.date(2026, 5, 31)
    assert C.parse_as_of(None, today=dt.date(2026, 1, 2)) == dt.date(2026, 1, 2)
    with pytest.raises(XlflowError):
        C.parse_as_of("31/05/2026")


def test_misspelt_choices_are_left_out_of_the_figures():
    good, bad = pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-2", "У-2")
    bad["mode"] = "очно-заочный"
    c1, c2 = copy(good, passport={"status": "завершена"}), copy(bad, passport={"status": "планруется"})
    result = collect_facts([registry([good, bad]), c1, c2], dt.date(2026, 6, 1))
    tables = result.payload["tables"]
    assert {r["status"]: r["programmes"] for r in tables["statuses"]} == {"завершена": 1, S.STATUS_UNKNOWN: 1}
    modes = {r["value"]: r["programmes"] for r in tables["breakdown"] if r["dimension"] == "mode"}
    assert modes == {"очный": 1}
    assert [r["mode"] for r in tables["programmes"]] == ["очный", None]


def test_copy_pair_row_differing_from_the_registry():
    listed = pair("П-1", "Н-1", "У-1", "2025-09-01", "2026-05-31")
    edited = dict(listed, planned_end_date="2026-08-31")
    result = collect_facts([registry([listed]), copy(edited, name="c.xlsx")])
    [problem] = result.problems(C.COPY_DIFFERS)
    assert (problem["file"], problem["sheet"], problem["cell"]) == ("c.xlsx", PAIRS_SHEET, "J4")
    assert problem["message"] == message(C.COPY_DIFFERS, column="Плановая дата окончания", value="31.08.2026",
                                         registry="31.05.2026")
    assert result.table("programmes")[0]["planned_end_date"] == "2026-05-31"  # the registry counts
    assert result.status("c.xlsx") == WITH_PROBLEMS
    same = collect_facts([registry([listed]), copy(listed, name="c.xlsx")])
    assert C.COPY_DIFFERS not in same.codes()
