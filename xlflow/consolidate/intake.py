"""Collect's intake: scan the folder (every file accounted for) and read the
candidates in isolated worker processes, giving one :class:`FileFacts` per
file in name order, as a stream.

The parent does only cheap work per file (names, stat, the sha256 of files
of equal size, a small message from the worker); the workers, which open
each file anyway, also recognise xlflow's own summaries.
"""
from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
import tempfile
from typing import Any, Callable, Iterable, Iterator

from xlflow.consolidate.facts import DUPLICATE, REJECTED, SKIPPED, FileFacts, _mtime, read_facts
from xlflow.consolidate.scan_plan import Scan, name_of
from xlflow.problems import Problem

ProgressFn = Callable[[FileFacts], None]


def _facts_of_entry(e: Any, own: dict[str, Problem] | None = None) -> FileFacts:
    """FileFacts of one :class:`xlflow.scan.ScanEntry`; ``own`` maps the names
    of files found to be xlflow's own outputs to their problem (a duplicate of
    one is one too)."""
    from xlflow import scan
    from xlflow.consolidate.collect import DUPLICATE_COPY

    facts = FileFacts(path=e.path, name=e.name, mtime=_mtime(e.path))
    if e.status == scan.CANDIDATE:
        return facts
    problem = e.problem()
    if e.status == scan.UNREADABLE:
        facts.status = REJECTED
        facts.problems = [problem] if problem else []
    elif e.code == scan.SKIP_DUPLICATE and own and e.duplicate_of in own:
        facts.status, facts.reason = SKIPPED, own[e.duplicate_of].message
    elif e.code == scan.SKIP_DUPLICATE:
        facts.status = DUPLICATE
        facts.problems = [Problem(DUPLICATE_COPY, file=e.name, params={"other": e.duplicate_of})]
    else:
        facts.status, facts.reason = SKIPPED, problem.message if problem else None
    return facts


def read_path(path: str, as_of: dt.date, side_dir: str | None = None) -> FileFacts | Problem:
    """Worker entry point for :func:`xlflow.reading.isolate.read_isolated`
    (the parent sets the display name afterwards): the facts, or the
    ``skipped-own-output`` problem for one of xlflow's own summaries (looked
    for only in files that are not accepted copies: it costs a few ms).
    ``side_dir``: see :func:`read_facts`."""
    facts = read_facts(path, path, as_of, side_dir)
    if facts.status is not None:
        from xlflow.scan import own_output_problem

        return own_output_problem(path, path) or facts
    return facts


def _named(got: Any, path: str, name: str) -> FileFacts | Problem:
    """What a worker returned (facts, own-output problem or an isolate
    Failure) for the file shown as ``name``."""
    if isinstance(got, FileFacts):
        got.name = name
        for p in got.problems:
            p.file = name
        return got
    if isinstance(got, Problem):
        got.file = name
        return got
    from xlflow.scan import own_output_problem

    return own_output_problem(path, name) or FileFacts(
        path=path, name=name, mtime=_mtime(path), status=REJECTED, problems=[got.to_problem(file=name)])


def _skipped_own(path: str, problem: Problem) -> FileFacts:
    return FileFacts(path=path, name=problem.file or path, mtime=_mtime(path), status=SKIPPED,
                     reason=problem.message)


# what the workers import: imported once here, inherited by forked workers, and
# the parent knows every problem code a worker can send back (to render it)
WORKER_MODULES = ("xlflow.validation.validate", "xlflow.reading.programme", "xlflow.scan")


def _worker(as_of: dt.date, side_dir: str | None = None) -> Callable[[str], Any]:
    for name in WORKER_MODULES:
        importlib.import_module(name)
    return functools.partial(read_path, as_of=as_of, side_dir=side_dir)


def iter_facts(folder: str | os.PathLike, outputs: Iterable[str | os.PathLike], as_of: dt.date, *,
               jobs: int | None = None, progress: ProgressFn | None = None,
               on_scan: Callable[[int], None] | None = None, scan: Scan | None = None) -> Iterator[FileFacts]:
    """The facts of every file under ``folder``, each exactly once, in name
    order (skipped and rejected files included), as soon as they are known.
    ``on_scan`` gets the number of files to read before the first one is read;
    ``progress`` is called once for each file read. A school's registry
    comes with a side file (:mod:`xlflow.consolidate.registry_side`) for the
    consumer to copy; what is left of those files goes when the iteration ends.
    ``scan``: the folder's scan when the caller started it already (with the
    same ``folder`` and ``outputs``); else it starts here, and the modules the
    workers need are imported while it runs."""
    from xlflow.reading.isolate import Reading

    scan = scan if scan is not None else Scan(folder, outputs)
    side_dir = tempfile.TemporaryDirectory(prefix="xlflow-registry-", ignore_cleanup_errors=True)
    try:
        worker = _worker(as_of, side_dir.name)
        todo, others, renamed = scan.result()
        if on_scan:
            on_scan(len(todo))
        results = Reading(todo, worker, jobs=jobs)  # the workers read from now on
    except BaseException:
        scan.stop()
        side_dir.cleanup()
        raise
    own: dict[str, Problem] = {}
    k = 0
    try:
        for pos in range(len(todo) + len(others)):
            entry = others.get(pos)
            if entry is not None:
                yield _facts_of_entry(entry, own)
                continue
            path, got = next(results)
            name = renamed.get(k) or name_of(path[len(todo.prefix):])
            k += 1
            named = _named(got, path, name)
            if isinstance(named, Problem):
                own[name] = named
                named = _skipped_own(path, named)
            if progress:
                progress(named)
            yield named
    finally:
        results.close()
        side_dir.cleanup()
