"""Read files in worker processes so that one file cannot take down a run.

python-calamine aborts the whole interpreter when an allocation fails (a Rust
abort that ``try/except`` cannot catch), a parser can loop or swallow memory,
and a C extension can crash. :func:`read_isolated` therefore calls
``func(path)`` in worker processes:

* each worker has an address-space limit (``resource.RLIMIT_AS`` where the
  platform has it: ``memory_mb`` above what the worker uses when it starts),
  so a file that needs too much memory fails in its worker;
* each file has a wall-clock limit (``timeout_s``): a worker that takes
  longer is killed;
* a worker that dies (abort, segfault, out of memory, killed) is reported as a
  failure of the file it was reading, a fresh worker takes its place and the
  run goes on. Each worker reads its files one at a time, in the order it
  got them, so the file that killed a worker is always known (its oldest
  unanswered one); the files queued behind it go to a fresh worker.

The parent keeps a few files queued in each worker and, while every worker
has a full queue, pauses for about two files' time before it looks at the
results: each wake-up then takes several results, which halves the parent's
CPU per file (a wake-up costs more than the message itself). A crash or a
timeout is noticed at most that pause later (``MAX_NAP_S``).

Results come back in the order of ``paths`` as ``(path, value)`` where value is
what ``func`` returned or a :class:`Failure`. A :class:`~xlflow.errors.XlflowError`
raised by ``func`` becomes a Failure with the same code and parameters; any
other exception becomes ``read-failed``. Nothing is lost: every path yields
exactly one pair.
"""
from __future__ import annotations

import faulthandler
import heapq
import math
import multiprocessing as mp
import os
import select
import signal
import sys
import time
import traceback
from array import array
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator

from xlflow.errors import ReadError, XlflowError
from xlflow.problems import ERROR, Problem, code_info, register

WORKER_CRASHED = register(
    "worker-crashed", ERROR,
    "Чтение файла аварийно остановилось ({reason}), остальные файлы прочитаны. Скорее всего, "
    "файл повреждён или слишком велик: откройте его в Excel или LibreOffice, сохраните заново как "
    "«Книга Excel (.xlsx)» и повторите.",
    "the worker process reading the file died (abort, segfault, out of memory)")
READ_TIMEOUT = register(
    "read-timeout", ERROR,
    "Файл читался дольше {seconds} с и был пропущен, остальные файлы прочитаны. Проверьте, не "
    "слишком ли он велик; сохраните его заново как «Книга Excel (.xlsx)» и повторите.",
    "reading the file exceeded the time limit")
READ_OUT_OF_MEMORY = register(
    "read-out-of-memory", ERROR,
    "Для чтения файла не хватило памяти (предел {memory_mb} МБ), остальные файлы прочитаны. "
    "Проверьте, не слишком ли он велик; удалите лишние листы и строки и повторите.",
    "reading the file exceeded the memory limit")
FILE_ERROR = register(
    "file-error", ERROR, "{message}",
    "an xlflow error raised while reading the file (message already says what to do)")
READ_FAILED = register(
    "read-failed", ERROR,
    "Файл не удалось прочитать из-за внутренней ошибки xlflow ({reason}). Остальные файлы "
    "прочитаны. Сообщите об ошибке разработчикам и приложите этот файл.",
    "unexpected exception while reading the file")

FILE_CHANGED = register(
    "file-changed-while-reading", ERROR,
    "Файл изменился во время чтения (его ещё сохраняют или копируют), результат не учтён. "
    "Дождитесь, пока файл будет сохранён полностью, и повторите команду.",
    "size or modification time changed between the start and the end of reading")

DEFAULT_MEMORY_MB = int(os.environ.get("XLFLOW_WORKER_MEMORY_MB", "1024"))
DEFAULT_TIMEOUT_S = float(os.environ.get("XLFLOW_READ_TIMEOUT_S", "120"))
IN_FLIGHT = 4  # tasks queued per worker: it never waits for the parent between two files
NAP_FILES = 2  # the parent's pause while every worker has IN_FLIGHT tasks, in files' time
MAX_NAP_S = 0.05


