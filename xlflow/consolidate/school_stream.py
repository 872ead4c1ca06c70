"""The school summary's figures and tables computed one programme at a time.

:class:`FigureSink` receives the programmes of a collect run one by one (each
with the records of its counted copy, loaded from the spill just for it) and
keeps only small accumulators in memory: counts per status, direction,
indicator and level. What grows with the number of programmes goes to the
spill (:mod:`xlflow.consolidate.spill`): one ``prog`` row of keys and dates
per programme (for pairs/groups, the breakdown, the load and the head
counts, all done in SQL) and the rows of the long tables. The definitions and
row builders are those of :mod:`xlflow.consolidate.school_stats`.
"""
from __future__ import annotations

import datetime as dt
import itertools
import marshal
import pickle
from collections import Counter, defaultdict
from typing import Any, Iterator, NamedTuple, Sequence

from xlflow.consolidate import school_stats as stats
from xlflow.consolidate.spill import Spill, SpilledRows

MENTOR, MENTEE = 0, 1
PAIR, GROUP = "пара", "группа"
LONG_TABLES = ("roadmap_programmes", "rubric_programmes", "load")


class Span(NamedTuple):
    """What the load table needs of one programme of a person."""

    programme_id: str
    start: dt.date | None
    end: dt.date | None


def _date(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso) if iso else None


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


class ProgrammeRows(SpilledRows):
    """The «Программы» table: rows kept in ``prog``, pair/group filled in from ``kinds``."""

    def __init__(self, spill: Spill, count: int) -> None:
        super().__init__(spill, "SELECT p.blob, k.kind FROM prog p JOIN kinds k ON k.gid = p.gid ORDER BY p.seq",
                         count)

    def __iter__(self) -> Iterator[dict]:
        for blob, kind in self.spill.query(self.sql):
            row = pickle.loads(blob)
            row["group_type"] = kind
            yield row


# the pair row's values a programme's figures and rows depend on (see :func:`prepare`)
PAIR_KEYS_USED = ("mentor_id", "start_date", "planned_end_date", "group_type", "mentoring_form",
                  "interaction_form", "kind", "mode")


def pair_basis(pair: dict) -> tuple:
    """What :func:`prepare` uses of a pair row (types kept apart: 1, 1.0 and True differ)."""
    return tuple((type(v).__name__, v) for v in map(pair.get, PAIR_KEYS_USED))


class Prepared(NamedTuple):
    """What :meth:`FigureSink.take` adds of one programme: its ``prog`` columns
    (without seq and copy row), «Программы» row (pickled), figures' parts and
    its rows of the roadmap and rubric tables (marshalled, as the spill keeps them)."""

    prog: tuple
    row: bytes
    in_registry: bool
    status: str
    received: bool
    diag_directions: tuple
    deficits: dict
    roadmap: dict | None
    mine: list | None
    roadmap_row: bytes | None
    scores: dict
    level: str
    rubric_row: bytes | None

    def listed(self, in_registry: bool) -> Prepared:
        """The same programme, listed in the registry or not."""
        if in_registry == self.in_registry:
            return self
        row = pickle.loads(self.row)
        row["in_registry"] = in_registry
        return self._replace(row=pickle.dumps(row, pickle.HIGHEST_PROTOCOL), in_registry=in_registry)


def prepare(p: stats.Programme, as_of: dt.date, n_ind: int) -> Prepared:
    """Everything :meth:`FigureSink.take` needs of ``p``: it depends only on
    ``p`` (its pair row only through :data:`PAIR_KEYS_USED`), so collect
    prepares a copy's programme as the copy arrives and uses it at the end
    when the registry row says the same."""
    pair = p.pair
    prog = (p.programme_id, p.mentee_id, p.mentor_id, stats.choice(pair.get("group_type"), "group_types"),
            stats.choice(pair.get("mentoring_form"), "mentoring_forms"),
            stats.choice(pair.get("interaction_form"), "interaction_forms"), stats.choice(pair.get("kind"), "kinds"),
            stats.choice(pair.get("mode"), "modes"), _iso(p.start), _iso(p.end))
    red = stats.reduced(p.record)
    received = p.record is not None
    roadmap = mine = roadmap_row = None
    if received:
        roadmap = stats.reduced(p.record, as_of)["roadmap"]
        mine = [0] * len(stats.ROADMAP_COUNTS)
        for counts in roadmap.values():
            for i, v in enumerate(counts):
                mine[i] += v
        roadmap_row = marshal.dumps(stats.roadmap_row(p, mine))
    scores, total, level = stats.rubric_of(p, n_ind)
    return Prepared(prog, pickle.dumps(stats.programme_row(p, None), pickle.HIGHEST_PROTOCOL), p.in_registry,
                    p.status, received, tuple(red["diag_directions"]), red["deficits"], roadmap, mine, roadmap_row,
                    scores, level, marshal.dumps(stats.rubric_row(p, scores, total, level)) if received else None)


