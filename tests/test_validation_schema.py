"""Schema checks of records mapped to cells: codes, cells and Russian messages."""
from __future__ import annotations

import copy
import datetime as dt

import pytest

from xlflow.layout import load_layout
from xlflow.validation.locate import CellLocator, layout_cells
from xlflow.validation.schema import programme_validator, schema_problems
from xlflow.validation.validate import validate_records

TODAY = dt.date(2025, 12, 1)
LAYOUT = load_layout()


def programme_record() -> dict:
    """A valid programme copy of one pair (fictional people)."""
    return {
        "meta": {"template_id": "xlflow-programme", "template_version": 1, "workbook_kind": "programme",
                 "school_code": "SCH-07", "school_name": "МБОУ «Школа № 7»", "academic_year": "2025/2026",
                 "directions": LAYOUT.directions(), "programme_id": "П-01", "mentee_id": "У-001"},
        "passport": {"school_name": "МБОУ «Школа № 7»", "school_code": "SCH-07", "academic_year": "2025/2026",
                     "programme_id": "П-01", "main_direction": "ИКТ-компетенции",
                     "problem": "Мало опыта работы с цифровыми сервисами.", "goal": "Освоить цифровые сервисы.",
                     "tasks": "Пройти курсы; провести открытый урок.", "desired_image": "Уверенный педагог.",
                     "status": "реализуется", "term_change": "нет"},
        "mentors": [{"id": "Н-001", "full_name": "Берёзкина Алла Петровна", "experience_years": 18,
                     "consent": True, "consent_date": "2025-08-25"}],
        "mentees": [{"id": "У-001", "full_name": "Травкин Олег Игоревич", "experience_years": 1,
                     "category": "молодой специалист (стаж 0–3 года)", "consent": True}],
        "pairs": [{"group_id": "П-01", "group_type": "пара", "mentor_id": "Н-001", "mentee_id": "У-001",
                   "mentoring_form": "учитель – учитель", "kind": "традиционное (один на один)",
                   "mode": "очный", "start_date": "2025-09-01", "planned_end_date": "2026-05-31",
                   "order_number": "112", "order_date": "2025-08-29", "participants_consent": True}],
        "diagnostics": [{"stage": "entry", "aspect": "deficit", "direction": "ИКТ-компетенции",
                         "description": "Не владеет сервисами тестирования.", "level": 3}],
        "roadmap": [{"direction": "ИКТ-компетенции", "activity_kind": "курсовая подготовка (повышение квалификации)",
                     "topic": "Курсы «Цифровая школа»", "due_date": "2025-10-15", "completion": "выполнено",
                     "done_date": "2025-10-14"}],
        "rubric": [{"indicator": 1, "score": 2}],
        "reflection": [],
        "computed": {},
    }


def check(data: dict) -> list:
    return validate_records(data, layout_cells(data, LAYOUT), file="копия.xlsx", today=TODAY)


def schema_only(data: dict) -> list:
    return schema_problems(data, CellLocator(layout_cells(data, LAYOUT), LAYOUT), file="копия.xlsx")


def only(problems: list, code: str):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, [(p.code, p.sheet, p.cell, p.message) for p in problems]
    return found[0]


def test_valid_record_has_no_problems():
    assert check(programme_record()) == []


def test_validator_is_built_once():
    assert programme_validator() is programme_validator()


def test_bad_date_at_its_cell():
    data = programme_record()
    data["pairs"][0]["start_date"] = "32.13.2025"
    p = only(schema_only(data), "bad-date")
    assert (p.sheet, p.cell) == ("Пары и группы", "I4")
    assert "«32.13.2025»" in p.message and "ДД.ММ.ГГГГ" in p.message


def test_bad_date_skipped_by_rules_without_crash():
    data = programme_record()
    data["pairs"][0]["planned_end_date"] = "скоро"
    problems = check(data)
    assert [p.code for p in problems] == ["bad-date"]
    assert problems[0].cell == "J4"


