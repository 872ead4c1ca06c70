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
    todo = PathList(prefix, (e.path[len(prefix):] for e in entries if e.status == CANDIDATE))
    renamed = {k: e.name for k, e in enumerate(e for e in entries if e.status == CANDIDATE)
               if e.name != name_of(todo.tail(k))}
    return todo, others, renamed


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
