"""Domain rules about dates, passport, roadmap and directions: failing and passing cases."""
from __future__ import annotations

import pytest

from test_validation_rules import school_record
from test_validation_schema import check, only, programme_record
from xlflow.validation.rules_dates import TOO_LONG, TOO_SHORT, length_problem
from xlflow.validation.messages import iso_date


def codes(problems) -> list[str]:
    return sorted(p.code for p in problems)


@pytest.mark.parametrize("start,end,expected", [
    ("2025-09-01", "2025-11-30", None),
    ("2025-09-01", "2025-11-28", TOO_SHORT),
    ("2025-09-01", "2026-09-01", None),
    ("2025-09-01", "2026-09-02", TOO_LONG),
    ("2024-02-29", "2024-05-28", None),
])
def test_length_bounds(start, end, expected):
    assert length_problem(iso_date(start), iso_date(end)) == expected


def test_programme_too_short_and_shortened():
    data = programme_record()
    data["pairs"][0]["planned_end_date"] = "2025-10-31"
    p = only(check(data), "programme-too-short")
    assert (p.sheet, p.cell) == ("Пары и группы", "J4")
    assert "01.09.2025 – 31.10.2025" in p.message and "«сокращена»" in p.message
    data["passport"]["term_change"] = "сокращена"
    assert check(data) == []


def test_programme_too_long_and_extended():
    data = programme_record()
    data["pairs"][0]["planned_end_date"] = "2026-12-31"
    data["roadmap"][0]["due_date"] = "2025-10-15"
    p = only(check(data), "programme-too-long")
    assert p.cell == "J4" and "больше 1 года" in p.message
    data["passport"]["term_change"] = "продлена"
    assert check(data) == []


def test_group_length_reported_once():
    data = school_record()
    for row in data["pairs"][1:]:
        row["planned_end_date"] = "2025-10-01"
    found = [p for p in check(data) if p.code == "programme-length-unusual"]
    assert [(p.sheet, p.cell) for p in found] == [("Пары и группы", "J5")]
    assert found[0].severity == "warning"  # the curator may not have marked it yet
    assert "01.09.2025 – 01.10.2025" in found[0].message
    assert "«Изменение срока»" in found[0].message


def test_registry_row_marked_shortened_or_extended_is_accepted():
    data = school_record()
    for row in data["pairs"][1:]:
        row["planned_end_date"] = "2025-10-01"
        row["term_change"] = "сокращена"
    data["pairs"][0]["planned_end_date"] = "2026-11-30"
    assert [p.code for p in check(data)] == ["programme-length-unusual"]
    data["pairs"][0]["term_change"] = "продлена"
    assert check(data) == []
    data["pairs"][0]["term_change"] = "сокращена"  # marked, but the wrong way round
    assert [p.cell for p in check(data)] == ["J4"]


def test_copy_extended_in_its_pair_row_needs_no_passport_mark():
    data = programme_record()
    data["pairs"][0]["planned_end_date"] = "2026-12-31"
    data["roadmap"][0]["due_date"] = "2025-10-15"
    data["passport"]["term_change"] = "нет"
    assert [p.code for p in check(data)] == ["programme-too-long"]
    data["pairs"][0]["term_change"] = "продлена"
    assert check(data) == []


def test_end_before_start():
    data = programme_record()
    data["pairs"][0]["planned_end_date"] = "2025-08-01"
    p = only(check(data), "dates-order")
    assert (p.sheet, p.cell) == ("Пары и группы", "J4") and "01.08.2025" in p.message


def test_actual_end_checks():
    data = programme_record()
    data["passport"].update(status="завершена", actual_end_date="2025-10-20",
                            ending_reason="план мероприятий выполнен в полном объёме")
    p = only(check(data), "programme-too-short")
    assert (p.sheet, p.cell) == ("Паспорт программы", "B21")
    data["passport"].update(status="прекращена досрочно",
                            ending_reason="по инициативе куратора (программа не выполняется)")
    assert check(data) == []
    data["passport"]["actual_end_date"] = "2025-08-20"
    p = only(check(data), "end-before-start")
    assert p.cell == "B21" and "20.08.2025" in p.message


def test_order_long_after_start_is_a_warning():
    data = programme_record()
    data["pairs"][0]["order_date"] = "2025-11-15"
    p = only(check(data), "order-after-start")
    assert p.severity == "warning" and p.cell == "L4" and "15.11.2025" in p.message
    data["pairs"][0]["order_date"] = "2025-09-20"
    assert check(data) == []


def test_consent_and_done_dates_not_in_future():
    data = programme_record()
    data["mentors"][0]["consent_date"] = "2025-12-24"
    data["roadmap"][0]["done_date"] = "2025-12-02"
    data["roadmap"][0]["due_date"] = "2025-12-02"
    found = [p for p in check(data) if p.code == "date-in-future"]
    assert sorted((p.sheet, p.cell) for p in found) == [("Банк наставников", "J4"), ("Дорожная карта", "L5")]
    assert any("«Дата согласия»" in p.message and "24.12.2025" in p.message for p in found)


