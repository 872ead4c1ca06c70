"""Collect with memory that stays flat as the folder grows.

The consolidation of :func:`xlflow.consolidate.collect.collect` (registry,
versions and duplicates, school-wide rules; problem codes and small rule
helpers in :mod:`xlflow.consolidate.collect`) and its figures (definitions in
:mod:`xlflow.consolidate.school_stats`): each file's facts go to the
spill (:mod:`xlflow.consolidate.spill`) as they arrive; memory keeps one
:class:`Entry` per file (name, status, identity, rank, fingerprint: a few
hundred bytes). Each copy's programme is also prepared as it arrives, while
the workers read (:func:`~xlflow.consolidate.school_stream.prepare`, as if it
counted with its own pair row), and its people go to table ``wanted``.
Consolidation works on the entries, then one pass over the programmes, in
the registry's order, gives each counted copy's prepared programme to
:class:`~xlflow.consolidate.school_stream.FigureSink`, preparing it anew from
its records only where the registry's row differs from the copy's own; the
copies' people are looked up in the registry's banks by one query. Problems are kept in
the spill with their sort key and read back in order. The payload's long
tables (programmes, files, problems, load, per-programme roadmap and rubric)
are :class:`~xlflow.consolidate.spill.SpilledRows`, read by the writers row
by row.
"""
from __future__ import annotations

import hashlib
import datetime as dt
import marshal
import pickle
import sys
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from xlflow.consolidate import collect as C
from xlflow.consolidate import registry_side as side
from xlflow.consolidate import school_stats as stats
from xlflow.consolidate import school_writer  # imported while the workers read, not after
from xlflow.consolidate.export import JSON_FORM, PayloadText, close_one_reads, one_read, write_machine_copy
from xlflow.consolidate.forked import start
from xlflow.consolidate.facts import (ACCEPTED, DUPLICATE, FILE_STATUSES, PAIR_KEYS_COMPARED, REJECTED, SKIPPED,
                                      SUPERSEDED, WITH_PROBLEMS, FileFacts)
from xlflow.consolidate.school_stream import MENTEE, MENTOR, FigureSink, Prepared, pair_basis, prepare
from xlflow.consolidate.spill import Spill, SpilledRows
from xlflow.layout import TableSpec, load_layout
from xlflow.problems import Problem

# The child's first read of a long table that spools the other texts
# (:func:`~xlflow.consolidate.export.one_read`): the JSON's, which spools the CSV.
# Not the hidden sheet's text: the parent waits for that one, and spooling
# the others on the way would make it wait about twice as long.
FORMS = (JSON_FORM,)
_ORDER = "file, s0, s1, s2, r, c, code, grp, fpos, seq"  # Problem.sort_key, then the order found
_MAX_INT = 2 ** 62


def _b(text: str) -> bytes:
    """Text as bytes that sort like the text (file names may hold lone surrogates)."""
    return text.encode("utf-8", "surrogatepass")


