"""Sample generator: a school's registry and its filled programme copies.

:func:`generate_school` is pure and deterministic (a seeded ``random.Random``,
no global state): it returns a :class:`SampleSchool` with the curator's
registry records (``workbook_kind="school"``: banks and pairs) and, for every
programme copy (a pair, or one per mentee of a group), the records a mentor and
mentee would have filled in, in the shape of ``schemas/programme.schema.json``.
With ``error_rate`` a share of the copies carries 1–3 realistic mistakes each,
listed in :attr:`SampleSchool.mistakes`.

:mod:`xlflow.writing.sample_files` turns them into workbooks; the public
entry points are re-exported by :mod:`xlflow.writing.sample`.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Callable, Iterator

from xlflow.layout import Layout, load_layout
from xlflow.writing import fakedata
from xlflow.writing import sample_content as content
from xlflow.writing.sample_fill import default_as_of, pair_rows, plan_terms, school_year
from xlflow.writing.sample_mistakes import Mistake, inject
from xlflow.writing.sample_people import (
    People, Programme, choose_mentees, choose_mentor, group_sizes, id_width, new_mentee, new_mentor, pick,
)


CO_EXECUTORS = ("педагог-психолог", "руководитель ШМО", "заместитель директора по УВР",
                "учитель-дефектолог", "библиотекарь")


@dataclass
class SampleCopy:
    """One filled programme copy: the records its workbook holds."""

    index: int
    group_id: str
    group_type: str
    mentor_id: str
    mentee_id: str
    name: str  # file stem as split names it: «П-001 Берёзкина А.П. — Солнцев И.И»
    records: dict
    mistakes: list[Mistake] = field(default_factory=list)


@dataclass
class SampleSchool:
    seed: int
    school_code: str
    school_name: str
    municipality: str
    academic_year: str
    as_of: dt.date
    registry: dict  # records of the curator's school workbook
    programmes: list[Programme]
    copies: list[SampleCopy]

    @property
    def mistakes(self) -> list[Mistake]:
        return [m for c in self.copies for m in c.mistakes]

    @property
    def faulty_copies(self) -> list[SampleCopy]:
        return [c for c in self.copies if c.mistakes]


def compute_summary(records: dict) -> dict:
    """The ``computed`` part of the records (rubric total and level, roadmap
    counts and completion), exactly as the reader recomputes it from the inputs."""
    from xlflow.reading.programme import compute

    return compute(records, load_layout())


def copy_name(group_id: str, mentor_name: str, mentee_name: str, taken: set[str]) -> str:
    """Readable file stem of a copy, as ``xlflow split`` names it (unique among ``taken``)."""
    from xlflow.writing.split import safe_file_name, short_name

    stem = f"{group_id} {short_name(mentor_name, '')} — {short_name(mentee_name, '')}"
    return safe_file_name(stem, taken)[: -len(".xlsx")]


def _identity(school_code: str, school_name: str, municipality: str, academic_year: str) -> dict:
    return {"school_name": school_name, "school_code": school_code, "municipality": municipality,
            "academic_year": academic_year}


def _meta(layout: Layout, identity: dict, kind: str, programme_id: str | None = None,
          mentee_id: str | None = None) -> dict:
    meta = {"template_id": layout.template_id, "template_version": layout.version, "workbook_kind": kind,
            **identity, "directions": layout.directions()}
    if programme_id is not None:
        meta["programme_id"] = programme_id
        meta["mentee_id"] = mentee_id
    return meta


def _empty_sheets() -> dict:
    return {"diagnostics": [], "roadmap": [], "rubric": [], "reflection": []}


def _plan(rng: random.Random, layout: Layout, people: People, sizes: list[int], year0: int,
          as_of: dt.date) -> list[Programme]:
    """Pairs and groups: people, directions, terms and the «Пары и группы» rows."""
    programmes: list[Programme] = []
    taken_with: dict = {}
    orders: dict = {}
    n_pairs = sum(1 for s in sizes if s == 1)
    width = id_width(max(n_pairs, len(sizes) - n_pairs))
    n_pair = n_group = 0
    for size in sizes:
        direction = pick(rng, layout, "directions")
        mentor_id = choose_mentor(rng, layout, people, year0, direction)
        mentees = choose_mentees(rng, layout, people, year0, direction, size, mentor_id, taken_with)
        if size == 1:
            n_pair += 1
            gid, gtype = f"П-{n_pair:0{width}d}", "пара"
            direction = people.mentee_direction[mentees[0]] if rng.random() < 0.8 else direction
        else:
            n_group += 1
            gid, gtype = f"Г-{n_group:0{width}d}", "группа"
        prog = Programme(gid, gtype, mentor_id, mentees, direction)
        plan_terms(rng, layout, prog, year0, as_of)
        pair_rows(rng, layout, prog, people, orders)
        programmes.append(prog)
    return programmes


def _reserve(rng: random.Random, layout: Layout, people: People, year0: int) -> None:
    """People in the banks without a programme yet (about one mentee in ten, 0–2 mentors)."""
    for _ in range(max(1, len(people.mentees) // 10)):
        new_mentee(rng, layout, people, year0)
    for _ in range(rng.randint(0, 2)):
        new_mentor(rng, layout, people, year0, pick(rng, layout, "directions"))


def _fill_copy(rng: random.Random, layout: Layout, prog: Programme, people: People,
               identity: dict, as_of: dt.date, shared: tuple[dict, list[dict]]) -> dict:
    """Records of one filled copy (its mentee's module of ``prog``)."""
    diag = content.diagnose(rng, layout, prog.direction)
    with_final = prog.status in (content.FINISHED,) or (prog.status == content.STOPPED and rng.random() < 0.5)
    diagnostics, finals = content.diagnostics_rows(rng, layout, diag, with_final)
    terms, common = shared
    items = content.roadmap(rng, layout, prog, diag, as_of, rng.choice(CO_EXECUTORS))
    if common:
        keep = max(0, 25 - len(common))
        items = sorted(_copied(common) + items[:keep], key=lambda it: it["due_date"])
    records = {
        "passport": content.passport(rng, prog, diag, identity, terms),
        "mentors": _copied([people.mentor(prog.mentor_id)]),
        "mentees": _copied([people.mentee(pid) for pid in prog.mentee_ids]),
        "pairs": _copied(prog.rows),
        "diagnostics": diagnostics,
        "roadmap": items,
        "rubric": content.rubric(rng, prog.status) if content.rubric_filled(rng, prog.status) else [],
        "reflection": content.reflection(rng, diag, finals) if with_final else [],
    }
    return records


def _copied(rows: list[dict]) -> list[dict]:
    """Own copies of flat rows (their values are str, int, float or bool)."""
    return [dict(row) for row in rows]


def _group_common(rng: random.Random, layout: Layout, prog: Programme, as_of: dt.date) -> list[dict]:
    """Activities of a group's common part, shared by every mentee's copy."""
    if prog.group_type != "группа":
        return []
    diag = content.Diagnosis({prog.direction: 3}, {})
    items = content.roadmap(rng, layout, prog, diag, as_of, "все участники группы")
    return items[: rng.randint(2, 4)]


CopyCallback = Callable[["SampleSchool", SampleCopy], None]


def generate_school(seed: int, *, n_copies: int | None = None, n_programmes: int | None = None,
                    school_code: str | None = None, school_name: str | None = None,
                    municipality: str | None = None, academic_year: str = "2025/2026",
                    error_rate: float = 0.0, as_of: dt.date | None = None,
                    on_copy: CopyCallback | None = None) -> SampleSchool:
    """A school with its registry and filled programme copies.

    Give exactly one of ``n_copies`` (the number of programme copies: pairs
    count one, groups one per mentee; the total is exact) or ``n_programmes``
    (pairs plus groups). ``as_of`` is the day the copies are collected
    (default: 25 May of the school year's second calendar year); it must fall
    between 1 February and 31 August of that year. With ``error_rate`` R,
    round(R × copies) copies get 1–3 mistakes each.

    ``on_copy(school, copy)`` is called as soon as each copy is complete (the
    registry is ready before the first call), so files can be written while
    the rest is generated."""
    _check_arguments(n_copies, n_programmes, error_rate)
    layout = load_layout()
    year0 = school_year(academic_year)
    as_of = as_of or default_as_of(academic_year)
    if not dt.date(year0 + 1, 2, 1) <= as_of <= dt.date(year0 + 1, 8, 31):
        raise ValueError(f"Дата сбора копий должна быть между 01.02.{year0 + 1} и 31.08.{year0 + 1}.")
    rng = random.Random(f"xlflow-sample:{seed}")
    identity = _identity(
        school_code or f"ОО-{seed:03d}",
        school_name or rng.choice(fakedata.SCHOOL_KINDS).format(n=rng.randint(1, 60)),
        municipality or rng.choice(fakedata.MUNICIPALITIES), academic_year)
    people = People()
    programmes = _plan(rng, layout, people, group_sizes(rng, n_copies, n_programmes), year0, as_of)
    _reserve(rng, layout, people, year0)
    school = SampleSchool(seed, identity["school_code"], identity["school_name"], identity["municipality"],
                          academic_year, as_of, _registry(layout, identity, people, programmes), programmes, [])
    faulty = _Mistakes(seed, sum(len(p.mentee_ids) for p in programmes), error_rate, year0 + 1)
    for c in _copies(rng, layout, programmes, people, identity, as_of):
        faulty.apply(c)
        school.copies.append(c)
        if on_copy is not None:
            on_copy(school, c)
    return school


def _check_arguments(n_copies: int | None, n_programmes: int | None, error_rate: float) -> None:
    if (n_copies is None) == (n_programmes is None):
        raise ValueError("Укажите ровно одно: число копий или число программ.")
    if min(n for n in (n_copies, n_programmes) if n is not None) < 1:
        raise ValueError("Нужна хотя бы одна копия программы.")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError("Доля копий с ошибками (--errors) должна быть от 0 до 1, например 0.2.")


def _registry(layout: Layout, identity: dict, people: People, programmes: list[Programme]) -> dict:
    """Records of the curator's school workbook: banks and pairs, programme sheets empty."""
    registry = {
        "meta": _meta(layout, identity, "school"),
        "passport": dict(identity),
        "mentors": sorted(people.mentors, key=lambda m: m["id"]),
        "mentees": sorted(people.mentees, key=lambda m: m["id"]),
        "pairs": [row for prog in programmes for row in prog.rows],
        **_empty_sheets(),
    }
    registry["computed"] = compute_summary(registry)
    return registry


def _copies(rng: random.Random, layout: Layout, programmes: list[Programme], people: People,
            identity: dict, as_of: dt.date) -> Iterator[SampleCopy]:
    names: set[str] = set()
    index = 0
    for prog in programmes:
        shared = (content.programme_terms(rng, prog, people), _group_common(rng, layout, prog, as_of))
        mentor_name = people.mentor(prog.mentor_id)["full_name"]
        for mentee_id in prog.mentee_ids:
            records = {"meta": _meta(layout, identity, "programme", prog.group_id, mentee_id),
                       **_fill_copy(rng, layout, prog, people, identity, as_of, shared)}
            records["computed"] = compute_summary(records)
            name = copy_name(prog.group_id, mentor_name, people.mentee(mentee_id)["full_name"], names)
            yield SampleCopy(index, prog.group_id, prog.group_type, prog.mentor_id, mentee_id, name, records)
            index += 1


class _Mistakes:
    """Which copies get mistakes, chosen up front from their own random stream
    (the clean content of every copy is the same whatever the rate)."""

    def __init__(self, seed: int, n_copies: int, error_rate: float, year: int) -> None:
        self.rng = random.Random(f"xlflow-sample-mistakes:{seed}")
        self.indices = set(self.rng.sample(range(n_copies), round(error_rate * n_copies)))
        self.year = year

    def apply(self, c: SampleCopy) -> None:
        """Called for the copies in index order, so the stream is used in a fixed order."""
        if c.index in self.indices:
            c.mistakes = inject(self.rng, c.records, c.index, c.group_id, c.mentee_id, self.year)
            c.records["computed"] = compute_summary(c.records)
