"""Writers of the scored sheets: diagnostics (matrix of directions) and the rubric."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from xlflow.layout import Column, MatrixSpec, RubricSpec, col_letter
from xlflow.writing.cells import column_validation, write_value
from xlflow.writing.context import WriteContext, list_name
from xlflow.writing.sheets import HEADER_ROW_HEIGHT, print_setup

DIAG_TEXT_HEIGHT = 60


def direction_key(direction: Any) -> str:
    """Directions match as :meth:`Layout.directions` dedupes them: spaces and case ignored."""
    return " ".join(str(direction or "").split()).casefold()


def _level_column(ctx: WriteContext, spec: MatrixSpec) -> Column:
    list_key = spec.raw["level_list"]
    return Column(key="level", header="Интенсивность (0–3)", type="choice", list=list_key,
                  help=ctx.layout.raw["list_help"].get(list_key))


def _text_column() -> Column:
    return Column(key="description", header="Описание", type="long_text",
                  help="Кратко опишите, в чём это проявляется.")


def write_diagnostics(ctx: WriteContext, ws: Any, spec: MatrixSpec, items: Sequence[Mapping[str, Any]]) -> None:
    st = ctx.styles
    first_col = spec.first_direction_col
    last_col = first_col + len(ctx.directions) - 1
    hr0 = spec.header_row - 1
    ws.set_row(0, 24)
    ws.write_string(0, 0, spec.title, st.title)
    ws.write_string(1, 0, spec.raw["legend"], st.hint)
    ws.write_string(2, 0, "Для каждого направления кратко опишите проявления и выберите интенсивность "
                          "из списка — на входе в программу и в конце (итоговая).", st.hint)
    ws.set_row(hr0, HEADER_ROW_HEIGHT * 2)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 32)
    ws.set_column(first_col, last_col, spec.raw.get("column_width", 22))
    for i, text in enumerate(spec.raw["row_header_cols"]):
        ws.write_string(hr0, i, text, st.header)
    for j, direction in enumerate(ctx.directions):
        ws.write_string(hr0, first_col + j, direction, st.header)

    lookup = {(it.get("stage"), it.get("aspect"), direction_key(it.get("direction"))): it for it in items}
    stage_label = {s["key"]: s["label"] for s in spec.stages}
    aspects = {a["key"]: a for a in spec.aspects}
    text_dv = column_validation(_text_column(), None, False)
    level_col = _level_column(ctx, spec)
    level_dv = column_validation(level_col, list_name(level_col.list or ""), False)
    level_rows: dict[str, list[int]] = {}
    for stage, aspect, part, row in spec.rows():
        row0 = row - 1
        label = aspects[aspect]["text_label" if part == "text" else "level_label"]
        ws.write_string(row0, 0, stage_label[stage], st.label_center)
        ws.write_string(row0, 1, label, st.label)
        key = "description" if part == "text" else "level"
        col_type = "long_text" if part == "text" else "number"
        fmt = st.cell("wrap" if part == "text" else "center")
        for j, direction in enumerate(ctx.directions):
            value = lookup.get((stage, aspect, direction_key(direction)), {}).get(key)
            write_value(ws, row0, first_col + j, value, col_type, fmt)
        if part == "text":
            ws.set_row(row0, DIAG_TEXT_HEIGHT)
            ws.data_validation(row0, first_col, row0, last_col, text_dv)
        else:
            ws.data_validation(row0, first_col, row0, last_col, level_dv)
            level_rows.setdefault(aspect, []).append(row0)
    _level_colours(ws, st, level_rows, first_col, last_col)
    ws.freeze_panes(spec.header_row, first_col)
    print_setup(ws, hr0)
    ctx.protect(ws)


def _level_colours(ws: Any, st: Any, level_rows: dict[str, list[int]], first_col: int, last_col: int) -> None:
    """One rule per intensity 1..3 over all level rows of an aspect: deeper colour, higher value."""
    for aspect, rows0 in level_rows.items():
        ranges = " ".join(f"{col_letter(first_col)}{r + 1}:{col_letter(last_col)}{r + 1}" for r in rows0)
        shades = st.deficit if aspect == "deficit" else st.strength
        for value, fmt in shades.items():
            ws.conditional_format(rows0[0], first_col, rows0[0], last_col, {
                "type": "cell", "criteria": "==", "value": value, "format": fmt, "multi_range": ranges})


def _rubric_columns(spec: RubricSpec) -> dict[str, int]:
    return {key: i for i, key in enumerate(spec.raw["headers"])}


def rubric_formulas(spec: RubricSpec, score_letter: str) -> tuple[str, str, str]:
    """(total, note, level) formulas of the rubric, from the layout's indicators and levels."""
    n = len(spec.indicators)
    rng = f"${score_letter}${spec.first_row}:${score_letter}${spec.total_row - 1}"
    total_cell = f"{score_letter}{spec.total_row}"
    total = f'=IF(COUNT({rng})=0,"",SUM({rng}))'
    note = f'=IF(COUNT({rng})<{n},"предварительно: оценено "&COUNT({rng})&" из {n}","")'
    levels = sorted(spec.levels, key=lambda lv: lv["min"], reverse=True)
    expr = f'"{levels[-1]["label"]}"'
    for lv in reversed(levels[:-1]):
        expr = f'IF({total_cell}>={lv["min"]},"{lv["label"]}",{expr})'
    level = f'=IF(COUNT({rng})<{n},"не все показатели оценены",{expr})'
    return total, note, level


