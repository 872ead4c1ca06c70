"""Value normalisers: what people type into cells -> canonical record values.

Every function is pure and total: it returns the canonical value when it can
read the input, and otherwise the raw input *unchanged*, so that schema
validation reports the raw value at its cell (data is never guessed or
shifted silently). Every normaliser is idempotent.

Decisions (documented for users in the README):

* Dates: date/datetime cells; Excel serial numbers between 1950-01-01 and
  2100-12-31 (a bare number such as ``2025`` is not taken for a date); text
  ``01.09.2025``, ``1.9.25``, ``01/09/2025``, ``01-09-2025``, ``2025-09-01``
  (spaces around the separators and a trailing ``г.`` allowed). Two-digit
  years mean 2000-2069 for 00-69 and 1970-1999 for 70-99. A day or month out of
  range (``32.13.2025``) stays text.
* Numbers: ``3,5`` and ``3.5``; spaces (also non-breaking) as thousands
  separators (``1 000``); a trailing year word (``12 лет``, ``2,5 года``,
  ``1 год``) is dropped because the only number columns count years.
  Whole values become ``int``.
* Yes/no: ``да``/``нет`` in any case, ``+``/``-``, ``✓``/``✔``/``v``,
  ``1``/``0``, ``true``/``false``, ``истина``/``ложь``; booleans as such.
* Choice lists: matched ignoring case, repeated or missing spaces, ``ё``/``е``,
  dash variants (``-``, ``–``, ``—``...), spaces around dashes, colons and
  commas, surrounding quotes, trailing dots and Latin letters typed instead of
  their Cyrillic look-alikes (``oчный`` with a Latin ``o``).
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from functools import lru_cache
from typing import Any, Callable, Iterable

_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_SERIAL_MIN = (_dt.date(1950, 1, 1) - _EXCEL_EPOCH).days
_SERIAL_MAX = (_dt.date(2100, 12, 31) - _EXCEL_EPOCH).days

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_TABLE = {ord(ch): "-" for ch in _DASHES}
_SPACES = "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u205f\u3000"
_SPACE_TABLE = {ord(ch): " " for ch in _SPACES}
_ZERO_WIDTH = {ord(ch): None for ch in "\u200b\u200c\u200d\u2060\ufeff"}
_TRANSLATE = {**_DASH_TABLE, **_SPACE_TABLE, **_ZERO_WIDTH, ord("ё"): "е", ord("Ё"): "Е"}

_DMY = re.compile(r"(\d{1,2})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})\s*(?:г\.?|года?)?")
_YMD = re.compile(r"(\d{4})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NUMBER = re.compile(r"([+-]?)(\d+(?:[.,]\d+)?|[.,]\d+)")
_GROUPED = re.compile(r"\d{1,3}(?: \d{3})+(?:[.,]\d+)?")
_YEAR_WORDS = re.compile(r"\s*(?:лет|года|год|г\.?)$")

YES_WORDS = frozenset({"да", "д", "+", "✓", "✔", "☑", "✅", "v", "y", "yes", "1", "true",
                       "истина", "есть", "имеется"})
NO_WORDS = frozenset({"нет", "н", "-", "0", "false", "ложь", "no", "n", "✗", "✘", "☐",
                      "отсутствует"})


def clean_spaces(text: str) -> str:
    """Unify exotic spaces and dashes, drop zero-width characters, ``ё`` -> ``е``."""
    return text.translate(_TRANSLATE)


def is_empty(value: Any) -> bool:
    """None, an empty string or only spaces."""
    if value is None:
        return True
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) > 3:
            return False
        return not clean_spaces(stripped).strip()
    return False


def _plain_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------- dates

def _make_date(year: int, month: int, day: int) -> str | None:
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _two_digit_year(year: int) -> int:
    return 2000 + year if year < 70 else 1900 + year


def date_from_serial(serial: float) -> str | None:
    """Excel serial day number (1900 system) -> ISO date, if plausible."""
    if not math.isfinite(serial) or not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        return None
    return (_EXCEL_EPOCH + _dt.timedelta(days=int(serial))).isoformat()


def _date_from_text(text: str) -> str | None:
    s = clean_spaces(text).strip().casefold()
    m = _DMY.fullmatch(s)
    if m:
        day, month, year = int(m.group(1)), int(m.group(3)), m.group(4)
        y = int(year) if len(year) == 4 else _two_digit_year(int(year))
        return _make_date(y, month, day)
    m = _YMD.fullmatch(s)
    if m:
        return _make_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
    return None


_ISO_DAYS: dict[_dt.date, str] = {}  # day -> its ISO text (copies of a school repeat their days)
_ISO_DAYS_MAX = 2048


def _iso_day(day: _dt.date) -> str:
    """``day.isoformat()``, the same text object for the same day (a plain
    ``date`` only: a datetime never equals a date, and is never looked up)."""
    iso = _ISO_DAYS.get(day)
    if iso is None:
        if len(_ISO_DAYS) >= _ISO_DAYS_MAX:
            _ISO_DAYS.clear()
        iso = _ISO_DAYS[day] = day.isoformat()
    return iso


def normalize_date(value: Any) -> Any:
    """-> ISO ``YYYY-MM-DD`` or the raw value."""
    if type(value) is _dt.date:  # what both engines give for a date cell
        return _iso_day(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if _plain_number(value):
        iso = date_from_serial(float(value))
        return iso if iso is not None else value
    if isinstance(value, str):
        iso = _date_from_text(value)
        return iso if iso is not None else value
    return value


# ---------------------------------------------------------------- numbers

def _whole(x: float) -> int | float:
    return int(x) if x.is_integer() else x


def _number_from_text(text: str) -> int | float | None:
    s = clean_spaces(text).strip().casefold()
    s = _YEAR_WORDS.sub("", s).strip()
    if _GROUPED.fullmatch(s):
        s = s.replace(" ", "")
    m = _NUMBER.fullmatch(s)
    if not m:
        return None
    x = float(m.group(1) + m.group(2).replace(",", "."))
    if not math.isfinite(x):
        return None
    return _whole(x)


def normalize_number(value: Any) -> Any:
    """-> int (whole values) or float, or the raw value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _whole(value) if math.isfinite(value) else value
    if isinstance(value, str):
        x = _number_from_text(value)
        return value if x is None else x
    return value


