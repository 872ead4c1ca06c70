"""Reading filled programme workbooks back into records (xlflow.reading)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
import xlsxwriter

from xlflow.errors import ReadError
from xlflow.layout import FormSpec, MatrixSpec, RubricSpec, TableSpec, a1, load_layout
from xlflow.reading.grid import MAX_ROWS, read_grids
from xlflow.reading.programme import read_programme
from xlflow.schemas import load_schema
from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

LAYOUT = load_layout()
SCHEMA = load_schema("programme.schema.json")
OPTIONS = WorkbookOptions("МБОУ «Школа № 7»", "SCH-007", "2025/2026", municipality="Энский округ",
                          extra_directions=("Финансовая грамотность",))
EXTRA = "Финансовая грамотность"

RECORDS: dict[str, Any] = {
    "passport": {
        "programme_id": "П-01", "main_direction": "ИКТ-компетенции",
        "problem": "Затруднения при работе с цифровыми ресурсами", "goal": "Уверенно вести уроки с ИКТ",
        "tasks": "Освоить платформу\nПровести открытый урок", "desired_image": "Педагог-новатор",
        "meeting_schedule": "вторник, 15:00", "status": "реализуется", "term_change": "нет",
        "actual_end_date": "2026-05-29", "ending_reason": "план мероприятий выполнен в полном объёме",
    },
    "mentors": [
        {"id": "Н-001", "full_name": "Лебедева Ольга Ивановна", "position": "учитель",
         "subject": "информатика", "experience_years": 18, "qualification": "высшая категория",
         "mentor_category": "педагог, желающий передавать опыт", "strong_directions": "ИКТ-компетенции",
         "consent": True, "consent_date": "2025-08-28"},
        {"id": "Н-002", "full_name": "Соколов Игорь Петрович", "experience_years": 25.5, "consent": False},
    ],
    "mentees": [
        {"id": "У-001", "full_name": "Ветрова Мария Олеговна", "position": "учитель",
         "experience_years": 1.5, "category": "молодой специалист (стаж 0–3 года)",
         "request": "Дисциплина на уроке", "consent": True, "consent_date": "2025-08-29"},
    ],
    "pairs": [
        {"group_id": "П-01", "group_type": "пара", "mentor_id": "Н-001", "mentee_id": "У-001",
         "mentoring_form": "учитель – учитель", "interaction_form": "опытный педагог – молодой специалист",
         "kind": "традиционное (один на один)", "mode": "смешанный", "start_date": "2025-09-01",
         "planned_end_date": "2026-05-31", "order_number": "112-о", "order_date": "2025-08-30",
         "participants_consent": True},
    ],
    "diagnostics": [
        {"stage": "entry", "aspect": "strength", "direction": "Предметно-профессиональное",
         "description": "Хорошо знает предмет", "level": 2},
        {"stage": "entry", "aspect": "deficit", "direction": "ИКТ-компетенции",
         "description": "Не работает с платформой", "level": 3},
        {"stage": "entry", "aspect": "deficit", "direction": EXTRA, "level": 1},
        {"stage": "final", "aspect": "deficit", "direction": "ИКТ-компетенции", "level": 1},
    ],
    "roadmap": [
        {"direction": "ИКТ-компетенции", "activity_kind": "курсовая подготовка (повышение квалификации)",
         "event_form": "вебинар", "topic": "Цифровая платформа", "due_date": "2025-10-15",
         "place": "онлайн", "expected_results": "Сертификат", "participation_form": "пассивная: слушатель",
         "reporting_form": "сертификат", "co_executors": "методист", "completion": "выполнено",
         "done_date": "2025-10-14", "significance": "Дефицит ИКТ уменьшен", "evaluation": "полезно"},
        {"direction": "ИКТ-компетенции", "activity_kind": "открытый (интегрированный, бинарный) урок",
         "event_form": "своя форма", "topic": "Открытый урок", "due_date": "2026-02-10",
         "completion": "запланировано"},
    ],
    "rubric": [{"indicator": 1, "score": 2, "comment": "Соответствует"}, {"indicator": 2, "score": 1},
               {"indicator": 5, "comment": "Оценим позже"}],
    "reflection": [{"direction": "ИКТ-компетенции", "achieved": "Ведёт уроки с платформой",
                    "remaining": "Проекты", "carry_over": False}],
}


def write_records(path: Path, records: dict | None = None, **options: Any) -> Path:
    opts = WorkbookOptions(**{**OPTIONS.__dict__, **options})
    write_programme_workbook(path, opts, records if records is not None else RECORDS)
    return path


def sheet_name(key: str) -> str:
    return LAYOUT.sheet(key).name


def edit(path: Path, changes: dict[str, dict[str, Any]], merges: dict[str, list[str]] | None = None,
         out: Path | None = None) -> Path:
    """Apply cell edits (``{sheet: {"B7": value}}``) and merges with openpyxl, like a user would."""
    wb = openpyxl.load_workbook(path)
    for sheet, cells in changes.items():
        for ref, value in cells.items():
            wb[sheet][ref].value = value
    for sheet, ranges in (merges or {}).items():
        for rng in ranges:
            wb[sheet].merge_cells(rng)
    target = out or path
    wb.save(target)
    return target


def table_ref(key: str, column: str, index: int) -> str:
    """A1 of record ``index`` of table ``key`` in a freshly written workbook."""
    spec = LAYOUT.sheet(key)
    assert isinstance(spec, TableSpec)
    col = [c.key for c in spec.columns].index(column)
    return a1(spec.header_row + index, col)


def codes(parsed) -> list[str]:
    return [p.code for p in parsed.problems]


# ---------------------------------------------------------------- inline workbooks (no writer)

class Formula:
    def __init__(self, text: str, cached: Any) -> None:
        self.text, self.cached = text, cached


def skeleton(directions: list[str] | None = None) -> dict[str, dict[tuple[int, int], Any]]:
    """Headers, labels and metadata at the layout positions, as a dict of cells."""
    dirs = directions or LAYOUT.directions([EXTRA])
    cells: dict[str, dict[tuple[int, int], Any]] = {}
    for spec in LAYOUT.sheets:
        sheet = cells.setdefault(spec.name, {(0, 0): spec.title})
        if isinstance(spec, FormSpec):
            for f in spec.fields:
                sheet[(spec.row_of(f.key) - 1, 0)] = f.header
        elif isinstance(spec, TableSpec):
            for i, col in enumerate(spec.columns):
                sheet[(spec.header_row - 1, i)] = col.header
        elif isinstance(spec, MatrixSpec):
            for i, text in enumerate(spec.raw["row_header_cols"]):
                sheet[(spec.header_row - 1, i)] = text
            for j, d in enumerate(dirs):
                sheet[(spec.header_row - 1, spec.first_direction_col + j)] = d
            labels = {s["key"]: s["label"] for s in spec.stages}
            aspects = {a["key"]: a for a in spec.aspects}
            for stage, aspect, part, row in spec.rows():
                sheet[(row - 1, 0)] = labels[stage]
                sheet[(row - 1, 1)] = aspects[aspect]["text_label" if part == "text" else "level_label"]
        elif isinstance(spec, RubricSpec):
            for i, text in enumerate(spec.raw["headers"].values()):
                sheet[(spec.header_row - 1, i)] = text
            for number, criterion, indicator in spec.indicators:
                sheet[(spec.first_row + number - 2, 0)] = number
                sheet[(spec.first_row + number - 2, 2)] = indicator
    meta = cells.setdefault(LAYOUT.meta_sheet, {})
    values = {"template_id": LAYOUT.template_id, "template_version": LAYOUT.version,
              "workbook_kind": "programme", "school_code": "SCH-007", "directions": json.dumps(dirs, ensure_ascii=False)}
    for i, key in enumerate(LAYOUT.meta_keys):
        meta[(i, 0)] = key
        if key in values:
            meta[(i, 1)] = values[key]
    return cells


def put(cells: dict, key: str, ref: str, value: Any) -> None:
    """Set a cell by sheet key (or sheet name) and A1 reference."""
    name = sheet_name(key) if key in {s.key for s in LAYOUT.sheets} else key
    letters = "".join(ch for ch in ref if ch.isalpha())
    number = int("".join(ch for ch in ref if ch.isdigit()))
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    cells.setdefault(name, {})[(number - 1, col - 1)] = value


def write_inline(path: Path, cells: dict, merges: dict[str, list[str]] | None = None) -> Path:
    """Write a cell dict with xlsxwriter: strings as strings, dates as dates, Formula with a cached value."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    for name, sheet_cells in cells.items():
        ws = wb.add_worksheet(name)
        for (r, c), v in sorted(sheet_cells.items()):
            if isinstance(v, Formula):
                ws.write_formula(r, c, v.text, None, v.cached)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            elif isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, c, v, date_fmt)
            else:
                ws.write_string(r, c, str(v))
        for rng in (merges or {}).get(name, []):
            ws.merge_range(rng, "")
    wb.close()
    return path


