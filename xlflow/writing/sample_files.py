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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xlflow.errors import XlflowError
from xlflow.writing import fakedata
from xlflow.writing.programme import WorkbookOptions, normalize_academic_year, write_programme_workbook
from xlflow.writing.sample_school import SampleSchool, generate_school

# Below this many workbooks per worker a pool costs more than it saves.
MIN_FILES_PER_JOB = 8
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


def school_tasks(school: SampleSchool, out_dir: Path) -> tuple[list[WriteTask], Path, list[Path]]:
    """Write tasks for the registry and every copy of ``school``: each copy is
    the one ``xlflow split`` plans for its pair row (same options and file
    name), written with the filled records."""
    from xlflow.writing.split import plan_copies

    base = dict(school_name=school.school_name, school_code=school.school_code,
                academic_year=school.academic_year, municipality=school.municipality)
    reg = registry_path(out_dir, school)
    tasks = [WriteTask(str(reg), WorkbookOptions(**base, workbook_kind="school"), school.registry, False)]
    plans = {(p.options.programme_id, p.options.mentee_id): p for p in plan_copies(school.registry)}
    paths = []
    for c in school.copies:
        plan = plans[(c.group_id, c.mentee_id)]
        path = out_dir / plan.file_name
        tasks.append(WriteTask(str(path), plan.options, c.records, True))
        paths.append(path)
    return tasks, reg, paths


def _write_batch(tasks: list[WriteTask]) -> int:
    for t in tasks:
        write_programme_workbook(t.path, t.options, t.records, lock_prefilled=t.lock_prefilled)
    return len(tasks)


def choose_jobs(jobs: int | None, n_files: int) -> int:
    """Worker processes: ``jobs`` if given, else one per core while each has
    at least :data:`MIN_FILES_PER_JOB` files."""
    if jobs is not None:
        if jobs < 1:
            raise XlflowError("Число процессов (--jobs) должно быть не меньше 1.", code="bad-jobs")
        return jobs
    return max(1, min(os.cpu_count() or 1, n_files // MIN_FILES_PER_JOB))


def run_tasks(tasks: list[WriteTask], jobs: int) -> None:
    """Write all ``tasks``; with ``jobs`` > 1 in a process pool (batches
    interleaved so every worker gets a similar mix of large and small files)."""
    if jobs <= 1 or len(tasks) < 2:
        _write_batch(tasks)
        return
    n_batches = min(len(tasks), jobs * 4)
    batches = [tasks[i::n_batches] for i in range(n_batches)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(_write_batch, batches):
            pass


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise XlflowError(f"{out_dir} — это файл, а не папка. Укажите папку для примеров (--out).",
                          code="out-not-dir")


def write_samples(out_dir: str | os.PathLike, count: int, *, seed: int = 0, error_rate: float = 0.0,
                  jobs: int | None = None, school_code: str | None = None, school_name: str | None = None,
                  municipality: str | None = None, academic_year: str = "2025/2026",
                  as_of: dt.date | None = None) -> SampleResult:
    """Write the registry of a generated school and ``count`` filled copies into ``out_dir``."""
    if count < 1:
        raise XlflowError("Число копий (--count) должно быть не меньше 1.", code="bad-count")
    out = Path(out_dir)
    _check_out_dir(out)
    school = _generate(seed, count, school_code, school_name, municipality, academic_year, error_rate, as_of)
    tasks, reg, paths = school_tasks(school, out)
    n_jobs = choose_jobs(jobs, len(tasks))
    start = time.perf_counter()
    run_tasks(tasks, n_jobs)
    return SampleResult(school, out, reg, paths, time.perf_counter() - start, n_jobs)


def write_municipality_samples(out_dir: str | os.PathLike, n_schools: int, copies_per_school: int,
                               seed: int = 0, *, error_rate: float = 0.0, jobs: int | None = None,
                               municipality: str | None = None, academic_year: str = "2025/2026",
                               as_of: dt.date | None = None) -> MunicipalitySample:
    """Several schools of one municipality, each in its own subfolder named by
    its code (ОО-001, ОО-002, ...), with distinct codes and names."""
    if n_schools < 1 or copies_per_school < 1:
        raise XlflowError("Нужна хотя бы одна школа и хотя бы одна копия на школу.", code="bad-count")
    out = Path(out_dir)
    _check_out_dir(out)
    rng = random.Random(f"xlflow-municipality:{seed}")
    municipality = municipality or rng.choice(fakedata.MUNICIPALITIES)
    numbers = rng.sample(range(1, max(60, 2 * n_schools)), n_schools)
    schools, all_tasks, layout = [], [], []
    for i in range(n_schools):
        code = f"ОО-{i + 1:03d}"
        name = rng.choice(fakedata.SCHOOL_KINDS).format(n=numbers[i])
        school = _generate(seed * 1000 + i + 1, copies_per_school, code, name, municipality,
                           academic_year, error_rate, as_of)
        tasks, reg, paths = school_tasks(school, out / code)
        schools.append(school)
        all_tasks += tasks
        layout.append((reg, paths))
    n_jobs = choose_jobs(jobs, len(all_tasks))
    start = time.perf_counter()
    run_tasks(all_tasks, n_jobs)
    seconds = time.perf_counter() - start
    results = [SampleResult(s, out / s.school_code, reg, paths, seconds, n_jobs)
               for s, (reg, paths) in zip(schools, layout)]
    return MunicipalitySample(out, results, seconds, n_jobs)


def _generate(seed, count, school_code, school_name, municipality, academic_year, error_rate, as_of):
    academic_year = normalize_academic_year(academic_year)
    try:
        return generate_school(seed, n_copies=count, school_code=school_code, school_name=school_name,
                               municipality=municipality, academic_year=academic_year,
                               error_rate=error_rate, as_of=as_of)
    except ValueError as exc:
        raise XlflowError(str(exc), code="bad-sample-options") from exc