@dataclass(frozen=True)
class Failure:
    """Why one file could not be read (a registered problem code)."""

    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # traceback or exit status, for developers

    @property
    def message(self) -> str:
        return Problem(self.code, file=self.path, params=dict(self.params)).message

    def to_problem(self, file: str | None = None) -> Problem:
        """The report entry; ``file`` overrides the name shown (e.g. relative)."""
        return Problem(self.code, file=self.path if file is None else file, params=dict(self.params))

    def to_error(self) -> ReadError:
        return ReadError(self.code, file=self.path, **self.params)


def failure_from_exception(path: str, exc: BaseException) -> Failure:
    """Failure for an exception raised by the read function (in any process)."""
    if isinstance(exc, ReadError):
        return Failure(path, exc.code, dict(exc.params))
    if isinstance(exc, XlflowError):
        if _registered(exc.code) and "{" not in _template(exc.code):
            return Failure(path, exc.code, {})
        return Failure(path, FILE_ERROR, {"message": exc.message})
    if isinstance(exc, MemoryError):
        return Failure(path, READ_OUT_OF_MEMORY, {"memory_mb": _memory_mb_hint()})
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Failure(path, READ_FAILED, {"reason": type(exc).__name__}, detail=detail[-4000:])


def _registered(code: str) -> bool:
    try:
        code_info(code)
    except KeyError:
        return False
    return True


def _template(code: str) -> str:
    return code_info(code).template


_WORKER_MEMORY_MB = 0


def _memory_mb_hint() -> int:
    return _WORKER_MEMORY_MB


# ---------------------------------------------------------------- worker side
def file_stamp(path: str) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, None when it cannot be seen."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _current_vm_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at its current size + ``memory_mb``.

    A no-op where ``resource`` is missing (Windows)."""
    global _WORKER_MEMORY_MB
    _WORKER_MEMORY_MB = memory_mb
    try:
        import resource
    except ImportError:
        return
    if memory_mb <= 0:
        return
    limit = _current_vm_bytes() + memory_mb * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _die_with_parent() -> None:
    """Linux: the kernel kills the worker when the parent dies (closed terminal)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _pack_task(index: int, path: str) -> bytes:
    """A task as raw bytes (cheaper than pickling it on both sides); b"" stops the worker."""
    return b"%d\0" % index + os.fsencode(path)


def _unpack_task(task: bytes) -> tuple[int, str]:
    index, path = task.split(b"\0", 1)
    return int(index), os.fsdecode(path)


