"""The programme workbook writer and `xlflow new`, read back with openpyxl."""
from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.errors import XlflowError
from xlflow.layout import col_letter, load_layout
from xlflow.writing.programme import (
    WorkbookOptions, normalize_academic_year, parse_rows_option, write_programme_workbook,
)

LAYOUT = load_layout()
EXTRA = "Работа с родительским сообществом"
OPTIONS = WorkbookOptions(school_name="МБОУ «Школа № 7»", school_code="0407", academic_year="2025/2026",
                          municipality="Городской округ Энск", extra_directions=(EXTRA,))

RECORDS = {
    "passport": {"goal": "Освоить методику проектной работы", "main_direction": "ИКТ-компетенции",
                 "actual_end_date": "2026-05-29", "status": "реализуется"},
    "mentors": [{"id": "Н-001", "full_name": "Соколова Вера Ильинична", "experience_years": 21,
                 "qualification": "высшая категория", "consent": True, "consent_date": "2025-09-01"}],
    "mentees": [{"id": "У-001", "full_name": "Лебедев Олег Маркович", "experience_years": 1.5,
                 "category": "молодой специалист (стаж 0–3 года)", "consent": False}],
    "pairs": [{"group_id": "П-01", "group_type": "пара", "mentor_id": "Н-001", "mentee_id": "У-001",
               "mentoring_form": "учитель – учитель", "kind": "традиционное (один на один)", "mode": "очный",
               "start_date": "2025-09-01", "planned_end_date": "32.13.2025"}],
    "diagnostics": [
        {"stage": "entry", "aspect": "deficit", "direction": "ИКТ-компетенции",
         "description": "Не использует ЭОР", "level": 3},
        {"stage": "final", "aspect": "strength", "direction": EXTRA, "level": 2},
    ],
    "roadmap": [{"direction": "ИКТ-компетенции", "activity_kind": "посещение уроков коллег",
                 "topic": f"Мероприятие {i}", "due_date": "2025-10-01",
                 "completion": "выполнено" if i % 2 else "запланировано"} for i in range(34)],
    "rubric": [{"indicator": i, "score": 2} for i in range(1, 10)],
    "reflection": [{"direction": "ИКТ-компетенции", "achieved": "Провёл открытый урок", "carry_over": True}],
}


@pytest.fixture(scope="module")
def empty_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "empty.xlsx"
    write_programme_workbook(path, OPTIONS)
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def filled_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "filled.xlsx"
    write_programme_workbook(path, OPTIONS, RECORDS)
    return openpyxl.load_workbook(path)


def validations(ws):
    return list(ws.data_validations.dataValidation)


def validation_at(ws, ref):
    found = [dv for dv in validations(ws) if ref in dv.sqref]
    assert len(found) <= 1
    return found[0] if found else None


def table_col(spec, key):
    return col_letter([c.key for c in spec.columns].index(key))


def test_sheets_in_layout_order_with_hidden_lists_and_meta(empty_book):
    expected = [s.name for s in LAYOUT.sheets] + [LAYOUT.lists_sheet, LAYOUT.meta_sheet]
    assert empty_book.sheetnames == expected
    states = {ws.title: ws.sheet_state for ws in empty_book}
    assert states[LAYOUT.lists_sheet] == "hidden"
    assert states[LAYOUT.meta_sheet] == "hidden"
    assert all(states[s.name] == "visible" for s in LAYOUT.sheets)


def test_table_headers_at_layout_positions(empty_book):
    for spec in LAYOUT.tables:
        ws = empty_book[spec.name]
        got = [ws.cell(spec.header_row, i + 1).value for i in range(len(spec.columns))]
        assert got == [c.header for c in spec.columns], spec.key
        assert ws.freeze_panes == f"A{spec.first_data_row}"


def test_passport_labels_and_identity(empty_book):
    spec = LAYOUT.sheet("passport")
    ws = empty_book[spec.name]
    for f in spec.fields:
        assert ws[f"A{spec.row_of(f.key)}"].value == f.header
    assert ws[f"B{spec.row_of('school_code')}"].value == "0407"
    assert ws[f"B{spec.row_of('school_name')}"].value == "МБОУ «Школа № 7»"
    assert ws[f"B{spec.row_of('academic_year')}"].value == "2025/2026"
    assert ws[f"B{spec.row_of('goal')}"].value is None
    assert ws.row_dimensions[spec.row_of("goal")].height > 40


