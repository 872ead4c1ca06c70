"""`xlflow merge` over synthetic school summaries (payloads in the shape of
schemas/school_summary.schema.json): identity, versions, broken files, figures,
order independence, idempotence, names and pseudonyms, CLI exit codes."""
from __future__ import annotations

import json
import os
import random
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.consolidate import export
from xlflow.consolidate.merge import merge_summaries
from xlflow.consolidate.pseudonym import load_secret, pseudonym
from xlflow.errors import XlflowError
from xlflow.writing.xlsx import new_workbook

NAMES = ("Сидорова Анна Петровна", "Кузнецов Олег Игоревич", "Лебедева Ирина Сергеевна")


def _rows(table, items):
    cols = [c["key"] for c in export.table_columns(table)]
    return [{c: it.get(c) for c in cols} for it in items]


def summary(code, created="2026-05-20T10:00:00Z", *, name=None, mentors=2, mentees=3, pairs=2,
            groups=0, young=(2, 1), statuses=(("реализуется", 2), ("завершена", 1)), roadmap=(10, 6),
            rubric=(("оптимальный", 16), ("недопустимый", 5)), unscored=1,
            deficits=(("ИКТ-компетенции", 5, 2, 2, 2),), over=(0, 0), missing=0, files=(3, 0),
            people=(("Н-001", NAMES[0], 2),), directions=("ИКТ-компетенции",)):
    """A schema-valid school summary payload with the given figures."""
    fig = {"mentors": mentors, "mentees": mentees, "pairs": pairs, "groups": groups,
           "programmes": mentees, "mentors_in_bank": mentors, "mentees_in_bank": mentees,
           "young_specialists": young[0], "young_specialists_covered": young[1],
           "young_specialists_share": None, "copies_expected": mentees,
           "copies_received": mentees - missing, "copies_missing": missing, "copies_unlisted": 0,
           "mentors_over_limit": over[0], "mentees_over_limit": over[1],
           "files": {"total": sum(files), "accepted": files[0], "accepted_with_problems": 0,
                     "duplicate": 0, "superseded": 0, "rejected": files[1], "skipped": 0},
           "problems": {"errors": 0, "warnings": 0},
           "roadmap": {"planned": roadmap[0], "done": roadmap[1], "partial": 0, "postponed": 0,
                       "not_done": 0, "overdue": 0, "completion_percent": None}}
    levels: dict[str, int] = {}
    for lv, _ in rubric:
        levels[lv] = levels.get(lv, 0) + 1
    tables = {t: [] for t in export.summary_layout()["tables"]}
    tables["statuses"] = _rows("statuses", [{"status": s, "programmes": n} for s, n in statuses])
    tables["rubric_levels"] = _rows("rubric_levels", [{"level": k, "programmes": v} for k, v in levels.items()]
                                    + [{"level": "не оценено", "programmes": unscored}])
    tables["rubric_programmes"] = _rows("rubric_programmes", [
        {"programme_id": f"П-{i}", "mentor_id": people[0][0] if people else None, "scored": 9,
         "total": t, "level": lv} for i, (lv, t) in enumerate(rubric)])
    tables["deficits"] = _rows("deficits", [
        {"direction": d, "entry_sum": es, "entry_n": en, "final_sum": fs, "final_n": fn,
         "entry_mean": round(es / en, 2), "final_mean": round(fs / fn, 2)}
        for d, es, en, fs, fn in deficits])
    tables["load"] = _rows("load", [{"role": "наставник", "person_id": pid, "full_name": nm,
                                     "programmes": n, "over_limit": False} for pid, nm, n in people])
    tables["programmes"] = _rows("programmes", [{"programme_id": "П-0", "mentor_id": people[0][0],
                                                 "status": "завершена", "in_registry": True,
                                                 "copy_received": True}] if people else [])
    return {"schema_version": 1, "template_id": "xlflow-school-summary", "xlflow_version": "0.1.0",
            "created": created, "as_of": created[:10],
            "school": {"code": code, "name": name or f"Школа {code}", "municipality": "Энский район",
                       "academic_year": "2025/2026"},
            "directions": list(directions), "limits": {"mentor": 4, "mentee": 2},
            "figures": fig, "tables": tables}


