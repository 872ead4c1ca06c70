"""Sample workbooks on disk: a school's registry and its filled copies.

The records come from :func:`xlflow.writing.sample_school.generate_school`; the
workbooks are written by the programme writer exactly as ``xlflow split`` and a
teacher would leave them (the copy's identity, people and pairs locked, the rest
filled in). Many files are written by a pool of processes, one per core.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xlflow.errors import XlflowError
from xlflow.writing import fakedata
from xlflow.writing.programme import WorkbookOptions, normalize_academic_year, write_programme_workbook
from xlflow.writing.sample_school import CopyCallback, SampleCopy, SampleSchool, generate_school

# Below this many workbooks per worker a pool costs more than it saves.
MIN_FILES_PER_JOB = 8
# Workbooks sent to a worker at a time, and batches queued per worker.
BATCH = 4
PENDING_PER_JOB = 3
REGISTRY_STEM = "Книга школы"


@dataclass(frozen=True)
class WriteTask:
    path: str
    options: WorkbookOptions
    records: dict
    lock_prefilled: bool


@dataclass
class SampleResult:
    """What :func:`write_samples` wrote for one school."""

    school: SampleSchool
    out_dir: Path
    registry_path: Path
    copy_paths: list[Path]  # in the order of ``school.copies``
    seconds: float
    jobs: int

    @property
    def files(self) -> list[Path]:
        return [self.registry_path, *self.copy_paths]

    @property
    def ms_per_workbook(self) -> float:
        return 1000 * self.seconds / len(self.files)


@dataclass
class MunicipalitySample:
    """What :func:`write_municipality_samples` wrote: one subfolder per school."""

    out_dir: Path
    schools: list[SampleResult]
    seconds: float
    jobs: int

    @property
    def files(self) -> list[Path]:
        return [p for s in self.schools for p in s.files]

    @property
    def ms_per_workbook(self) -> float:
        return 1000 * self.seconds / max(1, len(self.files))


def registry_path(out_dir: Path, school: SampleSchool) -> Path:
    return out_dir / f"{REGISTRY_STEM} {school.school_code}.xlsx"


class _TaskList:
    """A StreamWriter stand-in that only collects the tasks."""

    def __init__(self) -> None:
        self.tasks: list[WriteTask] = []

    def add(self, task: WriteTask) -> None:
        self.tasks.append(task)


def school_tasks(school: SampleSchool, out_dir: Path) -> tuple[list[WriteTask], Path, list[Path]]:
    """Write tasks for the registry (first) and every copy of an already
    generated ``school``, with their paths (as :func:`write_samples` writes them)."""
    collected = _TaskList()
    files = SchoolWriter(collected, out_dir)
    for c in school.copies:
        files(school, c)
    assert files.registry_path is not None
    return collected.tasks, files.registry_path, files.paths


def _write_batch(tasks: list[WriteTask]) -> int:
    for t in tasks:
        write_programme_workbook(t.path, t.options, t.records, lock_prefilled=t.lock_prefilled,
                                 durable=False)
    return len(tasks)


def choose_jobs(jobs: int | None, n_files: int) -> int:
    """Worker processes: ``jobs`` if given, else one per core while each has
    at least :data:`MIN_FILES_PER_JOB` files."""
    if jobs is not None:
        if jobs < 1:
            raise XlflowError("Число процессов (--jobs) должно быть не меньше 1.", code="bad-jobs")
        return jobs
    return max(1, min(os.cpu_count() or 1, n_files // MIN_FILES_PER_JOB))


class StreamWriter:
    """Writes tasks as they are added: inline with one job, else in batches on a
    process pool, so files are written while the rest is still generated.
    Leaving the ``with`` block waits for every file and re-raises the first failure."""

    def __init__(self, jobs: int, batch: int = BATCH) -> None:
        self.jobs = jobs
        self.batch_size = batch
        self.batch: list[WriteTask] = []
        self.futures: deque = deque()
        self.max_pending = PENDING_PER_JOB * jobs  # generation waits rather than queue everything
        self.pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None

    def add(self, task: WriteTask) -> None:
        if self.pool is None:
            _write_batch([task])
            return
        self.batch.append(task)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.batch and self.pool is not None:
            while len(self.futures) >= self.max_pending:
                self.futures.popleft().result()
            self.futures.append(self.pool.submit(_write_batch, self.batch))
            self.batch = []

    def __enter__(self) -> "StreamWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self.pool is None:
            return
        if exc_type is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            return
        self.flush()
        try:
            while self.futures:
                self.futures.popleft().result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


class SchoolWriter:
    """Turns a school's registry and copies into write tasks as they are generated
    (the callback of :func:`generate_school`); each copy is the one ``xlflow
    split`` plans for its pair row (same options and file name)."""

    def __init__(self, writer: "StreamWriter | _TaskList", out_dir: Path, keep_records: bool = True) -> None:
        self.writer = writer
        self.out_dir = out_dir
        self.keep_records = keep_records
        self.plans: dict | None = None
        self.registry_path: Path | None = None
        self.paths: list[Path] = []

    def __call__(self, school: SampleSchool, c: SampleCopy) -> None:
        if self.plans is None:
            self._start(school)
        assert self.plans is not None
        plan = self.plans[(c.group_id, c.mentee_id)]
        path = self.out_dir / plan.file_name
        self.writer.add(WriteTask(str(path), plan.options, c.records, True))
        self.paths.append(path)
        if not self.keep_records:
            c.records = {}  # written (or queued): large samples need not stay in memory

    def _start(self, school: SampleSchool) -> None:
        from xlflow.writing.split import plan_copies

        self.plans = {(p.options.programme_id, p.options.mentee_id): p for p in plan_copies(school.registry)}
        self.registry_path = registry_path(self.out_dir, school)
        options = WorkbookOptions(school_name=school.school_name, school_code=school.school_code,
                                  academic_year=school.academic_year, municipality=school.municipality,
                                  workbook_kind="school")
        self.writer.add(WriteTask(str(self.registry_path), options, school.registry, False))


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise XlflowError(f"{out_dir} — это файл, а не папка. Укажите папку для примеров (--out).",
                          code="out-not-dir")


def write_samples(out_dir: str | os.PathLike, count: int, *, seed: int = 0, error_rate: float = 0.0,
                  jobs: int | None = None, school_code: str | None = None, school_name: str | None = None,
                  municipality: str | None = None, academic_year: str = "2025/2026",
                  as_of: dt.date | None = None, keep_records: bool = True) -> SampleResult:
    """Write the registry of a generated school and ``count`` filled copies into
    ``out_dir``; files are written while the rest is generated. With
    ``keep_records=False`` the copies' records are dropped once written (their
    ``records`` are empty in the result), so memory stays flat for large counts."""
    if count < 1:
        raise XlflowError("Число копий (--count) должно быть не меньше 1.", code="bad-count")
    out = Path(out_dir)
    _check_out_dir(out)
    n_jobs = choose_jobs(jobs, count + 1)
    start = time.perf_counter()
    with StreamWriter(n_jobs) as writer:
        files = SchoolWriter(writer, out, keep_records)
        school = _generate(seed, count, school_code, school_name, municipality, academic_year, error_rate,
                           as_of, files)
    assert files.registry_path is not None
    return SampleResult(school, out, files.registry_path, files.paths, time.perf_counter() - start, n_jobs)


def write_municipality_samples(out_dir: str | os.PathLike, n_schools: int, copies_per_school: int,
                               seed: int = 0, *, error_rate: float = 0.0, jobs: int | None = None,
                               municipality: str | None = None, academic_year: str = "2025/2026",
                               as_of: dt.date | None = None, keep_records: bool = True) -> MunicipalitySample:
    """Several schools of one municipality, each in its own subfolder named by
    its code (ОО-001, ОО-002, ...), with distinct codes and names."""
    if n_schools < 1 or copies_per_school < 1:
        raise XlflowError("Нужна хотя бы одна школа и хотя бы одна копия на школу.", code="bad-count")
    out = Path(out_dir)
    _check_out_dir(out)
    rng = random.Random(f"xlflow-municipality:{seed}")
    municipality = municipality or rng.choice(fakedata.MUNICIPALITIES)
    numbers = rng.sample(range(1, max(60, 2 * n_schools)), n_schools)
    n_jobs = choose_jobs(jobs, n_schools * (copies_per_school + 1))
    start = time.perf_counter()
    done: list[tuple[SampleSchool, SchoolWriter]] = []
    with StreamWriter(n_jobs) as writer:
        for i in range(n_schools):
            code = f"ОО-{i + 1:03d}"
            name = rng.choice(fakedata.SCHOOL_KINDS).format(n=numbers[i])
            files = SchoolWriter(writer, out / code, keep_records)
            school = _generate(seed * 1000 + i + 1, copies_per_school, code, name, municipality,
                               academic_year, error_rate, as_of, files)
            done.append((school, files))
    seconds = time.perf_counter() - start
    results = [SampleResult(s, out / s.school_code, f.registry_path, f.paths, seconds, n_jobs)
               for s, f in done if f.registry_path is not None]
    return MunicipalitySample(out, results, seconds, n_jobs)


def _generate(seed: int, count: int, school_code: str | None, school_name: str | None,
              municipality: str | None, academic_year: str, error_rate: float, as_of: dt.date | None,
              on_copy: CopyCallback | None = None) -> SampleSchool:
    academic_year = normalize_academic_year(academic_year)
    try:
        return generate_school(seed, n_copies=count, school_code=school_code, school_name=school_name,
                               municipality=municipality, academic_year=academic_year,
                               error_rate=error_rate, as_of=as_of, on_copy=on_copy)
    except ValueError as exc:
        raise XlflowError(str(exc), code="bad-sample-options") from exc
