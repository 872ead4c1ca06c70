"""Russian wording helpers shared by the schema checks and the domain rules:
field names from the layout, values and dates as users typed them, and short
lists of allowed choices."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from xlflow.layout import FormSpec, Layout, MatrixSpec, TableSpec

MAX_VALUE_CHARS = 60
MAX_CHOICES = 6


def format_value(value: Any) -> str:
    """A value as the user would recognise it (dates as ДД.ММ.ГГГГ, decimal comma)."""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float):
        text = f"{value:g}".replace(".", ",")
    elif isinstance(value, str):
        parsed = iso_date(value)
        text = format_date(parsed) if parsed else " ".join(value.split())
    else:
        text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def format_date(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def iso_date(value: Any) -> dt.date | None:
    """The date of an ISO ``YYYY-MM-DD`` string; None for anything else."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    return _iso_day(value)


@lru_cache(maxsize=4096)
def _iso_day(value: str) -> dt.date | None:
    """(Cached: copies repeat the dates of one school year.)"""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def quote_list(values: Iterable[Any], limit: int = MAX_CHOICES) -> str:
    """«a», «b», «c» — shortened after ``limit`` items."""
    items = [f"«{format_value(v)}»" for v in values]
    if len(items) <= limit:
        return ", ".join(items)
    rest = len(items) - limit
    return ", ".join(items[:limit]) + f" и ещё {rest} (см. выпадающий список)"


def _table_column(layout: Layout, table: str, key: str):
    try:
        spec = layout.sheet(table)
    except KeyError:
        return None
    if isinstance(spec, TableSpec):
        for column in spec.columns:
            if column.key == key:
                return column
    if isinstance(spec, FormSpec):
        for column in spec.fields:
            if column.key == key:
                return column
    return None


def column_of(layout: Layout, path: Sequence) -> Any:
    """The layout column (or passport field) a record path points to, if any."""
    if len(path) == 2 and path[0] == "passport":
        return _table_column(layout, "passport", str(path[1]))
    if len(path) == 3 and isinstance(path[2], str):
        return _table_column(layout, str(path[0]), path[2])
    return None


def _diagnostics_label(layout: Layout, item: Mapping, part: str) -> str:
    spec = layout.sheet("diagnostics")
    assert isinstance(spec, MatrixSpec)
    stage = next((s["label"] for s in spec.stages if s["key"] == item.get("stage")), "")
    aspect = next((a for a in spec.aspects if a["key"] == item.get("aspect")), None)
    label = ""
    if aspect is not None:
        label = aspect["level_label"] if part == "level" else aspect["text_label"]
    direction = item.get("direction", "")
    return f"{label}, {stage} диагностика, направление «{format_value(direction)}»".strip(", ")


def field_label(layout: Layout, data: Mapping, path: Sequence) -> str:
    """Russian name of the field at ``path`` (the header the user sees)."""
    path = tuple(path)
    column = column_of(layout, path)
    if column is not None:
        return column.header
    if len(path) == 3 and path[0] == "diagnostics":
        items = data.get("diagnostics")
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else {}
        return _diagnostics_label(layout, item if isinstance(item, Mapping) else {}, str(path[2]))
    if len(path) == 3 and path[0] == "rubric":
        items = data.get("rubric")
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else {}
        number = item.get("indicator", path[1] + 1) if isinstance(item, Mapping) else path[1] + 1
        part = "Балл (0–2)" if path[2] == "score" else "Комментарий"
        return f"{part} показателя {number}"
    if path and path[0] == "meta":
        return "служебные сведения книги (" + ".".join(str(p) for p in path[1:]) + ")"
    return ".".join(str(p) for p in path)


def list_choices(layout: Layout, data: Mapping, path: Sequence) -> list | None:
    """Allowed values for the choice cell at ``path`` (school directions included)."""
    column = column_of(layout, path)
    if column is None or not column.list:
        return None
    directions = directions_of(layout, data)
    return layout.choices(column.list, directions)


def directions_of(layout: Layout, data: Mapping) -> list[str]:
    """The workbook's directions (``meta.directions``), else the standard list."""
    meta = data.get("meta") if isinstance(data, Mapping) else None
    found = meta.get("directions") if isinstance(meta, Mapping) else None
    if isinstance(found, list) and found and all(isinstance(d, str) for d in found):
        return list(found)
    return layout.directions()