def test_roadmap_dates_inside_programme():
    data = programme_record()
    data["roadmap"][0].update(due_date="2026-06-20", completion="запланировано")
    del data["roadmap"][0]["done_date"]
    p = only(check(data), "date-outside-programme")
    assert (p.sheet, p.cell) == ("Дорожная карта", "E5")
    assert "«Срок»" in p.message and "01.09.2025 – 31.05.2026" in p.message
    data["passport"].update(status="завершена", actual_end_date="2026-06-25", term_change="продлена",
                            ending_reason="план мероприятий выполнен в полном объёме")
    assert "date-outside-programme" not in codes(check(data))


def test_implausible_year_warning():
    data = programme_record()
    data["mentees"][0]["consent_date"] = "1925-08-25"
    p = only(check(data), "implausible-date")
    assert p.severity == "warning" and p.cell == "I4" and "1925" in p.message


def test_done_item_needs_its_date():
    data = programme_record()
    del data["roadmap"][0]["done_date"]
    p = only(check(data), "done-date-missing")
    assert (p.sheet, p.cell) == ("Дорожная карта", "L5")
    assert "«выполнено»" in p.message and "«Курсы «Цифровая школа»»" in p.message
    data["roadmap"][0]["completion"] = "перенесено"
    assert check(data) == []


def test_done_date_without_done_mark_is_a_warning():
    data = programme_record()
    data["roadmap"][0]["completion"] = "не выполнено"
    p = only(check(data), "done-date-not-done")
    assert p.severity == "warning" and p.cell == "L5" and "«не выполнено»" in p.message


def test_unknown_direction():
    data = programme_record()
    data["diagnostics"][0]["direction"] = "Астрология"
    data["roadmap"][0]["direction"] = "ИКТ-компетенции"
    p = only(check(data), "unknown-direction")
    assert p.sheet == "Диагностика" and "«Астрология»" in p.message and "«Научно-теоретическое»" in p.message


def test_school_direction_is_known():
    data = programme_record()
    data["meta"]["directions"] = data["meta"]["directions"] + ["Шахматное образование"]
    data["roadmap"][0]["direction"] = "Шахматное образование"
    assert check(data) == []
    data["meta"]["directions"] = data["meta"]["directions"][:-1]
    p = only(check(data), "unknown-direction")
    assert (p.sheet, p.cell) == ("Дорожная карта", "A5")


def test_ended_programme_needs_date_and_reason():
    data = programme_record()
    data["passport"]["status"] = "прекращена досрочно"
    found = [p for p in check(data) if p.code == "ending-incomplete"]
    assert sorted(p.cell for p in found) == ["B21", "B22"]
    assert any("«Причина завершения»" in p.message and "«прекращена досрочно»" in p.message for p in found)


def test_running_programme_with_end_date_is_a_warning():
    data = programme_record()
    data["passport"]["actual_end_date"] = "2025-11-20"
    p = only(check(data), "end-date-without-status")
    assert p.severity == "warning" and p.cell == "B21"


def test_programme_copy_needs_passport_fields():
    data = programme_record()
    del data["passport"]["goal"], data["passport"]["status"]
    found = [p for p in check(data) if p.code == "required-missing"]
    assert sorted((p.sheet, p.cell) for p in found) == [("Паспорт программы", "B10"), ("Паспорт программы", "B19")]
    assert any(p.message == "Заполните обязательное поле «Цель»." for p in found)


def test_school_registry_passport_may_be_empty_but_school_identity_is_required():
    data = school_record()
    assert check(data) == []
    del data["passport"]["school_code"]
    p = only(check(data), "required-missing")
    assert p.cell == "B4" and "«Код организации»" in p.message


def test_programme_copy_without_pair_row():
    data = programme_record()
    data["pairs"] = []
    p = only(check(data), "no-pairs")
    assert p.sheet == "Пары и группы" and p.cell is None


def test_finished_programme_rubric_incomplete_warning():
    data = programme_record()
    data["passport"].update(status="завершена", actual_end_date="2025-11-30",
                            ending_reason="план мероприятий выполнен в полном объёме")
    p = only(check(data), "rubric-incomplete")
    assert p.sheet == "Рубрика" and "2, 3, 4, 5, 6, 7, 8, 9" in p.message
    data["rubric"] = [{"indicator": n, "score": 1} for n in range(1, 10)]
    assert "rubric-incomplete" not in codes(check(data))


def test_copy_must_hold_its_own_pair_row():
    data = programme_record()
    data["pairs"][0]["group_id"] = "П-77"
    p = only(check(data), "copy-mismatch")
    assert (p.sheet, p.cell) == ("Пары и группы", "A4") and "«П-01»" in p.message and "«У-001»" in p.message
    data["meta"]["programme_id"] = "П-77"
    assert check(data) == []


def test_finished_programme_needs_final_diagnostics():
    data = programme_record()
    data["passport"].update(status="завершена", actual_end_date="2025-11-30",
                            ending_reason="план мероприятий выполнен в полном объёме")
    data["rubric"] = [{"indicator": n, "score": 2} for n in range(1, 10)]
    p = only(check(data), "final-diagnostics-missing")
    assert p.severity == "warning" and p.sheet == "Диагностика" and "итоговая" in p.message
    data["diagnostics"].append({"stage": "final", "aspect": "deficit", "direction": "ИКТ-компетенции", "level": 1})
    assert check(data) == []
