"""Run one piece of work in a forked child.

collect uses it twice. Its folder scan runs in a child
(:mod:`xlflow.consolidate.scan_plan`) that sends back only the compact plan:
a scan holds an entry per file at once, a peak that would otherwise stay in
the parent's heap (and in the workers forked from it); the child is forked
before the parent imports the readers, so the two overlap. At the end, a
child makes the payload text of the workbook's hidden sheet, then writes the
machine-readable copy (JSON and CSV), while the parent writes the summary
workbook: on two cores the serial end of a run gets shorter by their time.

The child inherits everything (payload, spill) by ``fork`` and sends back the
function's result or the exception it raised (pickled through a pipe), which
:meth:`Forked.result` returns or raises in the parent, so an ``OSError``
writing a CSV file is the same error as without the child. Where there is no
``fork`` (Windows), it is not safe enough (macOS) or it fails, :func:`start`
gives None and the caller does the work itself.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import Any, Callable


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def start(func: Callable[[], Any], prepare: Callable[[], None]) -> "Forked | None":
    """A child running ``func()``, or None where there is no ``fork`` or no
    process to spare (the caller then does the work itself)."""
    if not can_fork():
        return None
    try:
        return Forked(func, prepare)
    except OSError:  # EAGAIN, ENOMEM: too many processes or too little memory
        return None


def _stop(_signum: int, _frame: Any) -> None:
    raise SystemExit(1)  # unwinds: atomic outputs remove their temporary files


class Forked:
    """``func()`` running in a child process; ``prepare()`` runs first in the child."""

    def __init__(self, func: Callable[[], Any], prepare: Callable[[], None]) -> None:
        read_end, write_end = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if self.pid == 0:  # the child: never returns
            os.close(read_end)
            signal.signal(signal.SIGTERM, _stop)
            _child(func, prepare, write_end)
        os.close(write_end)
        self.fd: int | None = read_end

    def result(self) -> Any:
        """Wait for the child; its result, or raise what it raised."""
        assert self.fd is not None
        try:
            with os.fdopen(self.fd, "rb") as fh:
                data = fh.read()
        finally:  # even when interrupted (Ctrl+C reaches the child too): no zombie left
            self.fd = None
            _pid, status = os.waitpid(self.pid, 0)
        if not data:
            raise ChildProcessError(f"дочерний процесс завершился без результата (код {os.waitstatus_to_exitcode(status)})")
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """Stop the child (it removes what it had not finished writing) and wait for it."""
        if self.fd is None:
            return
        os.kill(self.pid, signal.SIGTERM)
        os.close(self.fd)
        self.fd = None
        os.waitpid(self.pid, 0)


def _child(func: Callable[[], Any], prepare: Callable[[], None], fd: int) -> None:
    code = 0
    try:
        try:
            prepare()
            outcome: tuple[bool, Any] = (True, func())
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            outcome, code = (False, exc), 1
        try:
            data = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            data = pickle.dumps((False, RuntimeError(repr(outcome[1]))))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    finally:
        os._exit(code)  # no atexit, no finalizers: the parent's temporary store stays
