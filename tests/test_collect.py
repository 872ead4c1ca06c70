"""`xlflow collect` end to end over a sample school folder with broken files.

The folder is written by ``write_samples`` (valid copies and copies with
mistakes) and then changed the way real folders are: a byte-identical copy, a
re-sent copy with more work done (in a subfolder), a copy whose pair was
removed from the registry, a copy that never came back, a copy of another
school, random bytes named .xlsx, an empty file, a lock file, a hidden file and
a text file. Every figure of the summary is recomputed here from the generated
records (``generate_school`` with the same seed), independently of collect.
"""
from __future__ import annotations

import copy as copy_module
import dataclasses
import datetime as dt
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.consolidate.export import read_school_summary, schema_errors
from xlflow.layout import load_layout
from xlflow.writing.programme import write_programme_workbook
from xlflow.writing.sample import generate_school, write_samples
from xlflow.writing.sample_files import school_tasks

SEED, COUNT, ERROR_RATE = 11, 14, 0.25
YOUNG = "молодой специалист (стаж 0–3 года)"
MARKS = {"выполнено": "done", "выполнено частично": "partial", "перенесено": "postponed",
         "не выполнено": "not_done"}


def iso(value):
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def key_of(row):
    return (row["group_id"], row["mentee_id"])


# ---------------------------------------------------------------- the folder

def _write(task, path, records, **options):
    write_programme_workbook(path, dataclasses.replace(task.options, **options), records,
                             lock_prefilled=task.lock_prefilled)


def build_folder(root: Path) -> dict:
    result = write_samples(root, COUNT, seed=SEED, error_rate=ERROR_RATE, jobs=1)
    school = generate_school(SEED, n_copies=COUNT, error_rate=ERROR_RATE)
    assert [c.records for c in school.copies] == [c.records for c in result.school.copies]
    tasks, reg_path, paths = school_tasks(school, root)
    clean = [i for i, c in enumerate(school.copies) if not c.mistakes]
    resend = next(i for i in clean if any(it.get("completion") != "выполнено" for it in school.copies[i].records["roadmap"]))
    dup, unlisted, missing, alien = [i for i in clean if i != resend][:4]
    names = {}
    # identical copy, same modification time
    twin = paths[dup].with_name(paths[dup].stem + " (2).xlsx")
    shutil.copy2(paths[dup], twin)
    names["twin"], names["dup"] = twin.name, paths[dup].name
    # re-sent copy with one more activity done, in a subfolder, older mtime than the first version
    better = copy_module.deepcopy(school.copies[resend].records)
    item = next(it for it in better["roadmap"] if it.get("completion") != "выполнено")
    item["completion"], item["done_date"] = "выполнено", school.as_of.isoformat()
    (root / "архив").mkdir()
    resent = root / "архив" / f"{school.copies[resend].name} исправленная.xlsx"
    _write(tasks[resend + 1], resent, better)
    os.utime(resent, (1_600_000_000, 1_600_000_000))
    names["resent"], names["first"] = "архив/" + resent.name, paths[resend].name
    # registry without the pair row of one copy
    registry = copy_module.deepcopy(school.registry)
    ukey = (school.copies[unlisted].group_id, school.copies[unlisted].mentee_id)
    registry["pairs"] = [r for r in registry["pairs"] if key_of(r) != ukey]
    _write(tasks[0], reg_path, registry)
    names["unlisted"], names["registry"] = paths[unlisted].name, reg_path.name
    # a copy that never came back
    paths[missing].unlink()
    # the same copy from another school
    foreign = copy_module.deepcopy(school.copies[alien].records)
    foreign["meta"]["school_code"] = foreign["passport"]["school_code"] = "ОО-999"
    _write(tasks[alien + 1], root / "Чужая школа.xlsx", foreign, school_code="ОО-999")
    # junk
    (root / "случайные байты.xlsx").write_bytes(os.urandom(3000))
    (root / "пустой.xlsx").write_bytes(b"")
    (root / "~$Книга школы.xlsx").write_bytes(b"\x00lock")
    (root / ".скрытый.xlsx").write_bytes(b"hidden")
    (root / "заметки.txt").write_text("список дел", encoding="utf-8")
    copies = {(c.group_id, c.mentee_id): c.records for c in school.copies}
    copies[(school.copies[resend].group_id, school.copies[resend].mentee_id)] = better
    del copies[(school.copies[missing].group_id, school.copies[missing].mentee_id)]
    return {"school": school, "registry": registry, "copies": copies, "names": names, "paths": paths,
            "indices": {"dup": dup, "resend": resend, "unlisted": unlisted, "missing": missing, "alien": alien},
            "unlisted_key": ukey}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("school")
    folder = root / "копии"
    built = build_folder(folder)
    out = root / "итог" / "СВОДКА.xlsx"
    res = CliRunner().invoke(cli, ["collect", str(folder), "--out", str(out), "--as-of",
                                   built["school"].as_of.strftime("%d.%m.%Y"), "--jobs", "2", "--format", "json"])
    built.update(result=res, out=out, folder=folder, payload=json.loads(out.with_suffix(".json").read_text("utf-8")))
    return built


