"""Output safety shared by every command that writes files.

* Outputs are written atomically: to a temporary file in the target folder,
  flushed, then ``os.replace``d over the target, so a reader never sees a
  half-written file and a crash leaves the old file (or nothing) in place.
* An output may never overwrite one of the inputs of the same call.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from xlflow.errors import XlflowError


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def refuse_overwriting_inputs(output: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> None:
    """Raise if ``output`` is one of ``inputs`` (or lies inside an input folder
    given as an input *file* path is fine: folders are checked by the caller)."""
    out = Path(output)
    for item in inputs:
        p = Path(item)
        if p.is_file() and out.exists() and same_file(out, p):
            raise XlflowError(
                f"Файл результата {out} совпадает с входным файлом. "
                "Укажите другое имя для результата: входные файлы xlflow не изменяет.",
                code="output-is-input",
            )


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str | None = None, *,
                  durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    The temporary name keeps the extension (writers such as xlsxwriter or
    pandas look at it) and starts with ``.~xlflow-`` so folder scans skip it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ext = suffix if suffix is not None else target.suffix
    fd, tmp = tempfile.mkstemp(prefix=".~xlflow-", suffix=ext, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if durable:
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp_path, _default_mode())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _default_mode() -> int:
    """Permissions an ordinary new file gets (0666 less the umask): mkstemp's
    private 0600 would hide outputs from colleagues on a shared office folder."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