# ---------------------------------------------------------------- round trip with the writer

@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    return write_records(tmp_path_factory.mktemp("rt") / "programme.xlsx")


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_round_trip_every_sheet(written, engine):
    parsed = read_programme(written, engine=engine)
    for key in ("passport", "mentors", "mentees", "pairs", "roadmap", "rubric", "reflection"):
        expected = RECORDS[key]
        if key == "passport":
            expected = {"school_name": OPTIONS.school_name, "school_code": OPTIONS.school_code,
                        "municipality": OPTIONS.municipality, "academic_year": OPTIONS.academic_year,
                        **expected}
        assert parsed.data[key] == expected, key
    order = {(s, a): i for i, (s, a) in enumerate([("entry", "strength"), ("entry", "deficit"),
                                                    ("final", "strength"), ("final", "deficit")])}
    dirs = LAYOUT.directions([EXTRA])
    expected_diag = sorted(RECORDS["diagnostics"], key=lambda it: (order[(it["stage"], it["aspect"])],
                                                                   dirs.index(it["direction"])))
    assert parsed.data["diagnostics"] == expected_diag
    assert parsed.problems == []
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(parsed.data)) == []


def test_meta_and_computed(written):
    data = read_programme(written).data
    meta = data["meta"]
    assert meta["template_id"] == LAYOUT.template_id and meta["template_version"] == LAYOUT.version
    assert meta["school_code"] == "SCH-007" and meta["workbook_kind"] == "school"
    assert meta["directions"][-1] == EXTRA
    assert data["computed"] == {"rubric_scored": 2, "rubric_total": 3, "rubric_level": None,
                                "roadmap_items": 2, "roadmap_done": 1, "roadmap_percent": 50.0}


