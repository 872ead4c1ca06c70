"""Writers of the form sheet (passport) and the table sheets (banks, pairs, roadmap, reflection)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from xlflow.layout import Column, FormSpec, TableSpec, col_index, col_letter
from xlflow.writing.cells import column_validation, set_widths, unique_validation, write_blanks, write_value
from xlflow.writing.context import WriteContext

# Passport fields locked when prefilled with ``lock_prefilled`` (the copy's identity).
LOCKED_PASSPORT_FIELDS = ("school_name", "school_code", "municipality", "academic_year", "programme_id")
# Tables whose prefilled rows are locked with ``lock_prefilled``.
LOCKED_TABLES = ("mentors", "mentees", "pairs")

DONE_MARK = "выполнено"
PLANNED_MARK = "запланировано"
# Banks whose codes must be unique (the pairs sheet repeats a group's code on purpose).
UNIQUE_ID_TABLES = ("mentors", "mentees")

TABLE_HINTS = {
    "mentors": "Одна строка — один наставник. Код наставника должен быть уникальным (например, Н-001).",
    "mentees": "Одна строка — один наставляемый. Код должен быть уникальным (например, У-001).",
    "pairs": "Одна строка на каждого наставляемого. У группы один код и один наставник во всех её строках.",
    "roadmap": "Одна строка — одно мероприятие. Отметку о выполнении и дату ставьте сразу после мероприятия.",
    "reflection": "Одна строка — один приоритетный дефицит: что удалось, что осталось, переносится ли работа.",
}

LONG_ROW_HEIGHT = 75
WRAP_ROW_HEIGHT = 30
HEADER_ROW_HEIGHT = 48


def print_setup(ws: Any, repeat_until_row0: int) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, repeat_until_row0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)


def write_passport(ctx: WriteContext, ws: Any, spec: FormSpec, values: Mapping[str, Any]) -> None:
    st = ctx.styles
    label_col = col_index(spec.raw["label_col"])
    value_col = col_index(spec.raw["value_col"])
    hint_col = value_col + 1
    ws.set_column(label_col, label_col, 38)
    ws.set_column(value_col, value_col, 70)
    ws.set_column(hint_col, hint_col, 48)
    ws.set_row(0, 24)
    ws.write_string(0, 0, spec.title, st.title)
    ws.write_string(1, 0, "Заполните светло-жёлтые ячейки столбца "
                          f"{spec.raw['value_col']}; подсказки — справа.", st.hint)
    for field_ in spec.fields:
        row0 = spec.row_of(field_.key) - 1
        value = values.get(field_.key)
        locked = (ctx.lock_prefilled and field_.key in LOCKED_PASSPORT_FIELDS
                  and value not in (None, ""))
        ws.write_string(row0, label_col, field_.header, st.label)
        write_value(ws, row0, value_col, value, field_.type, st.for_type(field_.type, locked))
        if field_.help:
            ws.write_string(row0, hint_col, field_.help, st.hint_wrap)
        if field_.type == "long_text":
            ws.set_row(row0, LONG_ROW_HEIGHT)
        if not locked:
            source, open_list = ctx.source_for("passport", field_)
            dv = column_validation(field_, source, open_list)
            if dv is not None:
                ws.data_validation(row0, value_col, row0, value_col, dv)
    ws.freeze_panes(spec.first_row - 1, 0)
    print_setup(ws, spec.first_row - 2)
    ctx.protect(ws)


def _write_headers(ctx: WriteContext, ws: Any, spec: TableSpec) -> None:
    st = ctx.styles
    ws.set_row(0, 24)
    ws.write_string(0, 0, spec.title, st.title)
    hint = TABLE_HINTS.get(spec.key)
    if hint:
        ws.write_string(spec.header_row - 2, 0, hint, st.hint)
    hr0 = spec.header_row - 1
    ws.set_row(hr0, HEADER_ROW_HEIGHT)
    set_widths(ws, [col.width for col in spec.columns])
    for i, col in enumerate(spec.columns):
        ws.write_string(hr0, i, col.header, st.header)


def write_table(ctx: WriteContext, ws: Any, spec: TableSpec, records: Sequence[Mapping[str, Any]]) -> None:
    st = ctx.styles
    _write_headers(ctx, ws, spec)
    n_rows = ctx.rows[spec.key]
    first0 = spec.first_data_row - 1
    lock_rows = ctx.lock_prefilled and spec.key in LOCKED_TABLES
    has_wrap = any(c.type == "long_text" for c in spec.columns)
    open_formats = [st.for_type(c.type) for c in spec.columns]
    filled_formats = [st.for_type(c.type, True) for c in spec.columns] if lock_rows else open_formats
    for r in range(n_rows):
        row0 = first0 + r
        if has_wrap:
            ws.set_row(row0, WRAP_ROW_HEIGHT)
        if r < len(records):
            record = records[r]
            for i, col in enumerate(spec.columns):
                write_value(ws, row0, i, record.get(col.key), col.type, filled_formats[i])
        else:
            write_blanks(ws, row0, open_formats)
    first_input = first0 + (len(records) if lock_rows else 0)
    last0 = first0 + n_rows - 1
    if first_input <= last0:
        for i, col in enumerate(spec.columns):
            dv = _validation(ctx, spec, col, i, first_input)
            if dv is not None:
                ws.data_validation(first_input, i, last0, i, dv)
    if spec.key == "roadmap":
        _roadmap_summary(ctx, ws, spec, records)
        _overdue_colour(ws, spec, first0, last0, ctx.styles.overdue)
    ws.freeze_panes(spec.header_row, 0)
    print_setup(ws, spec.header_row - 1)
    ctx.protect(ws)


def _validation(ctx: WriteContext, spec: TableSpec, col: Column, index: int, first_input0: int) -> dict | None:
    if col.type == "id" and spec.key in UNIQUE_ID_TABLES:
        letter = col_letter(index)
        last = spec.first_data_row + ctx.rows[spec.key] - 1
        return unique_validation(col, f"${letter}${spec.first_data_row}:${letter}${last}",
                                 f"{letter}{first_input0 + 1}")
    source, open_list = ctx.source_for(spec.key, col)
    return column_validation(col, source, open_list)


def _overdue_colour(ws: Any, spec: TableSpec, first0: int, last0: int, fmt: Any) -> None:
    """Due dates in the past without a mark of completion (or only «запланировано») turn red."""
    keys = [c.key for c in spec.columns]
    due, comp = keys.index("due_date"), keys.index("completion")
    due_ref, comp_ref = f"${col_letter(due)}{first0 + 1}", f"${col_letter(comp)}{first0 + 1}"
    ws.conditional_format(first0, due, last0, due, {
        "type": "formula", "format": fmt,
        "criteria": f'=AND(ISNUMBER({due_ref}),{due_ref}<TODAY(),'
                    f'OR({comp_ref}="",{comp_ref}="{PLANNED_MARK}"))'})


def _roadmap_summary(ctx: WriteContext, ws: Any, spec: TableSpec, records: Sequence[Mapping[str, Any]]) -> None:
    """Live completion percentage above the table and colours of the completion marks."""
    st = ctx.styles
    keys = [c.key for c in spec.columns]
    first = spec.first_data_row
    last = first + ctx.rows[spec.key] - 1

    def rng(key: str) -> str:
        letter = col_letter(keys.index(key))
        return f"${letter}${first}:${letter}${last}"

    marks = ctx.layout.choices("completion_marks")
    if DONE_MARK not in marks or PLANNED_MARK not in marks:
        raise ValueError(f"completion_marks must contain {DONE_MARK!r} and {PLANNED_MARK!r}")
    # An item is a row with anything filled in, as the reader counts them.
    items_expr = f'SUMPRODUCT(--(LEN({"&".join(rng(k) for k in keys)})>0))'
    done_expr = f'COUNTIF({rng("completion")},"{DONE_MARK}")'
    n_items = sum(1 for r in records if any(v not in (None, "") for v in r.values()))
    n_done = sum(1 for r in records if r.get("completion") == DONE_MARK)
    ws.write_string(1, 0, "Выполнение плана", st.label)
    ws.write_formula(1, 1, f'=IF({items_expr}=0,"",{done_expr}/{items_expr})', st.percent,
                     n_done / n_items if n_items else "")
    ws.write_formula(1, 2, f'="выполнено "&{done_expr}&" из "&{items_expr}', st.formula_text,
                     f"выполнено {n_done} из {n_items}")
    comp = keys.index("completion")
    for mark, fmt in st.marks.items():
        if mark in marks:
            ws.conditional_format(first - 1, comp, last - 1, comp, {
                "type": "cell", "criteria": "==", "value": f'"{mark}"', "format": fmt})
