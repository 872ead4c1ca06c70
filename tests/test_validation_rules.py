"""Domain rules about people and load: a failing and a passing case for each,
with code, sheet, A1 cell and a Russian message naming the value."""
from __future__ import annotations

import copy

from test_validation_schema import check, only, programme_record

PAIR_ROW = programme_record()["pairs"][0]
MENTOR = programme_record()["mentors"][0]
MENTEE = programme_record()["mentees"][0]


def school_record() -> dict:
    """A valid school registry: two mentors, three mentees, one pair, one group."""
    data = programme_record()
    data["meta"].update(workbook_kind="school")
    del data["meta"]["programme_id"], data["meta"]["mentee_id"]
    data["passport"] = {k: data["passport"][k] for k in ("school_name", "school_code", "academic_year")}
    for key in ("diagnostics", "roadmap", "rubric"):
        data[key] = []
    data["mentors"].append({**MENTOR, "id": "Н-002", "full_name": "Ковалёв Илья Сергеевич"})
    data["mentees"] += [{**MENTEE, "id": "У-002", "full_name": "Лапина Ника Андреевна"},
                        {**MENTEE, "id": "У-003", "full_name": "Мухина Вера Олеговна"}]
    group = {**PAIR_ROW, "group_id": "Г-01", "group_type": "группа", "mentor_id": "Н-002",
             "kind": "групповое"}
    data["pairs"] += [{**group, "mentee_id": "У-002"}, {**group, "mentee_id": "У-003"}]
    return data


def codes(problems) -> list[str]:
    return sorted(p.code for p in problems)


def test_school_record_is_valid():
    assert check(school_record()) == []


def test_duplicate_id():
    data = school_record()
    data["mentees"][2]["id"] = "у-002 "
    p = only(check(data), "duplicate-id")
    assert (p.sheet, p.cell) == ("Банк наставляемых", "A6")
    assert "«у-002»" in p.message and "строке 5" in p.message


def test_consent_no_and_empty():
    data = school_record()
    data["mentors"][1]["consent"] = False
    del data["mentees"][0]["consent"]
    found = [p for p in check(data) if p.code == "consent-missing"]
    assert sorted((p.sheet, p.cell) for p in found) == [("Банк наставляемых", "H4"), ("Банк наставников", "I5")]
    assert all("не может участвовать" in p.message for p in found)
    assert any("Ковалёв Илья Сергеевич" in p.message for p in found)
    assert not [p for p in check(data) if p.code == "required-missing"]


def test_young_specialist_experience():
    data = school_record()
    data["mentees"][1]["experience_years"] = 7
    p = only(check(data), "young-specialist-experience")
    assert (p.sheet, p.cell) == ("Банк наставляемых", "E5")
    assert "Стаж 7 лет" in p.message
    data["mentees"][1]["experience_years"] = 2.5
    assert check(data) == []


def test_experience_not_negative():
    data = school_record()
    data["mentors"][0]["experience_years"] = -4
    p = only(check(data), "bad-experience")
    assert (p.sheet, p.cell) == ("Банк наставников", "E4") and "«-4»" in p.message


def test_unknown_people_in_pairs():
    data = school_record()
    data["pairs"][0]["mentor_id"] = "Н-999"
    data["pairs"][0]["mentee_id"] = "У-404"
    problems = check(data)
    mentor, mentee = only(problems, "unknown-mentor"), only(problems, "unknown-mentee")
    assert (mentor.sheet, mentor.cell) == ("Пары и группы", "C4") and "«Н-999»" in mentor.message
    assert mentee.cell == "D4" and "«Банк наставляемых»" in mentee.message


def test_same_person_by_name():
    data = school_record()
    data["mentees"][0]["full_name"] = "  берёзкина алла  петровна"
    p = only(check(data), "same-person")
    assert (p.sheet, p.cell) == ("Пары и группы", "D4") and "один и тот же человек" in p.message


