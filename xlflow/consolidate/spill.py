"""Collect's temporary store on disk: per-file facts, the people and pair rows
of the school workbooks, the programmes and the long tables of the summary.

``xlflow collect`` keeps in memory only a small index entry per file; what
grows with the number of copies goes to a sqlite database in a temporary
folder (stdlib :mod:`sqlite3`, no journal, a small page cache) and is read
back one row at a time. The folder is deleted by :meth:`Spill.close` (or when
the object is garbage collected). Inserts are buffered and written in one
transaction per batch.
"""
from __future__ import annotations

import marshal
import os
import sqlite3
import tempfile
from typing import Any, Iterator, Sequence

from xlflow.consolidate.export import RowStream

BATCH = 256  # rows buffered before a write: bounds the memory of pending blobs

_SCHEMA = """
CREATE TABLE blobs (i INTEGER PRIMARY KEY, blob BLOB, pre BLOB);
CREATE TABLE bank (file_i INTEGER, role INTEGER, seq INTEGER, id TEXT, sid TEXT, full_name TEXT, young INTEGER);
CREATE INDEX bank_known ON bank (file_i, role, sid);
CREATE TABLE reg_pairs (file_i INTEGER, i INTEGER, gid TEXT, mid TEXT, mentor_s TEXT, mentee_s TEXT, blob BLOB);
CREATE INDEX reg_pairs_at ON reg_pairs (file_i, i);
CREATE TABLE copy_order (file_i INTEGER PRIMARY KEY, pos INTEGER);
CREATE TABLE people (role INTEGER, id TEXT, full_name TEXT, young INTEGER, PRIMARY KEY (role, id)) WITHOUT ROWID;
CREATE TABLE prog (seq INTEGER PRIMARY KEY, gid TEXT, mid TEXT, mentor TEXT, declared TEXT,
                   mentoring_form TEXT, interaction_form TEXT, kind TEXT, mode TEXT, start TEXT, end TEXT,
                   c_mentor TEXT, c_mentee TEXT, c_file TEXT, c_cells BLOB, blob BLOB);
CREATE TABLE kinds (gid TEXT PRIMARY KEY, kind TEXT) WITHOUT ROWID;
CREATE TABLE wanted (file_i INTEGER, role INTEGER, sid TEXT);
CREATE TABLE counted (gid TEXT, mid TEXT, file_i INTEGER, PRIMARY KEY (gid, mid)) WITHOUT ROWID;
CREATE TABLE problems (file BLOB, s0 INTEGER, s1 INTEGER, s2 BLOB, r INTEGER, c INTEGER, code BLOB,
                       grp INTEGER, fpos INTEGER, seq INTEGER, own INTEGER, error INTEGER, blob BLOB);
"""

_INSERTS = {
    "blobs": "INSERT INTO blobs VALUES (?, ?, ?)",
    "bank": "INSERT INTO bank VALUES (?, ?, ?, ?, ?, ?, ?)",
    "reg_pairs": "INSERT INTO reg_pairs VALUES (?, ?, ?, ?, ?, ?, ?)",
    "copy_order": "INSERT INTO copy_order VALUES (?, ?)",
    "wanted": "INSERT INTO wanted VALUES (?, ?, ?)",
    "counted": "INSERT INTO counted VALUES (?, ?, ?)",
    "prog": "INSERT INTO prog VALUES (" + ", ".join("?" * 16) + ")",
    "problems": "INSERT INTO problems VALUES (" + ", ".join("?" * 13) + ")",
}


class Spill:
    """The temporary database; ``add(table, row)`` buffers, ``flush()`` writes."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="xlflow-collect-", ignore_cleanup_errors=True)
        self.db = self._connect()
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.executescript(_SCHEMA)
        self._pending: dict[str, list[tuple]] = {}
        self._size = 0
        self._rows: dict[str, int] = {}

    def _connect(self) -> sqlite3.Connection:
        """A connection with a small page cache (1 MB: the parent's memory
        must not grow with the store) and sorts spilled to files."""
        db = sqlite3.connect(os.path.join(self._dir.name, "spill.sqlite"))
        for pragma in ("synchronous = OFF", "cache_size = -1000", "temp_store = FILE"):
            db.execute(f"PRAGMA {pragma}")
        return db

    def reopen(self) -> None:
        """In a forked child that only reads (the parent flushed before the
        fork): a connection of its own, as one must not be used across a fork;
        the inherited one is left alone for the parent."""
        self._pending, self._size = {}, 0
        self.db = self._connect()

    def add(self, table: str, row: tuple) -> None:
        self._pending.setdefault(table, []).append(row)
        self._size += 1
        if self._size >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._size:
            return
        with self.db:
            for table, rows in self._pending.items():
                self.db.executemany(_INSERTS.get(table) or f"INSERT INTO {table} VALUES (?, ?)", rows)
        self._pending, self._size = {}, 0

    def query(self, sql: str, params: Sequence[Any] = (), flush: bool = True) -> sqlite3.Cursor:
        """Run ``sql`` (after writing what is buffered, unless ``flush`` is False:
        a read of a table that is complete need not wait for a transaction)."""
        if flush:
            self.flush()
        return self.db.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] = (), flush: bool = True) -> Any:
        row = self.query(sql, params, flush).fetchone()
        return row[0] if row else None

    def script(self, sql: str) -> None:
        self.flush()
        with self.db:
            self.db.executescript(sql)

    # ------------------------------------------------------------ long tables
    def new_table(self, name: str) -> None:
        self.db.execute(f"CREATE TABLE rows_{name} (seq INTEGER PRIMARY KEY, blob BLOB)")
        self._rows[name] = 0

    def append(self, name: str, row: dict) -> None:
        """Add one row (a dict of plain values, key order kept) to long table ``name``."""
        self.append_blob(name, marshal.dumps(row))

    def append_blob(self, name: str, blob: bytes) -> None:
        """Add one row, already marshalled, to long table ``name``."""
        self.add(f"rows_{name}", (None, blob))
        self._rows[name] += 1

    def rows(self, name: str) -> "SpilledRows":
        return SpilledRows(self, f"SELECT blob FROM rows_{name} ORDER BY seq", self._rows[name])

    def close(self) -> None:
        self._pending, self._size = {}, 0
        self.db.close()
        self._dir.cleanup()


class SpilledRows(RowStream):
    """Rows of a long table read back from the spill, one at a time, each
    time the table is iterated (several writers read the same table)."""

    def __init__(self, spill: Spill, sql: str, count: int, params: Sequence[Any] = ()) -> None:
        self.spill, self.sql, self.count, self.params = spill, sql, count, tuple(params)

    def __iter__(self) -> Iterator[dict]:
        for (blob,) in self.spill.query(self.sql, self.params):
            yield marshal.loads(blob)

    def __len__(self) -> int:
        return self.count