def _worker_main(conn: Connection, func: Callable[[str], Any], memory_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl+C
    _die_with_parent()
    if faulthandler.is_enabled():  # a crash is reported by the parent, without a stack dump
        faulthandler.disable()
    limit_memory(memory_mb)
    while True:
        try:
            task = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not task:
            return
        index, path = _unpack_task(task)
        before = file_stamp(path)
        try:
            message: tuple = (index, func(path))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes data
            message = (index, failure_from_exception(path, exc))
        if before is not None and file_stamp(path) not in (before, None):
            message = (index, Failure(path, FILE_CHANGED, {}))
        try:
            conn.send(message)
        except MemoryError:
            conn.send((index, Failure(path, READ_OUT_OF_MEMORY, {"memory_mb": memory_mb})))
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send((index, failure_from_exception(path, exc)))


# ---------------------------------------------------------------- parent side
def _context() -> mp.context.BaseContext:
    """fork on Linux (cheap, inherits imported modules); spawn elsewhere
    (Windows, macOS). ``XLFLOW_START_METHOD`` overrides (tests use spawn)."""
    methods = mp.get_all_start_methods()
    wanted = os.environ.get("XLFLOW_START_METHOD", "")
    if wanted in methods:
        return mp.get_context(wanted)
    if sys.platform.startswith("linux") and "fork" in methods:
        return mp.get_context("fork")
    return mp.get_context("spawn")


class _Worker:
    """One worker process and the tasks sent to it, oldest first. The worker
    reads its tasks in order, so the oldest is the one being read."""

    def __init__(self, ctx: mp.context.BaseContext, func: Callable[[str], Any], memory_mb: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, func, memory_mb), daemon=True)
        self.proc.start()
        child.close()
        self.tasks: deque[tuple[int, str]] = deque()
        self.started = 0.0  # when the oldest task started
        self.retiring = False  # it reads a file given out first, then exits (see _Run._feed)

    def give(self, index: int, path: str) -> bool:
        """Queue a task; False when the worker cannot take it (it is gone)."""
        try:
            self.conn.send_bytes(_pack_task(index, path))
        except (OSError, ValueError):
            return False
        if not self.tasks:
            self.started = time.monotonic()
        self.tasks.append((index, path))
        return True

    def finished(self) -> tuple[int, str]:
        """The oldest task is done; the next one starts now."""
        self.started = time.monotonic()
        return self.tasks.popleft()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send_bytes(b"")
        except (OSError, ValueError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)
        self.conn.close()


class _Waiter:
    """Which workers have something to say. POSIX: one ``poll`` object kept
    for the whole run (``multiprocessing.connection.wait`` builds a selector
    at every call, a noticeable share of the parent's time per file)."""

    def __init__(self) -> None:
        self.poller = select.poll() if hasattr(select, "poll") else None
        self.by_fd: dict[int, _Worker] = {}

    def add(self, w: _Worker) -> None:
        if self.poller is not None:
            for fd in (w.conn.fileno(), w.proc.sentinel):
                self.poller.register(fd, select.POLLIN)
                self.by_fd[fd] = w

    def remove(self, w: _Worker) -> None:
        """Before the worker's descriptors are closed (their numbers are reused)."""
        for fd in [fd for fd, x in self.by_fd.items() if x is w]:
            assert self.poller is not None
            self.poller.unregister(fd)
            del self.by_fd[fd]

    def ready(self, busy: list[_Worker], timeout: float) -> dict[_Worker, bool]:
        """{worker: a message may be waiting (else: it ended)} within ``timeout`` seconds."""
        if self.poller is None:
            got = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=timeout)
            return {w: w.conn in got for w in busy if w.conn in got or w.proc.sentinel in got}
        out: dict[_Worker, bool] = {}
        for fd, _event in self.poller.poll(max(0, math.ceil(timeout * 1000))):
            w = self.by_fd.get(fd)
            if w is not None:
                out[w] = out.get(w, False) or fd != w.proc.sentinel
        return out


def _death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "процесс не отвечает"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"процесс завершён сигналом {name}"
    return f"процесс завершился с кодом {exitcode}"


class PathList:
    """Many paths under one folder as one bytes object: what follows ``prefix``
    (UTF-8, lone surrogates kept) and where each one starts. A str per path
    would cost several times as much (a long folder name repeated, two or
    four bytes per character for Cyrillic names); a path is rebuilt when asked
    for."""

    def __init__(self, prefix: str, tails: Iterable[str], first: Iterable[int] = ()) -> None:
        self.prefix = prefix
        self.first = tuple(first)  # read before the others, in this order (their results still come in order)
        blob, ends = bytearray(), array("Q")
        for tail in tails:
            blob += tail.encode("utf-8", "surrogatepass")
            ends.append(len(blob))
        self._blob, self._ends = bytes(blob), ends

    def tail(self, k: int) -> str:
        """Path ``k`` without the prefix."""
        start = self._ends[k - 1] if k else 0
        return self._blob[start:self._ends[k]].decode("utf-8", "surrogatepass")

    def __getitem__(self, k: int) -> str:
        if not 0 <= k < len(self._ends):
            raise IndexError(k)
        return self.prefix + self.tail(k)

    def __len__(self) -> int:
        return len(self._ends)


