"""Writing: ``xlflow sample`` and ``xlflow split`` against xlsxwriter alone.

The baseline writes, with plain xlsxwriter and nothing else (no formats, lists,
notes or protection), exactly the cell values of the workbooks xlflow wrote in
the same run; its cost is what the issue calls "what xlsxwriter alone needs to
write the same cells". Both sides run with 1 and with 2 worker processes.

    python bench/bench_write.py [--quick]

Target (issue 6): at most 1.2× the baseline, and both cores used.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines  # noqa: E402
from common import (script_main, WORK, Section, copy_files, ensure_sample_folder, fmt, is_registry,  # noqa: E402
                    median, run_child, start_section, xlflow_cmd)

SEED = 7
# quick -> (copies for sample, copies of the school split, repeats)
PLAN = {True: (100, 100, 3), False: (1000, 300, 3)}

_CELLS: list[dict] = []  # filled before forking the baseline's workers
# Private to this process, so two runs at once do not delete each other's files.
OUT = WORK / f"write-{os.getpid()}"


def _write_range(bounds: tuple[int, int]) -> int:
    out = OUT / "baseline"
    for i in range(*bounds):
        baselines.xlsxwriter_alone(out / f"{i}.xlsx", _CELLS[i])
    return bounds[1] - bounds[0]


def baseline_seconds(cells: list[dict], jobs: int) -> float:
    """Wall seconds for plain xlsxwriter to write ``cells`` (one dict per workbook)."""
    global _CELLS
    _CELLS = cells
    out = OUT / "baseline"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    n = len(cells)
    t0 = time.perf_counter()
    if jobs == 1:
        _write_range((0, n))
    else:
        step = -(-n // jobs)
        with mp.get_context("fork").Pool(jobs) as pool:
            pool.map(_write_range, [(i, min(n, i + step)) for i in range(0, n, step)])
    return time.perf_counter() - t0


def xlflow_seconds(cmd_for, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        run = run_child(cmd_for()).check()
        times.append(run.wall)
    return times


def sample_cmd(out: Path, count: int, jobs: int) -> list[str]:
    shutil.rmtree(out, ignore_errors=True)
    return xlflow_cmd("sample", "--count", count, "--out", out, "--seed", SEED, "--jobs", jobs)


def split_cmd(school: Path, out: Path, jobs: int) -> list[str]:
    shutil.rmtree(out, ignore_errors=True)
    return xlflow_cmd("split", school, out, "--jobs", jobs)


def compare(sec: Section, what: str, n_books: int, cmd_for_jobs, cells: list[dict], repeat: int) -> None:
    rows, base1 = [], None
    for jobs in (1, 2):
        xl = median(xlflow_seconds(lambda: cmd_for_jobs(jobs), repeat))
        base = median([baseline_seconds(cells, jobs) for _ in range(repeat)])
        base1 = base1 or base
        rows.append((what, jobs, fmt(xl), fmt(xl / n_books * 1000), fmt(base),
                     fmt(base / len(cells) * 1000), f"{xl / base:.2f}×"))
    sec.table(["run", "jobs", "xlflow wall s (start-up incl.)", "xlflow ms per workbook",
               "xlsxwriter alone s", "xlsxwriter alone ms per workbook", "xlflow / xlsxwriter"], rows)


def run(quick: bool) -> list[Section]:
    try:
        return [measure(quick, OUT)]
    finally:
        shutil.rmtree(OUT, ignore_errors=True)


def measure(quick: bool, work: Path) -> Section:
    n_sample, n_split, repeat = PLAN[quick]
    sec = start_section(f"Writing: `xlflow sample --count {n_sample}` and `xlflow split` of a school "
                        f"with {n_split} copies, against xlsxwriter alone (median of {repeat})")
    # xlflow sample: the baseline writes the cells of the files sample wrote.
    sample_out = work / "sample"
    run_child(sample_cmd(sample_out, n_sample, 2)).check()
    books = sorted(sample_out.glob("*.xlsx"))
    cells = [baselines.workbook_cells(p) for p in books]
    compare(sec, f"`xlflow sample --count {n_sample}`", len(books),
            lambda j: sample_cmd(sample_out, n_sample, j), cells, repeat)
    # xlflow split of a school's registry.
    school = next(p for p in ensure_sample_folder(n_split).glob("*.xlsx") if is_registry(p))
    split_out = work / "split"
    run_child(split_cmd(school, split_out, 2)).check()
    copies = copy_files(split_out)
    cells = [baselines.workbook_cells(p) for p in copies]
    from xlflow.reading.programme import read_programme

    pairs = len({r.get("group_id") for r in read_programme(school).data["pairs"]})
    compare(sec, f"`xlflow split` ({pairs} pairs/groups, {len(copies)} copies)", len(copies),
            lambda j: split_cmd(school, split_out, j), cells, repeat)
    sec.add("Target: xlflow at most 1.2× xlsxwriter alone, and `--jobs 2` close to 2× `--jobs 1`.\n")
    return sec


if __name__ == "__main__":
    script_main(__doc__, run)