def test_cells_point_at_true_positions(written):
    parsed = read_programme(written)
    mentors = sheet_name("mentors")
    assert parsed.cells[("mentors", 1, "experience_years")] == (mentors, table_ref("mentors", "experience_years", 1))
    assert parsed.cells[("mentors", 1)] == (mentors, table_ref("mentors", "id", 1))
    passport = LAYOUT.sheet("passport")
    assert parsed.cells[("passport", "goal")] == (passport.name, f"B{passport.row_of('goal')}")
    rubric = LAYOUT.sheet("rubric")
    assert parsed.cells[("rubric", 1, "score")] == (rubric.name, f"D{rubric.first_row + 1}")
    diag = LAYOUT.sheet("diagnostics")
    level_row = [r for s, a, p, r in diag.rows() if (s, a, p) == ("entry", "deficit", "level")][0]
    col = 2 + LAYOUT.directions([EXTRA]).index("ИКТ-компетенции")
    i = next(i for i, it in enumerate(parsed.data["diagnostics"])
             if it["direction"] == "ИКТ-компетенции" and it["stage"] == "entry")
    assert parsed.cells[("diagnostics", i, "level")] == (diag.name, a1(level_row - 1, col))
    assert parsed.cell_of(("mentors", 0, "full_name", 3)) == parsed.cells[("mentors", 0, "full_name")]


def test_read_grids_true_row_numbers(written):
    grids = read_grids(written, [sheet_name("mentors")])
    rows = grids[sheet_name("mentors")]
    spec = LAYOUT.sheet("mentors")
    assert rows[spec.header_row - 1][0] == spec.columns[0].header
    assert rows[spec.header_row][0] == "Н-001"
    assert rows[spec.header_row][4] == 18 and type(rows[spec.header_row][4]) is int
    assert rows[spec.header_row][9] == dt.date(2025, 8, 28)
    assert read_grids(written, [sheet_name("mentors")], engine="openpyxl") == grids


def test_read_grids_value_types_agree(tmp_path):
    path = tmp_path / "types.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Типы")
    ws.write_datetime(2, 1, dt.time(10, 30), wb.add_format({"num_format": "hh:mm"}))
    ws.write_boolean(2, 2, False)
    ws.write_datetime(2, 3, dt.datetime(2025, 9, 1), wb.add_format({"num_format": "dd.mm.yyyy hh:mm"}))
    ws.write_datetime(2, 4, dt.datetime(2025, 9, 1, 8, 15), wb.add_format({"num_format": "dd.mm.yyyy hh:mm"}))
    ws.write_number(2, 5, 3.0)
    ws.write_number(2, 6, 2.5)
    ws.write_string(2, 7, "")
    ws.write_blank(40, 3, None, wb.add_format({"bold": True}))
    wb.close()
    grids = read_grids(path)
    assert grids == read_grids(path, engine="openpyxl")
    assert grids["Типы"] == [[], [], [None, dt.time(10, 30), False, dt.date(2025, 9, 1),
                                     dt.datetime(2025, 9, 1, 8, 15), 3, 2.5]]


