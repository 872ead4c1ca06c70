"""Input discovery for `xlflow merge`, over :func:`xlflow.scan.scan_inputs`.

Files given by name are always read (and so accepted or rejected with a
reason). Folders are scanned recursively in name order: workbooks and ``.json``
files are candidates; lock files, hidden and temporary files, the CSV tables
written beside summaries, earlier municipal workbooks and anything else are
skipped with a Russian reason, so every file is accounted for. The same file
reached twice, or a byte-identical copy, counts once.

Files are shown by their path as reached from the given inputs, so two
folders holding ``ОО-001/СВОДКА.xlsx`` stay distinguishable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from xlflow.errors import XlflowError
from xlflow.problems import Problem
from xlflow.scan import SKIP_DUPLICATE, UNREADABLE, scan_inputs


@dataclass(frozen=True)
class Found:
    """A file to read. ``explicit``: named on the command line (not found in a folder)."""

    path: Path
    display: str
    explicit: bool


@dataclass(frozen=True)
class Skipped:
    """A file that is not read: skipped (or unreadable) with the scanner's problem."""

    path: Path
    display: str
    explicit: bool
    problem: Problem
    unreadable: bool = False
    duplicate: bool = False

    @property
    def reason(self) -> str:
        return self.problem.message


def discover(inputs: Sequence[str | os.PathLike]) -> tuple[list[Found], list[Skipped]]:
    """Candidate files and the other files of ``inputs`` (files or folders).

    Raises :class:`XlflowError` when no input is given."""
    if not inputs:
        raise XlflowError("Укажите хотя бы одну сводку школы или папку со сводками.", code="no-inputs")
    found: list[Found] = []
    skipped: list[Skipped] = []
    entries = scan_inputs(list(inputs), purpose="merge").entries
    by_name: dict[str, str] = {}
    for e in entries:
        by_name.setdefault(e.name, e.path)
    for e in entries:
        path = Path(e.path)
        if e.code is None:
            found.append(Found(path, e.path, e.explicit))
            continue
        problem = e.problem()
        assert problem is not None
        problem.file = e.path
        if e.duplicate_of is not None:
            problem.params["other"] = by_name.get(e.duplicate_of, e.duplicate_of)
        skipped.append(Skipped(path, e.path, e.explicit, problem, unreadable=e.status == UNREADABLE,
                               duplicate=e.code == SKIP_DUPLICATE))
    return found, skipped
