"""Property-based tests of the value normalisers (xlflow.reading.normalize)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xlflow.layout import load_layout
from xlflow.reading.normalize import (NO_WORDS, YES_WORDS, choice_key, is_empty, normalize,
                                      normalize_choice, normalize_date, normalize_id,
                                      normalize_level, normalize_number, normalize_text,
                                      normalize_yesno, normalizer)

FAST = settings(max_examples=100, deadline=None)

LAYOUT = load_layout()
TEXT_LISTS = {k: v for k, v in LAYOUT.lists.items() if all(isinstance(x, str) for x in v)}
ALL_CHOICES = [(name, value) for name, values in TEXT_LISTS.items() for value in values]

dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31))
any_value = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=30), dates)
pad = st.sampled_from(["", " ", "  ", "\u00a0", "\t"])
DASHES = ["-", "\u2013", "\u2014", "\u2212", " - ", " \u2014 "]


# ---------------------------------------------------------------- dates

@FAST
@given(dates, pad, pad)
def test_date_formats_read_back(day, left, right):
    iso = day.isoformat()
    texts = [
        f"{day.day:02d}.{day.month:02d}.{day.year}",
        f"{day.day}.{day.month}.{day.year}",
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day:02d}-{day.month:02d}-{day.year}",
        f"{day.day:02d} . {day.month:02d} . {day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year} г.",
        iso,
        f"{iso} 00:00:00",
    ]
    for text in texts:
        assert normalize_date(left + text + right) == iso, text
    assert normalize_date(day) == iso
    assert normalize_date(dt.datetime(day.year, day.month, day.day, 13, 5)) == iso


@FAST
@given(st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2069, 12, 31)))
def test_two_digit_years(day):
    assert normalize_date(f"{day.day}.{day.month}.{day.year % 100:02d}") == day.isoformat()


@FAST
@given(dates)
def test_excel_serial_numbers(day):
    serial = (day - dt.date(1899, 12, 30)).days
    assert normalize_date(serial) == day.isoformat()
    assert normalize_date(float(serial) + 0.25) == day.isoformat()


@FAST
@given(any_value)
def test_date_idempotent(value):
    once = normalize_date(value)
    assert normalize_date(once) == once


impossible_days = st.one_of(
    st.tuples(st.integers(32, 99), st.integers(1, 12)),
    st.tuples(st.integers(1, 31), st.integers(13, 99)),
    st.tuples(st.integers(30, 31), st.just(2)),
    st.tuples(st.just(31), st.sampled_from([4, 6, 9, 11])),
)


@FAST
@given(impossible_days, st.integers(min_value=1950, max_value=2100))
def test_impossible_dates_stay_raw(day_month, year):
    day, month = day_month
    text = f"{day:02d}.{month:02d}.{year}"
    assert normalize_date(text) is text


@pytest.mark.parametrize("raw", ["32.13.2025", "завтра", "2025", "01.09", "1.9.202", 2025, -3, True])
def test_unreadable_dates_unchanged(raw):
    assert normalize_date(raw) is raw


# ---------------------------------------------------------------- numbers

decimals = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@FAST
@given(decimals, pad, pad)
def test_number_text_round_trip(value, left, right):
    expected = float(value)
    text = f"{value:f}"
    assert normalize_number(left + text + right) == expected
    assert normalize_number(left + text.replace(".", ",") + right) == expected


@FAST
@given(st.integers(min_value=1000, max_value=10**9))
def test_thousands_separators(n):
    grouped = f"{n:,}".replace(",", " ")
    assert normalize_number(grouped) == n
    assert normalize_number(grouped.replace(" ", "\u00a0")) == n


@FAST
@given(st.integers(min_value=0, max_value=60), st.sampled_from(["лет", "год", "года", " лет", "г."]))
def test_year_words_dropped(n, word):
    assert normalize_number(f"{n} {word}") == n


@FAST
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_whole_floats_become_int(x):
    out = normalize_number(x)
    assert out == x
    assert isinstance(out, int) == x.is_integer()


@FAST
@given(any_value)
def test_number_idempotent(value):
    once = normalize_number(value)
    assert normalize_number(once) == once


@FAST
@given(st.text(alphabet="абвгдежзийклмнопрстуфхцчшщъыьэюяxyz ", max_size=20))
def test_text_without_digits_unchanged(text):
    assert normalize_number(text) is text


def test_booleans_are_not_numbers():
    assert normalize_number(True) is True
    assert normalize_level(True) is True


@FAST
@given(st.integers(min_value=0, max_value=3), pad, pad)
def test_levels(n, left, right):
    for form in (n, float(n), str(n), f"{n},0", f"{n}.0"):
        value = left + form + right if isinstance(form, str) else form
        assert normalize_level(value) == n
        assert type(normalize_level(value)) is int
    assert normalize_level(n + 0.5) == n + 0.5


# ---------------------------------------------------------------- yes / no

def _case_variants(word: str) -> list[str]:
    return [word, word.upper(), word.capitalize()]


@FAST
@given(st.sampled_from(sorted(YES_WORDS)), pad, pad, st.sampled_from(["", "."]))
def test_yes_words(word, left, right, dot):
    for variant in _case_variants(word):
        assert normalize_yesno(left + variant + dot + right) is True


@FAST
@given(st.sampled_from(sorted(NO_WORDS)), pad, pad)
def test_no_words(word, left, right):
    for variant in _case_variants(word):
        assert normalize_yesno(left + variant + right) is False


def test_yesno_typed_values():
    assert normalize_yesno(True) is True and normalize_yesno(False) is False
    assert normalize_yesno(1) is True and normalize_yesno(0.0) is False
    assert normalize_yesno("\u2013") is False  # en dash typed as "no"
    assert normalize_yesno(2) == 2


@FAST
@given(st.text(max_size=12))
def test_yesno_unknown_unchanged(text):
    key = text.strip().casefold().rstrip(".!").strip()
    assume(key not in YES_WORDS | NO_WORDS and key.replace("\u2013", "-") not in NO_WORDS)
    assume(not any(ch in text for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"))
    assert normalize_yesno(text) is text


@FAST
@given(any_value)
def test_yesno_idempotent(value):
    once = normalize_yesno(value)
    assert normalize_yesno(once) == once


# ---------------------------------------------------------------- choice lists

@st.composite
def mangled(draw, value: str) -> str:
    """A list value as a person might type it."""
    out = []
    for ch in value:
        if ch == " ":
            out.append(draw(st.sampled_from([" ", "  ", "\u00a0"])))
        elif ch in "-\u2013\u2014":
            out.append(draw(st.sampled_from(DASHES)))
        elif ch.isalpha():
            out.append(draw(st.sampled_from([ch.lower(), ch.upper()])))
        else:
            out.append(ch)
    text = "".join(out).replace("ё", draw(st.sampled_from(["ё", "е"])))
    return draw(pad) + text + draw(st.sampled_from(["", ".", " ."])) + draw(pad)


@FAST
@given(st.data(), st.sampled_from(ALL_CHOICES))
def test_choice_found_whatever_the_typing(data, item):
    name, value = item
    typed = data.draw(mangled(value))
    assert normalize_choice(typed, TEXT_LISTS[name]) == value


@FAST
@given(st.sampled_from(sorted(TEXT_LISTS)), st.text(max_size=25))
def test_unknown_choice_unchanged(name, text):
    keys = {choice_key(v) for v in TEXT_LISTS[name]}
    assume(choice_key(text) not in keys)
    assert normalize_choice(text, TEXT_LISTS[name]) is text


@FAST
@given(st.sampled_from(sorted(TEXT_LISTS)), any_value)
def test_choice_idempotent(name, value):
    once = normalize_choice(value, TEXT_LISTS[name])
    assert normalize_choice(once, TEXT_LISTS[name]) == once


@FAST
@given(st.integers(min_value=0, max_value=3), pad)
def test_integer_lists(n, left):
    assert normalize_choice(left + str(n), LAYOUT.lists["intensity"]) == n
    assert normalize_choice(float(n), LAYOUT.lists["intensity"]) == n
    assert normalize_choice("4", LAYOUT.lists["intensity"]) == "4"


@FAST
@given(st.sampled_from(sorted(LAYOUT.lists)), st.booleans(), st.one_of(any_value, st.sampled_from(ALL_CHOICES)))
def test_column_normalizer_matches_the_functions(name, open_list, value):
    """The prepared per-column normaliser (fast path) gives what the plain functions give."""
    if isinstance(value, tuple):
        value = value[1].upper()
    choices = LAYOUT.lists[name]
    expected = normalize_choice(value, choices)
    if open_list and expected is value and not all(isinstance(c, int) for c in choices):
        expected = normalize_text(value)
    assert normalizer("choice", choices, open_list)(value) == expected


def test_latin_look_alikes_in_list_values():
    assert normalize_choice("oчный", LAYOUT.lists["modes"]) == "очный"  # Latin o
    assert normalize_choice("ПEДАГОГ - ПEДАГОГ", LAYOUT.lists["mentoring_forms"]) == "педагог – педагог"
    assert normalize_choice("Bыполнено", LAYOUT.lists["completion_marks"]) == "выполнено"


def test_open_list_keeps_own_text_trimmed():
    assert normalize("  своё мероприятие ", "choice", LAYOUT.lists["event_forms"], open_list=True) \
        == "своё мероприятие"
    assert normalize(" Мастер-Класс.", "choice", LAYOUT.lists["event_forms"], open_list=True) == "мастер-класс"
    assert normalize(" чужое ", "choice", LAYOUT.lists["modes"]) == " чужое "


# ---------------------------------------------------------------- ids and text

@FAST
@given(st.text(max_size=20), pad, pad)
def test_ids_stripped(text, left, right):
    out = normalize_id(left + text + right)
    assert out == out.strip()
    assert "  " not in out
    assert normalize_id(out) == out


def test_numeric_ids_become_text():
    assert normalize_id(17) == "17"
    assert normalize_id(17.0) == "17"
    assert normalize_id(" Н-001 ") == "Н-001"


@FAST
@given(any_value)
def test_text_idempotent(value):
    once = normalize_text(value)
    assert normalize_text(once) == once


def test_text_keeps_inner_lines():
    assert normalize_text("  первая \r\n вторая  ") == "первая\n вторая"
    assert normalize_text(2.5) == "2.5"
    assert normalize_text(dt.date(2025, 9, 1)) == "2025-09-01"


@pytest.mark.parametrize("value,empty", [(None, True), ("", True), ("  \u00a0", True), (0, False),
                                         (False, False), ("0", False)])
def test_is_empty(value, empty):
    assert is_empty(value) is empty


def test_folded_keys_keep_list_values_and_headers_apart():
    """Folding (case, ё, dashes, look-alikes) never makes two values of one list or two headers equal."""
    from xlflow.reading.programme import header_key

    for name, values in LAYOUT.lists.items():
        keys = [choice_key(str(v)) for v in values]
        assert len(set(keys)) == len(keys), name
    for table in LAYOUT.tables:
        keys = [header_key(c.header) for c in table.columns]
        assert len(set(keys)) == len(keys), table.key


def test_date_cells_read_as_their_own_day_past_the_kept_texts():
    """A date cell's ISO text is kept per day and shared; more days than are
    kept, read twice over, still give each day its own text (never a datetime's)."""
    from xlflow.reading import normalize as N

    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(N._ISO_DAYS_MAX + 50)]
    for _ in range(2):
        assert [normalize(d, "date") for d in days] == [d.isoformat() for d in days]
    assert normalize(dt.datetime(2025, 9, 1, 0, 0), "date") == "2025-09-01"
    assert normalize(dt.datetime(2025, 9, 1, 13, 5), "date") == "2025-09-01"
    assert normalize(days[0], "date") is normalize(dt.date(2020, 1, 1), "date")


def test_schema_date_format_check_is_the_same_on_every_call():
    from xlflow.validation.schema import _is_iso_date

    values = ["2025-09-01", "2025-02-30", "2025-9-1", "01.09.2025", "2024-02-29", "2025-02-29"] * 2
    assert [_is_iso_date(v) for v in values] == [True, False, False, False, True, False] * 2