# ---------------------------------------------------------------- what people type

def test_typed_values_are_normalised(tmp_path):
    cells = skeleton()
    m, p = "mentors", "pairs"
    for ref, v in {"A4": " Н-010 ", "B4": "Орлова  Анна", "E4": "12,5 лет", "F4": " ВЫСШАЯ  категория.",
                   "I4": "Да", "J4": "1.9.25"}.items():
        put(cells, m, ref, v)
    for ref, v in {"A4": "П-9", "B4": "ПАРА", "C4": "Н-010", "D4": 17, "E4": "учитель-учитель",
                   "G4": "Реверсивное", "H4": "Смешанный ", "I4": "01/09/2025", "J4": "2026-05-31",
                   "K4": 12, "L4": 45900, "M4": "✓"}.items():
        put(cells, p, ref, v)
    passport = LAYOUT.sheet("passport")
    put(cells, "passport", f"B{passport.row_of('status')}", " реализуется")
    put(cells, "passport", f"B{passport.row_of('term_change')}", "Продлена")
    parsed = read_programme(write_inline(tmp_path / "typed.xlsx", cells))
    assert parsed.data["mentors"] == [{"id": "Н-010", "full_name": "Орлова  Анна", "experience_years": 12.5,
                                       "qualification": "высшая категория", "consent": True,
                                       "consent_date": "2025-09-01"}]
    assert parsed.data["pairs"] == [{
        "group_id": "П-9", "group_type": "пара", "mentor_id": "Н-010", "mentee_id": "17",
        "mentoring_form": "учитель – учитель", "kind": "реверсивное", "mode": "смешанный",
        "start_date": "2025-09-01", "planned_end_date": "2026-05-31", "order_number": "12",
        "order_date": "2025-08-31", "participants_consent": True}]
    assert parsed.data["passport"] == {"status": "реализуется", "term_change": "продлена"}
    assert parsed.data["meta"]["workbook_kind"] == "programme"


def test_unreadable_values_stay_raw_and_are_located(tmp_path):
    cells = skeleton()
    for ref, v in {"A4": "Н-1", "B4": "Орлова", "E4": "много", "I4": "может быть", "J4": "32.13.2025"}.items():
        put(cells, "mentors", ref, v)
    parsed = read_programme(write_inline(tmp_path / "raw.xlsx", cells))
    assert parsed.data["mentors"][0] == {"id": "Н-1", "full_name": "Орлова", "experience_years": "много",
                                         "consent": "может быть", "consent_date": "32.13.2025"}
    errors = list(jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
                  .iter_errors(parsed.data))
    where = sorted(parsed.cell_of(tuple(e.absolute_path))[1] for e in errors)
    assert where == ["E4", "I4", "J4"]


def test_blank_rows_and_rows_past_the_template(tmp_path):
    cells = skeleton()
    rows = {4: "У-1", 7: "У-2", 130: "У-3"}  # row 130 is far past the 50 rows offered
    for r, ident in rows.items():
        put(cells, "mentees", f"A{r}", ident)
        put(cells, "mentees", f"B{r}", f"Наставляемый {ident}")
    put(cells, "mentees", "C5", "   ")  # a cell with only spaces is a blank row
    parsed = read_programme(write_inline(tmp_path / "rows.xlsx", cells))
    assert [m["id"] for m in parsed.data["mentees"]] == ["У-1", "У-2", "У-3"]
    assert [parsed.cells[("mentees", i)][1] for i in range(3)] == ["A4", "A7", "A130"]
    assert parsed.problems == []


def test_reordered_columns_read_by_header(tmp_path):
    cells = skeleton()
    name = sheet_name("mentors")
    spec = LAYOUT.sheet("mentors")
    order = list(reversed(spec.columns))
    for i, col in enumerate(order):
        cells[name][(2, i)] = col.header
    values = {"id": "Н-5", "full_name": "Зайцева Нина", "experience_years": 7, "consent": "нет"}
    for i, col in enumerate(order):
        if col.key in values:
            cells[name][(3, i)] = values[col.key]
    parsed = read_programme(write_inline(tmp_path / "reorder.xlsx", cells))
    assert parsed.data["mentors"] == [{"id": "Н-5", "full_name": "Зайцева Нина", "experience_years": 7,
                                       "consent": False}]
    idx = [c.key for c in order].index("experience_years")
    assert parsed.cells[("mentors", 0, "experience_years")] == (name, a1(3, idx))


