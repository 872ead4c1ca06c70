"""Writes the municipal summary: the Russian workbook, ``<name>.json`` and CSV tables.

The input is the document built by :mod:`xlflow.consolidate.merge`
(``figures`` from :mod:`xlflow.consolidate.municipal_stats` plus the list of
files); sheet names, headers and column types come from
``workbook_templates/municipal_summary.json``. Every value is written as a
value (text as text, never as a formula); the figures in the workbook are the
figures of the JSON copy.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from xlflow.consolidate import export
from xlflow.consolidate.municipal_stats import NAMES_NONE, NAMES_PSEUDONYMS, municipal_layout, ru_timestamp
from xlflow.fileio import atomic_output, write_text_atomic
from xlflow.writing.xlsx import new_workbook, print_report_sheets

TITLE_ROW = 0
HEADER_ROW = 2
FIRST_DATA_ROW = 3
CSV_TABLES = ("schools", "heatmap", "rubric", "attention", "mentors", "files")


def output_paths(out: str | Path, names: str = NAMES_NONE) -> dict[str, Path]:
    """Every file a merge writes: ``xlsx``, ``json`` and one CSV per table
    (``<name>.schools.csv``...), all beside ``out``."""
    out = Path(out)
    paths = {"xlsx": out, "json": out.with_suffix(".json")}
    for table in CSV_TABLES:
        if table == "mentors" and names == NAMES_NONE:
            continue
        paths[table] = out.with_name(f"{out.stem}.{table}.csv")
    return paths


def write_municipal(doc: dict, out: str | Path) -> dict[str, Path]:
    """Write the workbook, its JSON copy and CSV tables atomically; return the paths."""
    paths = output_paths(out, doc["figures"]["names"])
    write_text_atomic(paths["json"], document_json(doc))
    for table, text in csv_tables(doc).items():
        with atomic_output(paths[table]) as tmp:
            tmp.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with atomic_output(paths["xlsx"]) as tmp:
        _write_workbook(doc, tmp)
    return paths


def document_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- CSV

def _csv_text(keys: Sequence[str], rows: Sequence[dict]) -> str:
    """Same conventions as the school summary's CSV copies (see export.csv_text)."""
    return export.csv_text(keys, rows)


def _heatmap_long(heat: dict) -> list[dict]:
    rows = []
    for school in heat["schools"]:
        for i, direction in enumerate(heat["directions"]):
            rows.append({
                "school_code": school["school_code"], "direction": direction,
                "entry_mean": school["entry"][i], "entry_marks": school["entry_marks"][i],
                "final_mean": school["final"][i], "final_marks": school["final_marks"][i],
                "change": school["change"][i],
            })
    return rows


def csv_tables(doc: dict) -> dict[str, str]:
    """CSV text of each table (comma, header of machine keys; written as UTF-8
    with BOM so Excel shows Cyrillic; text starting with = + - @ gets an apostrophe)."""
    layout = municipal_layout()
    fig = doc["figures"]
    school_keys = [c["key"] for c in layout["school_columns"]] + ["rubric_sum", "rubric_count"]
    out = {
        "schools": _csv_text(school_keys, fig["schools"]),
        "heatmap": _csv_text(["school_code", "direction", "entry_mean", "entry_marks", "final_mean",
                              "final_marks", "change"], _heatmap_long(fig["heatmap"])),
        "rubric": _csv_text([c["key"] for c in layout["rubric_columns"]], fig["rubric"]),
        "attention": _csv_text(["school_code", "school_name", "reason_key", "reason", "value"],
                               fig["attention"]),
        "files": _csv_text(["file", "status", "school_code", "collected", "reason"], doc["files"]),
    }
    if fig["names"] != NAMES_NONE:
        out["mentors"] = _csv_text([c["key"] for c in layout["mentor_columns"]], fig["mentors"])
    return out


# ---------------------------------------------------------------- workbook

_NUMBER_FORMATS = {"text": None, "integer": "0", "percent": "0.0", "mean": "0.00", "number": "0.0"}
_TOTAL_STYLE = {"bold": True, "bg_color": "#F2F2F2"}


