"""What collect keeps of one input file (:class:`FileFacts`) and the worker
side that produces it (:func:`read_facts`: read + validate + compact).

Runs in worker processes; the parent (:mod:`xlflow.consolidate.collect`)
only sees the small, picklable facts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from xlflow.consolidate import school_stats as stats
from xlflow.problems import Problem
from xlflow.reading.cellmap import CellMap, TableCells
from xlflow.reading.grid import release_heap

ACCEPTED, WITH_PROBLEMS, DUPLICATE, SUPERSEDED, REJECTED, SKIPPED = (
    "accepted", "accepted_with_problems", "duplicate", "superseded", "rejected", "skipped")
FILE_STATUSES = (ACCEPTED, WITH_PROBLEMS, DUPLICATE, SUPERSEDED, REJECTED, SKIPPED)
OWN_TEMPLATES = ("xlflow-school-summary", "xlflow-municipal-summary")
REJECTING_CODES = frozenset({"template-unknown", "template-version-mismatch"})
PAIR_KEYS_COMPARED = ("mentor_id", "start_date", "planned_end_date")
PAIR_CELL_KEYS = ("group_id", "mentee_id") + PAIR_KEYS_COMPARED  # the pair cells facts keep
_FEW_PAIRS = 64  # up to this many pair rows, pair cells are a plain dict (a copy has a few)
OWN_OUTPUT_REASON = "Это результат работы xlflow (сводка), а не входной файл: пропущен."


@dataclass
class FileFacts:
    """What the parent needs of one input file (small, picklable)."""

    path: str
    name: str
    mtime: float = 0.0
    status: str | None = None  # preset for skipped/rejected files
    reason: str | None = None
    kind: str | None = None
    meta: dict = field(default_factory=dict)
    record: dict | None = None
    fingerprint: str | None = None
    pair_cells: Mapping = field(default_factory=dict)  # (row index, key) -> (sheet, A1)
    problems: list = field(default_factory=list)
    side: str | None = None  # a registry's people and pairs, in a side file (registry_side)

    @property
    def school_code(self) -> str | None:
        code = self.meta.get("school_code") or ((self.record or {}).get("passport") or {}).get("school_code")
        return str(code).strip() or None if code is not None else None


_PASSPORT_KEYS = ("school_name", "school_code", "municipality", "academic_year", "programme_id",
                  "main_direction", "status", "term_change", "actual_end_date", "ending_reason")
_KEEP = {
    "mentors": ("id", "full_name"),
    "mentees": ("id", "full_name", "category"),
}


def compact_record(data: dict, as_of: dt.date | None = None) -> dict:
    """The part of the records consolidation uses: passport fields, pairs
    whole, people trimmed, and the diagnostics, roadmap and rubric reduced to
    the counts the figures need (:func:`school_stats.reduce_record`)."""
    passport = data.get("passport") or {}
    out = {"passport": {k: passport[k] for k in _PASSPORT_KEYS if k in passport},
           "pairs": [dict(r) for r in data.get("pairs") or [] if isinstance(r, dict)],
           "reduced": stats.reduce_record(data, as_of)}
    for table, keys in _KEEP.items():
        out[table] = [{k: r[k] for k in keys if k in r} for r in data.get(table) or [] if isinstance(r, dict)]
    return out


def fingerprint(data: dict) -> str:
    """sha256 of the records, ignoring creation stamps and recomputed values.

    It only compares copies read by the same xlflow in one run, whose reader
    builds every row with its keys in layout order, so the records are hashed
    as they are (top-level and meta keys sorted) in marshal's version 2
    format: canonical for equal values (no shared-object references, unlike
    later versions), 1 and 1.0 and True kept apart, and several times cheaper
    than sorted JSON. Long tables are written in slices of :data:`_SLICE` rows
    (after their length, so the stream stays unambiguous): a school's
    registry never holds all its records as one blob. Anything marshal cannot
    write is hashed by its ``repr``."""
    meta = sorted((k, v) for k, v in (data.get("meta") or {}).items() if k not in ("created", "xlflow_version"))
    body = sorted((k, v) for k, v in data.items() if k not in ("meta", "computed"))
    digest = hashlib.sha256()
    try:
        for blob in _marshalled(meta, body):
            digest.update(blob)
    except ValueError:  # not plain data (records built by hand)
        digest = hashlib.sha256(repr((meta, body)).encode("utf-8"))
    return digest.hexdigest()


_SLICE = 512


def _marshalled(meta: list, body: list) -> Iterator[bytes]:
    yield marshal.dumps(meta, 2)
    for key, value in body:
        if type(value) is not list or len(value) <= _SLICE:
            yield marshal.dumps((key, value), 2)
            continue
        yield marshal.dumps((key, len(value)), 2)
        for start in range(0, len(value), _SLICE):
            yield marshal.dumps(value[start:start + _SLICE], 2)


class PairCells(Mapping):
    """``(row index, key) -> (sheet, A1)`` of a registry's pair rows, kept as
    the reader's compact table (:class:`TableCells`): the cell of ``key`` in
    row ``index``, else the row's first cell, as :meth:`ParsedWorkbook.cell_of`
    answers; only the :data:`PAIR_CELL_KEYS` of the first ``count`` rows."""

    def __init__(self, table: TableCells, count: int) -> None:
        self.table = table
        self.count = min(count, len(table))

    def __getitem__(self, where: Any) -> tuple[str, str]:
        if type(where) is tuple and len(where) == 2 and where[1] in PAIR_CELL_KEYS:
            index = where[0]
            if isinstance(index, int) and 0 <= index < self.count:
                hit = self.table.cell(index, where[1]) or self.table.first(index)
                if hit is not None:
                    return hit
        raise KeyError(where)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return ((i, key) for i in range(self.count) for key in PAIR_CELL_KEYS)

    def __len__(self) -> int:
        return self.count * len(PAIR_CELL_KEYS)


def _pair_cells(parsed: Any) -> Mapping:
    pairs = parsed.data.get("pairs") or []
    table = parsed.cells.table("pairs") if isinstance(parsed.cells, CellMap) else None
    if table is not None and len(pairs) > _FEW_PAIRS:
        return PairCells(table, len(pairs))
    out = {}
    for i, _row in enumerate(pairs):
        for key in PAIR_CELL_KEYS:
            # the table's cell or its row's first (as cell_of answers), else cell_of's own way
            hit = (table.cell(i, key) or table.first(i) if table is not None else None) \
                or parsed.cell_of(("pairs", i, key))
            if hit:
                out[(i, key)] = hit
    return out


def read_facts(path: str, name: str, as_of: dt.date, side_dir: str | None = None) -> FileFacts:
    """Read + validate one candidate file (runs in a worker process). With
    ``side_dir``, a school's registry sends its people and pairs through a
    side file in that folder (:mod:`xlflow.consolidate.registry_side`)."""
    facts = _read_facts(path, name, as_of, side_dir)
    if facts.side is not None or isinstance(facts.pair_cells, PairCells):  # a registry: its reading freed MBs
        release_heap()  # so that a worker does not hold a big file's peak for the rest of the run
    return facts


def _read_facts(path: str, name: str, as_of: dt.date, side_dir: str | None) -> FileFacts:
    from xlflow.validation.validate import validate_file

    facts = FileFacts(path=path, name=name, mtime=_mtime(path))
    result = validate_file(path, today=as_of)
    facts.problems = [_renamed(p, name) for p in result.problems]
    if result.parsed is None:
        facts.status = REJECTED
        return facts
    data = result.parsed.data
    facts.meta = {k: v for k, v in (data.get("meta") or {}).items() if k != "directions"}
    facts.meta["directions"] = list((data.get("meta") or {}).get("directions") or [])
    if facts.meta.get("template_id") in OWN_TEMPLATES:
        facts.status, facts.reason, facts.problems = SKIPPED, OWN_OUTPUT_REASON, []
        return facts
    facts.kind = facts.meta.get("workbook_kind")
    if any(p.code in REJECTING_CODES for p in facts.problems):
        facts.status = REJECTED
        return facts
    facts.fingerprint = fingerprint(data)  # first: its buffers reuse the memory the reading freed
    if side_dir is not None and facts.kind == "school":
        from xlflow.consolidate import registry_side

        facts.side = registry_side.write_side(side_dir, data, _pair_cells(result.parsed))
        facts.record = compact_record(registry_side.without_tables(data), as_of)
        return facts
    facts.record = compact_record(data, as_of)
    facts.pair_cells = _pair_cells(result.parsed)
    return facts


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _renamed(p: Problem, name: str) -> Problem:
    return Problem(p.code, file=name, sheet=p.sheet, cell=p.cell, params=dict(p.params), severity=p.severity)