def test_every_enumerated_column_has_a_dropdown_with_input_message(empty_book):
    for spec in LAYOUT.tables:
        ws = empty_book[spec.name]
        first, last = spec.first_data_row, spec.first_data_row + spec.default_rows - 1
        for col in spec.columns:
            if not col.list:
                continue
            letter = table_col(spec, col.key)
            dv = validation_at(ws, f"{letter}{first}")
            assert dv is not None, (spec.key, col.key)
            assert f"{letter}{last}" in dv.sqref and f"{letter}{last + 1}" not in dv.sqref
            assert dv.type == "list"
            assert dv.formula1 == f"lst_{col.list}"
            assert dv.showInputMessage and dv.prompt and dv.promptTitle
            assert dv.errorStyle in (None, "stop") if not LAYOUT.is_open(col.list) else dv.errorStyle == "information"


def test_passport_choice_and_date_fields_validated(empty_book):
    spec = LAYOUT.sheet("passport")
    ws = empty_book[spec.name]
    for f in spec.fields:
        dv = validation_at(ws, f"B{spec.row_of(f.key)}")
        if f.list:
            assert dv.type == "list" and dv.formula1 == f"lst_{f.list}"
        if f.type == "date":
            assert dv.type == "date" and "ДД.ММ.ГГГГ" in dv.prompt


def test_list_names_point_at_the_hidden_lists_sheet(empty_book):
    ws = empty_book[LAYOUT.lists_sheet]
    for key, values in LAYOUT.lists.items():
        ref = empty_book.defined_names[f"lst_{key}"].attr_text
        sheet, cells = ref.split("!")
        assert sheet.strip("'") == LAYOUT.lists_sheet
        got = [c.value for row in ws[cells.replace("$", "")] for c in row]
        if key == "directions":
            assert got == LAYOUT.directions([EXTRA])
        else:
            assert got == values


def test_pair_id_dropdowns_list_the_bank_ids(empty_book):
    pairs = LAYOUT.sheet("pairs")
    ws = empty_book[pairs.name]
    dv = validation_at(ws, f"{table_col(pairs, 'mentor_id')}{pairs.first_data_row}")
    assert dv.formula1 == "lst_mentor_ids" and dv.errorStyle == "information"
    ref = empty_book.defined_names["lst_mentor_ids"].attr_text
    mentors = LAYOUT.sheet("mentors")
    assert ref == f"'{mentors.name}'!$A${mentors.first_data_row}:$A${mentors.first_data_row + 49}"


def test_dates_and_numbers_validated(empty_book):
    roadmap = LAYOUT.sheet("roadmap")
    ws = empty_book[roadmap.name]
    dv = validation_at(ws, f"{table_col(roadmap, 'due_date')}{roadmap.first_data_row}")
    assert dv.type == "date" and dv.operator in (None, "between")  # "between" is the default
    assert (dv.formula1, dv.formula2) == ("36526", "73415")  # 01.01.2000 .. 31.12.2100
    assert "ДД.ММ.ГГГГ" in dv.prompt
    mentors = LAYOUT.sheet("mentors")
    ws = empty_book[mentors.name]
    dv = validation_at(ws, f"{table_col(mentors, 'experience_years')}{mentors.first_data_row}")
    assert dv.type == "decimal" and (dv.formula1, dv.formula2) == ("0", "60")


def test_bank_codes_must_be_unique_but_group_codes_repeat(empty_book):
    for key in ("mentors", "mentees"):
        spec = LAYOUT.sheet(key)
        first, last = spec.first_data_row, spec.first_data_row + spec.default_rows - 1
        dv = validation_at(empty_book[spec.name], f"A{first}")
        assert dv.type == "custom" and dv.formula1 == f"COUNTIF($A${first}:$A${last},A{first})<=1"
        assert dv.errorStyle in (None, "stop") and dv.prompt
    pairs = LAYOUT.sheet("pairs")
    dv = validation_at(empty_book[pairs.name], f"{table_col(pairs, 'group_id')}{pairs.first_data_row}")
    assert dv is None or dv.type != "custom"


