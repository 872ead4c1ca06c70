"""The filled sheets of one sample programme copy: passport, diagnostics,
roadmap, rubric and reflection (part of :mod:`xlflow.writing.sample`).

Pure functions of a seeded ``random.Random``: values of choice cells come from
the layout lists, texts from :mod:`xlflow.writing.fakedata`, dates from the
programme's terms and the collection day ``as_of``.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from xlflow.layout import Layout
from xlflow.writing import fakedata
from xlflow.writing.sample_fill import (
    DONE, FINISHED, NOT_DONE, PARTLY, PLANNED, PLANNING, POSTPONED, RUNNING, STOPPED, random_day,
)
from xlflow.writing.sample_people import Programme, pick


@dataclass(frozen=True)
class Diagnosis:
    """A mentee's deficits and strengths on entry: direction -> intensity 1..3."""

    deficits: dict[str, int]
    strengths: dict[str, int]

    @property
    def priorities(self) -> list[str]:
        """Deficits of intensity 2 or 3, strongest first."""
        return [d for d, lv in sorted(self.deficits.items(), key=lambda kv: -kv[1]) if lv >= 2]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


# ------------------------------------------------------------------- diagnostics

def diagnose(rng: random.Random, layout: Layout, main_direction: str) -> Diagnosis:
    directions = layout.choices("directions")
    others = [d for d in directions if d != main_direction]
    extra = rng.sample(others, rng.randint(1, 4))
    deficits = {main_direction: rng.choice((2, 3, 3))}
    for d in extra:
        deficits[d] = rng.choice((1, 1, 2, 2, 3))
    free = [d for d in directions if d not in deficits]
    strengths = {d: rng.choice((1, 2, 2, 3)) for d in rng.sample(free, rng.randint(1, 3))}
    return Diagnosis(deficits, strengths)


def final_level(rng: random.Random, entry: int) -> int:
    """Intensity at the end: mostly lower than on entry, rarely higher."""
    change = rng.choices((-3, -2, -1, 0, 1), weights=(4, 30, 45, 16, 5))[0]
    return max(0, min(3, entry + change))


def diagnostics_rows(rng: random.Random, layout: Layout, diag: Diagnosis,
                     with_final: bool) -> tuple[list[dict], dict[str, int]]:
    """Diagnostics items (entry, and final when the programme ended) in sheet
    order (stage, aspect, direction column), and the final deficit levels."""
    rows, finals = _diagnostics_items(rng, diag, with_final)
    stages = {"entry": 0, "final": 1}
    aspects = {"strength": 0, "deficit": 1}
    columns = {d: i for i, d in enumerate(layout.directions())}
    rows.sort(key=lambda r: (stages[r["stage"]], aspects[r["aspect"]], columns.get(r["direction"], len(columns))))
    return rows, finals


def _diagnostics_items(rng: random.Random, diag: Diagnosis, with_final: bool) -> tuple[list[dict], dict[str, int]]:
    rows: list[dict] = []
    for direction, level in diag.strengths.items():
        rows.append({"stage": "entry", "aspect": "strength", "direction": direction,
                     "description": _cap(rng.choice(fakedata.texts(direction)["strengths"])), "level": level})
    for direction, level in diag.deficits.items():
        rows.append({"stage": "entry", "aspect": "deficit", "direction": direction,
                     "description": _cap(rng.choice(fakedata.texts(direction)["deficits"])), "level": level})
    finals: dict[str, int] = {}
    if not with_final:
        return rows, finals
    for direction, level in diag.strengths.items():
        rows.append({"stage": "final", "aspect": "strength", "direction": direction,
                     "description": "Сильная сторона сохранена и использована в работе",
                     "level": min(3, level + rng.choice((0, 0, 1)))})
    for direction, level in diag.deficits.items():
        finals[direction] = final_level(rng, level)
        rows.append({"stage": "final", "aspect": "deficit", "direction": direction,
                     "description": rng.choice(fakedata.PROGRESS_PHRASES), "level": finals[direction]})
    return rows, finals


# ---------------------------------------------------------------------- passport