def test_header_case_spaces_and_moved_header_row(tmp_path):
    cells = skeleton()
    name = sheet_name("reflection")
    spec = LAYOUT.sheet("reflection")
    for key in list(cells[name]):
        if key[0] == spec.header_row - 1:
            del cells[name][key]
    for i, col in enumerate(spec.columns):  # header one row lower, upper case, extra spaces
        cells[name][(spec.header_row, i)] = "  " + col.header.upper().replace(" ", "  ") + " "
    cells[name][(spec.header_row + 2, 0)] = "ИКТ-компетенции"
    cells[name][(spec.header_row + 2, 1)] = "Освоила платформу"
    parsed = read_programme(write_inline(tmp_path / "hdr.xlsx", cells))
    assert parsed.data["reflection"] == [{"direction": "ИКТ-компетенции", "achieved": "Освоила платформу"}]
    assert parsed.cells[("reflection", 0)] == (name, a1(spec.header_row + 2, 0))


def test_missing_required_and_unknown_columns(tmp_path):
    cells = skeleton()
    name = sheet_name("mentors")
    put(cells, "mentors", "E3", "Стаж")  # renamed required column
    put(cells, "mentors", "M3", "Телефон")  # extra column
    put(cells, "mentors", "A4", "Н-1")
    put(cells, "mentors", "E4", 5)
    put(cells, "mentors", "M4", "+7 900 000-00-00")
    put(cells, "mentors", "O6", "забытое значение")  # data in a column without header
    put(cells, "mentors", "N3", " фио ")  # a repeated header
    parsed = read_programme(write_inline(tmp_path / "cols.xlsx", cells))
    found = {(p.code, p.cell): p for p in parsed.problems}
    assert found[("column-missing", "E3")].sheet == name
    assert "Педагогический стаж, лет" in found[("column-missing", "E3")].message
    assert found[("column-unknown", "E3")].severity == "warning"
    assert ("column-unknown", "M3") in found and ("data-without-header", "O6") in found
    assert "(B)" in found[("column-duplicate", "N3")].message
    assert parsed.data["mentors"] == [{"id": "Н-1"}]


def test_missing_and_renamed_sheets(tmp_path):
    cells = skeleton()
    del cells[sheet_name("rubric")]
    cells["  банк   НАСТАВНИКОВ "] = cells.pop(sheet_name("mentors"))
    put(cells, "  банк   НАСТАВНИКОВ ", "A4", "Н-77")
    parsed = read_programme(write_inline(tmp_path / "sheets.xlsx", cells))
    assert parsed.data["mentors"] == [{"id": "Н-77"}]
    missing = [p for p in parsed.problems if p.code == "sheet-missing"]
    assert len(missing) == 1 and "«Рубрика»" in missing[0].message
    assert parsed.data["rubric"] == [] and parsed.data["computed"]["rubric_total"] is None


def test_cleared_cells_are_omitted(written, tmp_path):
    ref = table_ref("mentors", "position", 0)
    target = edit(written, {sheet_name("mentors"): {ref: None, table_ref("mentors", "subject", 0): "  "}},
                  out=tmp_path / "cleared.xlsx")
    mentor = read_programme(target).data["mentors"][0]
    assert "position" not in mentor and "subject" not in mentor
    assert mentor["full_name"] == "Лебедева Ольга Ивановна"


def test_merged_cells_over_inputs_are_reported(written, tmp_path):
    target = edit(written, {}, {sheet_name("mentees"): ["B5:C6"], sheet_name("passport"): ["B9:B10"]},
                  out=tmp_path / "merged.xlsx")
    for engine in ("calamine", "openpyxl"):
        parsed = read_programme(target, engine=engine)
        merged = sorted((p.sheet, p.cell, p.params["range"]) for p in parsed.problems if p.code == "merged-cells")
        assert merged == sorted([(sheet_name("passport"), "B9", "B9:B10"), (sheet_name("mentees"), "B5", "B5:C6")])
        assert all(p.is_error for p in parsed.problems if p.code == "merged-cells")