def write_rubric(ctx: WriteContext, ws: Any, spec: RubricSpec, items: Sequence[Mapping[str, Any]]) -> None:
    st = ctx.styles
    cols = _rubric_columns(spec)
    headers = spec.raw["headers"]
    widths = {"number": 5, "criterion": 30, "indicator": 62, "score": 11, "comment": 40}
    ws.set_row(0, 24)
    ws.write_string(0, 0, spec.title, st.title)
    ws.write_string(1, 0, "Баллы: " + ctx.layout.raw["list_help"][spec.raw["score_list"]] + ".", st.hint)
    hr0 = spec.header_row - 1
    ws.set_row(hr0, 30)
    for key, i in cols.items():
        ws.set_column(i, i, widths.get(key, 16))
        ws.write_string(hr0, i, headers[key], st.header)

    by_number = {it.get("indicator"): it for it in items}
    scores = []
    first0 = spec.first_row - 1
    for number, criterion, indicator in spec.indicators:
        row0 = first0 + number - 1
        item = by_number.get(number, {})
        ws.set_row(row0, 45)
        ws.write_number(row0, cols["number"], number, st.label_center)
        ws.write_string(row0, cols["indicator"], indicator, st.text)
        write_value(ws, row0, cols["score"], item.get("score"), "number", st.cell("center"))
        write_value(ws, row0, cols["comment"], item.get("comment"), "long_text", st.cell("wrap"))
        if isinstance(item.get("score"), int) and not isinstance(item.get("score"), bool) \
                and item["score"] in (0, 1, 2):  # a wrong score (3) is the validator's to report
            scores.append(item["score"])
    _merge_criteria(ws, spec, cols["criterion"], st.label)
    last0 = first0 + len(spec.indicators) - 1
    score_col = Column(key="score", header=headers["score"], type="choice", list=spec.raw["score_list"],
                       help=ctx.layout.raw["list_help"].get(spec.raw["score_list"]))
    ws.data_validation(first0, cols["score"], last0, cols["score"],
                       column_validation(score_col, list_name(spec.raw["score_list"]), False))
    comment_col = Column(key="comment", header=headers["comment"], type="long_text",
                         help="Чем подтверждается балл (по желанию).")
    ws.data_validation(first0, cols["comment"], last0, cols["comment"],
                       column_validation(comment_col, None, False))
    _rubric_totals(ctx, ws, spec, cols, scores)
    ws.freeze_panes(spec.header_row, 0)
    print_setup(ws, hr0)
    ctx.protect(ws)


def _merge_criteria(ws: Any, spec: RubricSpec, col: int, fmt: Any) -> None:
    row0 = spec.first_row - 1
    for crit in spec.raw["criteria"]:
        n = len(crit["indicators"])
        if n > 1:
            ws.merge_range(row0, col, row0 + n - 1, col, crit["label"], fmt)
        else:
            ws.write_string(row0, col, crit["label"], fmt)
        row0 += n


def _rubric_totals(ctx: WriteContext, ws: Any, spec: RubricSpec, cols: dict[str, int], scores: list[int]) -> None:
    st = ctx.styles
    score_letter = col_letter(cols["score"])
    total_f, note_f, level_f = rubric_formulas(spec, score_letter)
    complete = len(scores) == len(spec.indicators)
    total: int | str = sum(scores) if scores else ""
    note = "" if complete else f"предварительно: оценено {len(scores)} из {len(spec.indicators)}"
    level = ctx.layout.rubric_level(sum(scores)) if complete else "не все показатели оценены"
    t0, l0 = spec.total_row - 1, spec.level_row - 1
    ws.write_string(t0, cols["indicator"], spec.raw["total_label"], st.label)
    ws.write_formula(t0, cols["score"], total_f, st.formula, total)
    ws.write_formula(t0, cols["comment"], note_f, st.formula_text, note)
    ws.write_string(l0, cols["indicator"], spec.raw["level_label"], st.label)
    ws.merge_range(l0, cols["score"], l0, cols["comment"], "", st.formula)
    ws.write_formula(l0, cols["score"], level_f, st.formula, level)
    for label, fmt in st.levels.items():
        ws.conditional_format(l0, cols["score"], l0, cols["score"], {
            "type": "cell", "criteria": "==", "value": f'"{label}"', "format": fmt})
    legend = ", ".join(f"{lv['min']}–{lv['max']} — {lv['label']}" for lv in spec.levels)
    ws.write_string(l0 + 2, cols["indicator"], "Уровень по сумме баллов: " + legend + ".", st.hint)
