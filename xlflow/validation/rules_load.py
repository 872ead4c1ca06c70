"""Load limits: a mentor runs at most 4 programmes at once, a mentee takes part
in at most 2. A programme (one pair/group code) runs from its start date to its
planned end date; programmes running on the same day count together."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from xlflow.problems import ERROR, Problem, register
from xlflow.validation.context import RuleContext, norm_key
from xlflow.validation.messages import format_value, quote_list
from xlflow.validation.registry import rule

MENTOR_LIMIT = 4
MENTEE_LIMIT = 2

MENTOR_OVERLOAD = register(
    "mentor-overload", ERROR,
    "Наставник «{value}» ведёт одновременно {count} программ(ы): {groups}. Наставник может вести не больше 4 программ сразу: измените сроки или передайте программу другому наставнику.",
    "a mentor in more than 4 programmes at once")
MENTEE_OVERLOAD = register(
    "mentee-overload", ERROR,
    "Наставляемый «{value}» участвует одновременно в {count} программах: {groups}. Наставляемый может участвовать не больше чем в 2 программах сразу: измените сроки или состав пар.",
    "a mentee in more than 2 programmes at once")


@dataclass(frozen=True)
class Span:
    group: str  # as typed
    start: dt.date
    end: dt.date
    index: int  # first row of the person in this programme


def _dated(ctx: RuleContext, person_key: str) -> Iterator[tuple[int, dict, str, dt.date, dt.date]]:
    """(index, row, person, start, end) of the pair rows with a person and readable, ordered dates."""
    for i, row in ctx.rows("pairs"):
        person = norm_key(row.get(person_key))
        start, end = ctx.date(row, "start_date"), ctx.date(row, "planned_end_date")
        if person and start is not None and end is not None and end >= start:
            yield i, row, person, start, end


def _spans(ctx: RuleContext, person_key: str, limit: int = 0) -> dict[str, dict[str, Span]]:
    """person -> programme key -> Span, for rows with readable, ordered dates,
    of the people with more than ``limit`` such rows (fewer rows cannot make
    more than ``limit`` programmes: a registry's 10,000 mentees then cost a
    count each, not a dict of spans)."""
    rows_of = Counter(person for _, _, person, _, _ in _dated(ctx, person_key))
    out: dict[str, dict[str, Span]] = {}
    for i, row, person, start, end in _dated(ctx, person_key):
        if rows_of[person] <= limit:
            continue
        group = norm_key(row.get("group_id")) or f"#row{i}"
        shown = row.get("group_id") if isinstance(row.get("group_id"), str) else f"строка {i + 1}"
        out.setdefault(person, {}).setdefault(group, Span(shown, start, end, i))
    return out


def busiest(spans: list[Span]) -> list[Span]:
    """The largest set of spans running on one common day (at some span's start)."""
    best: list[Span] = []
    for s in sorted(spans, key=lambda x: (x.start, x.index)):
        running = [t for t in spans if t.start <= s.start <= t.end]
        if len(running) > len(best):
            best = running
    return sorted(best, key=lambda x: (x.start, x.index))


def _overloads(ctx: RuleContext, person_key: str, limit: int, code: str) -> Iterator[Problem]:
    for spans in _spans(ctx, person_key, limit).values():
        if len(spans) <= limit:  # the busiest day holds some of these programmes at most
            continue
        running = busiest(list(spans.values()))
        if len(running) <= limit:
            continue
        latest = max(running, key=lambda x: (x.start, x.index))
        row = dict(ctx.rows("pairs"))[latest.index]
        yield ctx.problem(code, ("pairs", latest.index, person_key), value=format_value(row[person_key]),
                          count=len(running), groups=quote_list([s.group for s in running], limit=10))


@rule
def mentor_load(ctx: RuleContext) -> Iterator[Problem]:
    yield from _overloads(ctx, "mentor_id", MENTOR_LIMIT, MENTOR_OVERLOAD)


@rule
def mentee_load(ctx: RuleContext) -> Iterator[Problem]:
    yield from _overloads(ctx, "mentee_id", MENTEE_LIMIT, MENTEE_OVERLOAD)
