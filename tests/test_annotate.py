"""The annotated copy: faulty cells filled and noted, an «Ошибки» sheet with
links, and nothing else of the user's file changed."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from test_validation_files import write
from test_validation_schema import programme_record
from xlflow.errors import XlflowError
from xlflow.problems import Problem
from xlflow.validation.annotate import ERROR_FILL, WARNING_FILL, annotate_workbook, annotation_targets
from xlflow.validation.validate import validate_file

TODAY = dt.date(2025, 12, 1)
FORMULA_TEXT = '=HYPERLINK("x")'


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    folder = tmp_path_factory.mktemp("annotate")
    data = programme_record()
    data["pairs"][0]["start_date"] = "32.13.2025"
    data["pairs"][0]["participants_consent"] = False
    data["roadmap"][0]["topic"] = FORMULA_TEXT
    del data["roadmap"][0]["done_date"]
    src = write(folder / "копия пары.xlsx", data)
    problems = validate_file(src, today=TODAY).problems
    problems.append(Problem("bad-value", file=src, sheet=FORMULA_TEXT, cell=None,
                            params={"value": FORMULA_TEXT, "field": "x", "detail": "y"}))
    out = folder / "с пометками.xlsx"
    annotate_workbook(src, problems, out)
    return src, problems, out


def _snapshot(path):
    wb = openpyxl.load_workbook(path, rich_text=True)
    out = {}
    for ws in wb.worksheets:
        values = {(c.coordinate): (c.value, c.data_type) for row in ws.iter_rows() for c in row if c.value is not None}
        dvs = sorted((str(dv.sqref), dv.type, dv.formula1, dv.allow_blank) for dv in ws.data_validations.dataValidation)
        cf = sorted(str(rng.sqref) for rng in ws.conditional_formatting)
        out[ws.title] = {"values": values, "dv": dvs, "cf": cf, "protected": ws.protection.sheet,
                         "state": ws.sheet_state, "merged": sorted(str(r) for r in ws.merged_cells.ranges),
                         "freeze": ws.freeze_panes}
    return out, sorted(wb.defined_names)


def test_nothing_else_changes(faulty):
    src, _, out = faulty
    before, names_before = _snapshot(src)
    after, names_after = _snapshot(out)
    assert names_after == names_before
    assert set(after) - set(before) == {"Ошибки"}
    for title, sheet in before.items():
        assert after[title] == sheet, title
    assert any(s["protected"] for s in before.values()) and any(s["dv"] for s in before.values())


def test_faulty_cells_have_fill_and_note(faulty):
    _, _, out = faulty
    wb = openpyxl.load_workbook(out)
    date_cell = wb["Пары и группы"]["I4"]
    assert date_cell.fill.fgColor.rgb == ERROR_FILL
    assert "«32.13.2025»" in date_cell.comment.text and date_cell.comment.author == "xlflow"
    order_cell = wb["Пары и группы"]["M4"]
    assert order_cell.fill.fgColor.rgb == WARNING_FILL and "Предупреждение" in order_cell.comment.text
    done_cell = wb["Дорожная карта"]["L5"]
    assert "не указана дата выполнения" in done_cell.comment.text
    assert wb["Пары и группы"]["J4"].comment is None


def test_problem_sheet_lists_everything_with_links(faulty):
    _, problems, out = faulty
    wb = openpyxl.load_workbook(out)
    ws = wb["Ошибки"]
    assert wb.sheetnames[0] == "Ошибки" and wb.active.title == "Ошибки"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(problems)
    by_cell = {(r[2], r[3]): r for r in rows}
    assert by_cell[("Пары и группы", "I4")][5] == "bad-date"
    links = {c.value: c.hyperlink.location for c in ws["D"][1:] if c.hyperlink is not None}
    assert links["I4"] == "'Пары и группы'!I4" and links["L5"] == "'Дорожная карта'!L5"
    assert [w.sheet_view.tabSelected for w in wb.worksheets].count(True) == 1
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"


def test_user_text_is_never_a_formula(faulty):
    _, _, out = faulty
    ws = openpyxl.load_workbook(out)["Ошибки"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and FORMULA_TEXT in c.value]
    assert any(c.value == FORMULA_TEXT for c in cells)
    assert cells and all(c.data_type == "s" for c in cells)


def test_refuses_to_overwrite_the_input(faulty):
    src, problems, _ = faulty
    with pytest.raises(XlflowError, match="совпадает с входным"):
        annotate_workbook(src, problems, src)


def test_refuses_other_formats(tmp_path):
    ods = tmp_path / "книга.ods"
    ods.write_bytes(b"x")
    with pytest.raises(XlflowError, match=r"\.xlsx"):
        annotate_workbook(ods, [], tmp_path / "out.xlsx")


def test_no_problems_gives_a_clean_list(faulty, tmp_path):
    src, _, _ = faulty
    out = annotate_workbook(src, [], tmp_path / "чисто.xlsx")
    ws = openpyxl.load_workbook(out)["Ошибки"]
    assert ws["E2"].value == "Ошибок не найдено."


def test_targets_for_several_files(tmp_path):
    inputs = [str(tmp_path / "a" / "копия.xlsx"), str(tmp_path / "b" / "копия.xlsx")]
    targets = annotation_targets(inputs, tmp_path / "пометки")
    assert [t.name for t in targets.values()] == ["копия_ошибки.xlsx", "копия (2)_ошибки.xlsx"]
    with pytest.raises(XlflowError, match="папку"):
        annotation_targets(inputs, tmp_path / "один.xlsx")


@pytest.mark.libreoffice
def test_libreoffice_round_trips(faulty, lo_convert, tmp_path):
    """LibreOffice opens the annotated copy; a file re-saved by LibreOffice is
    annotated without other changes too (one conversion call for both)."""
    src, problems, out = faulty
    resaved, converted = lo_convert([src, out], "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(converted)
    assert wb.sheetnames[0] == "Ошибки"
    assert wb["Ошибки"].max_row == len(problems) + 1
    assert "«32.13.2025»" in wb["Пары и группы"]["I4"].comment.text
    again = annotate_workbook(resaved, validate_file(resaved, today=TODAY).problems, tmp_path / "снова.xlsx")
    before, names_before = _snapshot(resaved)
    after, names_after = _snapshot(again)
    assert names_after == names_before
    for title, sheet in before.items():
        assert after[title] == sheet, title
    assert openpyxl.load_workbook(again)["Пары и группы"]["I4"].comment is not None


def test_merged_cells_existing_notes_and_unknown_places(tmp_path):
    from openpyxl.comments import Comment

    src = tmp_path / "своя.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Пары и группы"
    ws.merge_cells("B2:C3")
    ws["B2"] = "объединено"
    ws["D4"] = "с примечанием"
    ws["D4"].comment = Comment("Заметка куратора", "Куратор")
    wb.save(src)
    problems = [
        Problem("bad-value", sheet="Пары и группы", cell="C3", params={"value": "x", "field": "y", "detail": "z"}),
        Problem("bad-value", sheet="Пары и группы", cell="D4", params={"value": "x", "field": "y", "detail": "z"}),
        Problem("bad-value", sheet="Нет такого листа", cell="A1", params={"value": "x", "field": "y", "detail": "z"}),
        Problem("bad-value", sheet="Пары и группы", cell="не ячейка", params={"value": "x", "field": "y", "detail": "z"}),
    ]
    out = annotate_workbook(src, problems, tmp_path / "пометки.xlsx")
    wb = openpyxl.load_workbook(out)
    ws = wb["Пары и группы"]
    assert ws["B2"].comment is not None and ws["B2"].fill.fgColor.rgb == ERROR_FILL
    note = ws["D4"].comment.text
    assert note.startswith("Заметка куратора") and "— xlflow —" in note and "Ошибка: Значение «x»" in note
    listed = list(wb["Ошибки"].iter_rows(min_row=2, values_only=True))
    assert len(listed) == 4
    assert ("Пары и группы", "B2") in {(r[2], r[3]) for r in listed}
