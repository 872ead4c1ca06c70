"""The school summary workbook (Russian), written from the summary payload.

Sheets and headers come from ``workbook_templates/school_summary.json``; the
content is the payload of :mod:`xlflow.consolidate.collect` (the same object
that goes to ``SUMMARY.json``), so the workbook and the machine-readable copy
cannot disagree. Native charts: deficits before/after by direction, rubric
levels, roadmap completion by direction. Every text is written with
``write_string`` (never a formula); the file goes through ``atomic_output``.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import Worksheet

from xlflow.consolidate.export import PayloadText, summary_layout, write_payload_sheet
from xlflow.fileio import atomic_output
from xlflow.writing.xlsx import CONTROL_OR_NONCHARACTER, inline_unchanged, new_workbook, print_report_sheets

HEADER_BG = "#DDEBF7"
OVER_LIMIT_BG = "#F8CBAD"
ERROR_BG = "#FCE4D6"
ZIP_LEVEL = 1  # ~4x faster to deflate than 6; the file about a third larger (877 -> 1,176 KB at 2,000 copies)
# columns whose machine keys are shown as the Russian labels of layout["labels"][...]
_TRANSLATED = {("files", "status"): "file_status", ("files", "kind"): "file_kind",
               ("breakdown", "dimension"): "dimension", ("problems", "severity"): "severity"}


_SEP = "\ue000"  # joins the texts of a row: any text with it beside a space is merely not plain
# What xlsxwriter changes in an inline string (:func:`~xlflow.writing.xlsx.inline_unchanged`),
# found in texts joined by _SEP (their _xHHHH_ escapes found as "_x", their XML specials
# by "in"): control characters and non-characters; whitespace beside a _SEP (a pattern that
# starts with _SEP: re then looks for it alone, much faster than an alternative tried everywhere)
_EDGE_JOINED = re.compile("\ue000(?:(?=\\s)|(?<=\\s\ue000))")


def _plain_texts(texts: Sequence[str], limit: int) -> bool:
    """True when xlsxwriter writes every text inline unchanged (a few searches for them all)."""
    joined = _SEP + _SEP.join(texts) + _SEP
    return (len(joined) <= limit and "_x" not in joined and "&" not in joined and "<" not in joined
            and ">" not in joined and not CONTROL_OR_NONCHARACTER.search(joined) and not _EDGE_JOINED.search(joined))


class SummarySheet(Worksheet):
    """A worksheet that writes the summary's formatted cells faster, with the same XML.

    The long tables are tens of thousands of cells written in
    ``constant_memory`` mode; the base ``_write_cell`` builds and escapes an
    attribute list per cell. Plain inline strings, numbers, dates and blanks
    with a format are written here with one formatted string, exactly as the
    base method writes them; any other cell goes to the base method. The data
    rows of the tables are written a whole row at a time (:meth:`write_table_row`:
    one f-string per cell, one plain-text check and one dimension update per row),
    rows with unusual values cell by cell
    (``tests/test_summary_streaming.py`` compares the sheets' XML of both)."""

    def __init__(self) -> None:
        super().__init__()
        self._styles: dict[tuple, list[int]] = {}  # formats of a table row -> their xf indexes
        self._dates: dict[str, float | str] = {}  # ISO date text -> Excel serial number
        self._templates: dict[tuple, str] = {}  # (styles, cell shapes) of a row -> its XML template
        self._pending: list[str] = []  # XML of rows written whole, not yet in the file

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        kind = type(cell).__name__
        fmt = getattr(cell, "format", None)
        if fmt is None or not self.constant_memory:
            super()._write_cell(row, col, cell)
        elif kind in ("Number", "Datetime"):
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}">'
                          f"<v>{cell.number:.16G}</v></c>")
        elif kind == "String" and inline_unchanged(cell.string):
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}" t="inlineStr">'
                          f"<is><t>{cell.string}</t></is></c>")
        elif kind == "Blank":
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}"/>')
        else:
            super()._write_cell(row, col, cell)

    def write_table_row(self, row: int, values: Sequence[Any], kinds: Sequence[str], formats: Sequence[Any],
                        yes_no: tuple[str, str]) -> bool:
        """Write a whole table row (``values`` in columns 0.., every cell with a
        format) as the XML the cell-by-cell path gives, updating the dimensions
        once. Only in ``constant_memory`` mode, for a row after the rows already
        written and without row properties; False (nothing of the row written)
        when the row needs the cell-by-cell path (unusual text, NaN ...); the
        row must then be written that way, and nothing else may go in it later.
        The XML of such rows is written to the sheet's file a batch at a time
        (:meth:`_write_single_row`, through which xlsxwriter writes any other row, flushes it first)."""
        if not (self.constant_memory and self.previous_row < row < self.xls_rowmax and values
                and len(values) <= len(_COL_NAMES) and row not in self.row_info and row not in self.comments
                and self.default_row_height == self.original_row_height and self.excel_version == 2007):
            return False
        key = tuple(formats)
        styles = self._styles.get(key)
        if styles is None:  # a format's index, once given (on first use), stays
            styles = self._styles[key] = [f._get_xf_index() for f in formats]
        xml = self._row_xml(row + 1, values, kinds, styles, yes_no)
        if xml is None:
            return False
        prev = self.previous_row
        if self.table or prev in self.row_info or prev in self.comments:
            self._write_single_row(row)  # the previous row, as the first cell of this one would
        else:  # what _write_single_row does when the previous row holds nothing
            self.previous_row = row
        if self.dim_colmin != 0:  # the first column is in the dimensions from the first row on
            self._check_dimensions(row, 0)
        self._check_dimensions(row, len(values) - 1)
        self._pending.append(xml)
        if len(self._pending) >= _PENDING_ROWS:
            self._flush_rows()
        return True

    def _flush_rows(self) -> None:
        if self._pending:
            self.fh.write("".join(self._pending))
            self._pending.clear()

    def _write_single_row(self, current_row_num: int = 0) -> None:
        self._flush_rows()  # the rows written whole come first
        super()._write_single_row(current_row_num)

    def _row_xml(self, n: int, values: Sequence[Any], kinds: Sequence[str], styles: Sequence[int],
                 yes_no: tuple[str, str]) -> str | None:
        """The row's XML: its cells' shapes (blank, number, text) pick a template made once
        (:meth:`_template`), filled with the row number and values in one ``format``."""
        shape = []
        args: list[Any] = [n]
        texts = []
        for value, kind in zip(values, kinds):
            if value is None:
                shape.append(0)
                continue
            if kind == "bool":
                value = yes_no[0] if value else yes_no[1]
            elif kind == "date" and isinstance(value, str):
                value = self._date_number(value)
            t = type(value)
            if t is not str and (t is int or t is float or isinstance(value, (int, float))) and t is not bool:
                if not math.isfinite(value):
                    return None
                shape.append(1)
                args.append(value)
                continue
            text = value if t is str else str(value)
            texts.append(text)
            shape.append(2)
            args.append(text)
        if texts and not _plain_texts(texts, self.xls_strmax // 2):
            return None
        key = (tuple(styles), tuple(shape))
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = _template(styles, shape)
        return template.format(*args)

    def _date_number(self, iso: str) -> float | str:
        """Excel serial number of an ISO date text (the text itself when it is no date), memoised."""
        number = self._dates.get(iso)
        if number is None:
            try:
                number = self._convert_date_time(dt.datetime.fromisoformat(iso))
            except ValueError:
                number = iso
            self._dates[iso] = number
        return number


_COL_NAMES = [xl_col_to_name(c) for c in range(64)]
_PENDING_ROWS = 128  # rows written whole kept before they go to the sheet's file together
_CELLS = ('<c r="{name}{{0}}" s="{style}"/>', '<c r="{name}{{0}}" s="{style}"><v>{{{i}:.16G}}</v></c>',
          '<c r="{name}{{0}}" s="{style}" t="inlineStr"><is><t>{{{i}}}</t></is></c>')


def _template(styles: Sequence[int], shape: Sequence[int]) -> str:
    """A row's XML as a ``str.format`` template: ``{0}`` the row number, then the values of
    its cells that are not blank (shape 0 blank, 1 number, 2 inline text)."""
    cells, i = [], 0
    for name, style, kind in zip(_COL_NAMES, styles, shape):
        i += kind > 0
        cells.append(_CELLS[kind].format(name=name, style=style, i=i))
    return '<row r="{0}">' + "".join(cells) + "</row>"


class _Formats:
    def __init__(self, wb: Any) -> None:
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.subtitle = wb.add_format({"bold": True, "font_size": 11})
        self.note = wb.add_format({"italic": True, "font_color": "#595959"})
        self.header = wb.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                     "bg_color": HEADER_BG, "border": 1})
        self.cells = {
            "text": wb.add_format({"text_wrap": True, "valign": "top"}),
            "int": wb.add_format({"num_format": "0", "valign": "top"}),
            "float": wb.add_format({"num_format": "0.00", "valign": "top"}),
            "percent": wb.add_format({"num_format": "0.0", "valign": "top"}),
            "date": wb.add_format({"num_format": "dd.mm.yyyy", "valign": "top"}),
            "bool": wb.add_format({"valign": "top"}),
        }
        self.alert = {k: wb.add_format({"bg_color": OVER_LIMIT_BG, "valign": "top",
                                        **({"num_format": nf} if nf else {})})
                      for k, nf in (("text", None), ("int", "0"), ("float", "0.00"), ("percent", "0.0"),
                                    ("date", "dd.mm.yyyy"), ("bool", None))}
        self.label = wb.add_format({"text_wrap": True, "valign": "top"})