def programme_terms(rng: random.Random, prog: Programme, people) -> dict:
    """Passport fields a programme has once, whatever copy: a group's copies all
    carry the same schedule, conditions, common part, status and terms."""
    mentor = people.mentor(prog.mentor_id)
    out = {
        "programme_id": prog.group_id,
        "main_direction": prog.direction,
        "content": (f"Наставник ({mentor['full_name']}) консультирует, посещает уроки и помогает "
                    f"спланировать мероприятия; наставляемый выполняет дорожную карту и делает отметки о выполнении."),
        "meeting_schedule": (f"{rng.choice(fakedata.MEETING_DAYS)}, {rng.choice(fakedata.MEETING_TIMES)}, "
                             f"{rng.choice(fakedata.MEETING_RHYTHMS)}"),
        "conditions": rng.choice(fakedata.CONDITIONS),
        "status": prog.status,
        "term_change": prog.term_change,
    }
    if prog.group_type == "группа":
        out["group_common_part"] = (f"Общие встречи группы с наставником: семинар-практикум по направлению "
                                    f"«{prog.direction}», взаимопосещение уроков, итоговый круглый стол.")
    if prog.actual_end is not None:
        out["actual_end_date"] = prog.actual_end.isoformat()
        out["ending_reason"] = prog.ending_reason
    return out


def passport(rng: random.Random, prog: Programme, diag: Diagnosis, identity: dict, terms: dict) -> dict:
    """The passport of one copy: the programme's ``terms`` and this mentee's module."""
    main = prog.direction
    bank = fakedata.texts(main)
    second = [d for d in diag.priorities if d != main][:1]
    problem = f"Затруднения: {diag_text(rng, main)}."
    if second:
        problem += f" Дополнительно: {diag_text(rng, second[0])}."
    tasks = [f"1. Провести входную диагностику и уточнить дефициты по направлению «{main}»."]
    tasks.append(f"2. {_cap(rng.choice(bank['topics']))}.")
    tasks.append("3. Применить освоенные приёмы в собственной практике и обсудить результаты с наставником.")
    if second:
        tasks.append(f"4. Уменьшить затруднения по направлению «{second[0]}».")
    return {
        **identity,
        **terms,
        "problem": problem,
        "goal": f"Развить {bank['skill']} к концу программы.",
        "tasks": "\n".join(tasks),
        "desired_image": f"{rng.choice(fakedata.IMAGE_OPENINGS)} {rng.choice(fakedata.IMAGE_ENDINGS)}.",
        "intermediate_results": f"{bank['result']} (промежуточный отчёт на заседании ШМО).",
        "planned_results": f"Снижение интенсивности дефицита по направлению «{main}» не менее чем на 1 балл.",
    }


def diag_text(rng: random.Random, direction: str) -> str:
    return rng.choice(fakedata.texts(direction)["deficits"])


# ----------------------------------------------------------------------- roadmap

def roadmap(rng: random.Random, layout: Layout, prog: Programme, diag: Diagnosis,
            as_of: dt.date, co_executor: str) -> list[dict]:
    """5–25 activities inside the programme's terms, marked as of ``as_of``."""
    n = rng.randint(5, 25)
    dirs = list(diag.deficits) + list(diag.strengths)
    weights = [4 if d == prog.direction else (2 if d in diag.deficits else 1) for d in dirs]
    last = prog.actual_end if prog.status == FINISHED and prog.actual_end else prog.planned_end
    dues = sorted(random_day(rng, prog.start, last) for _ in range(n))
    items = []
    for due in dues:
        direction = rng.choices(dirs, weights=weights)[0]
        items.append(_activity(rng, layout, prog, direction, due, as_of, co_executor))
    return items