def test_overdue_roadmap_dates_turn_red(empty_book):
    spec = LAYOUT.sheet("roadmap")
    ws = empty_book[spec.name]
    due, comp = table_col(spec, "due_date"), table_col(spec, "completion")
    first, last = spec.first_data_row, spec.first_data_row + spec.default_rows - 1
    rules = [r for cf in ws.conditional_formatting if str(cf.sqref) == f"{due}{first}:{due}{last}"
             for r in cf.rules]
    assert len(rules) == 1 and rules[0].type == "expression"
    formula = rules[0].formula[0]
    assert f"${due}{first}<TODAY()" in formula and f'${comp}{first}="запланировано"' in formula


def test_protection_without_password_and_only_inputs_unlocked(empty_book):
    for ws in empty_book:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password
        assert ws.protection.formatColumns is False and ws.protection.formatRows is False
    mentors = LAYOUT.sheet("mentors")
    ws = empty_book[mentors.name]
    assert ws.cell(mentors.header_row, 1).protection.locked
    assert ws.cell(1, 1).protection.locked
    assert not ws.cell(mentors.first_data_row, 1).protection.locked
    assert not ws.cell(mentors.first_data_row + 49, len(mentors.columns)).protection.locked
    passport = LAYOUT.sheet("passport")
    ws = empty_book[passport.name]
    assert ws[f"A{passport.row_of('goal')}"].protection.locked
    assert not ws[f"B{passport.row_of('goal')}"].protection.locked


def test_print_setup(empty_book):
    for spec in LAYOUT.sheets:
        ws = empty_book[spec.name]
        assert ws.page_setup.orientation == "landscape", spec.key
        assert str(ws.page_setup.paperSize) == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0  # 1 page wide
        if spec.kind in ("table", "matrix", "rubric"):
            assert ws.print_title_rows == f"$1:${spec.header_row}"


def test_diagnostics_matrix_with_extra_direction_and_colour_scale(empty_book):
    spec = LAYOUT.sheet("diagnostics")
    ws = empty_book[spec.name]
    directions = LAYOUT.directions([EXTRA])
    first = spec.first_direction_col
    header = [ws.cell(spec.header_row, first + 1 + j).value for j in range(len(directions))]
    assert header == directions
    last_letter = col_letter(first + len(directions) - 1)
    colours = {}
    for stage, aspect, part, row in spec.rows():
        assert ws[f"A{row}"].value in {"входная", "итоговая"}
        dv = validation_at(ws, f"C{row}")
        rules = [r for cf in ws.conditional_formatting if f"C{row}:{last_letter}{row}" in str(cf.sqref).split()
                 for r in cf.rules]
        if part == "level":
            assert dv.type == "list" and dv.formula1 == "lst_intensity"
            assert sorted(r.formula[0] for r in rules) == ["1", "2", "3"]
            fills = {r.formula[0]: r.dxf.fill.bgColor.rgb for r in rules}
            assert len(set(fills.values())) == 3
            colours.setdefault(aspect, set()).add(fills["3"])
        else:
            assert not rules
    assert len(colours["deficit"]) == 1 and colours["deficit"] != colours["strength"]
    assert ws.freeze_panes == f"C{spec.header_row + 1}"


def test_roadmap_completion_formula_and_mark_colours(empty_book):
    spec = LAYOUT.sheet("roadmap")
    ws = empty_book[spec.name]
    comp = table_col(spec, "completion")
    formula = ws["B2"].value
    assert formula.startswith("=") and "COUNTIF" in formula and '"выполнено"' in formula
    assert ws["B2"].number_format == "0%"
    last = spec.first_data_row + spec.default_rows - 1
    for i in range(len(spec.columns)):  # an item is a row with anything filled, as the reader counts
        letter = col_letter(i)
        assert f"${letter}${spec.first_data_row}:${letter}${last}" in formula
    ref = f"{comp}{spec.first_data_row}:{comp}{spec.first_data_row + spec.default_rows - 1}"
    rules = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}[ref]
    assert {r.formula[0].strip('"') for r in rules} == set(LAYOUT.lists["completion_marks"])


