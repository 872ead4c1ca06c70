"""What mentor and mentee write into a programme copy: terms and status, the
passport, diagnostics on entry and at the end, the roadmap, the rubric and the
reflection. Part of the sample generator (:mod:`xlflow.writing.sample`).

Everything is a pure function of a seeded ``random.Random``, the layout and the
date ``as_of`` (the day the copies are "collected"): programmes that ended
before it are completed or stopped, the others run or are planned, and the
roadmap marks follow from the dates.
"""
from __future__ import annotations

import calendar
import datetime as dt
import random

from xlflow.layout import Layout
from xlflow.writing.sample_people import Programme, pick

DONE = "выполнено"
PARTLY = "выполнено частично"
POSTPONED = "перенесено"
NOT_DONE = "не выполнено"
PLANNED = "запланировано"

FINISHED = "завершена"
RUNNING = "реализуется"
STOPPED = "прекращена досрочно"
PLANNING = "планируется"

PLAN_DONE = "план мероприятий выполнен в полном объёме"
BY_PARTICIPANTS = "по инициативе наставника или наставляемого (уважительные причины)"
BY_CURATOR = "по инициативе куратора (программа не выполняется)"


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def random_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    if last <= first:
        return first
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def school_year(academic_year: str) -> int:
    """«2025/2026» -> 2025."""
    try:
        return int(academic_year.split("/")[0].strip())
    except ValueError as exc:
        raise ValueError(f"Неверный учебный год «{academic_year}». Укажите его как 2025/2026.") from exc


def default_as_of(academic_year: str) -> dt.date:
    """The day sample copies are "collected": late May of the school year."""
    return dt.date(school_year(academic_year) + 1, 5, 25)


# ------------------------------------------------------------------ terms and status

def plan_terms(rng: random.Random, layout: Layout, prog: Programme, year0: int, as_of: dt.date) -> None:
    """Status, dates, term change and ending reason of ``prog``, consistent with ``as_of``."""
    prog.status = pick(rng, layout, "statuses", {FINISHED: 52, RUNNING: 33, STOPPED: 10, PLANNING: 5})
    sept1 = dt.date(year0, 9, 1)
    if prog.status == PLANNING:
        prog.start = random_day(rng, as_of + dt.timedelta(days=7), as_of + dt.timedelta(days=60))
        prog.planned_end = _end_after(rng, prog.start, rng.randint(4, 11))
    elif prog.status == RUNNING:
        _running_terms(rng, prog, sept1, as_of)
    elif prog.status == FINISHED:
        _finished_terms(rng, prog, sept1, as_of)
    else:
        prog.start = random_day(rng, sept1, dt.date(year0, 12, 15))
        prog.planned_end = _end_after(rng, prog.start, rng.randint(6, 11))
        latest = min(as_of, prog.planned_end) - dt.timedelta(days=20)
        prog.actual_end = random_day(rng, prog.start + dt.timedelta(days=45), latest)
        prog.ending_reason = BY_PARTICIPANTS if rng.random() < 0.6 else BY_CURATOR


def _end_after(rng: random.Random, start: dt.date, months: int) -> dt.date:
    """A planned end about ``months`` months after ``start`` (a few days
    earlier, never under the 3-month minimum)."""
    end = add_months(start, months) - dt.timedelta(days=rng.randint(1, 10))
    return max(end, add_months(start, 3))


def _running_terms(rng: random.Random, prog: Programme, sept1: dt.date, as_of: dt.date) -> None:
    prog.start = random_day(rng, sept1, min(as_of - dt.timedelta(days=40), sept1 + dt.timedelta(days=150)))
    if rng.random() < 0.1:
        prog.term_change = "продлена"
        prog.planned_end = add_months(prog.start, 13) - dt.timedelta(days=rng.randint(0, 20))
        return
    months = rng.randint(4, 11)
    end = _end_after(rng, prog.start, months)
    while end <= as_of and months < 11:
        months += 1
        end = _end_after(rng, prog.start, months)
    if end <= as_of:
        end = add_months(prog.start, 12) - dt.timedelta(days=1)
    prog.planned_end = end