# ---------------------------------------------------------------- expected values, computed here

def programmes(b):
    """(pair row, counted copy records or None, listed) for every programme."""
    out = [(row, b["copies"].get(key_of(row)), True) for row in b["registry"]["pairs"]]
    rec = b["copies"][b["unlisted_key"]]
    row = next(r for r in rec["pairs"] if key_of(r) == b["unlisted_key"])
    return out + [(row, rec, False)]


def expected_figures(b):
    progs = programmes(b)
    reg = b["registry"]
    types = {}
    for row, _, _ in progs:
        types.setdefault(row["group_id"], row["group_type"])
    mentee_ids = {row["mentee_id"] for row, _, _ in progs}
    young = {m["id"] for m in reg["mentees"] if m["category"] == YOUNG}
    listed = [p for p in progs if p[2]]
    return {
        "mentors": len({row["mentor_id"] for row, _, _ in progs}),
        "mentees": len(mentee_ids),
        "pairs": list(types.values()).count("пара"),
        "groups": list(types.values()).count("группа"),
        "programmes": len(progs),
        "mentors_in_bank": len(reg["mentors"]),
        "mentees_in_bank": len(reg["mentees"]),
        "young_specialists": len(young),
        "young_specialists_covered": len(young & mentee_ids),
        "young_specialists_share": round(100 * len(young & mentee_ids) / len(young), 1) if young else None,
        "copies_expected": len(listed),
        "copies_received": sum(1 for p in listed if p[1] is not None),
        "copies_missing": sum(1 for p in listed if p[1] is None),
        "copies_unlisted": 1,
    }


def roadmap_counts(items, as_of):
    c = Counter(planned=0, done=0, partial=0, postponed=0, not_done=0, overdue=0)
    for it in items:
        c["planned"] += 1
        mark = MARKS.get(it.get("completion"))
        if mark:
            c[mark] += 1
        due = iso(it.get("due_date"))
        if mark != "done" and due and due < as_of:
            c["overdue"] += 1
    out = dict(c)
    out["completion_percent"] = round(100 * c["done"] / c["planned"], 1) if c["planned"] else None
    return out


def end_of(row, rec):
    actual = iso(((rec or {}).get("passport") or {}).get("actual_end_date"))
    return actual or iso(row["planned_end_date"])


def peak(spans):
    """Most spans covering one day, trying every start day."""
    return max((sum(1 for s, e in spans if s <= day <= e) for day, _ in spans), default=0)


def expected_load(b):
    per_person = {"наставник": {}, "наставляемый": {}}
    for row, rec, _ in programmes(b):
        span = (iso(row["start_date"]), end_of(row, rec))
        for role, key in (("наставник", "mentor_id"), ("наставляемый", "mentee_id")):
            spans = per_person[role].setdefault(row[key], {})
            old = spans.get(row["group_id"])
            spans[row["group_id"]] = span if old is None else (min(old[0], span[0]), max(old[1], span[1]))
    return {(role, pid): (len(spans), peak(list(spans.values()))) for role, people in per_person.items()
            for pid, spans in people.items()}


