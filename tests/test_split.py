"""`xlflow split`: planning on plain records, and real copies read back."""
from __future__ import annotations

import hashlib

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.errors import XlflowError
from xlflow.layout import load_layout
from xlflow.reading.programme import read_programme
from xlflow.writing.programme import WorkbookOptions, write_programme_workbook
from xlflow.writing.split import (
    MAX_NAME, plan_copies, safe_file_name, short_name, split_school_workbook,
)

LAYOUT = load_layout()
EXTRA = "Наставничество в проектной деятельности"
OPTIONS = WorkbookOptions(school_name="МАОУ «Гимназия № 3»", school_code="0903", academic_year="2025/2026",
                          municipality="Энский район", extra_directions=(EXTRA,))


def person(pid, name, **extra):
    return {"id": pid, "full_name": name, "experience_years": 10, "consent": True, **extra}


def pair(gid, kind, mentor, mentee):
    return {"group_id": gid, "group_type": kind, "mentor_id": mentor, "mentee_id": mentee,
            "mentoring_form": "учитель – учитель", "kind": "традиционное (один на один)", "mode": "очный",
            "start_date": "2025-09-01", "planned_end_date": "2026-05-31"}


RECORDS = {
    "passport": {"conditions": "Кабинет 12, еженедельно"},
    "mentors": [person("Н-01", "Орлова Мария Викторовна"), person("Н-02", "Зайцев Глеб Олегович"),
                person("Н-03", "Волкова Ирина Семёновна")],
    "mentees": [person(f"У-0{i}", name, category="молодой специалист (стаж 0–3 года)")
                for i, name in enumerate(["Котов Денис Юрьевич", "Белова Ольга Ивановна", "Рыбин Антон Львович",
                                          "Гусева Нина Петровна", "Титов Илья Андреевич"], start=1)],
    "pairs": [pair("П-01", "пара", "Н-01", "У-01"), pair("П-02", "пара", "Н-02", "У-02"),
              pair("Г-01", "группа", "Н-03", "У-03"), pair("Г-01", "группа", "Н-03", "У-04"),
              pair("Г-01", "группа", "Н-03", "У-05")],
}


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def split_result(tmp_path_factory):
    base = tmp_path_factory.mktemp("split")
    school = base / "школа.xlsx"
    write_programme_workbook(school, OPTIONS, RECORDS)
    before = digest(school)
    paths = split_school_workbook(school, base / "копии")
    return school, before, paths


def test_five_copies_named_readably(split_result):
    school, before, paths = split_result
    assert [p.name for p in paths] == [
        "П-01 Орлова М.В. — Котов Д.Ю.xlsx",
        "П-02 Зайцев Г.О. — Белова О.И.xlsx",
        "Г-01 Волкова И.С. — Рыбин А.Л.xlsx",
        "Г-01 Волкова И.С. — Гусева Н.П.xlsx",
        "Г-01 Волкова И.С. — Титов И.А.xlsx",
    ]
    assert all(p.exists() for p in paths)
    assert sorted(p.name for p in paths[0].parent.iterdir()) == sorted(p.name for p in paths)  # no temp files
    assert digest(school) == before


def test_pair_copy_holds_its_people_and_identity(split_result):
    _, _, paths = split_result
    data = read_programme(paths[0]).data
    assert [m["id"] for m in data["mentors"]] == ["Н-01"]
    assert [m["id"] for m in data["mentees"]] == ["У-01"]
    assert data["pairs"] == [pair("П-01", "пара", "Н-01", "У-01")]
    meta = data["meta"]
    assert meta["workbook_kind"] == "programme"
    assert (meta["programme_id"], meta["mentee_id"]) == ("П-01", "У-01")
    assert meta["school_code"] == "0903" and EXTRA in meta["directions"]
    assert data["passport"]["programme_id"] == "П-01"
    assert data["passport"]["school_name"] == "МАОУ «Гимназия № 3»"
    assert data["passport"]["conditions"] == "Кабинет 12, еженедельно"


