"""The problem catalogue and the Report."""
from __future__ import annotations

import json

import pytest

from xlflow.problems import ERROR, WARNING, Problem, Report, code_info, register

register("test-demo-error", ERROR, "Исправьте значение «{value}».", "test")
register("test-demo-warning", WARNING, "Проверьте поле «{field}».", "test")


def test_unregistered_code_is_refused():
    with pytest.raises(KeyError):
        Problem("no-such-code")


def test_registering_a_code_twice_with_other_text_is_an_error():
    assert register("test-demo-error", ERROR, "Исправьте значение «{value}».", "test") == "test-demo-error"
    with pytest.raises(ValueError):
        register("test-demo-error", ERROR, "другой текст")


def test_message_fills_template_and_keeps_missing_params_visible():
    p = Problem("test-demo-error", "a.xlsx", "Рубрика", "D5", {"value": 3})
    assert p.message == "Исправьте значение «3»."
    assert p.severity == ERROR and code_info(p.code).severity == ERROR
    assert Problem("test-demo-error").message == "Исправьте значение «{value}»."


def test_report_orders_by_file_sheet_row_and_sets_exit_code():
    r = Report(files=["a.xlsx"])
    assert r.exit_code() == 0 and r.ok
    r.add(Problem("test-demo-warning", "a.xlsx", "Лист", "B10", {"field": "x"}))
    assert r.exit_code() == 0, "warnings alone do not fail"
    r.add(Problem("test-demo-error", "a.xlsx", "Лист", "B9", {"value": 1}))
    r.add(Problem("test-demo-error", "a.xlsx", "Лист", "AA2", {"value": 2}))
    assert [p.cell for p in r] == ["AA2", "B9", "B10"]
    assert r.exit_code() == 1
    r.unreadable.add("b.xlsx")
    assert r.exit_code() == 2


def test_report_renders_text_and_json_in_russian():
    r = Report(files=["a.xlsx"])
    r.add(Problem("test-demo-error", "a.xlsx", "Рубрика", "D5", {"value": 3}))
    text = r.to_text()
    assert "файл a.xlsx, лист «Рубрика», ячейка D5" in text
    assert "[ошибка] test-demo-error" in text
    assert "Ошибок: 1" in text
    data = json.loads(r.to_json())
    assert data["valid"] is False and data["errors"] == 1
    assert data["problems"][0]["cell"] == "D5"
    assert data["problems"][0]["message"] == "Исправьте значение «3»."


def test_report_lists_sheets_in_workbook_order_not_alphabetically():
    r = Report()
    r.add(Problem("test-demo-error", "a.xlsx", "Рубрика", "D5", {"value": 1}))
    r.add(Problem("test-demo-error", "a.xlsx", "Банк наставников", "E4", {"value": 2}))
    r.add(Problem("test-demo-error", "a.xlsx", None, None, {"value": 3}))
    r.add(Problem("test-demo-error", "a.xlsx", "Дорожная карта", "B9", {"value": 4}))
    assert [p.sheet for p in r] == [None, "Банк наставников", "Дорожная карта", "Рубрика"]