def test_formula_errors_are_reported_at_their_cells(tmp_path):
    cells = skeleton()
    put(cells, "mentors", "A4", "Н-1")
    put(cells, "mentors", "E4", Formula("=1/0", "#DIV/0!"))
    put(cells, "roadmap", "E5", "#Н/Д")
    put(cells, "roadmap", "A5", "ИКТ-компетенции")
    path = write_inline(tmp_path / "errors.xlsx", cells)
    results = []
    for engine in ("calamine", "openpyxl"):
        parsed = read_programme(path, engine=engine)
        errs = sorted((p.sheet, p.cell, p.params["value"]) for p in parsed.problems if p.code == "formula-error")
        assert errs == [(sheet_name("mentors"), "E4", "#DIV/0!"), (sheet_name("roadmap"), "E5", "#Н/Д")]
        assert parsed.data["mentors"] == [{"id": "Н-1"}]
        results.append(parsed.data)
    assert results[0] == results[1]


def test_stale_cached_formula_values_are_ignored(tmp_path):
    cells = skeleton()
    rubric = LAYOUT.sheet("rubric")
    for i in range(rubric.first_row, rubric.first_row + 4):
        put(cells, "rubric", f"D{i}", 2)
    put(cells, "rubric", f"D{rubric.total_row}", Formula(f"=SUM(D{rubric.first_row}:D{rubric.total_row - 1})", 99))
    put(cells, "rubric", f"D{rubric.level_row}", Formula("=1", "оптимальный"))
    put(cells, "roadmap", "B2", Formula("=1", 0.99))
    parsed = read_programme(write_inline(tmp_path / "stale.xlsx", cells))
    assert parsed.data["computed"]["rubric_total"] == 8
    assert parsed.data["computed"]["rubric_scored"] == 4
    assert parsed.data["computed"]["rubric_level"] is None
    assert parsed.data["computed"]["roadmap_percent"] is None
    for i in range(rubric.first_row + 4, rubric.total_row):
        put(cells, "rubric", f"D{i}", "1")
    put(cells, "rubric", f"D{rubric.first_row}", "5")  # out of the list: not scored
    parsed = read_programme(write_inline(tmp_path / "stale2.xlsx", cells))
    assert parsed.data["computed"] == {"rubric_scored": 8, "rubric_total": 11, "rubric_level": None,
                                       "roadmap_items": 0, "roadmap_done": 0, "roadmap_percent": None}
    put(cells, "rubric", f"D{rubric.first_row}", 2)
    computed = read_programme(write_inline(tmp_path / "stale3.xlsx", cells)).data["computed"]
    assert (computed["rubric_total"], computed["rubric_level"]) == (13, "допустимый")


def test_rubric_rows_follow_the_numbers(tmp_path):
    """A deleted indicator row moves nothing: scores stay with their numbers, the total is not a score."""
    cells = skeleton()
    rubric = LAYOUT.sheet("rubric")
    name = rubric.name
    first0 = rubric.first_row - 1
    cells[name] = {k: v for k, v in cells[name].items() if k[0] < first0}
    numbers = [1, 3, 4, 5, 6, 7, 8, 9]  # row of indicator 2 deleted: everything moved up
    for i, number in enumerate(numbers):
        cells[name][(first0 + i, 0)] = number
        cells[name][(first0 + i, 3)] = 2 if number != 9 else 0
    total0 = first0 + len(numbers)
    cells[name][(total0, 2)] = rubric.raw["total_label"]
    cells[name][(total0, 3)] = Formula("=SUM(D4:D11)", 14)
    parsed = read_programme(write_inline(tmp_path / "rubric.xlsx", cells))
    assert [(it["indicator"], it["score"]) for it in parsed.data["rubric"]] == [(n, 2 if n != 9 else 0) for n in numbers]
    assert parsed.cells[("rubric", 1, "score")] == (name, f"D{rubric.first_row + 1}")
    assert parsed.data["computed"]["rubric_scored"] == 8 and parsed.data["computed"]["rubric_level"] is None


def test_diagnostics_deleted_row_moves_nothing(tmp_path):
    cells = skeleton()
    diag = LAYOUT.sheet("diagnostics")
    rows = {(s, a, p): r - 1 for s, a, p, r in diag.rows()}
    gone = rows[("entry", "strength", "level")]
    name = diag.name
    cells[name] = {((r - 1 if r > gone else r), c): v for (r, c), v in cells[name].items() if r != gone}
    put(cells, "diagnostics", a1(rows[("entry", "deficit", "level")] - 1, 2), 3)  # moved up by one row
    parsed = read_programme(write_inline(tmp_path / "diagrow.xlsx", cells))
    assert parsed.data["diagnostics"] == [{"stage": "entry", "aspect": "deficit",
                                           "direction": LAYOUT.directions()[0], "level": 3}]
    missing = [p for p in parsed.problems if p.code == "field-missing"]
    assert len(missing) == 1 and "Достижения — выраженность" in missing[0].message