def test_rubric_grouped_indicators_and_live_total(empty_book):
    spec = LAYOUT.sheet("rubric")
    ws = empty_book[spec.name]
    headers = list(spec.raw["headers"].values())
    assert [ws.cell(spec.header_row, i + 1).value for i in range(5)] == headers
    for number, _, indicator in spec.indicators:
        row = spec.first_row + number - 1
        assert ws[f"A{row}"].value == number and ws[f"C{row}"].value == indicator
        assert not ws[f"D{row}"].protection.locked
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"B{spec.first_row}:B{spec.first_row + 4}" in merged
    dv = validation_at(ws, f"D{spec.first_row}")
    assert dv.formula1 == "lst_rubric_scores" and f"D{spec.total_row - 1}" in dv.sqref
    scores = f"$D${spec.first_row}:$D${spec.total_row - 1}"
    assert ws[f"D{spec.total_row}"].value == f'=IF(COUNT({scores})=0,"",SUM({scores}))'
    level = ws[f"D{spec.level_row}"].value
    assert "оптимальный" in level and ">=15" in level and ">=9" in level and "<9" in level
    assert ws[f"D{spec.level_row}"].protection.locked


def test_metadata_sheet(empty_book):
    ws = empty_book[LAYOUT.meta_sheet]
    meta = {ws.cell(i + 1, 1).value: ws.cell(i + 1, 2).value for i in range(len(LAYOUT.meta_keys))}
    assert list(meta) == list(LAYOUT.meta_keys)
    assert meta["template_id"] == LAYOUT.template_id
    assert meta["template_version"] == LAYOUT.version
    assert meta["workbook_kind"] == "school"
    assert meta["school_code"] == "0407" and meta["academic_year"] == "2025/2026"
    assert json.loads(meta["directions"]) == LAYOUT.directions([EXTRA])
    assert meta["programme_id"] is None and meta["mentee_id"] is None
    assert dt.datetime.fromisoformat(meta["created"]).tzinfo is not None


def test_records_land_in_the_right_cells(filled_book):
    mentors = LAYOUT.sheet("mentors")
    ws = filled_book[mentors.name]
    row = mentors.first_data_row
    assert ws[f"A{row}"].value == "Н-001"
    assert ws[f"{table_col(mentors, 'experience_years')}{row}"].value == 21
    assert ws[f"{table_col(mentors, 'consent')}{row}"].value == "да"
    cell = ws[f"{table_col(mentors, 'consent_date')}{row}"]
    assert cell.value == dt.datetime(2025, 9, 1) and cell.number_format == "dd.mm.yyyy"
    mentees = LAYOUT.sheet("mentees")
    ws = filled_book[mentees.name]
    assert ws[f"{table_col(mentees, 'experience_years')}{mentees.first_data_row}"].value == 1.5
    assert ws[f"{table_col(mentees, 'consent')}{mentees.first_data_row}"].value == "нет"
    pairs = LAYOUT.sheet("pairs")
    ws = filled_book[pairs.name]
    assert ws[f"{table_col(pairs, 'planned_end_date')}{pairs.first_data_row}"].value == "32.13.2025"
    assert ws[f"{table_col(pairs, 'start_date')}{pairs.first_data_row}"].value == dt.datetime(2025, 9, 1)
    passport = LAYOUT.sheet("passport")
    ws = filled_book[passport.name]
    assert ws[f"B{passport.row_of('actual_end_date')}"].value == dt.datetime(2026, 5, 29)
    assert ws[f"B{passport.row_of('main_direction')}"].value == "ИКТ-компетенции"
    reflection = LAYOUT.sheet("reflection")
    ws = filled_book[reflection.name]
    assert ws[f"{table_col(reflection, 'carry_over')}{reflection.first_data_row}"].value == "да"


