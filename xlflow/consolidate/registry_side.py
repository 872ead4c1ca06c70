"""A school's registry handed from the worker to the parent through a side file.

A registry holds thousands of people and pairs. Pickled whole in its
:class:`~xlflow.consolidate.facts.FileFacts`, it would cost the worker the
pickle (~5 MB at 10,000 pairs) and the parent the unpickled records (~20 MB)
at once. Instead the worker writes the rows the parent's spill keeps of it
(tables ``bank`` and ``reg_pairs`` of :mod:`xlflow.consolidate.spill`,
without the file number) into a small sqlite file in a folder the parent
owns (:func:`write_side`), and sends only its path; the parent copies them
into its spill with ``INSERT ... SELECT`` and deletes the file
(:func:`copy_side`). A worker that dies leaves at most a file in that
folder, which the parent removes at the end of the run; the file itself is
charged to the right input as any worker failure is.

:func:`bank_rows` and :func:`pair_rows` build the same rows for records
that reach the parent whole (files read outside ``collect``'s stream).
"""
from __future__ import annotations

import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from xlflow.consolidate import school_stats as stats
from xlflow.consolidate.facts import PAIR_CELL_KEYS
from xlflow.consolidate.school_stream import MENTEE, MENTOR

PEOPLE = ((MENTOR, "mentors"), (MENTEE, "mentees"))
TABLES = ("mentors", "mentees", "pairs")  # what of a registry's records goes through the side file
_PAIR_KEY = ("group_id", "mentee_id", "mentor_id", "mentee_id")  # gid, mid, mentor_s, mentee_s

_SCHEMA = """
CREATE TABLE bank (role INTEGER, seq INTEGER, id TEXT, sid TEXT, full_name TEXT, young INTEGER);
CREATE TABLE reg_pairs (i INTEGER, gid TEXT, mid TEXT, mentor_s TEXT, mentee_s TEXT, blob BLOB);
"""


def bank_rows(record: Mapping) -> Iterator[tuple]:
    """(role, seq, id, sid, full_name, young) of the people of ``record``."""
    for role, table in PEOPLE:
        for seq, person in enumerate(record.get(table) or []):
            if not isinstance(person, dict):
                continue
            pid = person.get("id")
            yield (role, seq, pid.strip() if isinstance(pid, str) and pid.strip() else None,
                   str(person.get("id", "")).strip(), stats._text(person.get("full_name")),
                   int(person.get("category") == stats.YOUNG_SPECIALIST))


def pair_rows(pairs: list, cells: Mapping) -> Iterator[tuple]:
    """(i, gid, mid, mentor_s, mentee_s, blob) of the pair rows; the blob
    pickles the row and the cells of its keys, ``(row index, key) -> (sheet, A1)``."""
    for i, row in enumerate(pairs):  # i: the row's index, as in the cells' keys
        if not isinstance(row, dict):
            continue
        key = [str(row.get(k, "")).strip() for k in _PAIR_KEY]
        at = {k: hit for k in PAIR_CELL_KEYS if (hit := cells.get((i, k))) is not None}  # one lookup each
        yield (i, *key, pickle.dumps((row, at), pickle.HIGHEST_PROTOCOL))


def write_side(folder: str, data: Mapping, cells: Mapping) -> str:
    """Write the bank and pair rows of the records ``data`` into a new file
    in ``folder`` (in the worker); return its path."""
    fd, path = tempfile.mkstemp(prefix="registry-", suffix=".sqlite", dir=folder)
    os.close(fd)
    try:
        db = sqlite3.connect(path)
        try:
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -2000"):
                db.execute(f"PRAGMA {pragma}")
            db.executescript(_SCHEMA)
            with db:
                db.executemany("INSERT INTO bank VALUES (?, ?, ?, ?, ?, ?)", bank_rows(data))
                db.executemany("INSERT INTO reg_pairs VALUES (?, ?, ?, ?, ?, ?)",
                               pair_rows(data.get("pairs") or [], cells))
        finally:
            db.close()
    except BaseException:
        _remove(path)
        raise
    return path


def copy_side(db: sqlite3.Connection, path: str, file_i: int) -> None:
    """Copy the rows of side file ``path`` into the spill ``db`` as file
    ``file_i``'s (in the parent, with nothing pending), then delete the file."""
    try:
        db.execute("ATTACH DATABASE ? AS side", (path,))
        try:
            with db:
                db.execute("INSERT INTO bank SELECT ?, role, seq, id, sid, full_name, young "
                           "FROM side.bank ORDER BY rowid", (file_i,))
                db.execute("INSERT INTO reg_pairs SELECT ?, i, gid, mid, mentor_s, mentee_s, blob "
                           "FROM side.reg_pairs ORDER BY rowid", (file_i,))
        finally:
            db.execute("DETACH DATABASE side")
    finally:
        _remove(path)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def without_tables(data: Mapping[str, Any]) -> dict:
    """``data`` without the tables the side file holds."""
    return {k: v for k, v in data.items() if k not in TABLES}