def _activity(rng: random.Random, layout: Layout, prog: Programme, direction: str,
              due: dt.date, as_of: dt.date, co_executor: str) -> dict:
    bank = fakedata.texts(direction)
    topic = rng.choice(bank["topics"])
    kinds, forms, participation, reports = fakedata.activity_rule(topic)
    item = {
        "direction": direction,
        "activity_kind": pick(rng, layout, "activity_kinds", dict.fromkeys(kinds, 1)),
        "event_form": pick(rng, layout, "event_forms", dict.fromkeys(forms, 1)),
        "topic": topic,
        "due_date": due.isoformat(),
        "place": rng.choice(fakedata.PLACES).format(room=rng.randint(101, 315), town="района",
                                                   n=rng.randint(2, 40)),
        "expected_results": bank["result"],
        "participation_form": pick(rng, layout, "participation_forms", dict.fromkeys(participation, 1)),
        "reporting_form": pick(rng, layout, "reporting_forms", dict.fromkeys(reports, 1)),
    }
    if rng.random() < 0.25:
        item["co_executors"] = co_executor
    _mark(rng, layout, prog, item, due, as_of)
    return item


def _mark(rng: random.Random, layout: Layout, prog: Programme, item: dict, due: dt.date, as_of: dt.date) -> None:
    """Completion mark, done date, significance and evaluation of one activity."""
    end = prog.actual_end or prog.planned_end
    if prog.status == PLANNING or due > as_of:
        if rng.random() < 0.7:
            item["completion"] = PLANNED
        return
    if prog.status == STOPPED and due > end:
        item["completion"] = NOT_DONE
        return
    weights = {DONE: 76, PARTLY: 9, POSTPONED: 6, NOT_DONE: 4, PLANNED: 5}
    if prog.status == FINISHED:
        weights = {DONE: 85, PARTLY: 9, POSTPONED: 3, NOT_DONE: 3}
    mark = pick(rng, layout, "completion_marks", weights)
    item["completion"] = mark
    if mark in (DONE, PARTLY):
        latest = min(as_of, end, due + dt.timedelta(days=6))
        item["done_date"] = random_day(rng, max(prog.start, due - dt.timedelta(days=3)), latest).isoformat()
        item["significance"] = _significance(rng, item["direction"])
        if rng.random() < 0.8:
            item["evaluation"] = pick(rng, layout, "evaluations", {
                "очень полезно": 4, "полезно": 5, "частично полезно": 2, "бесполезно": 0.3})


def _significance(rng: random.Random, direction: str) -> str:
    return rng.choice((
        f"Уменьшен дефицит: {diag_text(rng, direction)}",
        f"Развито: {fakedata.texts(direction)['skill']}",
    ))


# ------------------------------------------------------------------------ rubric

def rubric(rng: random.Random, status: str) -> list[dict]:
    """Nine indicator scores whose total lands in a chosen level (spread over all three)."""
    if status == STOPPED:
        level_weights = (1, 3, 5)
    else:
        level_weights = (6, 4, 1)
    low, high = rng.choices(((15, 18), (9, 14), (0, 8)), weights=level_weights)[0]
    total = rng.randint(max(low, 3), high)
    scores = [2] * 9
    while sum(scores) > total:
        i = rng.choice([k for k, s in enumerate(scores) if s > 0])
        scores[i] -= 1
    rows = []
    for n, score in enumerate(scores, start=1):
        row = {"indicator": n, "score": score}
        if rng.random() < 0.15:
            row["comment"] = rng.choice(fakedata.RUBRIC_COMMENTS)
        rows.append(row)
    return rows


def rubric_filled(rng: random.Random, status: str) -> bool:
    if status in (FINISHED, STOPPED):
        return True
    return status == RUNNING and rng.random() < 0.5


# -------------------------------------------------------------------- reflection

def reflection(rng: random.Random, diag: Diagnosis, finals: dict[str, int]) -> list[dict]:
    """One row per priority deficit of the entry diagnostics."""
    rows = []
    for direction in diag.priorities:
        final = finals.get(direction, diag.deficits[direction])
        row = {
            "direction": direction,
            "achieved": f"{rng.choice(fakedata.PROGRESS_PHRASES)} Развито: {fakedata.texts(direction)['skill']}.",
            "carry_over": final >= 2,
        }
        if final > 0:
            row["remaining"] = rng.choice(fakedata.REMAINING_PHRASES)
        if rng.random() < 0.3:
            row["comment"] = rng.choice(fakedata.EVALUATIONS_TEXT)
        rows.append(row)
    return rows