def normalize_level(value: Any) -> Any:
    """Integer levels and scores: 3, 3.0, "3", " 3,0 " -> 3; anything else raw."""
    x = normalize_number(value)
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    return value


# ---------------------------------------------------------------- yes / no

def normalize_yesno(value: Any) -> Any:
    """-> True / False, or the raw value."""
    if isinstance(value, bool):
        return value
    if _plain_number(value):
        if value == 1:
            return True
        if value == 0:
            return False
        return value
    if isinstance(value, str):
        s = clean_spaces(value).strip().casefold().rstrip(".!").strip()
        if s in YES_WORDS:
            return True
        if s in NO_WORDS:
            return False
    return value


# ---------------------------------------------------------------- lists and text

_AROUND_DASH = re.compile(r"\s*-\s*")
_AROUND_PUNCT = re.compile(r"\s*([,:;])\s*")
_IN_PARENS = re.compile(r"\s*([()])\s*")
_QUOTES = "\"'«»„“”‘’`"


# Latin letters that look like Cyrillic ones (a keyboard layout slip: «oчный» with a Latin o).
_HOMOGLYPHS = str.maketrans("aceopxykmthb", "асеорхукмтнв")


@lru_cache(maxsize=8192)
def choice_key(text: str) -> str:
    """Comparison key of a list value (also used for header texts).

    Folds case, spaces, ``ё``, dashes, quotes, trailing dots and Latin
    look-alikes of Cyrillic letters; both sides of a comparison use it."""
    s = clean_spaces(text).casefold().translate(_HOMOGLYPHS)
    s = " ".join(s.split())
    s = s.strip(_QUOTES + " ").rstrip(". ").strip(_QUOTES + " ")
    s = _AROUND_DASH.sub("-", s)
    s = _AROUND_PUNCT.sub(r"\1 ", s).strip()
    return _IN_PARENS.sub(r"\1", s)


@lru_cache(maxsize=256)
def _choice_map(choices: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in choices:
        out.setdefault(choice_key(c), c)
    return out


def normalize_choice(value: Any, choices: Iterable[Any]) -> Any:
    """-> the exact list value matching ``value``, or the raw value.

    Lists of integers (intensity, scores) go through :func:`normalize_level`."""
    options = tuple(choices)
    if options and all(_plain_number(c) for c in options):
        x = normalize_level(value)
        return x if x in options else value
    if not isinstance(value, str):
        return value
    return _choice_map(tuple(str(c) for c in options)).get(choice_key(value), value)


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalize_id(value: Any) -> Any:
    """Codes: trimmed, inner spaces collapsed; a number typed as code becomes text."""
    if isinstance(value, str):
        return " ".join(clean_spaces(value).split())
    if _plain_number(value) and math.isfinite(value):
        return _number_text(value)
    return value


def normalize_text(value: Any) -> Any:
    """Free text: line breaks unified, each end trimmed; numbers and dates as text."""
    if isinstance(value, str):
        if "\n" not in value and "\r" not in value:
            return value.strip()
        text = value.replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()
    if isinstance(value, bool):
        return "да" if value else "нет"
    if _plain_number(value) and math.isfinite(value):
        return _number_text(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return normalize_date(value)
    return value


_SIMPLE = {"date": normalize_date, "number": normalize_number, "integer": normalize_level,
           "yesno": normalize_yesno, "id": normalize_id}


def normalizer(value_type: str, choices: Iterable[Any] | None = None,
               open_list: bool = False) -> Callable[[Any], Any]:
    """A one-argument normaliser for a column, with its list prepared once.

    Choices of an open list are canonicalised when they match a list value
    and otherwise kept as trimmed text."""
    simple = _SIMPLE.get(value_type)
    if simple is not None:
        return simple
    if value_type != "choice":
        return normalize_text
    return _choice_normalizer(tuple(choices or ()), open_list)


@lru_cache(maxsize=512)
def _choice_normalizer(options: tuple, open_list: bool) -> Callable[[Any], Any]:
    if options and all(_plain_number(c) for c in options):
        def number(value: Any) -> Any:  # normalize_choice on a list of integers, checked once
            x = normalize_level(value)
            return x if x in options else value

        return number
    exact = frozenset(str(c) for c in options)
    table = _choice_map(tuple(str(c) for c in options))

    def choice(value: Any) -> Any:
        if type(value) is str:
            if value in exact:
                return value
            found = table.get(choice_key(value))
            if found is not None:
                return found
        return normalize_text(value) if open_list else value

    return choice


def normalize(value: Any, value_type: str, choices: Iterable[Any] | None = None,
              open_list: bool = False) -> Any:
    """Dispatch on a layout value type (see ``xlflow.layout.VALUE_TYPES``)."""
    return normalizer(value_type, choices, open_list)(value)