def write_json(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


def write_workbook(path: Path, payload: dict) -> Path:
    """A summary workbook: a visible sheet plus the hidden payload sheet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = new_workbook(path)
    wb.add_worksheet("Сводка").write_string(0, 0, payload["school"]["name"])
    export.write_payload_sheet(wb, {"template_id": payload["template_id"],
                                    "schema_version": payload["schema_version"]}, payload)
    wb.close()
    return path


def three_schools(folder: Path) -> list[Path]:
    a = summary("ОО-001", people=(("Н-001", NAMES[0], 2),), young=(4, 1), roadmap=(10, 9),
                rubric=(("оптимальный", 17),), deficits=(("ИКТ-компетенции", 6, 2, 2, 2),))
    b = summary("ОО-002", people=(("Н-001", NAMES[1], 1),), young=(1, 1), roadmap=(30, 3),
                over=(1, 2), files=(5, 2), missing=1, rubric=(("недопустимый", 6), ("допустимый", 12)),
                deficits=(("ИКТ-компетенции", 3, 1, 0, 1), ("Свой кружок", 2, 1, 1, 1)),
                directions=("ИКТ-компетенции", "Свой кружок"))
    c = summary("ОО-003", name="=HYPERLINK(\"http://x\")", people=(("Н-007", NAMES[2], 3),),
                pairs=0, groups=0, young=(0, 0), roadmap=(0, 0), rubric=(), deficits=())
    return [write_json(folder / "a.json", a), write_workbook(folder / "b.xlsx", b),
            write_json(folder / "c.json", c)]


def load_doc(out: Path) -> dict:
    """The JSON copy, checked against schemas/municipal_summary.schema.json."""
    doc = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert export.schema_errors(doc, "municipal_summary.schema.json") == []
    return doc


def test_figures_sums_and_pooled_shares(tmp_path):
    inputs = three_schools(tmp_path / "in")
    res = merge_summaries(inputs, tmp_path / "M.xlsx")
    assert res.exit_code == 0, res.text()
    fig = load_doc(tmp_path / "M.xlsx")["figures"]
    assert [s["school_code"] for s in fig["schools"]] == ["ОО-001", "ОО-002", "ОО-003"]
    tot = fig["totals"]
    assert tot["schools"] == 3 and tot["mentors"] == 6 and tot["mentees"] == 9 and tot["pairs"] == 4
    # pooled, not averaged: (1 + 1) / (4 + 1) = 40 %, (9 + 3) / (10 + 30) = 30 %
    assert tot["young_share"] == 40.0 and tot["roadmap_percent"] == 30.0
    assert fig["schools"][0]["young_share"] == 25.0 and fig["schools"][1]["young_share"] == 100.0
    assert tot["rubric_mean"] == round((17 + 6 + 12) / 3, 2)
    assert (tot["rubric_optimal"], tot["rubric_acceptable"], tot["rubric_unacceptable"]) == (1, 1, 1)
    heat = fig["heatmap"]
    ict = heat["directions"].index("ИКТ-компетенции")
    assert heat["directions"][-1] == "Свой кружок"
    assert heat["schools"][0]["entry"][ict] == 3.0 and heat["schools"][1]["entry"][ict] == 3.0
    assert heat["total"]["entry"][ict] == 3.0 and heat["total"]["final"][ict] == round(2 / 3, 2)
    assert heat["schools"][2]["entry"][ict] is None and heat["schools"][2]["change"][ict] is None
    assert heat["schools"][0]["change"][ict] == -2.0
    assert heat["total"]["change"][ict] == round(2 / 3 - 9 / 3, 2)
    reasons = {(a["school_code"], a["reason_key"]) for a in fig["attention"]}
    assert reasons == {("ОО-002", "mentors_over_limit"), ("ОО-002", "mentees_over_limit"),
                       ("ОО-002", "rubric_unacceptable"), ("ОО-002", "low_completion"),
                       ("ОО-002", "files_rejected"), ("ОО-002", "pairs_missing"), ("ОО-003", "no_pairs")}
    assert not any(a["reason_key"] == "other_year" for a in fig["attention"])
    low = next(a for a in fig["attention"] if a["reason_key"] == "low_completion")
    assert "10%" in low["reason"] and "50%" in low["reason"]
    assert tot["attention_schools"] == 2


def test_school_of_another_academic_year_needs_attention(tmp_path):
    inputs = three_schools(tmp_path / "in")
    last_year = summary("ОО-004")
    last_year["school"]["academic_year"] = "2024/2025"
    inputs.append(write_json(tmp_path / "in" / "d.json", last_year))
    merge_summaries(inputs, tmp_path / "M.xlsx")
    fig = load_doc(tmp_path / "M.xlsx")["figures"]
    flagged = [a for a in fig["attention"] if a["reason_key"] == "other_year"]
    assert [(a["school_code"], a["value"]) for a in flagged] == [("ОО-004", "2024/2025")]
    assert "2025/2026" in flagged[0]["reason"]
    assert fig["academic_years"] == ["2024/2025", "2025/2026"]


def test_workbook_sheets_text_charts_and_meta(tmp_path):
    inputs = three_schools(tmp_path / "in")
    out = tmp_path / "M.xlsx"
    merge_summaries(inputs, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Сводка", "Школы", "Дефициты", "Рубрика", "Требуют внимания",
                             "Диаграммы", "Файлы", "_xlflow"]
    assert wb["_xlflow"].sheet_state == "hidden"
    ws = wb["Школы"]
    assert ws["C3"].value == "Муниципалитет" and ws["B6"].value == '=HYPERLINK("http://x")'
    assert ws["B6"].data_type == "s"
    assert ws["A7"].value == "Итого по муниципалитету" and ws["F7"].value == 6
    assert wb["Дефициты"].conditional_formatting
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 6
    payload = export.read_summary_payload(out, "xlflow-municipal-summary")
    assert payload == load_doc(out)
    csv_text = out.with_name("M.schools.csv").read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text


def test_resent_school_newer_wins_and_copies_count_once(tmp_path):
    old = summary("ОО-001", created="2026-03-01T09:00:00Z", mentors=1)
    new = summary("ОО-001", created="2026-05-01T09:00:00Z", mentors=5)
    inputs = [write_json(tmp_path / "in" / "старая.json", old),
              write_workbook(tmp_path / "in" / "новая.xlsx", new),
              write_json(tmp_path / "in" / "новая.json", new),
              write_json(tmp_path / "in" / "другая школа.json", summary("ОО-002"))]
    res = merge_summaries([tmp_path / "in"], tmp_path / "M.xlsx")
    assert res.exit_code == 0
    status = {Path(f.file).name: f.status for f in res.files}
    assert status == {"старая.json": "replaced", "новая.xlsx": "accepted", "новая.json": "duplicate",
                      "другая школа.json": "accepted"}
    replaced = next(f for f in res.files if f.status == "replaced")
    assert "01.05.2026 09:00:00" in replaced.reason and "новая.xlsx" in replaced.reason
    fig = load_doc(tmp_path / "M.xlsx")["figures"]
    assert [s["mentors"] for s in fig["schools"]] == [5, 2]
    assert "разные названия" not in replaced.reason
    # a school that typed another school's code: the office is told to check
    write_json(tmp_path / "in" / "чужой код.json", summary("ОО-002", created="2026-01-01T00:00:00Z",
                                                           name="Гимназия № 7"))
    res = merge_summaries([tmp_path / "in"], tmp_path / "M.xlsx")
    other = next(f for f in res.files if Path(f.file).name == "чужой код.json")
    assert other.status == "replaced" and "разные названия школы" in other.reason
    assert len(inputs) == 4


def test_summary_from_another_xlflow_version_with_known_format_is_read(tmp_path):
    older = dict(summary("ОО-004", mentors=7), xlflow_version="0.0.9")
    res = merge_summaries([write_workbook(tmp_path / "old.xlsx", older)], tmp_path / "M.xlsx")
    assert res.exit_code == 0
    assert load_doc(tmp_path / "M.xlsx")["figures"]["schools"][0]["mentors"] == 7


def test_schema_lists_every_layout_column():
    from xlflow.consolidate.municipal_stats import municipal_layout
    from xlflow.schemas import load_schema

    props = load_schema("municipal_summary.schema.json")["properties"]["figures"]["properties"]
    layout = municipal_layout()
    assert {c["key"] for c in layout["school_columns"]} <= set(props["schools"]["items"]["properties"])
    assert {c["key"] for c in layout["rubric_columns"]} == set(props["rubric"]["items"]["properties"])
    assert {c["key"] for c in layout["mentor_columns"]} == set(props["mentors"]["items"]["properties"])
    assert set(layout["attention_reasons"]) == set(props["attention"]["items"]["properties"]["reason_key"]["enum"])


def test_same_time_tie_is_deterministic(tmp_path):
    a = summary("ОО-001", mentors=1)
    b = summary("ОО-001", mentors=3)
    pa, pb = write_json(tmp_path / "a.json", a), write_json(tmp_path / "b.json", b)
    r1 = merge_summaries([pa, pb], tmp_path / "M1.xlsx")
    r2 = merge_summaries([pb, pa], tmp_path / "M2.xlsx")
    assert load_doc(tmp_path / "M1.xlsx")["figures"] == load_doc(tmp_path / "M2.xlsx")["figures"]
    assert "контрольной сумме" in next(f.reason for f in r1.files if f.status == "replaced")
    assert [f.status for f in r1.files] == [f.status for f in r2.files]


def test_broken_and_foreign_files_are_rejected_with_reasons(tmp_path):
    folder = tmp_path / "in"
    three_schools(folder)
    (folder / "шум.xlsx").write_bytes(random.Random(1).randbytes(3000))
    write_json(folder / "не сводка.json", {"hello": "world"})
    write_json(folder / "будущая.json", dict(summary("ОО-009"), schema_version=7))
    write_json(folder / "без кода.json", summary(""))
    (folder / "битый.json").write_text("{not json", encoding="utf-8")
    plain = new_workbook(folder / "таблица.xlsx")
    plain.add_worksheet("Лист1").write_string(0, 0, "x")
    plain.close()
    (folder / "~$b.xlsx").write_bytes(b"lock")
    (folder / "заметки.txt").write_text("x", encoding="utf-8")
    res = merge_summaries([folder], tmp_path / "M.xlsx")
    assert res.exit_code == 1
    by_name = {Path(f.file).name: f for f in res.files}
    codes = {n: (f.problem.code if f.problem else None) for n, f in by_name.items()}
    assert codes["шум.xlsx"] == "not-a-workbook"
    assert codes["не сводка.json"] == "merge-not-summary"
    assert codes["будущая.json"] == "merge-unknown-version"
    assert "версии 7" in by_name["будущая.json"].reason and "1" in by_name["будущая.json"].reason
    assert codes["без кода.json"] == "merge-no-school-code"
    assert codes["битый.json"] == "merge-not-summary"
    assert codes["таблица.xlsx"] == "merge-not-summary"
    assert by_name["~$b.xlsx"].status == "skipped" and by_name["заметки.txt"].status == "skipped"
    assert sum(f.status == "accepted" for f in res.files) == 3
    assert len(res.files) == 11
    files_sheet = openpyxl.load_workbook(tmp_path / "M.xlsx")["Файлы"]
    listed = {r[0] for r in files_sheet.iter_rows(min_row=4, values_only=True)}
    assert {f.file for f in res.files} == listed


def test_order_independence_and_idempotence(tmp_path):
    inputs = three_schools(tmp_path / "in")
    inputs.append(write_json(tmp_path / "in" / "a_old.json", summary("ОО-001", created="2025-01-01T00:00:00Z")))
    figures = []
    for i in range(3):
        order = list(inputs)
        random.Random(i).shuffle(order)
        merge_summaries(order, tmp_path / f"M{i}.xlsx", created="2026-06-01T00:00:00Z")
        figures.append(load_doc(tmp_path / f"M{i}.xlsx")["figures"])
    assert figures[0] == figures[1] == figures[2]
    texts = {tmp_path.joinpath(f"M{i}.json").read_text(encoding="utf-8").replace(f"M{i}", "M")
             for i in range(3)}
    assert len(texts) == 1
    # merging the same folder again, now holding the previous output, changes nothing
    out = tmp_path / "in" / "МУНИЦИПАЛИТЕТ.xlsx"
    merge_summaries([tmp_path / "in"], out)
    first = load_doc(out)
    res = merge_summaries([tmp_path / "in", tmp_path / "M0.xlsx"], out)
    assert res.exit_code == 0
    assert load_doc(out)["figures"] == first["figures"] == figures[0]
    skipped = {Path(f.file).name for f in res.files if f.status == "skipped"}
    assert {"МУНИЦИПАЛИТЕТ.xlsx", "МУНИЦИПАЛИТЕТ.json", "M0.xlsx", "МУНИЦИПАЛИТЕТ.schools.csv"} <= skipped


def _all_text(out: Path) -> str:
    parts = []
    with zipfile.ZipFile(out) as z:
        for n in z.namelist():
            parts.append(z.read(n).decode("utf-8", errors="replace"))
    for p in out.parent.glob(out.stem + ".*"):
        if p.suffix in (".json", ".csv"):
            parts.append(p.read_text(encoding="utf-8-sig"))
    return "\n".join(parts)


def _name_parts(name: str) -> list[str]:
    return [name] + name.split()[:1]


def test_default_output_has_no_names_but_with_names_does(tmp_path):
    inputs = three_schools(tmp_path / "in")
    merge_summaries(inputs, tmp_path / "anon" / "M.xlsx")
    text = _all_text(tmp_path / "anon" / "M.xlsx")
    for name in NAMES:
        for part in _name_parts(name):
            assert part not in text
    merge_summaries(inputs, tmp_path / "named" / "M.xlsx", with_names=True)
    text = _all_text(tmp_path / "named" / "M.xlsx")
    assert all(name in text for name in NAMES)
    assert "Наставники" in openpyxl.load_workbook(tmp_path / "named" / "M.xlsx").sheetnames


def test_pseudonyms_are_stable_and_hide_names(tmp_path):
    inputs = three_schools(tmp_path / "in")
    merge_summaries(inputs, tmp_path / "p1" / "M.xlsx", pseudonymize_secret="секрет управления 2026")
    merge_summaries(list(reversed(inputs)), tmp_path / "p2" / "M.xlsx",
                    pseudonymize_secret="секрет управления 2026")
    merge_summaries(inputs, tmp_path / "p3" / "M.xlsx", pseudonymize_secret="другой секрет 2026")
    m1 = load_doc(tmp_path / "p1" / "M.xlsx")["figures"]["mentors"]
    m2 = load_doc(tmp_path / "p2" / "M.xlsx")["figures"]["mentors"]
    m3 = load_doc(tmp_path / "p3" / "M.xlsx")["figures"]["mentors"]
    assert [m["name"] for m in m1] == [m["name"] for m in m2]
    assert {m["name"] for m in m1}.isdisjoint({m["name"] for m in m3})
    assert m1[0]["name"] == pseudonym("секрет управления 2026".encode(), "ОО-001", "Н-001")
    assert m1[0]["name"] != m1[1]["name"]  # same person code, other school
    assert all(m["name"].startswith("Н-") and len(m["name"]) == 10 and not m["mentor_id"] for m in m1)
    text = _all_text(tmp_path / "p1" / "M.xlsx")
    for name in NAMES:
        for part in _name_parts(name):
            assert part not in text


def test_load_secret(tmp_path):
    with pytest.raises(XlflowError, match="XLFLOW_SECRET"):
        load_secret(None, environ={})
    with pytest.raises(XlflowError, match="короткий"):
        load_secret(None, environ={"XLFLOW_SECRET": "abc"})
    f = tmp_path / "secret.txt"
    f.write_text("  длинный секрет управления\n", encoding="utf-8")
    assert load_secret(f) == "длинный секрет управления".encode()
    with pytest.raises(XlflowError, match="--secret-file"):
        load_secret(tmp_path / "нет.txt")


def test_never_overwrites_an_input(tmp_path):
    inputs = three_schools(tmp_path / "in")
    with pytest.raises(XlflowError, match="совпадает с входным"):
        merge_summaries(inputs, tmp_path / "in" / "a.xlsx")  # would write a.json over the input
    assert json.loads((tmp_path / "in" / "a.json").read_text(encoding="utf-8"))["template_id"] == \
        "xlflow-school-summary"
    with pytest.raises(XlflowError):
        merge_summaries(inputs, tmp_path / "M.xlsx", with_names=True, pseudonymize_secret="секрет-секрет")
    with pytest.raises(XlflowError, match=r"\.xlsx"):
        merge_summaries(inputs, tmp_path / "M.ods")
    with pytest.raises(XlflowError, match="папка"):
        merge_summaries(inputs, tmp_path)


def test_foreign_file_is_not_overwritten_and_stale_names_are_removed(tmp_path):
    inputs = three_schools(tmp_path / "in")
    foreign = tmp_path / "отчёт.xlsx"
    plain = new_workbook(foreign)
    plain.add_worksheet("Лист1").write_string(0, 0, "чужой отчёт")
    plain.close()
    with pytest.raises(XlflowError, match="не является муниципальной сводкой"):
        merge_summaries(inputs, foreign)
    assert openpyxl.load_workbook(foreign)["Лист1"]["A1"].value == "чужой отчёт"
    out = tmp_path / "M.xlsx"
    merge_summaries(inputs, out, with_names=True)
    assert out.with_name("M.mentors.csv").exists()
    merge_summaries(inputs, out)  # replaces its own earlier output
    assert not out.with_name("M.mentors.csv").exists()
    assert NAMES[0] not in _all_text(out)


def test_copies_and_hand_edited_summaries(tmp_path):
    folder = tmp_path / "in"
    three_schools(folder)
    shutil.copy(folder / "a.json", folder / "a (копия).json")
    edited = summary("ОО-005")
    edited["figures"]["mentors"] = "пять"
    write_json(folder / "правленая.json", edited)
    res = merge_summaries([folder], tmp_path / "M.xlsx")
    by_name = {Path(f.file).name: f for f in res.files}
    # scanned in name order: «a (копия).json» comes first and counts, «a.json» is its copy
    assert by_name["a (копия).json"].status == "accepted" and by_name["a.json"].status == "duplicate"
    assert "a (копия).json" in by_name["a.json"].reason
    assert by_name["правленая.json"].problem.code == "merge-invalid-summary"
    assert "figures/mentors" in by_name["правленая.json"].reason
    assert res.exit_code == 1 and res.schools == 3


def test_oversized_json_is_refused_without_reading_it(tmp_path, monkeypatch):
    from xlflow.consolidate import merge

    inputs = three_schools(tmp_path / "in")
    monkeypatch.setattr(merge, "MAX_JSON_BYTES", 1000)
    res = merge_summaries(inputs, tmp_path / "M.xlsx")
    rejected = {Path(f.file).name: f.reason for f in res.files if f.status == "rejected"}
    assert set(rejected) == {"a.json", "c.json"} and "слишком большой" in rejected["a.json"]


def test_cli_exit_codes(tmp_path, monkeypatch):
    monkeypatch.delenv("XLFLOW_SECRET", raising=False)
    runner = CliRunner()
    good = three_schools(tmp_path / "in")
    res = runner.invoke(cli, ["merge", *map(str, good), "--out", str(tmp_path / "M.xlsx")])
    assert res.exit_code == 0, res.output
    assert "Школ в муниципальной сводке: 3" in res.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(os.urandom(100))
    res = runner.invoke(cli, ["merge", str(tmp_path / "in"), str(bad), "--out", str(tmp_path / "M.xlsx"),
                              "--format", "json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["schools"] == 3 and any(f["status"] == "rejected" for f in data["files"])
    res = runner.invoke(cli, ["merge", str(tmp_path / "in"), "--out", str(tmp_path / "M.xlsx"),
                              "--pseudonymize"])
    assert res.exit_code == 2 and "XLFLOW_SECRET" in res.output
    res = runner.invoke(cli, ["merge", str(tmp_path / "in"), "--out", str(tmp_path / "M.xlsx"),
                              "--with-names", "--pseudonymize"], env={"XLFLOW_SECRET": "секрет-секрет"})
    assert res.exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(cli, ["merge", str(empty), "--out", str(tmp_path / "M.xlsx")])
    assert res.exit_code == 2 and "не найдено ни одной сводки" in res.output
    res = runner.invoke(cli, ["merge", str(tmp_path / "in"), "--out", str(tmp_path / "P.xlsx"),
                              "--pseudonymize", "-q"], env={"XLFLOW_SECRET": "секрет-секрет"})
    assert res.exit_code == 0
    assert (tmp_path / "P.mentors.csv").exists()
