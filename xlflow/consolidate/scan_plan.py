"""collect's folder scan, started early: the plan of what to read.

The scan runs in a forked child (:mod:`xlflow.consolidate.forked`) that sends
back only the compact plan (:func:`plan_of`): a scan holds an entry per file
at once (10 MB for 10,000 files), a peak that would otherwise stay in the
parent (and in the workers forked from it) for the whole run. This module is
light on purpose: :func:`start` forks the child before the parent imports
what the workers need (the readers, the validation), so the two overlap.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

Plan = tuple[Any, dict[int, Any], dict[int, str]]


def scan_entries(root: str | os.PathLike, outputs: Iterable[str | os.PathLike]) -> list[Any]:
    from xlflow.scan import scan_inputs

    return scan_inputs([root], purpose="collect", output_paths=list(outputs), templates=False).entries


def name_of(tail: str) -> str:
    return tail.replace(os.sep, "/")


def plan_of(folder: str, entries: list[Any]) -> Plan:
    """The scan kept small: the candidates' paths as one
    :class:`~xlflow.reading.isolate.PathList` (the name shown is derived from
    the path, :func:`name_of`), the other files' entries by their position in
    name order, and the names shown that do not follow from the path (none in a
    plain folder scan)."""
    from xlflow.reading.isolate import PathList
    from xlflow.scan import CANDIDATE

    prefix = os.path.join(folder, "")
    others = {pos: e for pos, e in enumerate(entries) if e.status != CANDIDATE}
    if not all(e.path.startswith(prefix) for e in entries if e.status == CANDIDATE):
        prefix = ""
    candidates = [e for e in entries if e.status == CANDIDATE]
    todo = PathList(prefix, (e.path[len(prefix):] for e in candidates), big_first([e.size for e in candidates]))
    renamed = {k: e.name for k, e in enumerate(candidates)
               if e.name != name_of(todo.tail(k))}
    return todo, others, renamed


BIG_FACTOR = 4  # a file this many times the median candidate's size ...
BIG_FLOOR = 64 << 10  # ... and at least this big is read first
MOST_FIRST = 32  # results read early wait in the parent until their turn: keep them few


def big_first(sizes: list[int]) -> list[int]:
    """Positions of the files to read before the others, the largest first:
    those much bigger than the typical candidate (a school's registry among
    its copies). Read first, such a file (1) does not keep one worker busy
    alone at the end while the others have nothing left (the run's last
    seconds), and (2) is read by a worker that has not yet grown on the
    copies, so its peak memory is its own and not added on top of theirs."""
    if not sizes:
        return []
    typical = sorted(sizes)[len(sizes) // 2]
    big = [k for k, size in enumerate(sizes) if size >= max(BIG_FLOOR, BIG_FACTOR * typical)]
    return sorted(big, key=lambda k: (-sizes[k], k))[:MOST_FIRST]


class Scan:
    """The plan of ``folder``, made in a forked child from the moment this
    object is made (in the caller, on :meth:`result`, where there is no
    child). Call :meth:`result` once, or :meth:`stop` when it is not needed."""

    def __init__(self, folder: str | os.PathLike, outputs: Iterable[str | os.PathLike]) -> None:
        from xlflow.consolidate.forked import start

        self.folder, self.outputs = os.fspath(folder), [os.fspath(p) for p in outputs]
        self.child = start(self._plan, lambda: None)

    def _plan(self) -> Plan:
        return plan_of(self.folder, scan_entries(self.folder, self.outputs))

    def result(self) -> Plan:
        return self.child.result() if self.child is not None else self._plan()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