def test_group_copies_carry_the_whole_group(split_result):
    _, _, paths = split_result
    for path, mentee in zip(paths[2:], ["У-03", "У-04", "У-05"]):
        data = read_programme(path).data
        assert data["meta"]["mentee_id"] == mentee and data["meta"]["programme_id"] == "Г-01"
        assert [m["id"] for m in data["mentors"]] == ["Н-03"]
        assert [m["id"] for m in data["mentees"]] == ["У-03", "У-04", "У-05"]
        assert [p["mentee_id"] for p in data["pairs"]] == ["У-03", "У-04", "У-05"]
        assert data["mentees"][0] == RECORDS["mentees"][2]


def test_identity_cells_locked_programme_cells_open(split_result):
    _, _, paths = split_result
    wb = openpyxl.load_workbook(paths[2])
    passport = LAYOUT.sheet("passport")
    ws = wb[passport.name]
    for key in ("school_name", "school_code", "municipality", "academic_year", "programme_id"):
        assert ws[f"B{passport.row_of(key)}"].protection.locked, key
    assert not ws[f"B{passport.row_of('goal')}"].protection.locked
    for key in ("mentors", "mentees", "pairs"):
        spec = LAYOUT.sheet(key)
        ws = wb[spec.name]
        n = {"mentors": 1, "mentees": 3, "pairs": 3}[key]
        for r in range(spec.first_data_row, spec.first_data_row + n):
            assert all(ws.cell(r, c + 1).protection.locked for c in range(len(spec.columns))), (key, r)
        assert ws.protection.sheet
    roadmap = LAYOUT.sheet("roadmap")
    assert not wb[roadmap.name].cell(roadmap.first_data_row, 1).protection.locked
    rubric = LAYOUT.sheet("rubric")
    assert not wb[rubric.name][f"D{rubric.first_row}"].protection.locked


def test_existing_copies_are_not_overwritten_without_force(split_result, tmp_path):
    school, before, paths = split_result
    outdir = paths[0].parent
    stamp = {p: digest(p) for p in paths}
    with pytest.raises(XlflowError, match="уже есть копии"):
        split_school_workbook(school, outdir)
    assert {p: digest(p) for p in paths} == stamp
    again = split_school_workbook(school, outdir, jobs=1, overwrite=True)
    assert [p.name for p in again] == [p.name for p in paths]
    assert digest(school) == before


def test_split_refuses_to_overwrite_its_input(tmp_path):
    records = {**RECORDS, "pairs": RECORDS["pairs"][:1], "mentees": RECORDS["mentees"][:1]}
    school = tmp_path / "П-01 Орлова М.В. — Котов Д.Ю.xlsx"
    write_programme_workbook(school, OPTIONS, records)
    before = digest(school)
    with pytest.raises(XlflowError, match="совпадает с входным"):
        split_school_workbook(school, tmp_path, overwrite=True)
    assert digest(school) == before


def school_data(**changes):
    data = {"meta": {"workbook_kind": "school", "school_code": "0903", "school_name": "Гимназия",
                     "academic_year": "2025/2026", "directions": LAYOUT.directions()},
            "passport": {}, **{k: [dict(r) for r in v] for k, v in RECORDS.items() if k != "passport"}}
    data.update(changes)
    return data


def test_plan_on_plain_records():
    plans = plan_copies(school_data())
    assert len(plans) == 5
    group = plans[3]
    assert group.options.workbook_kind == "programme"
    assert (group.options.programme_id, group.options.mentee_id) == ("Г-01", "У-04")
    assert dict(group.options.rows) == {"mentors": 1, "mentees": 3, "pairs": 3}
    assert group.records["passport"]["programme_id"] == "Г-01"
    assert group.records["passport"]["school_code"] == "0903"


@pytest.mark.parametrize("change, message", [
    ({"pairs": []}, "нет ни одной пары"),
    ({"pairs": [pair("П-09", "пара", "Н-99", "У-01")]}, "Наставник «Н-99»"),
    ({"pairs": [pair("П-09", "пара", "Н-01", "У-99")]}, "Наставляемый «У-99»"),
    ({"pairs": [pair("Г-09", "группа", "Н-01", "У-01"), pair("Г-09", "группа", "Н-02", "У-02")]},
     "разные наставники"),
    ({"pairs": [pair("Г-09", "группа", "Н-01", "У-01"), pair("Г-09", "группа", "Н-01", "У-01")]}, "дважды"),
    ({"pairs": [{"group_id": "П-09", "mentor_id": "Н-01"}]}, "не указан код наставляемого"),
    ({"mentors": [person("Н-01", "А"), person("Н-01", "Б")]}, "встречается в банке дважды"),
    ({"meta": {"workbook_kind": "programme"}}, "уже копия"),
    ({"meta": {"workbook_kind": "school", "directions": ["x"]}}, "код организации"),
])
def test_plan_refuses_unsplittable_workbooks(change, message):
    with pytest.raises(XlflowError, match=message):
        plan_copies(school_data(**change))