def _name(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _shared(value: str | None) -> str | None:
    """One object for the few values many files share (status, kind, school code)."""
    return sys.intern(value) if type(value) is str else value


def _pack(values: tuple) -> bytes:
    """``values`` as one bytes object (marshal; pickle for what marshal cannot write)."""
    try:
        return marshal.dumps(values)
    except ValueError:
        return pickle.dumps(values, pickle.HIGHEST_PROTOCOL)


def _unpack(blob: bytes) -> tuple:
    return pickle.loads(blob) if blob[:1] == pickle.PROTO else marshal.loads(blob)  # marshal never starts so


class Entry:
    """What stays in memory of one file: the fields consolidation changes, and
    the rest (name, programme and mentee ids, identity, rank, fingerprint)
    packed in one bytes object: a few small objects per file instead of a
    dozen (the parent's memory grows with the number of files)."""

    __slots__ = ("i", "status", "reason", "kind", "school_code", "own", "extra", "dup_of", "listed", "_packed")

    def __init__(self, i: int, f: FileFacts) -> None:
        self.i, self.status, self.reason, self.kind = i, _shared(f.status), f.reason, _shared(f.kind)
        self.school_code = _shared(f.school_code)
        programme = f.kind == "programme"
        readable = f.status is None
        fp = f.fingerprint
        self._packed = _pack((
            f.name, f.meta.get("programme_id") if programme else None, f.meta.get("mentee_id") if programme else None,
            C.copy_identity(f) if readable and programme else None, C.rank(f)[:3] if readable else None,
            hashlib.blake2b(str(fp).encode("utf-8", "surrogatepass"), digest_size=16).digest()
            if fp is not None else None))
        self.own, self.extra, self.dup_of, self.listed = bool(f.problems), 0, None, False

    @property
    def name(self) -> str:
        return _unpack(self._packed)[0]

    def shown(self) -> tuple[str, object, object]:
        """(name, programme id, mentee id), unpacked once."""
        name, programme_id, mentee_id, *_rest = _unpack(self._packed)
        return name, programme_id, mentee_id

    @property
    def programme_id(self) -> object:
        return _unpack(self._packed)[1]

    @property
    def mentee_id(self) -> object:
        return _unpack(self._packed)[2]

    @property
    def identity(self) -> tuple[str, str] | None:
        return _unpack(self._packed)[3]

    @property
    def rank(self) -> tuple | None:
        """As :func:`xlflow.consolidate.collect.rank`: (done, latest date entered, mtime, name)."""
        name, _pid, _mid, _identity, rank, _fp = _unpack(self._packed)
        return (*rank, name) if rank is not None else None

    @property
    def fingerprint(self) -> bytes | None:
        return _unpack(self._packed)[5]


def _key(identity: tuple[str, str]) -> bytes:
    """A (programme, mentee) key as one bytes object that sorts like the tuple
    (NUL escaped as NUL 1, NUL NUL between the two)."""
    return b"\0\0".join(_b(part).replace(b"\0", b"\0\1") for part in identity)


def _identity_of(key: bytes) -> tuple[str, str]:
    gid, mid = (_name(part.replace(b"\0\1", b"\0")) for part in key.split(b"\0\0"))
    return gid, mid


class Copies:
    """The counted copy of each (programme, mentee), in the order the keys
    were first met; a key is kept as one bytes object (:func:`_key`), a
    third of what a tuple of two str costs."""

    def __init__(self, by_key: dict[bytes, Entry]) -> None:
        self._by_key = by_key

    def get(self, identity: tuple[str, str]) -> Entry | None:
        return self._by_key.get(_key(identity))

    def values(self) -> Iterable[Entry]:
        return self._by_key.values()

    def in_key_order(self) -> Iterator[tuple[tuple[str, str], Entry]]:
        for key in sorted(self._by_key):
            yield _identity_of(key), self._by_key[key]

    def __len__(self) -> int:
        return len(self._by_key)


class StreamCollect:
    """Intake (:meth:`add`), consolidation and figures (:meth:`run`) over the spill."""

    def __init__(self, as_of: dt.date) -> None:
        self.as_of = as_of
        self.spill = Spill()
        self.entries: list[Entry] = []
        self.seq = 0
        self.school_problems = 0
        self.school_files: set[str] = set()
        self.registry: Entry | None = None
        self.school_code: str | None = None
        self.n_ind = len(stats._rubric_spec().indicators)

    # ------------------------------------------------------------ intake
    def add(self, f: FileFacts) -> None:
        """Keep one file's facts: the entry in memory, the rest in the spill."""
        e = Entry(len(self.entries), f)
        self.entries.append(e)
        for p in f.problems:
            self.problem(p, e.i, own=True)
        if f.status is not None:
            return
        rec = f.record or {}
        for row in side.bank_rows(rec):
            self.spill.add("bank", (e.i, *row))
        if f.kind == "school":
            self._spill_pairs(e, f)
            rec = {k: v for k, v in rec.items() if k not in ("pairs", "mentors", "mentees")}
            cells: dict = {}
        else:  # the people are in the bank table now
            rec = {k: v for k, v in rec.items() if k not in ("mentors", "mentees")} if f.record is not None else None
            cells = f.pair_cells
        pre = None
        if f.kind == "programme":
            wanted = _wanted(rec)
            pre = self.prepared(e, rec, cells, wanted)
            for person in {(role, sid) for _i, _key, role, _label, sid in wanted}:
                self.spill.add("wanted", (e.i, *person))  # looked up in the banks at the end, all at once
        self.spill.add("blobs", (e.i, pickle.dumps((f.meta, rec, cells), pickle.HIGHEST_PROTOCOL), pre))

    def prepared(self, e: Entry, record: dict | None, cells: dict, wanted: list[tuple]) -> bytes | None:
        """What the end needs of a copy that counts with its own pair row, made
        while the workers read: its basis (:func:`~xlflow.consolidate.school_stream.pair_basis`
        of that row), :class:`~xlflow.consolidate.school_stream.Prepared`, copy
        row, own pair row (index, row), the pair rows' people to look up in the
        banks (:meth:`check_banks`) and the pair cells, packed (:func:`_pack`)."""
        key = e.identity
        if key is None:
            return None
        found = C.own_pair_row(record, key)
        row = found[1] if found else {"group_id": key[0], "mentee_id": key[1]}
        pre = prepare(stats.Programme(key[0], key[1], row, record, True, e.name), self.as_of, self.n_ind)
        return _pack((pair_basis(row), tuple(pre), self._copy_row(e, found, cells), found, wanted, cells))

    def _spill_pairs(self, e: Entry, f: FileFacts) -> None:
        """The registry's pair rows (and people, when the worker wrote them to a side file)."""
        if f.side is not None:
            self.spill.flush()
            side.copy_side(self.spill.db, f.side, e.i)
            return
        for row in side.pair_rows((f.record or {}).get("pairs") or [], f.pair_cells):
            self.spill.add("reg_pairs", (e.i, *row))

    def load(self, e: Entry) -> tuple[dict, dict | None, dict]:
        """(meta, records, pair cells) of a file, from the spill."""
        return pickle.loads(self.spill.one("SELECT blob FROM blobs WHERE i = ?", (e.i,), flush=False))

    # ------------------------------------------------------------ problems
    def problem(self, p: Problem, fpos: int, own: bool = False, school: bool = False) -> None:
        file, (s0, s1, s2), (r, c), code = p.sort_key()
        self.seq += 1
        r, c = min(r, _MAX_INT), min(c, _MAX_INT)  # sqlite integers are 64-bit
        self.spill.add("problems", (_b(file), s0, s1, _b(s2), r, c, _b(code), int(school), fpos, self.seq,
                                    int(own), int(p.is_error), marshal.dumps(C.problem_row(p))))

    def extra(self, e: Entry, p: Problem) -> None:
        """A problem consolidation finds in file ``e``."""
        self.problem(p, e.i)
        e.extra += 1

    def school_wide(self, p: Problem) -> None:
        self.problem(p, 0, school=True)
        self.school_problems += 1
        if p.file:
            self.school_files.add(p.file)

    def drop(self, e: Entry) -> None:
        """Forget the file's problems (a file that does not count is not checked further)."""
        if e.own:
            self.spill.query("DELETE FROM problems WHERE grp = 0 AND fpos = ? AND own = 1", (e.i,))
        e.own, e.extra = False, 0

    # ------------------------------------------------------------ versions, registry, copies
    def readable(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.status is None and e.kind == kind]

    def resolve(self, group: list[Entry], key_text: str) -> Entry:
        winner = max(group, key=lambda e: e.rank)
        for e in group:
            if e is winner:
                continue
            e.dup_of = winner.name
            self.drop(e)
            if e.fingerprint == winner.fingerprint:
                e.status = DUPLICATE
                self.extra(e, Problem(C.DUPLICATE_COPY, file=e.name, params={"other": winner.name}))
            else:
                e.status = SUPERSEDED
                params = {"counted": winner.name, "other": e.name, "key": key_text,
                          "why": C.why_ranked(winner.rank, e.rank)}
                self.extra(e, Problem(C.CONFLICTING_COPIES, file=e.name, params=params))
                self.extra(winner, Problem(C.CONFLICTING_COPIES, file=winner.name, params=params))
        return winner

    def choose_registry(self) -> None:
        by_code: dict[str, list[Entry]] = {}
        for e in self.readable("school"):
            by_code.setdefault(e.school_code or "", []).append(e)
        if not by_code:
            self.choose_school_without_registry()
            return
        copies = Counter(e.school_code or "" for e in self.readable("programme"))
        code = max(by_code, key=lambda c: (copies[c], len(by_code[c]), c))
        self.registry = self.resolve(by_code[code], f"книга школы {code or '—'}")
        self.school_code = code or None
        for other_code, group in by_code.items():
            if other_code != code:
                for e in group:
                    self.reject_other_school(e)

    def choose_school_without_registry(self) -> None:
        codes = Counter(e.school_code for e in self.readable("programme") if e.school_code)
        if codes:
            self.school_code = max(codes, key=lambda c: (codes[c], c))
        self.school_wide(Problem(C.NO_REGISTRY))

    def reject_other_school(self, e: Entry) -> None:
        e.status = REJECTED
        self.drop(e)
        self.extra(e, Problem(C.OTHER_SCHOOL, file=e.name,
                              params={"found": e.school_code or "—", "expected": self.school_code or "—"}))

    def copies(self) -> Copies:
        first: dict[bytes, Entry] = {}
        more: dict[bytes, list[Entry]] = {}  # the other versions of a key, in name order
        for e in self.readable("programme"):
            if self.school_code and e.school_code and e.school_code != self.school_code:
                self.reject_other_school(e)
            elif e.identity is None:
                e.status = REJECTED
                self.extra(e, Problem(C.NO_IDENTITY, file=e.name))
            else:
                key = _key(e.identity)
                if key in first:
                    more.setdefault(key, []).append(e)
                else:
                    first[key] = e
        for key in [k for k in first if k in more]:
            gid, mid = _identity_of(key)
            first[key] = self.resolve([first[key], *more.pop(key)], f"{gid}, {mid}")
        return Copies(first)

    def banks(self, copies: Copies) -> None:
        """The people: the registry's banks first, then the copies' (the first entry of an id counts)."""
        if self.registry is not None:
            self.spill.add("copy_order", (self.registry.i, -1))
        for pos, e in enumerate(copies.values()):
            self.spill.add("copy_order", (e.i, pos))
        self.spill.query("INSERT OR IGNORE INTO people SELECT b.role, b.id, b.full_name, b.young FROM bank b "
                         "JOIN copy_order o ON o.file_i = b.file_i WHERE b.id IS NOT NULL ORDER BY o.pos, b.seq")
        self.spill.db.commit()

    # ------------------------------------------------------------ programmes
    def programmes(self, copies: Copies, sink: FigureSink) -> None:
        """Registry rows in order (first row of each pair/mentee), then the copies the registry does
        not list, by key; each counted copy is checked and given to ``sink``."""
        reg = self.registry
        missing = self.missing_people(copies) if reg is not None else set()
        if reg is not None:
            for i, gid, mid, blob, pre in self.spill.query(
                    "SELECT r.i, r.gid, r.mid, r.blob, b.pre FROM reg_pairs r LEFT JOIN counted c ON c.gid = r.gid "
                    "AND c.mid = r.mid LEFT JOIN blobs b ON b.i = c.file_i WHERE r.file_i = ? AND r.gid != '' "
                    "AND r.mid != '' AND r.i IN (SELECT MIN(i) FROM reg_pairs WHERE file_i = ? GROUP BY gid, mid) "
                    "ORDER BY r.i", (reg.i, reg.i)):
                row, cells = pickle.loads(blob)
                copy = copies.get((gid, mid))
                if copy is None:
                    sink.add(stats.Programme(gid, mid, row, None, True, None))
                    sheet, cell = cells.get("mentee_id", (None, None))
                    self.school_wide(Problem(C.MISSING_COPY, file=reg.name, sheet=sheet, cell=cell,
                                             params={"programme": gid, "mentee": mid}))
                    continue
                copy.listed = True
                self.counted_copy(copy, (gid, mid), sink, row, pre, missing)
        for key, copy in copies.in_key_order():
            if not copy.listed:
                pre = self.spill.one("SELECT pre FROM blobs WHERE i = ?", (copy.i,), flush=False)
                self.counted_copy(copy, key, sink, None, pre, missing)

    def missing_people(self, copies: Copies) -> set[tuple[int, int, str]]:
        """(file, role, id) of the people the counted copies name (table ``wanted``) that the
        registry's banks lack: one query for all copies. Fills table ``counted`` on the way."""
        assert self.registry is not None
        for e in copies.values():
            identity = e.identity
            assert identity is not None
            self.spill.add("counted", (*identity, e.i))
        return set(self.spill.query(
            "SELECT DISTINCT w.file_i, w.role, w.sid FROM wanted w JOIN counted c ON c.file_i = w.file_i "
            "WHERE NOT EXISTS (SELECT 1 FROM bank b WHERE b.file_i = ? AND b.role = w.role AND b.sid = w.sid)",
            (self.registry.i,)))

    def counted_copy(self, copy: Entry, key: tuple[str, str], sink: FigureSink, reg_row: dict | None,
                     pre: bytes | None, missing: set[tuple[int, int, str]]) -> None:
        """Give the copy's programme to ``sink`` (``pre``: as prepared when it arrived, used unless
        the registry's row differs from the copy's own), then check it against the registry
        (``missing``: see :meth:`missing_people`)."""
        listed = reg_row is not None
        prepared = None
        if pre is not None:
            basis, fields, copy_row, found, wanted, cells = _unpack(pre)
            prepared = Prepared(*fields)
            if reg_row is not None and basis != pair_basis(reg_row):
                prepared = None  # the registry's row differs: prepare anew
        if prepared is None:
            _meta, record, cells = self.load(copy)
            found = C.own_pair_row(record, key)
            row = reg_row if reg_row is not None else found[1] if found else {"group_id": key[0], "mentee_id": key[1]}
            prepared = prepare(stats.Programme(key[0], key[1], row, record, listed, copy.name), self.as_of,
                               self.n_ind)
            copy_row, wanted = self._copy_row(copy, found, cells), _wanted(record)
        sink.take(prepared.listed(listed), copy_row)
        if reg_row is not None:
            if found is not None:
                self.check_pair_row(copy, found, reg_row, cells)
        elif self.registry is not None:
            sheet, cell = cells.get((found[0], "group_id"), (None, None)) if found else (None, None)
            self.extra(copy, Problem(C.UNLISTED_COPY, file=copy.name, sheet=sheet, cell=cell,
                                     params={"programme": key[0], "mentee": key[1]}))
        if self.registry is not None:
            self.check_banks(copy, wanted, cells, missing)

    @staticmethod
    def _copy_row(copy: Entry, found: tuple[int, dict] | None, cells: dict) -> tuple:
        """(mentor, mentee, file, cells) of the copy's own pair row, to locate load problems."""
        if found is None:
            return (None, None, None, None)
        i, row = found
        at = {k: cells[(i, k)] for k in ("mentor_id", "mentee_id") if (i, k) in cells}
        return (str(row.get("mentor_id", "")).strip(), str(row.get("mentee_id", "")).strip(), _b(copy.name),
                pickle.dumps(at))

    def check_pair_row(self, copy: Entry, found: tuple[int, dict], reg_row: dict, cells: dict) -> None:
        """A copy's own pair row should say what the registry says."""
        i, row = found
        for col in PAIR_KEYS_COMPARED:
            mine, theirs = row.get(col), reg_row.get(col)
            if mine is not None and theirs is not None and mine != theirs:
                sheet, cell = cells.get((i, col), (None, None))
                self.extra(copy, Problem(C.COPY_DIFFERS, file=copy.name, sheet=sheet, cell=cell, params={
                    "column": _pair_headers()[col], "value": C.shown(mine), "registry": C.shown(theirs)}))

    def check_banks(self, copy: Entry, wanted: list[tuple], cells: dict, missing: set[tuple[int, int, str]]) -> None:
        """The people of the copy's pair rows (:func:`_wanted`) must be in the curator's banks
        (``missing``: see :meth:`missing_people`)."""
        for i, key, role, label, sid in wanted:
            if (copy.i, role, sid) in missing:
                sheet, cell = cells.get((i, key), (None, None))
                self.extra(copy, Problem(C.NOT_IN_BANK, file=copy.name, sheet=sheet, cell=cell,
                                         params={"role": label, "value": sid}))

    def check_load(self, alerts: list[dict]) -> None:
        if alerts:  # people to locate: index the columns they are looked up by
            self.spill.script("CREATE INDEX reg_mentor ON reg_pairs (file_i, mentor_s, i); "
                              "CREATE INDEX reg_mentee ON reg_pairs (file_i, mentee_s, i); "
                              "CREATE INDEX copy_mentor ON prog (c_mentor, gid, mid); "
                              "CREATE INDEX copy_mentee ON prog (c_mentee, gid, mid);")
        for row in alerts:
            mentor = row["role"] == stats.ROLE_MENTOR
            params = {"value": row["person_id"], "count": row["max_concurrent"],
                      "groups": row["programme_ids"], "day": C.ru_date(row["peak_date"] or "")}
            self.school_wide(self.locate_person(mentor, row["person_id"],
                                                C.MENTOR_OVERLOAD if mentor else C.MENTEE_OVERLOAD, params))

    def locate_person(self, mentor: bool, person: str, code: str, params: dict) -> Problem:
        key = "mentor_id" if mentor else "mentee_id"
        if self.registry is not None:
            hit = self.spill.query(f"SELECT blob FROM reg_pairs WHERE file_i = ? AND {key[:-3]}_s = ? ORDER BY i "
                                   "LIMIT 1", (self.registry.i, person)).fetchone()
            if hit:
                sheet, cell = pickle.loads(hit[0])[1].get(key, (None, None))
                return Problem(code, file=self.registry.name, sheet=sheet, cell=cell, params=params)
        col = "c_mentor" if mentor else "c_mentee"
        hit = self.spill.query(f"SELECT c_file, c_cells FROM prog WHERE c_file IS NOT NULL AND {col} = ? "
                               "ORDER BY gid, mid LIMIT 1", (person,)).fetchone()
        if hit:
            sheet, cell = pickle.loads(hit[1]).get(key, (None, None))
            return Problem(code, file=_name(hit[0]), sheet=sheet, cell=cell, params=params)
        return Problem(code, params=params)

    def identity(self, copies: Copies) -> tuple[dict, list[str]]:
        """(school identity, directions) from the registry, else the first copy by name."""
        source = self.registry or min(copies.values(), key=lambda e: e.name, default=None)
        meta, record, _cells = self.load(source) if source else ({}, None, {})
        passport = (record or {}).get("passport") or {}
        ident = {k: meta.get(k) or passport.get(k) for k in ("school_name", "municipality", "academic_year")}
        school = {"code": self.school_code, "name": ident["school_name"], "municipality": ident["municipality"],
                  "academic_year": ident["academic_year"]}
        dirs = meta.get("directions") or load_layout().directions()
        return school, [d for d in dirs if isinstance(d, str)]

    # ------------------------------------------------------------ the whole run
    def run(self, created: dt.datetime | None = None) -> dict:
        """Consolidate what :meth:`add` kept; return the payload (long tables read from the spill)."""
        self.spill.flush()
        self.choose_registry()
        copies = self.copies()
        self.banks(copies)
        school, directions = self.identity(copies)
        sink = FigureSink(self.spill, self.as_of)
        self.programmes(copies, sink)
        sink.index()
        over, alerts = sink.load()
        self.check_load(alerts)
        self.settle_statuses()
        figures = sink.figures(over)
        tables = {**sink.small_tables(directions), **sink.long_tables(), **self.file_tables(figures)}
        return C.payload_of(school, directions, figures, tables, self.as_of, created)

    def settle_statuses(self) -> None:
        for e in self.entries:
            if e.status is None:
                e.status = WITH_PROBLEMS if e.own or e.extra else ACCEPTED
        if self.school_files:
            for e in self.entries:
                if e.status == ACCEPTED and e.name in self.school_files:
                    e.status = WITH_PROBLEMS

    def file_tables(self, figures: dict) -> dict[str, SpilledRows]:
        """The files and problems tables; adds the file and problem counts to ``figures``."""
        per_file: dict[bytes, list] = {}
        errors = warnings = 0
        for file, error, blob in self.spill.query(f"SELECT file, error, blob FROM problems ORDER BY {_ORDER}"):
            acc = per_file.setdefault(file, [0, 0, None, None])
            acc[0 if error else 1] += 1
            if acc[3] is None or (error and acc[2] is None):
                message = marshal.loads(blob)["message"]
                acc[3] = acc[3] if acc[3] is not None else message
                acc[2] = message if error and acc[2] is None else acc[2]
            errors, warnings = errors + bool(error), warnings + (not error)
        self.spill.new_table("files")
        for e in self.entries:
            self.spill.append("files", self.file_row(e, per_file))
        counts = Counter(e.status for e in self.entries)
        figures["files"] = {"total": len(self.entries), **{s: counts.get(s, 0) for s in FILE_STATUSES}}
        figures["problems"] = {"errors": errors, "warnings": warnings}
        return {"files": self.spill.rows("files"),
                "problems": SpilledRows(self.spill, f"SELECT blob FROM problems ORDER BY {_ORDER}", errors + warnings)}

    @staticmethod
    def file_row(e: Entry, per_file: dict[bytes, list]) -> dict:
        """The ``files`` row of ``e``; ``per_file``: (errors, warnings, first error, first message) by file."""
        name, programme_id, mentee_id = e.shown()
        n_errors, n_warnings, first_error, first = per_file.get(_b(name)) or (0, 0, None, None)
        reason = e.reason
        if reason is None and e.status in (REJECTED, DUPLICATE, SUPERSEDED):
            reason = first_error if first_error is not None else first
        programme = e.kind == "programme"
        return {"file": name, "status": e.status, "kind": e.kind if e.status != SKIPPED else None,
                "programme_id": programme_id if programme else None,
                "mentee_id": mentee_id if programme else None,
                "errors": n_errors, "warnings": n_warnings, "reason": reason, "duplicate_of": e.dup_of}

    def write(self, out: Path, payload: dict) -> list[Path]:
        """Write the summary workbook ``out`` and its machine-readable copy
        beside it (:func:`~xlflow.consolidate.export.write_machine_copy`);
        where there is ``fork`` (:mod:`xlflow.consolidate.forked`), a child
        first makes the payload text of the workbook's hidden sheet, then
        writes the copy, reading the spill through a connection of its own,
        while the parent writes the workbook. If the workbook fails, the
        child is stopped. The JSON and the CSV read each long table of the
        spill once between them (:data:`FORMS`)."""
        self.spill.flush()
        copy = one_read(payload, FORMS)
        text = PayloadText(copy)
        try:
            child = start(text.then(lambda: write_machine_copy(out, copy)), self.spill.reopen)
            text.made_by(child)
            try:
                book = school_writer.write_school_summary(out, payload, text=text)
            except BaseException:
                if child is not None:
                    child.stop()
                raise
            return [book, *(child.result() if child is not None else write_machine_copy(out, copy))]
        finally:
            text.close()
            close_one_reads(copy)

    def exit_code(self) -> int:
        if self.school_problems:
            return 1
        return 0 if all(e.status in (ACCEPTED, SKIPPED) for e in self.entries) else 1

    def close(self) -> None:
        self.spill.close()


_ROLES = {"mentor_id": (MENTOR, "Наставника"), "mentee_id": (MENTEE, "Наставляемого")}


def _wanted(record: dict | None) -> list[tuple]:
    """(row index, key, role, label, id) of the people a copy's pair rows name."""
    return [(i, key, role, label, value.strip())
            for i, row in enumerate((record or {}).get("pairs") or [])
            for key, (role, label) in _ROLES.items()
            if isinstance(value := row.get(key), str) and value.strip()]


def _pair_headers() -> dict[str, str]:
    spec = load_layout().sheet("pairs")
    assert isinstance(spec, TableSpec)
    return {c.key: c.header for c in spec.columns}


def collect_stream(facts: Iterable[FileFacts], as_of: dt.date, created: dt.datetime | None = None) -> tuple[
        StreamCollect, dict]:
    """Run collect over ``facts`` (in name order); return the run (close it when done) and the payload."""
    run = StreamCollect(as_of)
    try:
        for f in facts:
            run.add(f)
        return run, run.run(created)
    except BaseException:
        run.close()
        raise