def test_not_a_number():
    data = programme_record()
    data["mentees"][0]["experience_years"] = "два года"
    p = only(check(data), "not-a-number")
    assert (p.sheet, p.cell) == ("Банк наставляемых", "E4")
    assert "«Педагогический стаж, лет»" in p.message and "«два года»" in p.message


def test_not_in_list_names_choices():
    data = programme_record()
    data["pairs"][0]["mode"] = "заочный"
    p = only(check(data), "not-in-list")
    assert (p.sheet, p.cell) == ("Пары и группы", "H4")
    assert "«заочный»" in p.message and "«очный», «онлайн», «смешанный»" in p.message


def test_long_choice_list_is_shortened():
    data = programme_record()
    data["roadmap"][0]["participation_form"] = "зритель"
    p = only(check(data), "not-in-list")
    assert p.cell == "H5" and "и ещё 3 (см. выпадающий список)" in p.message


def test_required_missing_at_the_empty_cell():
    data = programme_record()
    del data["pairs"][0]["kind"]
    p = only(check(data), "required-missing")
    assert (p.sheet, p.cell) == ("Пары и группы", "G4")
    assert p.message == "Заполните обязательное поле «Вид наставничества»."


def test_several_missing_fields_each_reported():
    data = programme_record()
    del data["mentors"][0]["full_name"]
    del data["mentors"][0]["experience_years"]
    cells = sorted(p.cell for p in check(data) if p.code == "required-missing")
    assert cells == ["B4", "E4"]


def test_bad_yes_no():
    data = programme_record()
    data["pairs"][0]["participants_consent"] = "может быть"
    p = only(check(data), "bad-yes-no")
    assert p.cell == "M4" and "«да» или «нет»" in p.message and "«может быть»" in p.message


def test_bad_level_one_problem_per_cell():
    data = programme_record()
    data["diagnostics"][0]["level"] = "много"
    problems = check(data)
    p = only(problems, "bad-level")
    assert p.sheet == "Диагностика" and p.cell is not None
    assert "«много»" in p.message and "от 0 до 3" in p.message
    assert len([q for q in problems if q.cell == p.cell]) == 1


def test_bad_rubric_score():
    data = programme_record()
    data["rubric"][0]["score"] = 5
    p = only(check(data), "bad-score")
    assert (p.sheet, p.cell) == ("Рубрика", "D4")
    assert "«5»" in p.message and "0, 1 или 2" in p.message


def test_too_long_id():
    data = programme_record()
    data["mentors"][0]["id"] = "Н" * 70
    data["pairs"][0]["mentor_id"] = "Н" * 70
    found = [p for p in check(data) if p.code == "value-too-long"]
    assert sorted((p.sheet, p.cell) for p in found) == [("Банк наставников", "A4"), ("Пары и группы", "C4")]
    assert "«Код наставника»" in found[0].message and "70 символов" in found[0].message


def test_wrong_template():
    data = programme_record()
    data["meta"]["template_id"] = "чужой-шаблон"
    p = only(check(data), "wrong-template")
    assert "«чужой-шаблон»" in p.message and p.sheet == "_xlflow"


@pytest.mark.parametrize("garbage", [None, 7, "строка", [1, 2], {"x": {"y": []}}])
def test_garbage_everywhere_never_crashes(garbage):
    data = programme_record()
    for key in ("passport", "mentors", "pairs", "diagnostics", "roadmap", "rubric"):
        mutated = copy.deepcopy(data)
        mutated[key] = garbage
        assert check(mutated), key


def test_records_without_a_file_use_the_layout_cells():
    data = programme_record()
    data["pairs"][0]["mode"] = "заочный"
    [problem] = validate_records(data, today=TODAY)
    assert (problem.code, problem.sheet, problem.cell) == ("not-in-list", "Пары и группы", "H4")