def test_all_reasons_reported_at_once():
    data = school_data(pairs=[pair("П-09", "пара", "Н-98", "У-01"), pair("П-10", "пара", "Н-01", "У-97")])
    with pytest.raises(XlflowError) as info:
        plan_copies(data)
    assert "Н-98" in info.value.message and "У-97" in info.value.message


def test_safe_file_names():
    taken: set[str] = set()
    assert safe_file_name('П/01: "Ан*на"?', taken) == "П_01_ _Ан_на__.xlsx"
    assert safe_file_name("CON", taken) == "_CON.xlsx"
    assert safe_file_name("копия. ", taken) == "копия.xlsx"
    assert safe_file_name("КОПИЯ", taken) == "КОПИЯ (2).xlsx"
    long = safe_file_name("Я" * 300, taken)
    assert len(long) == MAX_NAME and long.endswith(".xlsx")
    assert len(safe_file_name("Я" * 300, taken)) == MAX_NAME
    assert len(taken) == 6


def test_short_names():
    assert short_name("Иванова Анна Андреевна", "Н-1") == "Иванова А.А."
    assert short_name("  Петров  ", "Н-1") == "Петров"
    assert short_name("", "Н-1") == "Н-1"
    assert short_name(None, "У-2") == "У-2"


def test_cli_split(tmp_path):
    school = tmp_path / "school.xlsx"
    write_programme_workbook(school, OPTIONS, RECORDS)
    res = CliRunner().invoke(cli, ["split", str(school), str(tmp_path / "out"), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert "Создано копий: 5" in res.output and "Г-01 Волкова И.С. — Титов И.А.xlsx" in res.output
    res = CliRunner().invoke(cli, ["split", str(school), str(tmp_path / "out")])
    assert res.exit_code == 2 and "--force" in res.output
    empty = tmp_path / "empty.xlsx"
    write_programme_workbook(empty, OPTIONS)
    res = CliRunner().invoke(cli, ["split", str(empty), str(tmp_path / "out2")])
    assert res.exit_code == 2 and "нет ни одной пары" in res.output
    assert not (tmp_path / "out2").exists()


@pytest.mark.libreoffice
def test_copy_resaved_by_libreoffice_reads_the_same(split_result, tmp_path, lo_convert):
    _, _, paths = split_result
    copy = paths[3]
    (converted,) = lo_convert([copy], "xlsx", tmp_path / "lo")
    assert read_programme(converted).data == read_programme(copy).data
    wb = openpyxl.load_workbook(converted)
    passport = LAYOUT.sheet("passport")
    assert wb[passport.name][f"B{passport.row_of('school_code')}"].protection.locked
    assert not wb[passport.name][f"B{passport.row_of('goal')}"].protection.locked
    pairs = LAYOUT.sheet("pairs")
    assert wb[pairs.name].cell(pairs.first_data_row, 1).protection.locked


def test_split_refuses_when_pairs_sheet_is_unreadable(tmp_path):
    school = tmp_path / "school.xlsx"
    write_programme_workbook(school, OPTIONS, RECORDS)
    wb = openpyxl.load_workbook(school)
    del wb[LAYOUT.sheet("pairs").name]
    broken = tmp_path / "broken.xlsx"
    wb.save(broken)
    with pytest.raises(XlflowError, match="не удалось прочитать банки или пары") as info:
        split_school_workbook(broken, tmp_path / "out")
    assert "Пары и группы" in info.value.message
    assert not (tmp_path / "out").exists()


def test_split_jobs_must_be_positive(tmp_path):
    school = tmp_path / "school.xlsx"
    write_programme_workbook(school, OPTIONS, RECORDS)
    with pytest.raises(XlflowError, match="--jobs"):
        split_school_workbook(school, tmp_path / "out", jobs=0)
    assert not (tmp_path / "out").exists()