class _Formats:
    """Cell formats of the municipal workbook, one per column type (and bold for totals)."""

    def __init__(self, wb) -> None:
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.note = wb.add_format({"italic": True, "font_color": "#555555", "text_wrap": True,
                                   "valign": "top"})
        self.header = wb.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                     "bg_color": "#DDEBF7", "border": 1})
        self.label = wb.add_format({"bold": True, "border": 1, "text_wrap": True})
        self._plain = {}
        self._total = {}
        for kind, num in _NUMBER_FORMATS.items():
            base = {"border": 1, "valign": "top"}
            base.update({"text_wrap": True} if num is None else {"num_format": num})
            self._plain[kind] = wb.add_format(base)
            self._total[kind] = wb.add_format({**base, **_TOTAL_STYLE})
        self.text, self.mean = self._plain["text"], self._plain["mean"]
        self.total_text, self.total_mean = self._total["text"], self._total["mean"]

    def for_type(self, kind: str, total: bool = False):
        return (self._total if total else self._plain)[kind]


def _write_cell(ws, row: int, col: int, value: object, fmt) -> None:
    """Text always as a string cell, numbers as numbers, None as an empty cell."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "да" if value else "нет", fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _write_table(ws, fmts: _Formats, columns: Sequence[dict], rows: Sequence[dict],
                 title: str, total: dict | None = None, total_label: str = "") -> int:
    """Title, header and rows from layout ``columns``; returns the 0-based row
    after the table. The optional ``total`` row is written in bold."""
    ws.write_string(TITLE_ROW, 0, title, fmts.title)
    for c, col in enumerate(columns):
        ws.write_string(HEADER_ROW, c, col["header"], fmts.header)
        ws.set_column(c, c, col.get("width", 14))
    r = FIRST_DATA_ROW
    for row in rows:
        for c, col in enumerate(columns):
            _write_cell(ws, r, c, row.get(col["key"]), fmts.for_type(col["type"]))
        r += 1
    if total is not None:
        for c, col in enumerate(columns):
            value = total_label if c == 0 else (None if col["type"] == "text"
                                                else total.get(col["key"]))
            _write_cell(ws, r, c, value, fmts.for_type(col["type"], total=True))
        r += 1
    ws.set_row(HEADER_ROW, 48)
    ws.freeze_panes(FIRST_DATA_ROW, 0)
    return r


def _overview(wb, fmts: _Formats, doc: dict) -> None:
    layout = municipal_layout()
    fig = doc["figures"]
    ws = wb.add_worksheet(layout["sheets"]["overview"])
    ws.set_column(0, 0, 48)
    ws.set_column(1, 1, 22)
    ws.write_string(0, 0, layout["titles"]["overview"], fmts.title)
    head = [("Муниципалитет", fig["municipality"]), ("Учебный год", ", ".join(fig["academic_years"])),
            ("Дата объединения", ru_timestamp(doc["created"]))]
    r = 2
    for label, value in head:
        ws.write_string(r, 0, label, fmts.label)
        _write_cell(ws, r, 1, value, fmts.text)
        r += 1
    r += 1
    totals = fig["totals"]
    for item in layout["overview_rows"]:
        ws.write_string(r, 0, item["label"], fmts.label)
        kind = "percent" if item["key"] in ("young_share", "roadmap_percent") else (
            "mean" if item["key"] == "rubric_mean" else "integer")
        _write_cell(ws, r, 1, totals.get(item["key"]), fmts.for_type(kind))
        r += 1
    ws.merge_range(r + 1, 0, r + 3, 1, _privacy_note(fig["names"]), fmts.note)


def _privacy_note(names: str) -> str:
    if names == NAMES_NONE:
        return ("Книга содержит только обобщённые показатели школ: персональных данных "
                "(ФИО наставников и наставляемых) в ней нет.")
    if names == NAMES_PSEUDONYMS:
        return ("Лист «Наставники» содержит псевдонимы вместо ФИО. Раскрыть их можно только "
                "с секретом управления образования; храните секрет отдельно от книги.")
    return ("Лист «Наставники» содержит ФИО наставников — это персональные данные. "
            "Храните книгу в защищённом месте и не пересылайте без необходимости.")


def _schools(wb, fmts: _Formats, fig: dict) -> None:
    layout = municipal_layout()
    ws = wb.add_worksheet(layout["sheets"]["schools"])
    cols = layout["school_columns"]
    rows = [dict(r, collected=ru_timestamp(r["collected"])) for r in fig["schools"]]
    end = _write_table(ws, fmts, cols, rows, layout["titles"]["schools"],
                       fig["totals"], layout["titles"]["totals_row"])
    ws.autofilter(HEADER_ROW, 0, end - 2, len(cols) - 1)
    ws.freeze_panes(FIRST_DATA_ROW, 2)


_SCALES = {
    "level": {"type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": "#FFFFFF",
              "mid_type": "num", "mid_value": 1.5, "mid_color": "#FFD966",
              "max_type": "num", "max_value": 3, "max_color": "#E06666"},
    "change": {"type": "3_color_scale", "min_type": "num", "min_value": -3, "min_color": "#63BE7B",
               "mid_type": "num", "mid_value": 0, "mid_color": "#FFFFFF",
               "max_type": "num", "max_value": 3, "max_color": "#E06666"},
}


def _heat_block(ws, fmts: _Formats, top: int, title: str, heat: dict, key: str) -> tuple[int, int]:
    """One schools × directions block (``key``: entry, final or change) with a
    colour scale; returns (0-based row of its total, first row after it)."""
    directions = heat["directions"]
    ws.write_string(top, 0, title, fmts.title)
    hr = top + 1
    ws.write_string(hr, 0, "Код школы", fmts.header)
    ws.write_string(hr, 1, "Школа", fmts.header)
    for i, d in enumerate(directions):
        ws.write_string(hr, 2 + i, d, fmts.header)
    ws.set_row(hr, 90)
    r = hr + 1
    for school in heat["schools"]:
        ws.write_string(r, 0, school["school_code"], fmts.text)
        ws.write_string(r, 1, school["school_name"], fmts.text)
        for i, value in enumerate(school[key]):
            _write_cell(ws, r, 2 + i, value, fmts.mean)
        r += 1
    ws.write_string(r, 0, municipal_layout()["titles"]["totals_row"], fmts.total_text)
    ws.write_blank(r, 1, None, fmts.total_text)
    for i, value in enumerate(heat["total"][key]):
        _write_cell(ws, r, 2 + i, value, fmts.total_mean)
    if directions:
        ws.conditional_format(hr + 1, 2, r, 1 + len(directions), _SCALES["change" if key == "change" else "level"])
    return r, r + 2


def _heatmap(wb, fmts: _Formats, fig: dict) -> None:
    layout = municipal_layout()
    titles = layout["titles"]
    heat = fig["heatmap"]
    ws = wb.add_worksheet(layout["sheets"]["heatmap"])
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 1 + max(1, len(heat["directions"])), 15)
    ws.merge_range(0, 0, 0, 8, titles["heatmap_note"], fmts.note)
    ws.set_row(0, 45)
    entry_total, r = _heat_block(ws, fmts, 2, titles["heatmap_entry"], heat, "entry")
    final_total, r = _heat_block(ws, fmts, r, titles["heatmap_final"], heat, "final")
    _, r = _heat_block(ws, fmts, r, titles["heatmap_change"], heat, "change")
    ws.freeze_panes(0, 2)
    last = 1 + len(heat["directions"])
    chart = wb.add_chart({"type": "column"})
    for total_row, title_row in ((entry_total, 2), (final_total, final_total - len(heat["schools"]) - 2)):
        chart.add_series({
            "name": [ws.name, title_row, 0],
            "categories": [ws.name, 3, 2, 3, last],
            "values": [ws.name, total_row, 2, total_row, last],
        })
    chart.set_title({"name": titles["heatmap_chart"]})
    chart.set_y_axis({"min": 0, "max": 3})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 900, "height": 420})
    ws.insert_chart(r + 1, 1, chart)


def _rubric(wb, fmts: _Formats, fig: dict) -> None:
    layout = municipal_layout()
    ws = wb.add_worksheet(layout["sheets"]["rubric"])
    cols = layout["rubric_columns"]
    end = _write_table(ws, fmts, cols, fig["rubric"], layout["titles"]["rubric"],
                       fig["totals"], layout["titles"]["totals_row"])
    n = len(fig["rubric"])
    chart = wb.add_chart({"type": "column", "subtype": "stacked"})
    colours = ["#6AA84F", "#F1C232", "#CC0000", "#B7B7B7"]
    for i, colour in enumerate(colours):
        chart.add_series({
            "name": [ws.name, HEADER_ROW, 2 + i],
            "categories": [ws.name, FIRST_DATA_ROW, 0, FIRST_DATA_ROW + n - 1, 0],
            "values": [ws.name, FIRST_DATA_ROW, 2 + i, FIRST_DATA_ROW + n - 1, 2 + i],
            "fill": {"color": colour},
        })
    chart.set_title({"name": "Уровни по рубрике по школам"})
    chart.set_y_axis({"name": "Программ"})
    chart.set_size({"width": 720, "height": 360})
    ws.insert_chart(end + 1, 1, chart)


def _attention(wb, fmts: _Formats, fig: dict) -> None:
    layout = municipal_layout()
    ws = wb.add_worksheet(layout["sheets"]["attention"])
    _write_table(ws, fmts, layout["attention_columns"], fig["attention"],
                 layout["titles"]["attention"])
    if not fig["attention"]:
        ws.write_string(FIRST_DATA_ROW, 0, layout["titles"]["no_attention"])


def _mentors(wb, fmts: _Formats, fig: dict) -> None:
    layout = municipal_layout()
    ws = wb.add_worksheet(layout["sheets"]["mentors"])
    cols = [dict(c) for c in layout["mentor_columns"]]
    if fig["names"] == NAMES_PSEUDONYMS:
        cols = [c for c in cols if c["key"] != "mentor_id"]
        for c in cols:
            if c["key"] == "name":
                c["header"] = c["pseudonym_header"]
    _write_table(ws, fmts, cols, fig["mentors"], layout["titles"]["mentors"])


def _files(wb, fmts: _Formats, doc: dict) -> None:
    layout = municipal_layout()
    ws = wb.add_worksheet(layout["sheets"]["files"])
    labels = layout["file_statuses"]
    rows = [dict(f, status=labels[f["status"]], collected=ru_timestamp(f["collected"])) for f in doc["files"]]
    _write_table(ws, fmts, layout["file_columns"], rows, layout["titles"]["files"])


def _column_of(key: str) -> int:
    for i, col in enumerate(municipal_layout()["school_columns"]):
        if col["key"] == key:
            return i
    raise KeyError(key)


def _series(sheet: str, key: str, n: int, **extra) -> dict:
    c = _column_of(key)
    series = {
        "name": [sheet, HEADER_ROW, c],
        "categories": [sheet, FIRST_DATA_ROW, 0, FIRST_DATA_ROW + n - 1, 0],
        "values": [sheet, FIRST_DATA_ROW, c, FIRST_DATA_ROW + n - 1, c],
    }
    series.update(extra)
    return series


def _charts(wb, fig: dict) -> None:
    layout = municipal_layout()
    ws = wb.add_worksheet(layout["sheets"]["charts"])
    ws.write_string(0, 0, layout["titles"]["charts"])
    sheet, n = layout["sheets"]["schools"], len(fig["schools"])
    specs = [
        ("column", None, "Наставники и наставляемые по школам", ["mentors", "mentees"]),
        ("column", "stacked", "Программы по статусу",
         [f"status_{s['key']}" for s in layout["statuses"]] + ["status_unknown"]),
        ("bar", None, "Выполнение дорожных карт, %", ["roadmap_percent"]),
        ("bar", None, "Охват молодых специалистов, %", ["young_share"]),
    ]
    for i, (kind, subtype, title, keys) in enumerate(specs):
        options = {"type": kind} if subtype is None else {"type": kind, "subtype": subtype}
        chart = wb.add_chart(options)
        for key in keys:
            chart.add_series(_series(sheet, key, n))
        chart.set_title({"name": title})
        chart.set_size({"width": 620, "height": 340})
        if kind == "bar" and "%" in title:
            chart.set_x_axis({"min": 0, "max": 100})
        ws.insert_chart(2 + (i // 2) * 18, 1 + (i % 2) * 10, chart)


def _meta(wb, doc: dict) -> None:
    """Hidden ``_xlflow`` sheet: identity of the file and the whole document
    (checksummed), so a municipal summary given to merge is recognised."""
    meta = {"template_id": doc["template_id"], "schema_version": doc["schema_version"],
            "xlflow_version": doc["xlflow_version"], "created": doc["created"],
            "names": doc["figures"]["names"]}
    export.write_payload_sheet(wb, meta, doc, municipal_layout()["meta_sheet"])


def _write_workbook(doc: dict, path: Path) -> None:
    wb = new_workbook(path)
    fmts = _Formats(wb)
    fig = doc["figures"]
    _overview(wb, fmts, doc)
    _schools(wb, fmts, fig)
    _heatmap(wb, fmts, fig)
    _rubric(wb, fmts, fig)
    _attention(wb, fmts, fig)
    if fig["names"] != NAMES_NONE:
        _mentors(wb, fmts, fig)
    _charts(wb, fig)
    _files(wb, fmts, doc)
    _meta(wb, doc)
    wb.set_properties({"title": municipal_layout()["titles"]["overview"], "author": "xlflow"})
    print_report_sheets(wb)
    wb.close()
