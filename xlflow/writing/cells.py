"""Values and data validations of input cells in the programme workbook.

* :func:`write_value` turns a record value (schema shape) into a typed cell:
  ISO date strings become real dates, booleans «да»/«нет», numbers numbers; a
  value of the wrong type for its column is written verbatim as text, so that
  the reader and the validator report it at its cell.
* :func:`column_validation` builds the xlsxwriter data-validation options of a
  column (dropdown with input message, date range, number range), applied once
  per column range.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Sequence

from xlflow.layout import Column

DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
DATE_HINT = "Введите дату в формате ДД.ММ.ГГГГ, например 01.09.2025."
YES_NO = ("да", "нет")

# Limits of numeric columns by key (inclusive); other numbers only need to be >= 0.
NUMBER_LIMITS = {"experience_years": (0, 60)}
DEFAULT_NUMBER_LIMITS = (0, 1_000_000)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TITLE_MAX = 32
MESSAGE_MAX = 255


def parse_iso_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` -> date, or None when it is not a real ISO date Excel can hold."""
    if not _ISO_DATE.match(text):
        return None
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return value if value.year >= 1900 else None


def write_value(ws: Any, row0: int, col0: int, value: Any, col_type: str, fmt: Any) -> None:
    """Write one record value with its cell format (0-based row and column)."""
    if value is None or value == "":
        ws.write_blank(row0, col0, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row0, col0, YES_NO[0] if value else YES_NO[1], fmt)
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            ws.write_string(row0, col0, str(value), fmt)
        else:
            ws.write_number(row0, col0, value, fmt)
    elif isinstance(value, dt.date):
        if value.year >= 1900:
            ws.write_datetime(row0, col0, value, fmt)
        else:
            ws.write_string(row0, col0, value.isoformat(), fmt)
    elif isinstance(value, str):
        day = parse_iso_date(value) if col_type == "date" else None
        if day is not None:
            ws.write_datetime(row0, col0, day, fmt)
        else:
            ws.write_string(row0, col0, value, fmt)
    else:
        ws.write_string(row0, col0, str(value), fmt)


def write_blanks(ws: Any, row0: int, formats: Sequence[Any]) -> None:
    """Empty input cells of one row: column ``i`` (0-based) gets ``formats[i]``."""
    blank = getattr(ws, "_write_blank", None) or ws.write_blank  # the public one only converts "A1" args
    for col0, fmt in enumerate(formats):
        blank(row0, col0, None, fmt)


def set_widths(ws: Any, widths: Sequence[float], first_col0: int = 0) -> None:
    """Column widths from ``first_col0`` on; a run of equal widths is one call
    (xlsxwriter writes adjacent equal columns as one ``<col>`` either way)."""
    start = 0
    for i in range(1, len(widths) + 1):
        if i == len(widths) or widths[i] != widths[start]:
            ws.set_column(first_col0 + start, first_col0 + i - 1, widths[start])
            start = i


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _prompt(col: Column, default: str) -> dict[str, Any]:
    message = f"{col.help} {default}".strip() if col.help and default not in col.help else (col.help or default)
    return {"input_title": _clip(col.header, TITLE_MAX), "input_message": _clip(message, MESSAGE_MAX)}


def list_validation(col: Column, source: str, open_list: bool) -> dict[str, Any]:
    """Dropdown from a defined name (``source`` without '='); an open list accepts other text."""
    if col.type == "yesno":
        hint = "Выберите «да» или «нет»."
    elif open_list:
        hint = "Выберите из списка или впишите своё значение."
    else:
        hint = "Выберите значение из списка."
    opts = {"validate": "list", "source": f"={source}", **_prompt(col, hint)}
    if open_list:
        opts.update({"error_type": "information", "error_title": "Значение не из списка",
                     "error_message": "Такого значения нет в списке. Нажмите «ОК», чтобы оставить своё, "
                                      "или «Отмена», чтобы выбрать из списка."})
    else:
        opts.update({"error_type": "stop", "error_title": "Значение не из списка",
                     "error_message": "Выберите значение из раскрывающегося списка (стрелка справа от ячейки)."})
    return opts


def date_validation(col: Column) -> dict[str, Any]:
    return {
        "validate": "date", "criteria": "between", "minimum": DATE_MIN, "maximum": DATE_MAX,
        "input_title": _clip(col.header, TITLE_MAX),
        "input_message": _clip(DATE_HINT if not col.help else f"{DATE_HINT} {col.help}", MESSAGE_MAX),
        "error_type": "stop", "error_title": "Неверная дата",
        "error_message": "Введите дату в формате ДД.ММ.ГГГГ (между 01.01.2000 и 31.12.2100), например 01.09.2025.",
    }


def number_validation(col: Column) -> dict[str, Any]:
    low, high = NUMBER_LIMITS.get(col.key, DEFAULT_NUMBER_LIMITS)
    kind = "integer" if col.type == "integer" else "decimal"
    return {
        "validate": kind, "criteria": "between", "minimum": low, "maximum": high,
        **_prompt(col, f"Число от {low} до {high}."),
        "error_type": "stop", "error_title": "Неверное число",
        "error_message": f"Введите число от {low} до {high}, например 12 или 2,5.",
    }


def unique_validation(col: Column, column_range: str, first_cell: str) -> dict[str, Any]:
    """Codes of a bank must be unique: a custom rule counting the code in its column."""
    return {
        "validate": "custom", "value": f"=COUNTIF({column_range},{first_cell})<=1",
        **_prompt(col, "Код должен быть уникальным."),
        "error_type": "stop", "error_title": "Такой код уже есть",
        "error_message": "Этот код уже есть в таблице. Придумайте другой: коды не должны повторяться.",
    }


def column_validation(col: Column, list_source: str | None, open_list: bool) -> dict[str, Any] | None:
    """Data-validation options for the input cells of ``col``; None when it needs none."""
    if list_source is not None:
        return list_validation(col, list_source, open_list)
    if col.type == "date":
        return date_validation(col)
    if col.type in ("number", "integer"):
        return number_validation(col)
    if col.help:
        return {"validate": "any", **_prompt(col, "")}
    return None