def _finished_terms(rng: random.Random, prog: Programme, sept1: dt.date, as_of: dt.date) -> None:
    """A programme that ran its full term (at least 3 months, unless shortened) before ``as_of``."""
    latest_start = min(sept1 + dt.timedelta(days=80), add_months(as_of, -3) - dt.timedelta(days=7))
    prog.start = random_day(rng, sept1, latest_start)
    if rng.random() < 0.07:
        prog.term_change = "сокращена"
        prog.planned_end = add_months(prog.start, 2) + dt.timedelta(days=rng.randint(0, 15))
        prog.actual_end = prog.planned_end - dt.timedelta(days=rng.randint(0, 7))
    else:
        months = rng.randint(4, 8)
        prog.planned_end = _end_after(rng, prog.start, months)
        while prog.planned_end > as_of - dt.timedelta(days=7) and months > 3:
            months -= 1
            prog.planned_end = _end_after(rng, prog.start, months)
        full_term = add_months(prog.start, 3) - dt.timedelta(days=1)
        prog.actual_end = max(prog.planned_end - dt.timedelta(days=rng.randint(0, 7)), full_term)
    prog.actual_end = min(prog.actual_end, as_of)
    prog.ending_reason = PLAN_DONE


def pair_rows(rng: random.Random, layout: Layout, prog: Programme, people, orders: dict) -> None:
    """The rows of the «Пары и группы» sheet, one per mentee of ``prog``."""
    mentor = people.mentor(prog.mentor_id)
    first = people.mentee(prog.mentee_ids[0])
    if prog.group_type == "группа":
        kind = pick(rng, layout, "kinds", {"групповое": 8, "виртуальное (дистанционное)": 1, "краткосрочное (целеполагающее)": 1})
    else:
        kind = pick(rng, layout, "kinds", {
            "традиционное (один на один)": 45, "краткосрочное (целеполагающее)": 12, "ситуационное": 12,
            "виртуальное (дистанционное)": 10, "реверсивное": 10 if first["category"].startswith("освоение") else 3,
            "скоростное": 4})
    mode = "онлайн" if kind.startswith("виртуальное") else pick(
        rng, layout, "modes", {"очный": 55, "смешанный": 30, "онлайн": 15})
    if mentor["position"].startswith(("заместитель", "руководитель")) and rng.random() < 0.6:
        form = "руководитель образовательной организации – педагог"
    else:
        form = pick(rng, layout, "mentoring_forms", {
            "учитель – учитель": 55, "педагог – педагог": 30, "воспитатель – воспитатель": 5,
            "руководитель образовательной организации – педагог": 3})
    interaction = _interaction_form(rng, layout, first["category"])
    # One order of the head per month fixes the pairs that start in that month.
    date = prog.start.replace(day=1) - dt.timedelta(days=1)
    if date not in orders:
        orders[date] = f"{100 + 7 * len(orders) + rng.randint(0, 6)}-о"
    number = orders[date]
    for mentee_id in prog.mentee_ids:
        row = {
            "group_id": prog.group_id, "group_type": prog.group_type, "mentor_id": prog.mentor_id,
            "mentee_id": mentee_id, "mentoring_form": form, "kind": kind, "mode": mode,
            "start_date": prog.start.isoformat(), "planned_end_date": prog.planned_end.isoformat(),
            "order_number": number, "order_date": date.isoformat(),
            "participants_consent": True,
        }
        if interaction:
            row["interaction_form"] = interaction
        if prog.term_change != "нет":
            row["term_change"] = prog.term_change  # the curator marks it in the registry too
        prog.rows.append(row)


def _interaction_form(rng: random.Random, layout: Layout, category: str) -> str | None:
    if rng.random() < 0.2:
        return None
    by_category = {
        "молодой": ("опытный педагог – молодой специалист", "опытный классный руководитель – молодой специалист"),
        "адаптация": ("опытный предметник – неопытный предметник",),
        "эмоциональное": ("лидер педагогического сообщества – педагог, испытывающий проблемы",),
        "освоение": ("педагог-новатор – консервативный педагог",),
    }
    for prefix, forms in by_category.items():
        if category.startswith(prefix):
            value = rng.choice(forms)
            return pick(rng, layout, "interaction_forms", {value: 1})
    return pick(rng, layout, "interaction_forms")