class _Writer:
    """Writes one summary workbook; keeps the formats and the layout."""

    def __init__(self, wb: Any, payload: Mapping[str, Any], layout: Mapping[str, Any],
                 text: PayloadText | None = None) -> None:
        self.wb, self.payload, self.layout, self.text = wb, payload, layout, text
        self.fmt = _Formats(wb)
        self.labels = layout["labels"]
        self.sheets = {s["key"]: s for s in layout["sheets"]}

    # ------------------------------------------------------------ cells
    def value(self, ws: Any, row: int, col: int, value: Any, kind: str, alert: bool = False) -> None:
        fmt = (self.fmt.alert if alert else self.fmt.cells)[kind]
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif kind == "bool":
            ws.write_string(row, col, self.labels["yes"] if value else self.labels["no"], fmt)
        elif kind == "date" and isinstance(value, str):
            try:
                ws.write_datetime(row, col, dt.datetime.fromisoformat(value), fmt)
            except ValueError:
                ws.write_string(row, col, value, fmt)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)

    def display(self, table: str, key: str, value: Any) -> Any:
        """Translate machine keys of the payload into the Russian labels."""
        labels = _TRANSLATED.get((table, key))
        if labels is None:
            return value
        return self.labels[labels].get((value or "") if labels == "file_kind" else value, value)

    def table(self, ws: Any, row: int, name: str, rows: Sequence[Mapping[str, Any]],
              title: bool = True, alert_key: str | None = None, filters: bool = False) -> tuple[int, int]:
        """Write table ``name`` at ``row``; return (first data row, row after the table).
        ``filters``: the sheet's autofilter (a sheet has only one) goes on this table."""
        spec = self.layout["tables"][name]
        cols = spec["columns"]
        if title:
            ws.write_string(row, 0, spec["title"], self.fmt.subtitle)
            row += 1
        for c, col in enumerate(cols):
            ws.write_string(row, c, col["header"], self.fmt.header)
        header_row = row
        self.rows(ws, row + 1, name, rows, alert_key)
        end = header_row + 1 + len(rows)
        if rows and filters:
            ws.autofilter(header_row, 0, end - 1, len(cols) - 1)
        return header_row + 1, end + 1

    def rows(self, ws: Any, first: int, name: str, rows: Iterable[Mapping[str, Any]], alert_key: str | None) -> None:
        """The data rows of table ``name`` from row ``first``: a whole row at a
        time where the sheet can, else cell by cell."""
        cols = self.layout["tables"][name]["columns"]
        keys, kinds = [c["key"] for c in cols], [c["type"] for c in cols]
        shown = [(c, key) for c, key in enumerate(keys) if (name, key) in _TRANSLATED]
        formats = {False: [self.fmt.cells[k] for k in kinds], True: [self.fmt.alert[k] for k in kinds]}
        yes_no = (self.labels["yes"], self.labels["no"])
        fast = getattr(ws, "write_table_row", None)
        for r, data in enumerate(rows, start=first):
            alert = bool(alert_key and data.get(alert_key))
            values = list(map(data.get, keys))
            for c, key in shown:
                values[c] = self.display(name, key, values[c])
            if fast is None or not fast(r, values, kinds, formats[alert], yes_no):
                for c, (value, kind) in enumerate(zip(values, kinds)):
                    self.value(ws, r, c, value, kind, alert)

    def col(self, table: str, key: str) -> int:
        """0-based column of ``key`` in ``table``."""
        return [c["key"] for c in self.layout["tables"][table]["columns"]].index(key)

    def widths(self, ws: Any, name: str) -> None:
        for c, col in enumerate(self.layout["tables"][name]["columns"]):
            ws.set_column(c, c, col.get("width", 14))

    def sheet(self, key: str) -> Any:
        spec = self.sheets[key]
        ws = self.wb.add_worksheet(spec["name"], worksheet_class=SummarySheet)
        ws.write_string(0, 0, spec["title"], self.fmt.title)
        return ws

    # ------------------------------------------------------------ sheets
    def summary(self) -> None:
        spec = self.sheets["summary"]
        ws = self.sheet("summary")
        p, figs = self.payload, self.payload["figures"]
        school = p["school"]
        line = (f"{school.get('name') or '—'} (код {school.get('code') or '—'}), "
                f"{school.get('municipality') or '—'}, учебный год {school.get('academic_year') or '—'}")
        ws.write_string(1, 0, line, self.fmt.subtitle)
        ws.write_string(2, 0, f"Данные на {_ru_date(p['as_of'])}; сводка создана {_ru_time(p['created'])} "
                              f"(xlflow {p['xlflow_version']}).", self.fmt.note)
        row = 4
        for f in spec["figures"]:
            ws.write_string(row, 0, f["label"], self.fmt.label)
            self.value(ws, row, 1, figs.get(f["key"]), f.get("type", "int"))
            row += 1
        row = self._roadmap_totals(ws, row + 1)
        _, row = self.table(ws, row + 1, "breakdown", p["tables"]["breakdown"])
        _, row = self.table(ws, row, "statuses", p["tables"]["statuses"])
        _, row = self.table(ws, row, "rubric_levels", p["tables"]["rubric_levels"])
        self._file_counts(ws, row)
        ws.set_column(0, 0, 58)
        ws.set_column(1, 1, 44)
        ws.set_column(2, 6, 12)
        ws.activate()

    def _roadmap_totals(self, ws: Any, row: int) -> int:
        totals = self.payload["figures"]["roadmap"]
        ws.write_string(row, 0, "Мероприятия дорожных карт (все программы)", self.fmt.subtitle)
        row += 1
        for col in self.layout["tables"]["roadmap_directions"]["columns"][1:]:
            ws.write_string(row, 0, col["header"], self.fmt.label)
            self.value(ws, row, 1, totals.get(col["key"]), col["type"])
            row += 1
        return row

    def _file_counts(self, ws: Any, row: int) -> None:
        files = self.payload["figures"]["files"]
        ws.write_string(row, 0, self.sheets["summary"]["files_title"], self.fmt.subtitle)
        row += 1
        ws.write_string(row, 0, "Всего файлов в папке", self.fmt.label)
        self.value(ws, row, 1, files["total"], "int")
        for key, label in self.labels["file_status"].items():
            row += 1
            ws.write_string(row, 0, label, self.fmt.label)
            self.value(ws, row, 1, files.get(key, 0), "int")
        probs = self.payload["figures"]["problems"]
        for key, label in (("errors", "Ошибок"), ("warnings", "Предупреждений")):
            row += 1
            ws.write_string(row, 0, label, self.fmt.label)
            self.value(ws, row, 1, probs[key], "int")

    def single_table(self, key: str, name: str, alert_key: str | None = None) -> tuple[Any, int, int]:
        ws = self.sheet(key)
        first, end = self.table(ws, 2, name, self.payload["tables"][name], title=False, alert_key=alert_key,
                                filters=True)
        ws.freeze_panes(3, 0)
        self.widths(ws, name)
        return ws, first, end

    def deficits(self) -> None:
        rows = self.payload["tables"]["deficits"]
        ws, first, end = self.single_table("deficits", "deficits")
        last = first + len(rows) - 1
        if not any(r.get("entry_n") or r.get("final_n") for r in rows):
            return  # nothing to draw
        scale = {"type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": "#F2F2F2",
                 "mid_type": "num", "mid_value": 1.5, "mid_color": "#FFD966",
                 "max_type": "num", "max_value": 3, "max_color": "#F4B084"}
        entry, final = self.col("deficits", "entry_mean"), self.col("deficits", "final_mean")
        ws.conditional_format(first, entry, last, final, scale)
        high = (self.col("deficits", "entry_high"), self.col("deficits", "final_high"))
        ws.conditional_format(first, min(high), last, max(high), {"type": "data_bar", "bar_color": "#F4B084"})
        name = self.sheets["deficits"]["name"]
        chart = self.wb.add_chart({"type": "bar"})
        for col, label in ((entry, "На входе"), (final, "В конце")):
            chart.add_series({"name": label, "categories": [name, first, 0, last, 0],
                              "values": [name, first, col, last, col]})
        _style_chart(chart, self.layout["charts"]["deficits"], "Средняя интенсивность (0–3)", 0, 3, True)
        chart.set_size({"width": 760, "height": 60 + 34 * len(rows)})
        ws.insert_chart(end + 1, 0, chart)

    def roadmaps(self) -> None:
        """Directions table, its chart just below it, then the per-programme table."""
        ws = self.sheet("roadmaps")
        t = self.payload["tables"]
        rows = t["roadmap_directions"]
        first, end = self.table(ws, 2, "roadmap_directions", rows)
        self.widths(ws, "roadmap_directions")
        if any(r.get("planned") for r in rows):
            name = self.sheets["roadmaps"]["name"]
            # every direction row is a category; directions without activities give no bar
            chart = self.wb.add_chart({"type": "bar"})
            last = first + len(rows) - 1
            pct = self.col("roadmap_directions", "completion_percent")
            chart.add_series({"name": "Выполнение, %", "categories": [name, first, 0, last, 0],
                              "values": [name, first, pct, last, pct], "data_labels": {"value": True}})
            _style_chart(chart, self.layout["charts"]["roadmap"], "%", 0, 100, True)
            chart.set_legend({"none": True})
            height = 60 + 30 * len(rows)
            chart.set_size({"width": 760, "height": height})
            ws.insert_chart(end, 0, chart)
            end += height // 20 + 2  # default row height is 20 px
        self.table(ws, end, "roadmap_programmes", t["roadmap_programmes"], filters=True)

    def rubric(self) -> None:
        ws = self.sheet("rubric")
        t = self.payload["tables"]
        first, end = self.table(ws, 2, "rubric_levels", t["rubric_levels"])
        _, end = self.table(ws, end + 1, "rubric_indicators", t["rubric_indicators"])
        self.table(ws, end + 1, "rubric_programmes", t["rubric_programmes"], filters=True)
        ws.set_column(0, 0, 22)
        ws.set_column(1, 1, 36)
        ws.set_column(2, 2, 60)
        ws.set_column(3, 5, 13)
        levels = t["rubric_levels"]
        if any(r.get("programmes") for r in levels):
            name = self.sheets["rubric"]["name"]
            chart = self.wb.add_chart({"type": "column"})
            last = first + len(levels) - 1
            chart.add_series({"name": "Программ", "categories": [name, first, 0, last, 0],
                              "values": [name, first, 1, last, 1], "data_labels": {"value": True},
                              "points": [{"fill": {"color": c}} for c in
                                         ("#70AD47", "#FFC000", "#C00000", "#A5A5A5")][:len(levels)]})
            _style_chart(chart, self.layout["charts"]["rubric_levels"], "Программ", 0, None, False)
            chart.set_legend({"none": True})
            ws.insert_chart(1, 7, chart)

    def files(self) -> None:
        ws = self.sheet("files")
        t = self.payload["tables"]
        first, end = self.table(ws, 2, "files", t["files"])
        self.table(ws, end + 1, "problems", t["problems"], filters=True)  # filter by file to see what to fix
        self.widths(ws, "files")
        if t["files"]:
            ws.conditional_format(first, 1, first + len(t["files"]) - 1, 1, {
                "type": "text", "criteria": "begins with", "value": self.labels["file_status"]["rejected"],
                "format": self.wb.add_format({"bg_color": ERROR_BG})})

    def meta(self) -> None:
        p = self.payload
        school = p["school"]
        meta = {
            "template_id": p["template_id"], "template_version": self.layout["version"],
            "schema_version": p["schema_version"], "school_code": school.get("code"),
            "school_name": school.get("name"), "municipality": school.get("municipality"),
            "academic_year": school.get("academic_year"), "as_of": p["as_of"], "created": p["created"],
            "xlflow_version": p["xlflow_version"],
        }
        write_payload_sheet(self.wb, meta, p, text=self.text)

    def write_all(self) -> None:
        self.summary()
        self.single_table("load", "load", alert_key="over_limit")
        self.deficits()
        self.roadmaps()
        self.rubric()
        self.single_table("programmes", "programmes")
        self.files()
        self.meta()


