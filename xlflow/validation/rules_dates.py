"""Rules about dates: programme length, order of dates, dates inside the programme.

Length: a programme lasts from 3 months to 1 year. The end date counts as a
day of the programme, so 01.09.2025–30.11.2025 is 3 months and
01.09.2025–01.09.2026 is still 1 year. A programme marked «продлена» or
«сокращена» in the passport (field «Изменение срока») may be longer or shorter.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Iterator, Sequence

from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.validation.context import RuleContext, norm_key
from xlflow.validation.messages import format_date
from xlflow.validation.registry import rule

MIN_MONTHS = 3
MAX_MONTHS = 12
ORDER_GRACE_DAYS = 30
EARLIEST_YEAR = 2000
FUTURE_YEARS = 5
EXTENDED, SHORTENED = "продлена", "сокращена"
FINISHED, STOPPED = "завершена", "прекращена досрочно"

DATES_ORDER = register(
    "dates-order", ERROR,
    "Плановая дата окончания ({end}) должна быть позже даты начала ({start}). Исправьте одну из дат.",
    "planned end not after start")
TOO_SHORT = register(
    "programme-too-short", ERROR,
    "Программа длится меньше 3 месяцев ({start} – {end}), а срок программы — от 3 месяцев до 1 года. Исправьте даты или, если срок сокращён по согласию, выберите «сокращена» в поле «Изменение срока» (в паспорте программы или в строке пары).",
    "programme shorter than 3 months")
TOO_LONG = register(
    "programme-too-long", ERROR,
    "Программа длится больше 1 года ({start} – {end}), а срок программы — от 3 месяцев до 1 года. Исправьте даты или, если срок продлён по согласию, выберите «продлена» в поле «Изменение срока» (в паспорте программы или в строке пары).",
    "programme longer than 1 year")
LENGTH_UNUSUAL = register(
    "programme-length-unusual", WARNING,
    "Срок программы {start} – {end} выходит за пределы от 3 месяцев до 1 года. Если срок изменён по обоюдному согласию, выберите «продлена» или «сокращена» в столбце «Изменение срока»; иначе исправьте даты.",
    "registry row with a length outside 3-12 months and no term change marked")
END_BEFORE_START = register(
    "end-before-start", ERROR,
    "Фактическая дата завершения ({end}) раньше даты начала программы ({start}). Исправьте дату.",
    "actual end before the programme start")
ORDER_LATE = register(
    "order-after-start", WARNING,
    "Приказ датирован {order}, позже чем через 30 дней после начала программы ({start}). Пару закрепляют приказом до начала работы: проверьте даты.",
    "order dated long after the start")
IN_FUTURE = register(
    "date-in-future", ERROR,
    "Дата {value} в поле «{field}» ещё не наступила. Укажите дату, когда это уже произошло.",
    "consent or completion dated in the future")
OUTSIDE = register(
    "date-outside-programme", ERROR,
    "Дата {value} в поле «{field}» выходит за сроки программы ({start} – {end}). Перенесите мероприятие в сроки программы или исправьте даты программы.",
    "a roadmap date outside the programme period")
IMPLAUSIBLE = register(
    "implausible-date", WARNING,
    "Дата {value} в поле «{field}» похожа на опечатку (год {year}). Проверьте год.",
    "a year far in the past or future")


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def length_problem(start: dt.date, end: dt.date) -> str | None:
    """TOO_SHORT, TOO_LONG or None for a programme from ``start`` to ``end`` (inclusive)."""
    if end + dt.timedelta(days=1) < add_months(start, MIN_MONTHS):
        return TOO_SHORT
    if end > add_months(start, MAX_MONTHS):
        return TOO_LONG
    return None


def _term_change(ctx: RuleContext, row: dict | None = None) -> str | None:
    """«продлена»/«сокращена» marked in the pair's row of «Пары и группы»
    (where the curator records it) or in the copy's passport."""
    for value in ((row or {}).get("term_change"), ctx.passport.get("term_change")):
        if value in (EXTENDED, SHORTENED):
            return value
    return None


def _allowed(code: str | None, change: str | None) -> bool:
    return code is None or (code == TOO_SHORT and change == SHORTENED) or (code == TOO_LONG and change == EXTENDED)


def _programme_rows(ctx: RuleContext) -> Sequence[tuple[int, dict]]:
    """Rows of this copy's own programme (all rows in a school registry)."""
    rows = ctx.rows("pairs")
    own = norm_key(ctx.section("meta").get("programme_id"))
    if ctx.kind == "programme" and own:
        mine = [(i, r) for i, r in rows if norm_key(r.get("group_id")) == own]
        return mine or rows
    return rows