def test_diagnostics_rows_by_label_and_school_directions(tmp_path):
    dirs = LAYOUT.directions(["Наставничество в IT", EXTRA])
    cells = skeleton(dirs)
    diag = LAYOUT.sheet("diagnostics")
    rows = {(s, a, p): r for s, a, p, r in diag.rows()}
    col = 2 + dirs.index("Наставничество в IT")
    put(cells, "diagnostics", a1(rows[("final", "strength", "text")] - 1, col), "Ведёт кружок")
    put(cells, "diagnostics", a1(rows[("final", "strength", "level")] - 1, col), "2")
    put(cells, "diagnostics", a1(rows[("entry", "deficit", "level")] - 1, 2), 4)
    parsed = read_programme(write_inline(tmp_path / "diag.xlsx", cells))
    assert parsed.data["diagnostics"] == [
        {"stage": "entry", "aspect": "deficit", "direction": dirs[0], "level": 4},
        {"stage": "final", "aspect": "strength", "direction": "Наставничество в IT",
         "description": "Ведёт кружок", "level": 2}]
    assert parsed.data["meta"]["directions"] == dirs


# ---------------------------------------------------------------- metadata and unreadable files

def test_missing_metadata_read_by_headers(tmp_path):
    cells = skeleton()
    del cells[LAYOUT.meta_sheet]
    put(cells, "roadmap", "A5", "ИКТ-компетенции")
    parsed = read_programme(write_inline(tmp_path / "nometa.xlsx", cells))
    assert "metadata-missing" in codes(parsed)
    assert parsed.data["meta"]["template_id"] == LAYOUT.template_id
    assert parsed.data["meta"]["workbook_kind"] == "programme"
    assert EXTRA in parsed.data["meta"]["directions"]
    assert parsed.data["roadmap"] == [{"direction": "ИКТ-компетенции"}]


def test_broken_directions_metadata_falls_back_to_headers(tmp_path):
    cells = skeleton()
    cells[LAYOUT.meta_sheet][(LAYOUT.meta_keys.index("directions"), 1)] = '["Научно-теоретическое", '
    diag = LAYOUT.sheet("diagnostics")
    level_row = [r for s, a, p, r in diag.rows() if (s, a, p) == ("entry", "deficit", "level")][0]
    extra_col = 2 + LAYOUT.directions([EXTRA]).index(EXTRA)
    put(cells, "diagnostics", a1(level_row - 1, extra_col), 3)
    parsed = read_programme(write_inline(tmp_path / "brokenmeta.xlsx", cells))
    assert parsed.data["meta"]["directions"] == LAYOUT.directions([EXTRA])
    assert parsed.data["diagnostics"] == [{"stage": "entry", "aspect": "deficit", "direction": EXTRA, "level": 3}]


def test_other_template_version(tmp_path):
    cells = skeleton()
    cells[LAYOUT.meta_sheet][(LAYOUT.meta_keys.index("template_version"), 1)] = LAYOUT.version + 1
    parsed = read_programme(write_inline(tmp_path / "v2.xlsx", cells))
    problem = next(p for p in parsed.problems if p.code == "template-version-mismatch")
    assert problem.is_error and problem.sheet == LAYOUT.meta_sheet
    assert f"версии {LAYOUT.version + 1}" in problem.message and f"версии {LAYOUT.version}" in problem.message


@pytest.mark.parametrize("meta", [None, {(0, 0): "template_id", (0, 1): "xlflow-school-summary"}])
def test_foreign_workbook_is_not_read(tmp_path, meta):
    cells: dict = {"Лист1": {(0, 0): "Бюджет", (1, 0): 100}}
    if meta is not None:
        cells[LAYOUT.meta_sheet] = meta
    path = write_inline(tmp_path / "foreign.xlsx", cells)
    with pytest.raises(ReadError) as info:
        read_programme(path)
    assert info.value.code == "not-xlflow-workbook"


