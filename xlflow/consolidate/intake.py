"""Collect's intake: scan the folder (every file accounted for) and read the
candidates in isolated worker processes, giving one :class:`FileFacts` per
file in name order."""
from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
from typing import Any, Callable, Iterable, Iterator

from xlflow.consolidate.facts import (DUPLICATE, REJECTED, SKIPPED, FileFacts, _interned, _mtime,
                                      read_facts)
from xlflow.problems import Problem


def _facts_of_entry(e: Any) -> FileFacts:
    """FileFacts of one :class:`xlflow.scan.ScanEntry`."""
    from xlflow import scan
    from xlflow.consolidate.collect import DUPLICATE_COPY

    facts = FileFacts(path=e.path, name=e.name, mtime=_mtime(e.path))
    if e.status == scan.CANDIDATE:
        return facts
    problem = e.problem()
    if e.status == scan.UNREADABLE:
        facts.status = REJECTED
        facts.problems = [problem] if problem else []
    elif e.code == scan.SKIP_DUPLICATE:
        facts.status = DUPLICATE
        facts.problems = [Problem(DUPLICATE_COPY, file=e.name, params={"other": e.duplicate_of})]
    else:
        facts.status, facts.reason = SKIPPED, problem.message if problem else None
    return facts


def scan_folder(root: str | os.PathLike, outputs: Iterable[str | os.PathLike] = ()) -> list[FileFacts]:
    """Every file under ``root`` in name order (:func:`xlflow.scan.scan_inputs`):
    candidates have no status yet; skipped files carry the reason, unreadable
    ones are rejected, byte-identical copies are duplicates of the first."""
    from xlflow.scan import scan_inputs

    result = scan_inputs([root], purpose="collect", output_paths=list(outputs))
    return [_facts_of_entry(e) for e in result.entries]


ProgressFn = Callable[[FileFacts], None]


def read_path(path: str, as_of: dt.date) -> FileFacts:
    """Worker entry point for :func:`xlflow.reading.isolate.read_isolated`
    (the parent sets the display name afterwards)."""
    return read_facts(path, path, as_of)


def _named(got: Any, f: FileFacts) -> FileFacts:
    """Facts of ``f`` from what a worker returned (facts or an isolate Failure)."""
    if not isinstance(got, FileFacts):
        return FileFacts(path=f.path, name=f.name, mtime=f.mtime, status=REJECTED,
                         problems=[got.to_problem(file=f.name)])
    got.name = f.name
    for p in got.problems:
        p.file = f.name
    return got


def read_all(files: list[FileFacts], as_of: dt.date, jobs: int | None = None,
             progress: ProgressFn | None = None) -> list[FileFacts]:
    """Facts of every file: candidates are read and validated in ``jobs``
    isolated worker processes (memory and time limits; a dead worker becomes a
    problem of its file), the others are kept as they are."""
    from xlflow.reading.isolate import read_isolated

    importlib.import_module("xlflow.validation.validate")  # imported once, inherited by forked workers

    todo = [f for f in files if f.status is None]
    by_path: dict[str, FileFacts] = {}
    worker = functools.partial(read_path, as_of=as_of)
    for f, (_path, got) in zip(todo, read_isolated([f.path for f in todo], worker, jobs=jobs)):
        facts = _named(got, f)
        facts.meta = _interned(facts.meta)
        facts.record = _interned(facts.record)
        facts.pair_cells = _interned(facts.pair_cells)
        by_path[f.path] = facts
        if progress:
            progress(by_path[f.path])
    return [by_path.get(f.path, f) for f in files]


def iter_facts(folder: str | os.PathLike, outputs: Iterable[str | os.PathLike], as_of: dt.date, *,
               jobs: int | None = None, progress: ProgressFn | None = None,
               on_scan: Callable[[int], None] | None = None) -> Iterator[FileFacts]:
    """The facts of every file under ``folder``, each exactly once, in name
    order (skipped and rejected files included), as soon as they are known.
    ``on_scan`` gets the number of files to read before the first one is read;
    ``progress`` is called once for each file read."""
    files = scan_folder(folder, outputs)
    if on_scan:
        on_scan(sum(1 for f in files if f.status is None))
    yield from read_all(files, as_of, jobs, progress)
