"""The declarative layout and the JSON Schema of the records agree."""
from __future__ import annotations

import jsonschema
import pytest

from xlflow.layout import FormSpec, TableSpec, VALUE_TYPES, load_layout, col_index, col_letter
from xlflow.schemas import load_schema

LAYOUT = load_layout()
SCHEMA = load_schema("programme.schema.json")
PROPS = SCHEMA["properties"]

JSON_TYPE = {"text": "string", "long_text": "string", "id": "string", "integer": "integer",
             "number": "number", "date": "string", "yesno": "boolean"}


def _fields():
    for sheet in LAYOUT.sheets:
        if isinstance(sheet, TableSpec):
            item = PROPS[sheet.key]["items"]
            for c in sheet.columns:
                yield sheet, c, item
        elif isinstance(sheet, FormSpec):
            for c in sheet.fields:
                yield sheet, c, PROPS[sheet.key]


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("sheet,column,obj", list(_fields()), ids=lambda x: getattr(x, "key", ""))
def test_every_layout_field_is_in_schema_with_matching_type(sheet, column, obj):
    assert column.type in VALUE_TYPES
    prop = obj["properties"][column.key]
    assert prop["title"] == column.header
    if column.type == "choice":
        values = LAYOUT.lists[column.list]
        if column.list == "directions" or LAYOUT.is_open(column.list):
            assert "enum" not in prop, "extensible lists accept any text"
            assert prop["type"] == "string"
        else:
            assert prop["enum"] == values
    else:
        assert prop["type"] == JSON_TYPE[column.type]
        if column.type == "date":
            assert prop["format"] == "date"
    if isinstance(sheet, TableSpec):
        assert (column.key in obj.get("required", [])) == column.required


def test_schema_has_no_field_missing_from_layout():
    for sheet in LAYOUT.sheets:
        if isinstance(sheet, TableSpec):
            keys = {c.key for c in sheet.columns}
            assert set(PROPS[sheet.key]["items"]["properties"]) == keys
        elif isinstance(sheet, FormSpec):
            assert set(PROPS["passport"]["properties"]) == {f.key for f in sheet.fields}


def test_matrix_and_rubric_lists_agree():
    diag = PROPS["diagnostics"]["items"]["properties"]
    matrix = LAYOUT.sheet("diagnostics")
    assert diag["stage"]["enum"] == [s["key"] for s in matrix.raw["stages"]]
    assert diag["aspect"]["enum"] == [a["key"] for a in matrix.raw["aspects"]]
    assert diag["level"]["enum"] == LAYOUT.lists["intensity"]
    rub = PROPS["rubric"]["items"]["properties"]
    rubric = LAYOUT.sheet("rubric")
    assert rub["score"]["enum"] == LAYOUT.lists["rubric_scores"]
    assert rub["indicator"]["maximum"] == len(rubric.indicators) == 9
    levels = PROPS["computed"]["properties"]["rubric_level"]["enum"]
    assert levels[:-1] == [lv["label"] for lv in rubric.levels] == LAYOUT.lists["rubric_levels"]
    assert PROPS["computed"]["properties"]["rubric_total"]["maximum"] == rubric.max_total


def test_meta_keys_agree():
    assert set(PROPS["meta"]["properties"]) == {
        "template_version" if k == "template_version" else k for k in LAYOUT.meta_keys}
    assert PROPS["meta"]["properties"]["template_id"]["const"] == LAYOUT.template_id


def test_every_list_referenced_exists_and_sheet_names_fit_excel():
    for _, column, _ in _fields():
        if column.list:
            assert column.list in LAYOUT.lists
    names = [s.name for s in LAYOUT.sheets] + [LAYOUT.lists_sheet, LAYOUT.meta_sheet]
    assert len(set(names)) == len(names)
    for name in names:
        assert 0 < len(name) <= 31 and not set(name) & set("[]:*?/\\")


def test_rubric_levels_cover_0_to_18_without_gaps():
    assert [LAYOUT.rubric_level(t) for t in (18, 15, 14, 9, 8, 0)] == [
        "оптимальный", "оптимальный", "допустимый", "допустимый", "недопустимый", "недопустимый"]
    with pytest.raises(ValueError):
        LAYOUT.rubric_level(19)


def test_directions_extra_are_appended_once():
    out = LAYOUT.directions(["  Финансовая   грамотность ", "ИКТ-компетенции", "финансовая грамотность"])
    assert out[:11] == LAYOUT.lists["directions"]
    assert out[11:] == ["Финансовая грамотность"]


@pytest.mark.parametrize("i", [0, 1, 25, 26, 27, 51, 52, 701, 702, 16383])
def test_column_letters_round_trip(i):
    assert col_index(col_letter(i)) == i
    assert col_letter(16383) == "XFD"
