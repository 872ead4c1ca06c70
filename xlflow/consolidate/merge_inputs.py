"""Input discovery for `xlflow merge`: which files are candidate school summaries.

Files given by name are always read (and so accepted or rejected with a
reason). Folders are scanned recursively in name order: ``.xlsx``/``.xlsm``/
``.ods``/``.json`` files are candidates; lock files, hidden and temporary files,
the CSV tables written beside summaries and anything else are listed as
skipped with a Russian reason, so every file is accounted for. The same file
reached twice (named and inside a folder, or through two folders) counts once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from xlflow.errors import XlflowError

CANDIDATE_EXTENSIONS = (".xlsx", ".xlsm", ".ods", ".json")


@dataclass(frozen=True)
class Found:
    """A file to read. ``explicit``: named on the command line (not found in a folder)."""

    path: Path
    display: str
    explicit: bool


@dataclass(frozen=True)
class Skipped:
    display: str
    reason: str


def _skip_reason(path: Path) -> str | None:
    name = path.name
    if name.startswith((".~lock", "~$")):
        return "файл блокировки (книга открыта в Excel или LibreOffice) — не сводка"
    if name.startswith("."):
        return "скрытый или временный файл"
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "таблица CSV (копия сводки): читается книга или файл .json"
    if suffix not in CANDIDATE_EXTENSIONS:
        return f"файл «{suffix or 'без расширения'}» не может быть сводкой (нужна книга .xlsx или .json)"
    return None


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def _key(path: Path) -> tuple:
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return (str(path.resolve()),)


def discover(inputs: Sequence[str | os.PathLike]) -> tuple[list[Found], list[Skipped]]:
    """Candidate files and skipped files of ``inputs`` (files or folders).

    Raises :class:`XlflowError` when there is no input or a path does not exist."""
    if not inputs:
        raise XlflowError("Укажите хотя бы одну сводку школы или папку со сводками.", code="no-inputs")
    found: list[Found] = []
    skipped: list[Skipped] = []
    seen: set[tuple] = set()
    for item in inputs:
        p = Path(item)
        if p.is_file():
            if _key(p) not in seen:
                seen.add(_key(p))
                found.append(Found(p, str(p), True))
        elif p.is_dir():
            for f in _walk(p):
                if _key(f) in seen:
                    continue
                seen.add(_key(f))
                reason = _skip_reason(f)
                if reason is None:
                    found.append(Found(f, str(f), False))
                else:
                    skipped.append(Skipped(str(f), reason))
        else:
            raise XlflowError(f"Путь {p} не найден. Проверьте имя файла или папки со сводками.",
                              code="input-not-found")
    return found, skipped