def read_isolated(paths: Iterable[str | os.PathLike] | PathList, func: Callable[[str], Any], *,
                  jobs: int | None = None, memory_mb: int = DEFAULT_MEMORY_MB,
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, func(path) or Failure)`` for every path, in input order.

    ``func`` must be a module-level function (it is pickled where processes
    are spawned) and its result picklable. ``jobs`` defaults to the number of
    CPUs (at most the number of paths). A :class:`PathList` is used as it is
    (not copied into a list of str). The workers start when the first result
    is asked for (:class:`Reading` starts them at once)."""
    reading = Reading(paths, func, jobs=jobs, memory_mb=memory_mb, timeout_s=timeout_s)
    try:
        yield from reading
    finally:
        reading.close()


class Reading:
    """:func:`read_isolated`'s results, the workers started (and given their
    first files) as soon as this object is made: the caller can do other work
    while they read. Iterate it; :meth:`close` it in any case."""

    def __init__(self, paths: Iterable[str | os.PathLike] | PathList, func: Callable[[str], Any], *,
                 jobs: int | None = None, memory_mb: int = DEFAULT_MEMORY_MB,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        items = paths if isinstance(paths, PathList) else [os.fspath(p) for p in paths]
        self.run: _Run | None = None
        self._results: Iterator[tuple[str, Any]] = iter(())
        if len(items):
            self.run = _Run(items, func, max(1, min(jobs or os.cpu_count() or 1, len(items))), memory_mb, timeout_s)
            self._results = self.run.results()
            try:
                self.run._feed()
            except BaseException:
                self.close()
                raise

    def __iter__(self) -> "Reading":
        return self

    def __next__(self) -> tuple[str, Any]:
        return next(self._results)

    def close(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run = None


class _Run:
    def __init__(self, items: list[str] | PathList, func: Callable[[str], Any], jobs: int,
                 memory_mb: int, timeout_s: float) -> None:
        self.items, self.func, self.jobs = items, func, jobs
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self.ctx = _context()
        self.workers: list[_Worker] = []
        self.waiter = _Waiter()
        self.done: dict[int, Any] = {}
        self.next_index = 0
        self.retry: list[int] = []  # heap: tasks of a replaced worker, not read yet
        first = [k for k in getattr(items, "first", ()) if 0 <= k < len(items)]
        self.first = first[::-1]  # a stack: the next one to read is last
        self.early = frozenset(first)
        self.pace = 0.0  # seconds a file takes a worker (moving average)
        self.last_look = 0.0
        self.received = 0

    def results(self) -> Iterator[tuple[str, Any]]:
        emitted = 0
        while emitted < len(self.items):
            while emitted in self.done:
                yield self.items[emitted], self.done.pop(emitted)
                emitted += 1
            if emitted < len(self.items):
                self._step()

    def _has_work(self) -> bool:
        return bool(self.retry or self.first) or self._next_in_order() < len(self.items)

    def _next_in_order(self) -> int:
        while self.next_index in self.early:  # given out already, before the others
            self.next_index += 1
        return self.next_index

    def _take(self) -> int:
        if self.retry:
            return heapq.heappop(self.retry)
        if self.first:
            return self.first.pop()
        self.next_index = self._next_in_order() + 1
        return self.next_index - 1

    def _feed(self) -> None:
        """Start missing workers and keep IN_FLIGHT tasks queued in each, so
        that a worker never waits for the parent between two files."""
        while len(self.workers) < self.jobs and self._has_work():
            self.workers.append(_Worker(self.ctx, self.func, self.memory_mb))
            self.waiter.add(self.workers[-1])
        for depth in range(1, IN_FLIGHT + 1):
            for w in list(self.workers):
                if len(w.tasks) < depth and not w.retiring and self._has_work():
                    index = self._take()
                    if not w.give(index, self.items[index]):  # it died: _collect reports it
                        heapq.heappush(self.retry, index)
                        if not w.tasks:
                            self._replace(w)
                    elif index in self.early:
                        # a big file read first: the worker takes nothing more and
                        # exits once it is read, so what it grew to goes with it
                        w.retiring = True

    def _step(self) -> None:
        self._feed()
        busy = [w for w in self.workers if w.tasks]
        if not busy:
            return
        self._nap(busy)
        deadline = min(w.started for w in busy) + self.timeout_s
        received, readers = self.received, len(busy)
        ready = self.waiter.ready(busy, deadline - time.monotonic())
        while ready:
            for w, has_message in ready.items():
                if w in self.workers:
                    self._collect(w, has_message)
            busy = [w for w in self.workers if w.tasks]
            ready = self.waiter.ready(busy, 0) if busy else {}
        now = time.monotonic()
        self._learn_pace(now, readers, self.received - received)
        for w in [w for w in self.workers if w.tasks and now - w.started > self.timeout_s]:
            index, path = w.tasks[0]
            self._replace(w)
            self.done[index] = Failure(path, READ_TIMEOUT, {"seconds": _fmt_seconds(self.timeout_s)})

    def _learn_pace(self, now: float, readers: int, received: int) -> None:
        """Moving average of the time a worker takes per file, from the
        results of each look (several arrive together after a nap)."""
        if received and self.last_look:
            sample = (now - self.last_look) * readers / received
            self.pace = sample if self.pace == 0 else 0.7 * self.pace + 0.3 * sample
        self.last_look = now

    def _nap(self, busy: list[_Worker]) -> None:
        """Let results pile up while every worker has files queued: one
        wake-up of the parent (costly, above all in a virtual machine) then
        takes several results."""
        if self.pace > 0 and all(len(w.tasks) >= IN_FLIGHT for w in busy):
            time.sleep(min(self.pace * NAP_FILES, MAX_NAP_S))

    def _collect(self, w: _Worker, has_message: bool) -> None:
        """Take the worker's next result; when it has ended, the results it
        sent before, and its oldest task is the file that killed it."""
        if has_message and self._receive(w):
            if w.retiring and not w.tasks:
                self.waiter.remove(w)
                self.workers.remove(w)
                w.stop()
            return
        while w.tasks and w.conn.poll() and self._receive(w):
            pass
        if w.proc.is_alive():
            return
        exitcode = w.proc.exitcode
        task = w.tasks[0] if w.tasks else None
        self._replace(w)
        if task is not None:
            self.done[task[0]] = Failure(task[1], WORKER_CRASHED, {"reason": _death_reason(exitcode)},
                                         detail=f"exit code {exitcode}")

    def _receive(self, w: _Worker) -> bool:
        """One result of the worker; False when it has closed its end (dying)."""
        try:
            got_index, value = w.conn.recv()
        except (EOFError, OSError):
            w.proc.join(5)
            return False
        except Exception as exc:  # noqa: BLE001 - a result that cannot be unpickled
            index, path = w.finished()
            self.done[index] = failure_from_exception(path, exc)
            return True
        self.received += 1
        w.finished()
        self.done[got_index] = value
        return True

    def _replace(self, w: _Worker) -> None:
        """Kill the worker; the tasks it had not started go to the next ones
        (the caller reports its oldest task)."""
        self.waiter.remove(w)
        w.kill()
        self.workers.remove(w)
        for index, _path in list(w.tasks)[1:]:
            heapq.heappush(self.retry, index)
        w.tasks.clear()

    def close(self) -> None:
        for w in self.workers:
            self.waiter.remove(w)
            if w.tasks:
                w.kill()
            else:
                w.stop()
        self.workers = []


def _fmt_seconds(s: float) -> str:
    return str(int(s)) if float(s).is_integer() else f"{s:g}".replace(".", ",")
