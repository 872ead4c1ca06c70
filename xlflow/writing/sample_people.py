"""Banks of fictional mentors and mentees and the plan of pairs and groups.

Part of the sample generator (:mod:`xlflow.writing.sample`): pure functions of a
seeded ``random.Random`` and the layout; every choice value comes from the
lists of ``programme.json``. Limits of the domain hold on the result: a mentor
runs at most 4 programmes (mostly 1–3), a mentee takes part in at most 2, a
group has 2–4 mentees, a young specialist has 0–3 years of experience.
"""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from functools import lru_cache

from xlflow.layout import Layout
from xlflow.writing import fakedata

MENTOR_MAX = 4
MENTEE_MAX = 2

YOUNG = "молодой специалист (стаж 0–3 года)"
ADAPTATION = "адаптация на новом месте работы"
BURNOUT = "эмоциональное выгорание, хроническая усталость"
ICT = "освоение современных программ, цифровых навыков, ИКТ"

# Mentee category -> (weight, directions where such mentees usually have deficits).
CATEGORY_PROFILE = {
    YOUNG: (45, ("Предметно-профессиональное", "Психолого-педагогическое (обучающиеся и родители)",
                 "Учебно-методическое (содержание, методики, технологии)", "Нормативное правовое")),
    ADAPTATION: (25, ("Нормативное правовое", "Внеурочная и воспитательная деятельность",
                      "Психолого-педагогическое (обучающиеся и родители)", "Обучение детей с ОВЗ")),
    BURNOUT: (15, ("Здоровьесбережение обучающихся", "Психолого-педагогическое (обучающиеся и родители)",
                   "Научно-теоретическое")),
    ICT: (15, ("ИКТ-компетенции", "Цифровизация образования", "Обучение одарённых детей")),
}

YOUNG_EXPERIENCE = (0, 0.5, 1, 1.5, 2, 2.5, 3)


def pick(rng: random.Random, layout: Layout, list_name: str, weights: dict | None = None):
    """A value of the layout list ``list_name``; ``weights`` (value -> weight) must
    name only values of that list, so a changed layout fails loudly."""
    if not weights:
        return rng.choice(layout.lists[list_name])
    keys = tuple(weights)
    cumulative = _cumulative(list_name, tuple(layout.lists[list_name]), keys, tuple(weights.values()))
    # what rng.choices(keys, weights)[0] does, without rebuilding the sums every call
    return keys[bisect.bisect(cumulative, rng.random() * cumulative[-1], 0, len(keys) - 1)]


@lru_cache(maxsize=None)
def _cumulative(list_name: str, values: tuple, keys: tuple, weights: tuple) -> tuple:
    unknown = [v for v in keys if v not in values]
    if unknown:
        raise ValueError(f"values not in layout list {list_name!r}: {unknown}")
    return tuple(float(w) for w in itertools.accumulate(weights))


def id_width(n: int) -> int:
    return max(3, len(str(n)))


@dataclass
class Programme:
    """One pair or group of the school registry (before its copies are filled)."""

    group_id: str
    group_type: str  # пара | группа
    mentor_id: str
    mentee_ids: list[str]
    direction: str
    rows: list[dict] = field(default_factory=list)  # pairs-sheet rows, one per mentee
    status: str = ""
    term_change: str = "нет"
    start: dt.date | None = None
    planned_end: dt.date | None = None
    actual_end: dt.date | None = None
    ending_reason: str | None = None


@dataclass
class People:
    mentors: list[dict] = field(default_factory=list)
    mentees: list[dict] = field(default_factory=list)
    mentor_load: dict[str, int] = field(default_factory=dict)
    mentee_load: dict[str, int] = field(default_factory=dict)
    mentor_strong: dict[str, list[str]] = field(default_factory=dict)
    mentee_direction: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    by_id: dict[str, dict] = field(default_factory=dict)

    def mentor(self, pid: str) -> dict:
        return self.by_id[pid]

    def mentee(self, pid: str) -> dict:
        return self.by_id[pid]


def _unique_name(rng: random.Random, people: People, female: bool) -> str:
    for _ in range(200):
        name = fakedata.full_name(rng, female)
        if name not in people.names:
            people.names.add(name)
            return name
    raise RuntimeError("ran out of fictional names")  # 57*30*22 combinations per gender


def _position(rng: random.Random, positions: tuple[str, ...] | None = None) -> tuple[str, str]:
    if positions is None:
        position = rng.choices(list(fakedata.POSITIONS), weights=[12, 1, 1, 1, 1, 1])[0]
    else:
        position = rng.choice(positions)
    subjects = fakedata.POSITIONS.get(position, fakedata.POSITIONS["учитель"])
    return position, rng.choice(subjects)


def _consent_date(rng: random.Random, year0: int) -> str:
    return (dt.date(year0, 8, 20) + dt.timedelta(days=rng.randint(0, 20))).isoformat()