# ---------------------------------------------------------------- tests

def test_exit_code_and_outputs(run):
    assert run["result"].exit_code == 1, run["result"].output
    out = run["out"]
    names = sorted(p.name for p in out.parent.iterdir())
    assert "СВОДКА.xlsx" in names and "СВОДКА.json" in names and "СВОДКА.files.csv" in names
    assert not [n for n in names if n.startswith(".~xlflow")]
    assert schema_errors(run["payload"]) == []
    assert read_school_summary(out) == run["payload"]
    report = json.loads(run["result"].output)
    assert report["figures"] == run["payload"]["figures"]


def test_every_headline_figure(run):
    figs = run["payload"]["figures"]
    expected = expected_figures(run)
    assert {k: figs[k] for k in expected} == expected
    assert expected["copies_missing"] == 1


def test_every_input_file_has_its_status(run):
    n, folder = run["names"], run["folder"]
    rows = {r["file"]: r for r in run["payload"]["tables"]["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(rows) == on_disk
    status = {name: r["status"] for name, r in rows.items()}
    assert {status[n["twin"]], status[n["dup"]]} == {"accepted", "duplicate"}
    assert status[n["first"]] == "superseded" and status[n["resent"]] == "accepted_with_problems"
    assert rows[n["first"]]["duplicate_of"] == n["resent"]
    assert status[n["unlisted"]] == "accepted_with_problems"
    assert status[n["registry"]] == "accepted_with_problems"
    for name in ("Чужая школа.xlsx", "случайные байты.xlsx", "пустой.xlsx"):
        assert status[name] == "rejected" and rows[name]["reason"] and rows[name]["errors"] >= 1
    for name in ("~$Книга школы.xlsx", ".скрытый.xlsx", "заметки.txt"):
        assert status[name] == "skipped" and rows[name]["reason"]
    school, paths = run["school"], run["paths"]
    special = set(run["indices"].values())
    for i, c in enumerate(school.copies):
        if i in special:
            continue
        assert status[paths[i].name] == ("accepted_with_problems" if c.mistakes else "accepted"), paths[i].name
    counts = Counter(status.values())
    assert run["payload"]["figures"]["files"] == {"total": len(on_disk), **{s: counts.get(s, 0) for s in (
        "accepted", "accepted_with_problems", "duplicate", "superseded", "rejected", "skipped")}}


def test_school_wide_problems_name_the_files(run):
    problems = run["payload"]["tables"]["problems"]
    by_code = {}
    for p in problems:
        by_code.setdefault(p["code"], []).append(p)
    school = run["school"]
    missing = school.copies[run["indices"]["missing"]]
    [miss] = by_code["collect-missing-copy"]
    assert miss["file"] == run["names"]["registry"] and miss["sheet"] == "Пары и группы"
    assert missing.group_id in miss["message"] and missing.mentee_id in miss["message"]
    [unl] = by_code["collect-unlisted-copy"]
    assert unl["file"] == run["names"]["unlisted"]
    conflict = by_code["collect-conflicting-copies"]
    assert {p["file"] for p in conflict} == {run["names"]["first"], run["names"]["resent"]}
    assert all(run["names"]["first"] in p["message"] and run["names"]["resent"] in p["message"] for p in conflict)
    assert [p["file"] for p in by_code["collect-other-school"]] == ["Чужая школа.xlsx"]
    assert "collect-duplicate-copy" in by_code


def test_statuses_and_programme_table(run):
    progs = programmes(run)
    statuses = load_layout().lists["statuses"]

    def status(rec):
        if rec is None:
            return "нет данных (копия не сдана)"
        value = rec["passport"].get("status")
        return value if value in statuses else "статус не указан"  # a misspelt status is not a status

    expected = Counter(status(rec) for _, rec, _ in progs)
    got = {r["status"]: r["programmes"] for r in run["payload"]["tables"]["statuses"]}
    assert got == dict(expected)
    table = {(r["programme_id"], r["mentee_id"]): r for r in run["payload"]["tables"]["programmes"]}
    assert len(table) == len(progs)
    for row, rec, listed in progs:
        r = table[key_of(row)]
        start, planned = iso(row["start_date"]), iso(row["planned_end_date"])
        assert r["planned_months"] == round((planned - start).days / (365.25 / 12), 1)
        actual = iso(((rec or {}).get("passport") or {}).get("actual_end_date"))
        assert r["real_months"] == (round((actual - start).days / (365.25 / 12), 1) if actual else None)
        assert (r["in_registry"], r["copy_received"], r["mentor_id"]) == (listed, rec is not None, row["mentor_id"])


def test_breakdown_by_form_kind_mode(run):
    progs = programmes(run)
    rows = {(r["dimension"], r["value"]): r for r in run["payload"]["tables"]["breakdown"]}
    for dim in ("mentoring_form", "kind", "mode"):
        values = Counter(row[dim] for row, _, _ in progs)
        for value, n in values.items():
            r = rows[(dim, value)]
            sel = [row for row, _, _ in progs if row[dim] == value]
            assert r["programmes"] == n
            assert r["mentors"] == len({x["mentor_id"] for x in sel})
            assert r["mentees"] == len({x["mentee_id"] for x in sel})
            assert r["pairs"] + r["groups"] == len({x["group_id"] for x in sel})
        assert sum(r["programmes"] for (d, _), r in rows.items() if d == dim) == len(progs)


def test_load_table(run):
    expected = expected_load(run)
    rows = run["payload"]["tables"]["load"]
    got = {(r["role"], r["person_id"]): (r["programmes"], r["max_concurrent"]) for r in rows if r["programmes"]}
    assert got == expected
    for r in rows:
        assert r["over_limit"] == (r["max_concurrent"] > r["limit"])
        assert r["limit"] == (4 if r["role"] == "наставник" else 2)
    figs = run["payload"]["figures"]
    assert figs["mentors_over_limit"] == sum(1 for (role, _), v in expected.items() if role == "наставник" and v[1] > 4)
    assert figs["mentees_over_limit"] == sum(1 for (role, _), v in expected.items() if role == "наставляемый" and v[1] > 2)


def test_deficits(run):
    levels = {}
    for _, rec, _ in programmes(run):
        for it in (rec or {}).get("diagnostics", []):
            if it["aspect"] == "deficit" and it.get("level") in (0, 1, 2, 3) and not isinstance(it.get("level"), bool):
                levels.setdefault((it["stage"], it["direction"]), []).append(it["level"])
    rows = {r["direction"]: r for r in run["payload"]["tables"]["deficits"]}
    assert list(rows)[:len(load_layout().directions())] == load_layout().directions()
    for d, r in rows.items():
        entry, final = levels.get(("entry", d), []), levels.get(("final", d), [])
        assert (r["entry_n"], r["final_n"], r["entry_sum"], r["final_sum"]) == (len(entry), len(final), sum(entry), sum(final))
        assert (r["entry_high"], r["final_high"]) == (entry.count(3), final.count(3))
        em = sum(entry) / len(entry) if entry else None
        fm = sum(final) / len(final) if final else None
        assert r["entry_mean"] == (round(em, 2) if entry else None)
        assert r["final_mean"] == (round(fm, 2) if final else None)
        assert r["change"] == (round(fm - em, 2) if entry and final else None)
    assert sum(r["entry_n"] for r in rows.values()) > 0


def test_roadmaps(run):
    as_of = run["school"].as_of
    items = [it for _, rec, _ in programmes(run) for it in (rec or {}).get("roadmap", [])]
    assert run["payload"]["figures"]["roadmap"] == roadmap_counts(items, as_of)
    by_dir = {r["direction"]: r for r in run["payload"]["tables"]["roadmap_directions"]}
    school_dirs = set(run["registry"]["meta"]["directions"])
    for d, r in by_dir.items():
        mine = [it for it in items if (it.get("direction") if it.get("direction") in school_dirs else "?") ==
                (d if d in school_dirs else "?")]
        assert {k: v for k, v in r.items() if k != "direction"} == roadmap_counts(mine, as_of), d
    assert sum(r["planned"] for r in by_dir.values()) == len(items)
    per = {(r["programme_id"], r["mentee_id"]): r for r in run["payload"]["tables"]["roadmap_programmes"]}
    received = [(row, rec) for row, rec, _ in programmes(run) if rec]
    assert len(per) == len(received)
    for row, rec in received:
        r = per[key_of(row)]
        assert {k: v for k, v in r.items() if k not in ("programme_id", "mentee_id", "mentor_id")} == \
            roadmap_counts(rec["roadmap"], as_of)


def test_rubric(run):
    levels = Counter()
    sums, ns = Counter(), Counter()
    per = {(r["programme_id"], r["mentee_id"]): r for r in run["payload"]["tables"]["rubric_programmes"]}
    for row, rec, _ in programmes(run):
        scores = {it["indicator"]: it["score"] for it in (rec or {}).get("rubric", [])
                  if it.get("score") in (0, 1, 2) and not isinstance(it.get("score"), bool)}
        for ind, s in scores.items():
            sums[ind] += s
            ns[ind] += 1
        total = sum(scores.values()) if len(scores) == 9 else None
        level = "не оценено" if total is None else (
            "оптимальный" if total >= 15 else "допустимый" if total >= 9 else "недопустимый")
        levels[level] += 1
        if rec:
            assert (per[key_of(row)]["total"], per[key_of(row)]["level"]) == (total, level)
    got = {r["level"]: r["programmes"] for r in run["payload"]["tables"]["rubric_levels"]}
    assert got == {lv: levels.get(lv, 0) for lv in ("оптимальный", "допустимый", "недопустимый", "не оценено")}
    for r in run["payload"]["tables"]["rubric_indicators"]:
        n = r["indicator"]
        assert r["n"] == ns[n]
        assert r["mean"] == (round(sums[n] / ns[n], 2) if ns[n] else None)


def test_workbook_shows_the_same_figures(run):
    wb = openpyxl.load_workbook(run["out"])
    assert wb.sheetnames == ["Сводка", "Нагрузка", "Дефициты", "Дорожные карты", "Рубрика", "Программы",
                             "Файлы", "_xlflow"]
    assert wb["_xlflow"].sheet_state == "hidden"
    labels = {row[0]: row[1] for row in wb["Сводка"].iter_rows(values_only=True) if row[0]}
    exp = expected_figures(run)
    assert labels["Наставнических пар"] == exp["pairs"]
    assert labels["Наставнических групп"] == exp["groups"]
    assert labels["Копий не сдано"] == 1
    assert labels["Доля охваченных молодых специалистов, %"] == exp["young_specialists_share"]
    files = {}
    for row in wb["Файлы"].iter_rows(min_row=5, values_only=True):
        if not row[0]:
            break  # the problems table follows after a blank row
        files[row[0]] = row[1]
    assert len(files) == len(run["payload"]["tables"]["files"])
    assert files["случайные байты.xlsx"] == "отклонён"
    assert files["заметки.txt"] == "пропущен"
    assert files[run["names"]["first"]] == "не учтён (есть другая версия)"
    for name in ("Дефициты", "Дорожные карты", "Рубрика"):
        assert len(wb[name]._charts) == 1, name
    # no formula anywhere: every user text is a plain string
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


def test_csv_tables_open_in_excel(run):
    csv_path = run["out"].with_name("СВОДКА.files.csv")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["file", "status", "kind"]
    assert len(lines) == 1 + len(run["payload"]["tables"]["files"])