def test_same_person_by_id():
    data = school_record()
    data["mentees"][0]["id"] = "Н-001"
    data["pairs"][0]["mentee_id"] = "Н-001"
    assert "same-person" in codes(check(data))


def test_pair_with_two_mentees():
    data = school_record()
    data["pairs"].append({**PAIR_ROW, "mentee_id": "У-003"})
    problems = check(data)
    p = only(problems, "pair-size")
    assert (p.sheet, p.cell) == ("Пары и группы", "B7") and "«П-01»" in p.message and "«группа»" in p.message


def test_group_with_one_mentee():
    data = school_record()
    data["pairs"].pop()
    p = only(check(data), "group-too-small")
    assert (p.sheet, p.cell) == ("Пары и группы", "B5") and "«Г-01»" in p.message


def test_group_rows_disagree():
    data = school_record()
    data["pairs"][2]["start_date"] = "2025-09-15"
    p = only(check(data), "group-inconsistent")
    assert (p.sheet, p.cell) == ("Пары и группы", "I6")
    assert "«Дата начала»" in p.message and "15.09.2025" in p.message and "строке 5" in p.message


def test_same_mentee_twice_in_group():
    data = school_record()
    data["pairs"].append(copy.deepcopy(data["pairs"][2]))
    p = only(check(data), "duplicate-pair-row")
    assert (p.sheet, p.cell) == ("Пары и группы", "D7") and "«У-003»" in p.message


def test_participants_consent_no_is_a_warning():
    data = school_record()
    data["pairs"][0]["participants_consent"] = False
    p = only(check(data), "participants-consent-missing")
    assert p.severity == "warning" and p.cell == "M4"


def _mentor_programmes(data: dict, n: int, mentor: str = "Н-001") -> None:
    for k in range(n):
        data["mentees"].append({**MENTEE, "id": f"У-1{k}", "full_name": f"Наставляемая Номер{k}"})
        data["pairs"].append({**PAIR_ROW, "group_id": f"П-1{k}", "mentor_id": mentor, "mentee_id": f"У-1{k}"})


def test_mentor_at_most_four_at_once():
    data = school_record()
    _mentor_programmes(data, 3)  # Н-001: П-01 + 3 = 4 at once
    assert check(data) == []
    _mentor_programmes(data, 1, mentor="Н-001")
    data["pairs"][-1]["group_id"] = "П-99"
    p = only(check(data), "mentor-overload")
    assert (p.sheet, p.cell) == ("Пары и группы", "C10")
    assert "«Н-001»" in p.message and "5 программ" in p.message and "не больше 4" in p.message


def test_mentor_programmes_one_after_another_are_fine():
    data = school_record()
    _mentor_programmes(data, 4)
    for row in data["pairs"][-2:]:
        row.update(start_date="2026-06-01", planned_end_date="2026-12-31")
    assert "mentor-overload" not in codes(check(data))


def test_mentee_at_most_two_at_once():
    data = school_record()
    data["pairs"].append({**PAIR_ROW, "group_id": "П-02", "mentor_id": "Н-002"})
    assert check(data) == []
    data["pairs"].append({**PAIR_ROW, "group_id": "П-03", "mentor_id": "Н-002",
                          "start_date": "2025-11-01", "planned_end_date": "2026-04-30"})
    p = only(check(data), "mentee-overload")
    assert (p.sheet, p.cell) == ("Пары и группы", "D8")
    assert "«У-001»" in p.message and "3 программах" in p.message and "«П-03»" in p.message


def test_group_copy_checks_every_member_against_the_bank():
    data = school_record()
    data["meta"].update(workbook_kind="programme", programme_id="Г-01", mentee_id="У-002")
    data["pairs"][2]["mentee_id"] = "У-777"
    p = only(check(data), "unknown-mentee")
    assert p.cell == "D6" and "«У-777»" in p.message


def test_typo_in_group_row_reported_once():
    data = school_record()
    data["pairs"][2]["kind"] = "групповео"
    problems = check(data)
    assert [(p.code, p.cell) for p in problems] == [("not-in-list", "G6")]