class FigureSink:
    """Accumulates the figures and tables over the programmes given to :meth:`add`."""

    def __init__(self, spill: Spill, as_of: dt.date) -> None:
        self.spill, self.as_of = spill, as_of
        self.n_ind = len(stats._rubric_spec().indicators)
        self.count = 0
        self.statuses: Counter = Counter()
        self.diag_directions: dict[str, None] = {}
        self.deficits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.roadmap: dict[str | None, list[int]] = defaultdict(lambda: [0] * len(stats.ROADMAP_COUNTS))
        self.roadmap_total = [0] * len(stats.ROADMAP_COUNTS)
        self.rubric: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        self.levels: Counter = Counter()
        self.copies = Counter()  # listed, received, unlisted
        for name in LONG_TABLES:
            spill.new_table(name)

    def add(self, p: stats.Programme, copy_row: Sequence[Any] = (None, None, None, None)) -> None:
        """One programme; ``copy_row``: the copy's own pair row (mentor, mentee, file, cells) for locating."""
        self.take(prepare(p, self.as_of, self.n_ind), copy_row)

    def take(self, pre: Prepared, copy_row: Sequence[Any] = (None, None, None, None)) -> None:
        """One programme made by :func:`prepare` (e.g. while the files were read)."""
        self.count += 1
        self.spill.add("prog", (self.count, *pre.prog, *copy_row, pre.row))
        self.statuses[pre.status] += 1
        self.copies["listed" if pre.in_registry else "unlisted"] += 1
        self.copies["received"] += pre.in_registry and pre.received
        for d in pre.diag_directions:
            self.diag_directions.setdefault(d, None)
        for key, part in pre.deficits.items():
            acc = self.deficits[key]
            for i, v in enumerate(part):
                acc[i] += v
        if pre.roadmap is not None:
            self._roadmap(pre)
        for ind, score in pre.scores.items():
            acc = self.rubric[ind]
            acc[0] += score
            acc[1] += 1
        self.levels[pre.level] += 1
        if pre.rubric_row is not None:
            self.spill.append_blob("rubric_programmes", pre.rubric_row)

    def _roadmap(self, pre: Prepared) -> None:
        assert pre.roadmap is not None and pre.roadmap_row is not None
        for d, counts in pre.roadmap.items():
            acc = self.roadmap[d]
            for i, v in enumerate(counts):
                acc[i] += v
        for i, v in enumerate(pre.mine):
            self.roadmap_total[i] += v
        self.spill.append_blob("roadmap_programmes", pre.roadmap_row)

    # ------------------------------------------------------------ the end
    def table_directions(self, directions: list[str]) -> list[str]:
        seen = set(directions)
        return list(directions) + [d for d in self.diag_directions if d not in seen]

    def small_tables(self, directions: list[str]) -> dict[str, list[dict]]:
        table_dirs = self.table_directions(directions)
        known = set(table_dirs)
        by_direction: dict[str, list[int]] = defaultdict(lambda: [0] * len(stats.ROADMAP_COUNTS))
        for d, counts in self.roadmap.items():
            acc = by_direction[d if d in known else stats.NO_DIRECTION]
            for i, v in enumerate(counts):
                acc[i] += v
        return {
            "breakdown": self.breakdown(), "statuses": stats.status_rows(self.statuses),
            "deficits": stats.deficit_rows(table_dirs, self.deficits),
            "roadmap_directions": stats.roadmap_direction_rows(table_dirs, by_direction),
            "rubric_indicators": stats.rubric_indicator_rows({n: (s, c) for n, (s, c) in self.rubric.items()}),
            "rubric_levels": stats.rubric_level_rows(self.levels),
        }

    def index(self) -> None:
        """Indexes and the pair/group kind of every programme id (after the last :meth:`add`)."""
        self.spill.script(f"""
            CREATE INDEX prog_gid ON prog (gid, seq);
            CREATE INDEX prog_mentor ON prog (mentor);
            CREATE INDEX prog_mid ON prog (mid);
            INSERT INTO kinds SELECT p.gid, COALESCE(
                (SELECT q.declared FROM prog q WHERE q.gid = p.gid AND q.declared IS NOT NULL ORDER BY q.seq LIMIT 1),
                CASE WHEN COUNT(DISTINCT p.mid) > 1 THEN '{GROUP}' ELSE '{PAIR}' END)
            FROM prog p GROUP BY p.gid;""")

    def breakdown(self) -> list[dict]:
        rows = []
        for dim in stats.BREAKDOWN_DIMENSIONS:
            value = "k.kind" if dim == "group_type" else f"p.{dim}"
            counts = {r[0]: r[1:] for r in self.spill.query(
                f"SELECT {value}, COUNT(*), COUNT(DISTINCT CASE WHEN k.kind = ? THEN p.gid END), "
                "COUNT(DISTINCT CASE WHEN k.kind = ? THEN p.gid END), COUNT(DISTINCT p.mentor), "
                f"COUNT(DISTINCT p.mid) FROM prog p JOIN kinds k ON k.gid = p.gid WHERE {value} IS NOT NULL "
                f"AND {value} != '' GROUP BY {value}", (PAIR, GROUP))}
            rows += stats.breakdown_rows(dim, counts)
        return rows

    def load(self) -> tuple[dict[int, int], list[dict]]:
        """Writes the load table; returns (people over the limit per role, their rows)."""
        over: dict[int, int] = {MENTOR: 0, MENTEE: 0}
        alerts = []
        for role, col, label, limit in ((MENTOR, "mentor", stats.ROLE_MENTOR, stats.MENTOR_LIMIT),
                                        (MENTEE, "mid", stats.ROLE_MENTEE, stats.MENTEE_LIMIT)):
            cur = self.spill.query(
                f"SELECT x.id, pe.full_name, p.gid, p.start, p.end FROM "
                f"(SELECT id FROM people WHERE role = ? UNION SELECT {col} FROM prog WHERE {col} IS NOT NULL) x "
                f"LEFT JOIN people pe ON pe.role = ? AND pe.id = x.id LEFT JOIN prog p ON p.{col} = x.id "
                f"ORDER BY x.id, p.seq", (role, role))
            for pid, group in itertools.groupby(cur, key=lambda r: r[0]):
                rows = list(group)
                spans = [Span(r[2], _date(r[3]), _date(r[4])) for r in rows if r[2] is not None]
                row = stats._load_row(label, pid, rows[0][1], spans, limit)
                self.spill.append("load", row)
                if row["over_limit"]:
                    over[role] += 1
                    alerts.append(row)
        return over, alerts

    def figures(self, over: dict[int, int]) -> dict:
        one = self.spill.one
        young = one("SELECT COUNT(*) FROM people WHERE role = ? AND young = 1", (MENTEE,))
        covered = one("SELECT COUNT(*) FROM people WHERE role = ? AND young = 1 AND id IN (SELECT mid FROM prog)",
                      (MENTEE,))
        return {
            "mentors": one("SELECT COUNT(DISTINCT mentor) FROM prog"),
            "mentees": one("SELECT COUNT(DISTINCT mid) FROM prog"),
            "pairs": one("SELECT COUNT(*) FROM kinds WHERE kind = ?", (PAIR,)),
            "groups": one("SELECT COUNT(*) FROM kinds WHERE kind = ?", (GROUP,)),
            "programmes": self.count,
            "mentors_in_bank": one("SELECT COUNT(*) FROM people WHERE role = ?", (MENTOR,)),
            "mentees_in_bank": one("SELECT COUNT(*) FROM people WHERE role = ?", (MENTEE,)),
            "young_specialists": young,
            "young_specialists_covered": covered,
            "young_specialists_share": stats._pct(covered, young),
            "copies_expected": self.copies["listed"],
            "copies_received": self.copies["received"],
            "copies_missing": self.copies["listed"] - self.copies["received"],
            "copies_unlisted": self.copies["unlisted"],
            "mentors_over_limit": over[MENTOR],
            "mentees_over_limit": over[MENTEE],
            "roadmap": stats._counts_dict(self.roadmap_total),
        }

    def long_tables(self) -> dict[str, SpilledRows]:
        return {"programmes": ProgrammeRows(self.spill, self.count),
                **{name: self.spill.rows(name) for name in LONG_TABLES}}
