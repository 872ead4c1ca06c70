"""Realistic mistakes injected into sample copies (part of :mod:`xlflow.writing.sample`).

Each mistake is what a teacher really does to a copy: a date typed as text in a
wrong way, «много» as years of experience, a typo in a list value, a required
cell left empty, a rubric score 3, «выполнено» without a date, a young
specialist with 7 years, consent «нет», a 14-month programme without a term
change, a mentee code that is not in the bank. Every injected mistake is
recorded (:class:`Mistake`) with the JSON path of the value in the copy's
records, so tests can check that validation finds each of them.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Callable

from xlflow.writing.sample_fill import DONE, add_months

SCHEMA = "schema"  # found by JSON Schema validation of the records
RULES = "rules"    # found by the domain rules


@dataclass(frozen=True)
class Mistake:
    """One injected mistake.

    ``path`` is the JSON path of the value in the copy's records; for
    ``missing-required`` the last element is the key that was removed (a schema
    error then points at the row ``path[:-1]``). ``value`` is the injected value
    (None when a value was removed)."""

    copy_index: int
    group_id: str
    mentee_id: str
    kind: str
    path: tuple
    value: Any
    detected_by: str


@dataclass(frozen=True)
class Target:
    """Where the copy's own person sits: its row in «Пары и группы» and in the bank."""

    row: int
    mentee: int
    year: int


def _own_row(records: dict, mentee_id: str) -> int:
    return next(i for i, r in enumerate(records["pairs"]) if r["mentee_id"] == mentee_id)


def _own_mentee(records: dict, mentee_id: str) -> int:
    return next(i for i, r in enumerate(records["mentees"]) if r["id"] == mentee_id)


def _bad_date(rng: random.Random, year: int) -> str:
    return rng.choice((f"31.02.{year}", f"{year}.13.01", f"30.02.{year}", f"15.13.{year}",
                       f"32.01.{year}", f"{year}-02-30"))


def _typo(rng: random.Random, value: str) -> str:
    """A misspelling that no case/space normalisation can repair."""
    letters = [i for i in range(1, len(value) - 1) if value[i].isalpha()]
    for _ in range(20):
        i = rng.choice(letters)
        if rng.random() < 0.5 and value[i + 1].isalpha() and value[i] != value[i + 1]:
            typo = value[:i] + value[i + 1] + value[i] + value[i + 2:]
        else:
            typo = value[:i] + value[i + 1:]
        if " ".join(typo.split()).casefold() != " ".join(value.split()).casefold():
            return typo
    return value + "ы"


# An injector changes ``records`` in place and returns (path, value), or None when
# it does not apply. ``touched`` holds the rows (path[:2]) already holding a
# mistake: one mistake per row, so mistakes never hide each other.
Injector = Callable[[random.Random, dict, Target, set], "tuple[tuple, Any] | None"]


def _free(paths: list[tuple], touched: set, records: dict | None = None) -> list[tuple]:
    """Paths in untouched rows (and, with ``records``, holding a value)."""
    out = [p for p in paths if p[:2] not in touched]
    if records is not None:
        out = [p for p in out if _get(records, p) is not None]
    return out


def _date_as_text(rng, records, t, touched):
    paths = [("pairs", t.row, "start_date"), ("mentees", t.mentee, "consent_date")]
    paths += [("roadmap", i, k) for i, it in enumerate(records["roadmap"]) for k in ("due_date", "done_date")]
    paths = _free(paths, touched, records)
    if not paths:
        return None
    path = rng.choice(paths)
    return path, _set(records, path, _bad_date(rng, t.year))


def _experience_as_text(rng, records, t, touched):
    paths = _free([("mentees", t.mentee, "experience_years"), ("mentors", 0, "experience_years")], touched)
    if not paths:
        return None
    path = rng.choice(paths)
    return path, _set(records, path, rng.choice(("много", "больше двадцати", "не помню")))


def _list_typo(rng, records, t, touched):
    paths = [("pairs", t.row, k) for k in ("mode", "kind", "mentoring_form")]
    paths += [("mentees", t.mentee, "category"), ("passport", "status")]
    paths += [("roadmap", i, k) for i in range(len(records["roadmap"]))
              for k in ("participation_form", "completion")]
    paths = _free(paths, touched, records)
    if not paths:
        return None
    path = rng.choice(paths)
    return path, _set(records, path, _typo(rng, _get(records, path)))