def new_mentor(rng: random.Random, layout: Layout, people: People, year0: int, direction: str) -> str:
    pid = f"Н-{len(people.mentors) + 1:03d}"
    experience = rng.randint(8, 38)
    position, subject = _position(rng, fakedata.MENTOR_POSITIONS)
    strong = [direction] + rng.sample([d for d in layout.choices("directions") if d != direction],
                                      rng.randint(1, 2))
    veteran = experience >= 30 and rng.random() < 0.7
    people.mentors.append({
        "id": pid,
        "full_name": _unique_name(rng, people, female=rng.random() < 0.8),
        "position": position,
        "subject": subject,
        "experience_years": experience,
        "qualification": pick(rng, layout, "qualifications", {
            "первая категория": 3, "высшая категория": 5, "педагог-методист": 1, "педагог-наставник": 2}),
        "mentor_category": "ветеран педагогического труда" if veteran else "педагог, желающий передавать опыт",
        "strong_directions": "; ".join(strong),
        "consent": True,
        "consent_date": _consent_date(rng, year0),
    })
    people.by_id[pid] = people.mentors[-1]
    people.mentor_load[pid] = 0
    people.mentor_strong[pid] = strong
    return pid


def _experience(rng: random.Random, category: str):
    if category == YOUNG:
        return rng.choice(YOUNG_EXPERIENCE)
    low, high = {ADAPTATION: (2, 20), BURNOUT: (10, 32), ICT: (5, 35)}[category]
    return rng.randint(low, high)


def new_mentee(rng: random.Random, layout: Layout, people: People, year0: int,
               direction: str | None = None) -> str:
    pid = f"У-{len(people.mentees) + 1:03d}"
    categories = layout.choices("mentee_categories")
    category = pick(rng, layout, "mentee_categories", {c: CATEGORY_PROFILE[c][0] for c in categories})
    if direction is None:
        direction = rng.choice(CATEGORY_PROFILE[category][1])
    position, subject = _position(rng)
    deficit = rng.choice(fakedata.texts(direction)["deficits"])
    people.mentees.append({
        "id": pid,
        "full_name": _unique_name(rng, people, female=rng.random() < 0.78),
        "position": position,
        "subject": subject,
        "experience_years": _experience(rng, category),
        "category": category,
        "request": deficit[0].upper() + deficit[1:],
        "consent": True,
        "consent_date": _consent_date(rng, year0),
    })
    people.by_id[pid] = people.mentees[-1]
    people.mentee_load[pid] = 0
    people.mentee_direction[pid] = direction
    return pid


def choose_mentor(rng: random.Random, layout: Layout, people: People, year0: int, direction: str) -> str:
    """An existing mentor strong in ``direction`` with room (mostly 1–3, rarely 4
    programmes), or a new one."""
    cap = MENTOR_MAX if rng.random() < 0.15 else MENTOR_MAX - 1
    fitting = [pid for pid, strong in people.mentor_strong.items()
               if direction in strong and people.mentor_load[pid] < cap]
    if fitting and rng.random() < 0.6:
        pid = rng.choice(fitting)
    else:
        pid = new_mentor(rng, layout, people, year0, direction)
    people.mentor_load[pid] += 1
    return pid


def choose_mentees(rng: random.Random, layout: Layout, people: People, year0: int,
                   direction: str, size: int, mentor_id: str, taken_with: dict) -> list[str]:
    """``size`` distinct mentees; about one in ten is reused from another
    programme (never twice with the same mentor, never over 2 programmes)."""
    chosen: list[str] = []
    for _ in range(size):
        def fits(pid: str) -> bool:
            load = people.mentee_load[pid]
            return 0 < load < MENTEE_MAX and pid not in chosen and mentor_id not in taken_with.get(pid, ())

        # the full list is built only in the one case in ten it is drawn from
        if any(fits(pid) for pid in people.mentee_load) and rng.random() < 0.1:
            pid = rng.choice([pid for pid in people.mentee_load if fits(pid)])
        else:
            pid = new_mentee(rng, layout, people, year0, direction if size > 1 or rng.random() < 0.7 else None)
        people.mentee_load[pid] += 1
        taken_with.setdefault(pid, set()).add(mentor_id)
        chosen.append(pid)
    return chosen


def group_sizes(rng: random.Random, n_copies: int | None, n_programmes: int | None) -> list[int]:
    """Sizes of the school's programmes: 1 for a pair, 2–4 for a group (about one
    programme in six is a group). With ``n_copies`` the sizes add up to it exactly."""
    sizes: list[int] = []
    if n_copies is not None:
        remaining = n_copies
        while remaining > 0:
            size = rng.randint(2, 4) if remaining >= 2 and rng.random() < 0.17 else 1
            size = min(size, remaining)
            sizes.append(size)
            remaining -= size
        return sizes
    assert n_programmes is not None
    return [rng.randint(2, 4) if rng.random() < 0.17 else 1 for _ in range(n_programmes)]