def test_diagnostics_and_rubric_records(filled_book):
    spec = LAYOUT.sheet("diagnostics")
    ws = filled_book[spec.name]
    directions = LAYOUT.directions([EXTRA])
    rows = {(st, asp, part): row for st, asp, part, row in spec.rows()}
    ict = col_letter(spec.first_direction_col + directions.index("ИКТ-компетенции"))
    extra = col_letter(spec.first_direction_col + directions.index(EXTRA))
    assert ws[f"{ict}{rows['entry', 'deficit', 'level']}"].value == 3
    assert ws[f"{ict}{rows['entry', 'deficit', 'text']}"].value == "Не использует ЭОР"
    assert ws[f"{extra}{rows['final', 'strength', 'level']}"].value == 2
    rubric = LAYOUT.sheet("rubric")
    ws = filled_book[rubric.name]
    assert [ws[f"D{rubric.first_row + i}"].value for i in range(9)] == [2] * 9


def test_more_records_than_default_rows_get_rows(filled_book):
    spec = LAYOUT.sheet("roadmap")
    ws = filled_book[spec.name]
    last = spec.first_data_row + len(RECORDS["roadmap"]) - 1
    assert ws[f"D{last}"].value == "Мероприятие 33"
    dv = validation_at(ws, f"A{last}")
    assert dv is not None and dv.formula1 == "lst_directions"
    assert f"$K${last}" in ws["B2"].value


def test_rows_option_changes_offered_rows(tmp_path):
    path = tmp_path / "rows.xlsx"
    write_programme_workbook(path, WorkbookOptions("Школа", "01", "2025/2026", rows={"roadmap": 40, "mentors": 5}))
    wb = openpyxl.load_workbook(path)
    roadmap, mentors = LAYOUT.sheet("roadmap"), LAYOUT.sheet("mentors")
    assert validation_at(wb[roadmap.name], f"A{roadmap.first_data_row + 39}") is not None
    assert validation_at(wb[roadmap.name], f"A{roadmap.first_data_row + 40}") is None
    last = mentors.first_data_row + 4
    assert not wb[mentors.name][f"A{last}"].protection.locked
    assert wb[mentors.name][f"A{last + 1}"].protection.locked
    assert wb.defined_names["lst_mentor_ids"].attr_text.endswith(f"$A${last}")


def test_lock_prefilled_locks_identity_only(tmp_path):
    path = tmp_path / "locked.xlsx"
    opts = WorkbookOptions("Школа", "01", "2025/2026", workbook_kind="programme", programme_id="П-01",
                           mentee_id="У-001", rows={"mentors": 3})
    write_programme_workbook(path, opts, RECORDS, lock_prefilled=True)
    wb = openpyxl.load_workbook(path)
    passport = LAYOUT.sheet("passport")
    ws = wb[passport.name]
    for key in ("school_name", "school_code", "academic_year", "programme_id"):
        assert ws[f"B{passport.row_of(key)}"].protection.locked, key
    assert ws[f"B{passport.row_of('programme_id')}"].value == "П-01"
    assert not ws[f"B{passport.row_of('goal')}"].protection.locked
    assert not ws[f"B{passport.row_of('municipality')}"].protection.locked  # empty: stays an input
    mentors = LAYOUT.sheet("mentors")
    ws = wb[mentors.name]
    first = mentors.first_data_row
    assert all(ws.cell(first, i + 1).protection.locked for i in range(len(mentors.columns)))
    assert not ws.cell(first + 1, 1).protection.locked
    assert validation_at(ws, f"A{first}") is None and validation_at(ws, f"A{first + 1}") is not None
    roadmap = LAYOUT.sheet("roadmap")
    assert not wb[roadmap.name].cell(roadmap.first_data_row, 1).protection.locked
    meta_ws = wb[LAYOUT.meta_sheet]
    meta = {r[0].value: r[1].value for r in meta_ws.iter_rows(max_col=2)}
    assert meta["workbook_kind"] == "programme" and meta["programme_id"] == "П-01" and meta["mentee_id"] == "У-001"


def test_instructions_mention_sheets_dates_and_scales(empty_book):
    text = "\n".join(str(c.value) for row in empty_book[LAYOUT.sheet("instructions").name].iter_rows()
                     for c in row if c.value)
    for spec in LAYOUT.sheets[1:]:
        assert f"«{spec.name}»" in text
    assert "ДД.ММ.ГГГГ" in text and "15–18 — оптимальный" in text and "0 — не выражено" in text
    assert "переименовывайте" in text