@pytest.mark.parametrize("content,name", [(b"just text", "notes.xlsx"), (b"PK\x03\x04broken", "broken.xlsx")])
def test_unreadable_files_raise(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    for engine in ("calamine", "openpyxl"):
        with pytest.raises(ReadError) as info:
            read_programme(path, engine=engine)
        assert info.value.file == str(path)
        assert info.value.message


@pytest.mark.parametrize("damage", ["truncated sheet", "no workbook part"])
def test_damaged_parts_are_read_errors(written, tmp_path, damage):
    import zipfile

    target = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if damage == "truncated sheet" and info.filename == "xl/worksheets/sheet3.xml":
                data = data[: len(data) // 2]
            if damage == "no workbook part" and info.filename == "xl/workbook.xml":
                continue
            out.writestr(info.filename, data)
    for engine in ("calamine", "openpyxl"):
        with pytest.raises(ReadError) as info:
            read_programme(target, engine=engine)
        assert info.value.code in ("workbook-corrupt", "not-a-workbook"), engine


def test_missing_file(tmp_path):
    with pytest.raises(ReadError) as info:
        read_programme(tmp_path / "нет такого.xlsx")
    assert info.value.code == "file-not-found"


def test_row_cap(tmp_path, monkeypatch):
    import xlflow.reading.grid as grid

    cells = skeleton()
    for r in range(4, 40):
        put(cells, "mentees", f"A{r}", f"У-{r}")
    path = write_inline(tmp_path / "long.xlsx", cells)
    monkeypatch.setattr(grid, "MAX_ROWS", 25)
    parsed = read_programme(path)
    assert [p.sheet for p in parsed.problems if p.code == "rows-capped"] == [sheet_name("mentees")]
    assert len(parsed.data["mentees"]) == 22
    assert MAX_ROWS == 100_000


# ---------------------------------------------------------------- engines and LibreOffice

def test_engines_identical_on_messy_file(tmp_path):
    cells = skeleton()
    for ref, v in {"A4": "Н-1", "B4": "Орлова", "E4": "3,5", "I4": "+", "J4": dt.date(2025, 9, 1)}.items():
        put(cells, "mentors", ref, v)
    for ref, v in {"A6": "ИКТ-компетенции", "D6": "Тема", "E6": dt.datetime(2025, 10, 1, 9, 30),
                   "K6": "Выполнено", "L6": 45931.5}.items():
        put(cells, "roadmap", ref, v)
    path = write_inline(tmp_path / "messy.xlsx", cells, {sheet_name("mentors"): ["F4:G4"]})
    a, b = read_programme(path), read_programme(path, engine="openpyxl")
    assert a.data == b.data and a.cells == b.cells
    assert [(p.code, p.cell) for p in a.problems] == [(p.code, p.cell) for p in b.problems]
    assert read_grids(path) == read_grids(path, engine="openpyxl")
    assert a.data["roadmap"] == [{"direction": "ИКТ-компетенции", "topic": "Тема", "due_date": "2025-10-01",
                                  "completion": "выполнено", "done_date": "2025-10-01"}]


@pytest.mark.libreoffice
def test_libreoffice_resaved_copies_read_the_same(written, lo_convert, tmp_path):
    cells = skeleton()
    put(cells, "mentors", "A4", "Н-1")
    put(cells, "mentors", "E4", Formula("=1/0", "#DIV/0!"))
    faulty = write_inline(tmp_path / "faulty.xlsx", cells, {sheet_name("mentees"): ["B5:C6"]})
    expected_problems = [("formula-error", sheet_name("mentors"), "E4"), ("merged-cells", sheet_name("mentees"), "B5")]
    original = read_programme(written).data
    xlsx = lo_convert([written, faulty], "xlsx", tmp_path / "xlsx")
    ods = lo_convert([written, faulty], "ods", tmp_path / "ods")
    for (good, bad), engine in (((xlsx[0], xlsx[1]), "calamine"), ((xlsx[0], xlsx[1]), "openpyxl"),
                                ((ods[0], ods[1]), "calamine")):
        parsed = read_programme(good, engine=engine)
        assert parsed.data == original, (good, engine)
        assert [p for p in parsed.problems if p.is_error] == []
        problems = sorted((p.code, p.sheet, p.cell) for p in read_programme(bad, engine=engine).problems)
        assert problems == expected_problems, (bad, engine)


def test_short_table_texts_blank_or_not(tmp_path):
    """A short text is empty only when it holds nothing but (also exotic or
    zero-width) spaces; short letters, digits and signs are values."""
    cells = skeleton()
    values = {"B": "Ян", "C": "\u200b", "D": "\u00a0\u200b", "F": "+", "H": "1 a", "G": "\u2003"}
    put(cells, "mentors", "A4", "Н1")
    for col, value in values.items():
        put(cells, "mentors", f"{col}4", value)
    path = write_inline(tmp_path / "short.xlsx", cells)
    for engine in ("calamine", "openpyxl"):
        [row] = read_programme(path, engine=engine).data["mentors"]
        assert row == {"id": "Н1", "full_name": "Ян", "qualification": "+", "strong_directions": "1 a"}, engine