def _style_chart(chart: Any, title: str, axis: str, vmin: float, vmax: float | None,
                 horizontal: bool) -> None:
    """Title and value axis; horizontal bar charts list categories top-down."""
    chart.set_title({"name": title, "name_font": {"size": 12}})
    value_axis: dict[str, Any] = {"name": axis, "min": vmin}
    if vmax is not None:
        value_axis["max"] = vmax
    if horizontal:
        chart.set_x_axis(value_axis)
        chart.set_y_axis({"reverse": True})
    else:
        chart.set_y_axis(value_axis)


def _ru_time(stamp: str) -> str:
    """«2026-05-25T10:30:00Z» -> «25.05.2026 10:30 UTC»."""
    try:
        return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").strftime("%d.%m.%Y %H:%M UTC")
    except (TypeError, ValueError):
        return str(stamp)


def _ru_date(iso: str) -> str:
    try:
        return dt.date.fromisoformat(iso).strftime("%d.%m.%Y")
    except (TypeError, ValueError):
        return str(iso)


def write_school_summary(path: str | os.PathLike, payload: Mapping[str, Any],
                         layout: Mapping[str, Any] | None = None, *,
                         constant_memory: bool = True, text: PayloadText | None = None) -> Path:
    """Write the summary workbook for ``payload`` to ``path`` atomically.

    ``constant_memory`` streams each sheet's rows to disk as they are written
    (xlsxwriter keeps only the current row), so a summary of 10,000 copies
    does not hold ~100 MB of cells; every sheet writes its rows top-down, as
    that mode needs (a test compares every cell with the in-memory mode).
    ``text``: the payload's text for the hidden sheet, when the caller started
    making it (:class:`~xlflow.consolidate.export.PayloadText`)."""
    lay = layout if layout is not None else summary_layout()
    with atomic_output(path) as tmp:
        wb = new_workbook(tmp, zip_level=ZIP_LEVEL, constant_memory=constant_memory)
        _Writer(wb, payload, lay, text).write_all()
        print_report_sheets(wb)
        wb.close()
    return Path(path)