def _missing_required(rng, records, t, touched):
    paths = [("mentees", t.mentee, "category"), ("mentors", 0, "full_name"), ("pairs", t.row, "mode")]
    paths += [("roadmap", i, k) for i in range(len(records["roadmap"])) for k in ("topic", "due_date")]
    paths = _free(paths, touched, records)
    if not paths:
        return None
    path = rng.choice(paths)
    del _container(records, path)[path[-1]]
    return path, None


def _rubric_score_3(rng, records, t, touched):
    paths = _free([("rubric", i, "score") for i in range(len(records["rubric"]))], touched, records)
    if not paths:
        return None
    path = rng.choice(paths)
    return path, _set(records, path, 3)


def _done_without_date(rng, records, t, touched):
    items = records["roadmap"]
    free = [i for i in range(len(items)) if ("roadmap", i) not in touched]
    done = [i for i in free if items[i].get("completion") == DONE] or free
    if not done:
        return None
    i = rng.choice(done)
    items[i]["completion"] = DONE
    items[i].pop("done_date", None)
    return ("roadmap", i, "done_date"), None


def _young_with_experience(rng, records, t, touched):
    if ("mentees", t.mentee) in touched:
        return None
    mentee = records["mentees"][t.mentee]
    mentee["category"] = "молодой специалист (стаж 0–3 года)"
    mentee["experience_years"] = 7
    return ("mentees", t.mentee, "experience_years"), 7


def _no_consent(rng, records, t, touched):
    paths = _free([("mentees", t.mentee, "consent"), ("mentors", 0, "consent")], touched)
    if not paths:
        return None
    path = rng.choice(paths)
    _container(records, path).pop("consent_date", None)
    return path, _set(records, path, False)


def _too_long(rng, records, t, touched):
    pairs = records["pairs"]
    if ("passport", "term_change") in touched or any(("pairs", i) in touched for i in range(len(pairs))):
        return None
    for row in pairs:
        start = dt.date.fromisoformat(row["start_date"])
        row["planned_end_date"] = add_months(start, 14).isoformat()
        row.pop("term_change", None)
    records["passport"]["term_change"] = "нет"
    touched.update({("pairs", i) for i in range(len(pairs))})
    touched.add(("passport", "term_change"))
    return ("pairs", t.row, "planned_end_date"), pairs[t.row]["planned_end_date"]


def _unknown_mentee(rng, records, t, touched):
    if ("pairs", t.row) in touched:
        return None
    known = {m["id"] for m in records["mentees"]}
    wrong = next(f"У-{n}" for n in range(900, 10_000) if f"У-{n}" not in known)
    records["pairs"][t.row]["mentee_id"] = wrong
    return ("pairs", t.row, "mentee_id"), wrong


# kind -> (injector, how it is found)
KINDS: dict[str, tuple[Injector, str]] = {
    "date-as-text": (_date_as_text, SCHEMA),
    "experience-as-text": (_experience_as_text, SCHEMA),
    "list-typo": (_list_typo, SCHEMA),
    "missing-required": (_missing_required, SCHEMA),
    "rubric-score-3": (_rubric_score_3, SCHEMA),
    "done-without-date": (_done_without_date, RULES),
    "young-specialist-experience": (_young_with_experience, RULES),
    "no-consent": (_no_consent, RULES),
    "programme-too-long": (_too_long, RULES),
    "unknown-mentee": (_unknown_mentee, RULES),
}


def inject(rng: random.Random, records: dict, copy_index: int, group_id: str, mentee_id: str,
           year: int) -> list[Mistake]:
    """Put 1–3 mistakes of different kinds into ``records`` (in place)."""
    target = Target(_own_row(records, mentee_id), _own_mentee(records, mentee_id), year)
    wanted = rng.randint(1, 3)
    kinds = list(KINDS)
    rng.shuffle(kinds)
    touched: set = set()
    out: list[Mistake] = []
    for kind in kinds:
        if len(out) == wanted:
            break
        injector, found_by = KINDS[kind]
        result = injector(rng, records, target, touched)
        if result is None:
            continue
        path, value = result
        touched.add(path[:2])
        out.append(Mistake(copy_index, group_id, mentee_id, kind, path, value, found_by))
    return out


# ----------------------------------------------------------------- path helpers

def _container(records: dict, path: tuple):
    node: Any = records
    for key in path[:-1]:
        node = node[key]
    return node


def _get(records: dict, path: tuple):
    container = _container(records, path)
    if isinstance(container, dict):
        return container.get(path[-1])
    return container[path[-1]]


def _set(records: dict, path: tuple, value):
    _container(records, path)[path[-1]] = value
    return value
