"""The real path: generated schools -> `collect` -> `merge`.

Every municipal figure is checked against values computed here, independently,
from the generated records (the definitions of DOMAIN.md), not by calling the
aggregation code. Includes a school that sent its summary twice, broken files,
order independence, idempotence, the no-names rule and LibreOffice.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.consolidate import export
from xlflow.consolidate.collect import collect
from xlflow.consolidate.merge import merge_summaries
from xlflow.writing.sample_files import write_municipality_samples

YOUNG = "молодой специалист (стаж 0–3 года)"
LEVELS = (("optimal", 15, 18), ("acceptable", 9, 14), ("unacceptable", 0, 8))
STATUS_KEYS = {"планируется": "planned", "реализуется": "active", "завершена": "completed",
               "прекращена досрочно": "terminated"}


def _collect_all(schools, dest: Path, skip_copy: int | None = None) -> list[Path]:
    outs = []
    for s in schools:
        folder = s.out_dir
        if skip_copy is not None:
            folder = dest / "partial-input" / s.school.school_code
            shutil.copytree(s.out_dir, folder)
            (folder / s.copy_paths[skip_copy].name).unlink()
        out = dest / s.school.school_code / "СВОДКА.xlsx"
        res = collect(folder, out, as_of=s.school.as_of, jobs=1)
        assert res.payload["figures"]["files"]["rejected"] == 0 and out.exists()
        outs.append(out)
    return outs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("municipality")
    sample = write_municipality_samples(root / "samples", 3, 4, seed=11, jobs=1)
    schools = sample.schools
    # ОО-002 first sent a summary made before one copy came back...
    early = _collect_all([schools[1]], root / "early", skip_copy=0)[0]
    time.sleep(1.1)  # `created` has one-second resolution
    # ...then the full one; the office receives both (in separate folders)
    inbox = root / "inbox"
    _collect_all(schools, inbox)
    shutil.copytree(early.parent, inbox / "ОО-002 первая отправка")
    return {"root": root, "schools": [s.school for s in schools], "inbox": inbox}


# ---------------------------------------------------------------- independent expectations

def _max_overlap(intervals) -> int:
    events = []
    for a, b in intervals:
        events += [(a, 1), (b + dt.timedelta(days=1), -1)]
    best = cur = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        cur += step
        best = max(best, cur)
    return best


def _interval(copy) -> tuple[dt.date, dt.date]:
    pair = copy.records["pairs"][0] if copy.records.get("pairs") else {}
    end = copy.records["passport"].get("actual_end_date") or pair["planned_end_date"]
    return dt.date.fromisoformat(pair["start_date"]), dt.date.fromisoformat(end)


def _over_limits(school) -> tuple[int, int]:
    mentor: dict[str, dict] = defaultdict(dict)
    mentee: dict[str, list] = defaultdict(list)
    for c in school.copies:
        mentor[c.mentor_id][c.group_id] = _interval(c)
        mentee[c.mentee_id].append(_interval(c))
    return (sum(_max_overlap(v.values()) > 4 for v in mentor.values()),
            sum(_max_overlap(v) > 2 for v in mentee.values()))


def _rubric_total(copy) -> int | None:
    scores = [r["score"] for r in copy.records.get("rubric", []) if r.get("score") in (0, 1, 2)]
    return sum(scores) if len(scores) == 9 else None


def expected_school(school) -> dict:
    reg = school.registry
    rows = reg["pairs"]
    kinds = {r["group_id"]: r["group_type"] for r in rows}
    young = {m["id"] for m in reg["mentees"] if m.get("category") == YOUNG}
    statuses = Counter(STATUS_KEYS.get(c.records["passport"].get("status"), "unknown") for c in school.copies)
    items = [it for c in school.copies for it in c.records.get("roadmap", [])]
    totals = [t for t in map(_rubric_total, school.copies) if t is not None]
    over = _over_limits(school)
    exp = {
        "school_code": school.school_code, "school_name": school.school_name,
        "municipality": school.municipality, "academic_year": school.academic_year,
        "mentors": len({r["mentor_id"] for r in rows}), "mentees": len({r["mentee_id"] for r in rows}),
        "pairs": sum(k == "пара" for k in kinds.values()), "groups": sum(k == "группа" for k in kinds.values()),
        "programmes": len(rows), "young_total": len(young),
        "young_covered": len(young & {r["mentee_id"] for r in rows}),
        "roadmap_items": len(items), "roadmap_done": sum(it.get("completion") == "выполнено" for it in items),
        "rubric_unscored": len(school.copies) - len(totals), "rubric_sum": sum(totals),
        "rubric_count": len(totals), "mentors_over_limit": over[0], "mentees_over_limit": over[1],
        "pairs_missing": 0, "files_accepted": len(school.copies) + 1, "files_rejected": 0,
    }
    for key in ("planned", "active", "completed", "terminated", "unknown"):
        exp[f"status_{key}"] = statuses.get(key, 0)
    for key, lo, hi in LEVELS:
        exp[f"rubric_{key}"] = sum(lo <= t <= hi for t in totals)
    return exp


def deficit_marks(school) -> dict[tuple[str, str], list[int]]:
    marks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c in school.copies:
        for d in c.records.get("diagnostics", []):
            if d["aspect"] == "deficit" and "level" in d:
                marks[(d["stage"], d["direction"])].append(d["level"])
    return marks


def _pct(a, b):
    return round(100 * a / b, 1) if b else None


# ---------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def merged(world):
    inbox = world["inbox"]
    (inbox / "испорчено.xlsx").write_bytes(random.Random(3).randbytes(5000))
    (inbox / "список.json").write_text(json.dumps([1, 2, 3]), encoding="utf-8")
    future = json.loads((inbox / "ОО-001" / "СВОДКА.json").read_text(encoding="utf-8"))
    future["schema_version"] = 2
    (inbox / "из будущего.json").write_text(json.dumps(future, ensure_ascii=False), encoding="utf-8")
    # a programme copy sent instead of a summary: its file name carries people's names
    copy = next((world["root"] / "samples" / "ОО-001").glob("П-*.xlsx"))
    shutil.copy(copy, inbox / copy.name)
    out = world["root"] / "out" / "МУНИЦИПАЛИТЕТ.xlsx"
    res = merge_summaries([inbox], out)
    doc = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert export.schema_errors(doc, "municipal_summary.schema.json") == []
    return {"result": res, "out": out, "doc": doc}


def test_every_school_figure_matches_generated_data(world, merged):
    rows = merged["doc"]["figures"]["schools"]
    assert [r["school_code"] for r in rows] == ["ОО-001", "ОО-002", "ОО-003"]
    for school, row in zip(world["schools"], rows):
        exp = expected_school(school)
        assert {k: row[k] for k in exp} == exp, school.school_code
        assert row["young_share"] == _pct(exp["young_covered"], exp["young_total"])
        assert row["roadmap_percent"] == _pct(exp["roadmap_done"], exp["roadmap_items"])
        assert row["rubric_mean"] == (round(exp["rubric_sum"] / exp["rubric_count"], 2)
                                      if exp["rubric_count"] else None)


def test_totals_heatmap_and_attention_match_generated_data(world, merged):
    fig = merged["doc"]["figures"]
    exps = [expected_school(s) for s in world["schools"]]
    tot = fig["totals"]
    for key in ("mentors", "mentees", "pairs", "groups", "programmes", "roadmap_items", "roadmap_done",
                "rubric_optimal", "rubric_acceptable", "rubric_unacceptable", "status_completed"):
        assert tot[key] == sum(e[key] for e in exps), key
    assert tot["young_share"] == _pct(sum(e["young_covered"] for e in exps), sum(e["young_total"] for e in exps))
    assert tot["roadmap_percent"] == _pct(sum(e["roadmap_done"] for e in exps),
                                          sum(e["roadmap_items"] for e in exps))
    heat = fig["heatmap"]
    pooled: dict[tuple[str, str], list[int]] = defaultdict(list)
    for school, hrow in zip(world["schools"], heat["schools"]):
        marks = deficit_marks(school)
        for (stage, direction), levels in marks.items():
            pooled[(stage, direction)] += levels
            i = heat["directions"].index(direction)
            assert hrow[stage][i] == round(sum(levels) / len(levels), 2)
            assert hrow[f"{stage}_marks"][i] == len(levels)
    assert pooled, "the samples must carry deficit marks"
    for (stage, direction), levels in pooled.items():
        assert heat["total"][stage][heat["directions"].index(direction)] == round(sum(levels) / len(levels), 2)
    for direction in heat["directions"]:
        entry, final = pooled.get(("entry", direction)), pooled.get(("final", direction))
        change = round(sum(final) / len(final) - sum(entry) / len(entry), 2) if entry and final else None
        assert heat["total"]["change"][heat["directions"].index(direction)] == change
    flagged = {(a["school_code"], a["reason_key"]) for a in fig["attention"]}
    expected_flags = set()
    for e in exps:
        if e["rubric_unacceptable"]:
            expected_flags.add((e["school_code"], "rubric_unacceptable"))
        if e["roadmap_items"] and e["roadmap_done"] * 2 < e["roadmap_items"]:
            expected_flags.add((e["school_code"], "low_completion"))
        if e["mentors_over_limit"]:
            expected_flags.add((e["school_code"], "mentors_over_limit"))
        if e["mentees_over_limit"]:
            expected_flags.add((e["school_code"], "mentees_over_limit"))
    assert flagged == expected_flags


def test_workbook_shows_the_same_figures(world, merged):
    wb = openpyxl.load_workbook(merged["out"])
    ws = wb["Школы"]
    header = [c.value for c in ws[3]]
    rows = list(ws.iter_rows(min_row=4, max_row=6, values_only=True))
    for school, values in zip(world["schools"], rows):
        exp = expected_school(school)
        assert values[header.index("Код школы")] == school.school_code
        assert values[header.index("Наставников")] == exp["mentors"]
        assert values[header.index("Мероприятий в дорожных картах")] == exp["roadmap_items"]
        assert values[header.index("Рубрика: оптимальный")] == exp["rubric_optimal"]
    total = [c.value for c in ws[7]]
    assert total[0] == "Итого по муниципалитету"
    assert total[header.index("Наставляемых")] == sum(expected_school(s)["mentees"] for s in world["schools"])


def test_resent_school_and_broken_files_are_accounted_for(world, merged):
    res = merged["result"]
    assert res.exit_code == 1
    by_name = {f.file.split(str(world["inbox"]) + os.sep, 1)[1]: f for f in res.files}
    assert by_name["ОО-002/СВОДКА.xlsx"].status == "accepted"
    assert by_name["ОО-002 первая отправка/СВОДКА.xlsx"].status == "replaced"
    assert by_name["ОО-002 первая отправка/СВОДКА.json"].status == "replaced"
    assert by_name["ОО-001/СВОДКА.json"].status == "duplicate"
    assert by_name["испорчено.xlsx"].status == "rejected"
    assert by_name["список.json"].problem.code == "merge-not-summary"
    assert by_name["из будущего.json"].problem.code == "merge-unknown-version"
    assert "версии 2" in by_name["из будущего.json"].reason
    copies = [n for n in by_name if n.startswith("П-")]
    assert len(copies) == 1 and by_name[copies[0]].problem.code == "merge-programme-workbook"
    every = {str(p.relative_to(world["inbox"])) for p in world["inbox"].rglob("*") if p.is_file()}
    assert set(by_name) == every
    row = merged["doc"]["figures"]["schools"][1]
    assert row["pairs_missing"] == 0 and row["files_accepted"] == len(world["schools"][1].copies) + 1


def test_order_independence_and_idempotence(world, merged, tmp_path):
    files = sorted(p for p in world["inbox"].rglob("*") if p.suffix in (".xlsx", ".json"))
    figures = []
    for seed in (1, 2):
        random.Random(seed).shuffle(files)
        out = tmp_path / f"M{seed}.xlsx"
        merge_summaries(files, out)
        figures.append(json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["figures"])
    assert figures[0] == figures[1] == merged["doc"]["figures"]
    again = merge_summaries([world["inbox"], merged["out"], merged["out"].with_suffix(".json")],
                            tmp_path / "again.xlsx")
    doc = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert doc["figures"] == merged["doc"]["figures"]
    given = {str(merged["out"]), str(merged["out"].with_suffix(".json"))}
    assert {f.status for f in again.files if f.file in given} == {"skipped"}
    assert all("муниципал" in f.reason for f in again.files if f.file in given)


def _people(world) -> set[str]:
    names = set()
    for s in world["schools"]:
        for table in ("mentors", "mentees"):
            for person in s.registry[table]:
                names.add(person["full_name"])
                parts = person["full_name"].split()
                names.add(f"{parts[0]} {parts[1][0]}.")
    return names


def _whole_output(out: Path) -> str:
    texts = []
    with zipfile.ZipFile(out) as z:
        texts += [z.read(n).decode("utf-8", errors="replace") for n in z.namelist()]
    texts += [p.read_text(encoding="utf-8-sig") for p in out.parent.iterdir()
              if p.name.startswith(out.stem + ".") and p.suffix in (".json", ".csv")]
    return "\n".join(texts)


def test_no_personal_name_anywhere_in_default_output(world, merged):
    text = _whole_output(merged["out"])
    people = _people(world)
    assert len(people) > 20
    assert any(n in merged["result"].text() + "".join(f.file for f in merged["result"].files)
               for n in people), "the console report may name the misplaced copy"
    leaked = sorted(n for n in people if n in text)
    assert leaked == []


def test_with_names_and_pseudonyms(world, tmp_path):
    summaries = [world["inbox"] / s.school_code for s in world["schools"]]
    named = merge_summaries(summaries, tmp_path / "named" / "M.xlsx", with_names=True)
    assert named.exit_code == 0
    mentors = {m["full_name"] for s in world["schools"] for m in s.registry["mentors"]
               if any(c.mentor_id == m["id"] for c in s.copies)}
    text = _whole_output(tmp_path / "named" / "M.xlsx")
    assert all(n in text for n in mentors)
    merge_summaries(summaries, tmp_path / "pseudo" / "M.xlsx", pseudonymize_secret="секрет управления")
    text = _whole_output(tmp_path / "pseudo" / "M.xlsx")
    assert not [n for n in _people(world) if n in text]
    doc = json.loads((tmp_path / "pseudo" / "M.json").read_text(encoding="utf-8"))
    in_programmes = {(s.school_code, c.mentor_id) for s in world["schools"] for c in s.copies}
    assert len(doc["figures"]["mentors"]) == len(in_programmes)
    assert len({m["name"] for m in doc["figures"]["mentors"]}) == len(in_programmes)


def test_cli_on_real_summaries(world, merged, tmp_path):
    runner = CliRunner()
    good = [str(world["inbox"] / s.school_code) for s in world["schools"]]
    res = runner.invoke(cli, ["merge", *good, "--out", str(tmp_path / "M.xlsx")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["merge", str(world["inbox"]), "--out", str(tmp_path / "M.xlsx"), "-q"])
    assert res.exit_code == 1 and "отклонено: 4" in res.output


@pytest.mark.libreoffice
def test_libreoffice_opens_municipal_workbook_and_resaved_summary_still_merges(world, merged, lo_convert,
                                                                               tmp_path):
    school = world["inbox"] / "ОО-003" / "СВОДКА.xlsx"
    converted = lo_convert([merged["out"], school], "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(converted[0])
    assert "Требуют внимания" in wb.sheetnames
    ws = wb["Школы"]
    tot = merged["doc"]["figures"]["totals"]
    assert ws["A7"].value == "Итого по муниципалитету"
    assert ws["F7"].value == tot["mentors"] and ws["G7"].value == tot["mentees"]
    # a school that opened and re-saved its summary in LibreOffice: same collection, same figures
    res = merge_summaries([converted[1], school.with_suffix(".json")], tmp_path / "M.xlsx")
    assert res.exit_code == 0 and sorted(f.status for f in res.files) == ["accepted", "duplicate"]
    doc = json.loads((tmp_path / "M.json").read_text(encoding="utf-8"))
    assert doc["figures"]["schools"] == [merged["doc"]["figures"]["schools"][2]]