def test_bad_options_raise_russian_errors():
    with pytest.raises(XlflowError, match="код организации"):
        write_programme_workbook("/nonexistent/x.xlsx", WorkbookOptions("Школа", " ", "2025/2026"))
    with pytest.raises(XlflowError, match="от 1 до"):
        write_programme_workbook("/nonexistent/x.xlsx", WorkbookOptions("Школа", "1", "2025/2026",
                                                                        rows={"roadmap": 0}))
    assert normalize_academic_year("2025-26") == "2025/2026"
    assert normalize_academic_year(" 2025 / 2026 ") == "2025/2026"
    for bad in ("2025", "2025/2027", "25/26", ""):
        with pytest.raises(XlflowError, match="учебный год"):
            normalize_academic_year(bad)
    assert parse_rows_option(["roadmap=40", "mentors = 80"]) == {"roadmap": 40, "mentors": 80}
    for bad in (["roadmap"], ["roadmap=-1"], ["diagnostics=3"], ["roadmap=abc"]):
        with pytest.raises(XlflowError):
            parse_rows_option(bad)


def test_cli_new_writes_and_reports(tmp_path):
    out = tmp_path / "книга.xlsx"
    args = ["new", str(out), "--school", "Лицей № 2", "--school-code", "0502", "--municipality", "Энск",
            "--year", "2025/26", "--direction", EXTRA, "--rows", "roadmap=12"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert str(out) in res.output
    wb = openpyxl.load_workbook(out)
    meta = {r[0].value: r[1].value for r in wb[LAYOUT.meta_sheet].iter_rows(max_col=2)}
    assert meta["school_code"] == "0502" and meta["academic_year"] == "2025/2026"
    assert EXTRA in json.loads(meta["directions"])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "уже существует" in res.output
    assert CliRunner().invoke(cli, args + ["--force"]).exit_code == 0


@pytest.mark.parametrize("extra, message", [
    (["--school-code", " "], "код организации"),
    (["--school-code", "01", "--year", "2025/2027"], "учебный год"),
    (["--school-code", "01", "--rows", "roadmap=x"], "ТАБЛИЦА=ЧИСЛО"),
    (["--school-code", "01", "--rows", "pupils=3"], "Неизвестная таблица"),
])
def test_cli_new_bad_options(tmp_path, extra, message):
    out = tmp_path / "x.xlsx"
    base = ["new", str(out), "--school", "Школа", "--year", "2025/2026"]
    res = CliRunner().invoke(cli, base + extra)
    assert res.exit_code == 2
    assert message in res.output
    assert not out.exists()
    assert not list(tmp_path.iterdir())


@pytest.mark.libreoffice
def test_libreoffice_keeps_validations_protection_and_colours(tmp_path, lo_convert):
    src = tmp_path / "src"
    src.mkdir()
    empty, filled = src / "empty.xlsx", src / "filled.xlsx"
    write_programme_workbook(empty, OPTIONS)
    write_programme_workbook(filled, OPTIONS, RECORDS)
    converted = lo_convert([empty, filled], "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(converted[0])
    assert wb.sheetnames[:len(LAYOUT.sheets)] == [s.name for s in LAYOUT.sheets]
    assert wb[LAYOUT.meta_sheet].sheet_state == "hidden"
    for spec in LAYOUT.sheets:
        assert wb[spec.name].protection.sheet, spec.key
    roadmap = LAYOUT.sheet("roadmap")
    ws = wb[roadmap.name]
    comp = f"{table_col(roadmap, 'completion')}{roadmap.first_data_row}"
    dv = validation_at(ws, comp)
    assert dv is not None and dv.type == "list" and dv.prompt
    assert validation_at(ws, f"{table_col(roadmap, 'due_date')}{roadmap.first_data_row}").type == "date"
    assert not ws[comp].protection.locked and ws.cell(roadmap.header_row, 1).protection.locked
    last = roadmap.first_data_row + roadmap.default_rows - 1
    marks = {r.formula[0].strip('"') for cf in ws.conditional_formatting
             if str(cf.sqref) == f"{comp}:{comp[0]}{last}" for r in cf.rules}
    assert marks == set(LAYOUT.lists["completion_marks"])
    diag = LAYOUT.sheet("diagnostics")
    last_letter = col_letter(diag.first_direction_col + len(LAYOUT.directions([EXTRA])) - 1)
    coloured = {ref for cf in wb[diag.name].conditional_formatting for ref in str(cf.sqref).split()}
    assert coloured == {f"C{row}:{last_letter}{row}" for _, _, part, row in diag.rows() if part == "level"}
    # LibreOffice computed the live formulas of the filled book from its inputs.
    values = openpyxl.load_workbook(converted[1], data_only=True)
    rubric = LAYOUT.sheet("rubric")
    assert values[rubric.name][f"D{rubric.total_row}"].value == 18
    assert values[rubric.name][f"D{rubric.level_row}"].value == "оптимальный"
    assert values[roadmap.name]["B2"].value == pytest.approx(17 / 34)
    assert values[roadmap.name]["C2"].value == "выполнено 17 из 34"
    blank = openpyxl.load_workbook(converted[0], data_only=True)
    assert blank[rubric.name][f"D{rubric.total_row}"].value in (None, "")
    assert blank[rubric.name][f"D{rubric.level_row}"].value == "не все показатели оценены"
    assert blank[roadmap.name]["C2"].value == "выполнено 0 из 0"


def test_diagnostics_direction_matched_like_the_layout_dedupes(tmp_path):
    path = tmp_path / "case.xlsx"
    items = [{"stage": "entry", "aspect": "deficit", "direction": "  икт-компетенции ", "level": 2},
             {"stage": "final", "aspect": "deficit", "direction": "Школьный театр", "level": 1}]
    write_programme_workbook(path, OPTIONS, {"diagnostics": items})
    wb = openpyxl.load_workbook(path)
    spec = LAYOUT.sheet("diagnostics")
    directions = LAYOUT.directions([EXTRA, "Школьный театр"])
    ws = wb[spec.name]
    assert [ws.cell(spec.header_row, spec.first_direction_col + 1 + j).value
            for j in range(len(directions) + 1)] == directions + [None]
    rows = {(st, asp, part): row for st, asp, part, row in spec.rows()}
    ict = spec.first_direction_col + 1 + directions.index("ИКТ-компетенции")
    assert ws.cell(rows["entry", "deficit", "level"], ict).value == 2
    assert ws.cell(rows["final", "deficit", "level"], spec.first_direction_col + len(directions)).value == 1


def _parts(path):
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


class _FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 1, 2, 3, 4, 5, tzinfo=tz)


@pytest.mark.parametrize("lock_prefilled", [False, True])
def test_fast_worksheets_and_shared_formats_write_the_same_bytes(tmp_path, monkeypatch, lock_prefilled):
    """The writer's shortcuts (memoised formulas, one-string cells, formats copied from
    per-process templates) give byte for byte what plain xlsxwriter gives."""
    from xlsxwriter.worksheet import Worksheet

    import xlflow.writing.programme as programme
    import xlflow.writing.styles as styles

    monkeypatch.setattr(programme.dt, "datetime", _FrozenDatetime)
    fast, plain = tmp_path / "fast.xlsx", tmp_path / "plain.xlsx"
    write_programme_workbook(tmp_path / "warm.xlsx", OPTIONS, RECORDS)  # caches already filled
    write_programme_workbook(fast, OPTIONS, RECORDS, lock_prefilled=lock_prefilled)
    monkeypatch.setattr(programme, "WORKSHEET_CLASS", Worksheet)
    monkeypatch.setattr(styles, "add_format", lambda wb, props: wb.add_format(props))
    write_programme_workbook(plain, OPTIONS, RECORDS, lock_prefilled=lock_prefilled)
    got, expected = _parts(fast), _parts(plain)
    assert len(got) > len(LAYOUT.sheets) + 5 and "xl/styles.xml" in got
    assert got.keys() == expected.keys()
    core = "docProps/core.xml"  # holds the creation time of the zip entry's workbook
    assert {k: v for k, v in got.items() if k != core} == {k: v for k, v in expected.items() if k != core}


def _small_book(path, worksheet_class):
    """Cells, validations and conditional formats of every kind the fast worksheet
    shortcuts or hands to xlsxwriter (literal lists, colour scales, bad options)."""
    import warnings

    from xlflow.writing.xlsx import new_workbook

    wb = new_workbook(path, in_memory=True)
    wb.set_properties({"created": dt.datetime(2026, 1, 2)})
    fill, red = wb.add_format({"bg_color": "#FFF8DC"}), wb.add_format({"font_color": "#C00000"})
    for name in ("a", "b"):  # the second sheet hits the caches the first filled
        ws = wb.add_worksheet(name, worksheet_class=worksheet_class)
        ws.set_column(0, 2, 20)
        ws.set_column(3, 3, 12, None, {"hidden": True})
        if name == "b":
            ws.set_column(6, 6, 9, fill)  # a column format: xlsxwriter writes <cols> itself
        ws.write_blank(0, 0, None, fill)
        ws.write_string(0, 1, "текст", fill)
        ws.write_number(0, 2, 2.5, fill)
        ws.write_datetime(0, 3, dt.datetime(2025, 9, 1), fill)
        ws.write_string(0, 4, "без формата")
        ws.write_formula(0, 5, "=C1*2", fill, 5)
        ws.write_boolean(0, 6, True, fill)
        ws.data_validation(1, 0, 9, 0, {"validate": "list", "source": ["да", "нет"]})
        ws.data_validation("B2:B9", {"validate": "date", "criteria": "between",
                                     "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2100, 12, 31),
                                     "input_title": "Дата", "input_message": "ДД.ММ.ГГГГ & <т>"})
        ws.data_validation(1, 2, 9, 2, {"validate": "integer", "criteria": ">=", "value": 0,
                                        "other_cells": [[1, 4, 9, 4]]})
        ws.conditional_format(1, 0, 9, 0, {"type": "cell", "criteria": "==", "value": '"да"', "format": red})
        ws.conditional_format(9, 1, 1, 1, {"type": "formula", "criteria": "=B2<TODAY()", "format": red})
        ws.conditional_format(1, 2, 9, 2, {"type": "cell", "criteria": ">", "value": 1, "format": red,
                                           "multi_range": "C2:C9 $E$2:$E$9"})
        ws.conditional_format(1, 3, 9, 3, {"type": "3_color_scale"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert ws.data_validation(1, 5, 9, 5, {"validate": "nonsense"}) == -2
            assert ws.conditional_format(1, 5, 9, 5, {"type": "cell", "bad": 1}) == -2
            assert ws.conditional_format(1, 5, 9, 5) == -2
            assert ws.data_validation(1, 5, 9, 5) == -2
    wb.close()


def test_fast_worksheet_writes_what_xlsxwriter_writes_for_every_kind(tmp_path):
    from xlsxwriter.worksheet import Worksheet

    from xlflow.writing.fastsheet import CachedFormulaWorksheet

    for i in range(2):  # the second round starts with warm per-process caches
        _small_book(tmp_path / f"fast{i}.xlsx", CachedFormulaWorksheet)
        _small_book(tmp_path / f"plain{i}.xlsx", Worksheet)
        got, expected = _parts(tmp_path / f"fast{i}.xlsx"), _parts(tmp_path / f"plain{i}.xlsx")
        assert b"dataValidation " in got["xl/worksheets/sheet2.xml"]
        assert got == expected


def test_no_xlsxwriter_warnings_even_with_long_texts(tmp_path):
    """xlsxwriter drops an invalid validation or format with only a warning: there must be none."""
    import warnings

    long_direction = "Очень длинное собственное направление школы " * 8
    options = WorkbookOptions("Школа " * 40, "01", "2025/2026", extra_directions=(long_direction,))
    records = {**RECORDS, "passport": {"goal": "Цель " * 2000}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_programme_workbook(tmp_path / "long.xlsx", options, records)
    wb = openpyxl.load_workbook(tmp_path / "long.xlsx")
    assert long_direction.strip() in [c.value for c in wb[LAYOUT.sheet("diagnostics").name][4]]