def programme_period(ctx: RuleContext) -> tuple[dt.date, dt.date] | None:
    """[earliest start, latest of planned and actual end] of this copy's programme."""
    starts, ends = [], []
    for _, row in ctx.shared(_programme_rows):
        start, end = ctx.date(row, "start_date"), ctx.date(row, "planned_end_date")
        if start and end and start < end:
            starts.append(start)
            ends.append(end)
    actual = ctx.date(ctx.passport, "actual_end_date")
    if not starts:
        return None
    return min(starts), max(ends + ([actual] if actual else []))


def _shown(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"start": format_date(start), "end": format_date(end)}


@rule
def pair_dates(ctx: RuleContext) -> Iterator[Problem]:
    seen: set[tuple] = set()
    for i, row in ctx.rows("pairs"):
        start, end = ctx.date(row, "start_date"), ctx.date(row, "planned_end_date")
        if start is None or end is None:
            continue
        key = (norm_key(row.get("group_id")) or i, start, end)
        if key in seen:
            continue  # the other rows of a group: reported once
        seen.add(key)
        path = ("pairs", i, "planned_end_date")
        if end <= start:
            yield ctx.problem(DATES_ORDER, path, **_shown(start, end))
            continue
        code = length_problem(start, end)
        if _allowed(code, _term_change(ctx, row)):
            continue
        yield ctx.problem(LENGTH_UNUSUAL if ctx.kind == "school" else code, path, **_shown(start, end))


@rule
def actual_end(ctx: RuleContext) -> Iterator[Problem]:
    actual = ctx.date(ctx.passport, "actual_end_date")
    rows = [r for _, r in ctx.shared(_programme_rows) if ctx.date(r, "start_date")]
    if actual is None or not rows:
        return
    start = min(ctx.date(r, "start_date") for r in rows)
    path = ("passport", "actual_end_date")
    if actual < start:
        yield ctx.problem(END_BEFORE_START, path, **_shown(start, actual))
        return
    code = length_problem(start, actual)
    if code == TOO_SHORT and ctx.passport.get("status") != FINISHED:
        return  # stopped early or still running: a short span is not a mistake
    if not _allowed(code, _term_change(ctx, rows[0])):
        yield ctx.problem(code, path, **_shown(start, actual))


@rule
def order_date(ctx: RuleContext) -> Iterator[Problem]:
    for i, row in ctx.rows("pairs"):
        start, order = ctx.date(row, "start_date"), ctx.date(row, "order_date")
        if start and order and order > start + dt.timedelta(days=ORDER_GRACE_DAYS):
            yield ctx.problem(ORDER_LATE, ("pairs", i, "order_date"),
                              order=format_date(order), start=format_date(start))


@rule
def dates_not_in_future(ctx: RuleContext) -> Iterator[Problem]:
    for table, key in (("mentors", "consent_date"), ("mentees", "consent_date"), ("roadmap", "done_date")):
        for i, row in ctx.rows(table):
            day = ctx.date(row, key)
            if day and day > ctx.today:
                yield ctx.problem(IN_FUTURE, (table, i, key), value=format_date(day))


@rule
def roadmap_inside_programme(ctx: RuleContext) -> Iterator[Problem]:
    period = programme_period(ctx)
    if period is None:
        return
    first, last = period
    for i, row in ctx.rows("roadmap"):
        for key in ("due_date", "done_date"):
            day = ctx.date(row, key)
            if day and not first <= day <= last:
                yield ctx.problem(OUTSIDE, ("roadmap", i, key), value=format_date(day),
                                  start=format_date(first), end=format_date(last))


def _odd_year_dates(ctx: RuleContext, latest: int) -> list[tuple[tuple, dt.date]]:
    """Every ISO date value of the passport and the dated tables (in record
    order) whose year is before EARLIEST_YEAR or after ``latest``. A value whose
    first four characters already lie between those years (as text: ASCII
    digits compare like numbers) needs no parsing: it cannot be such a date."""
    low, high = f"{EARLIEST_YEAR:04d}", f"{latest:04d}"
    if len(low) != 4 or len(high) != 4:
        low, high = "~", ""  # no shortcut: parse every value
    rows: list[tuple[tuple, dict]] = [(("passport",), ctx.passport)]
    for table in _DATED_TABLES:
        rows += [((table, i), row) for i, row in ctx.rows(table)]
    found: list[tuple[tuple, dt.date]] = []
    for prefix, row in rows:  # one loop over every value (no call per row)
        for key, value in row.items():
            if (type(value) is str or isinstance(value, str)) and len(value) == 10 \
                    and not low <= value[:4] <= high:  # almost never
                day = ctx.day(value)
                if day and (day.year < EARLIEST_YEAR or day.year > latest):
                    found.append(((*prefix, key), day))
    return found


_DATED_TABLES = ("mentors", "mentees", "pairs", "roadmap")


@rule
def plausible_years(ctx: RuleContext) -> Iterator[Problem]:
    for path, day in _odd_year_dates(ctx, ctx.today.year + FUTURE_YEARS):
        yield ctx.problem(IMPLAUSIBLE, path, value=format_date(day), year=day.year)
