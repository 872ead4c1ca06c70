"""``xlflow collect`` over a folder of sample copies, against baseline loops.

Everything runs as a child process (start-up included, peak memory measured):
``xlflow collect FOLDER --out ... --jobs 1`` and ``--jobs 2``, and the loops
``python bench/baselines.py pandas_openpyxl FOLDER`` (what a user would write,
reading only: no validation, no consolidation) and ``calamine_raw`` (the floor).
Then the scaling of collect with the number of copies (time, memory, and
``--jobs 2`` against ``--jobs 1`` at each size).

    python bench/bench_collect.py [--quick]

Targets (issue 6): collect with one job at least 10× the throughput of the
pandas+openpyxl loop and within about 2× of python-calamine's raw read;
``--jobs 2`` at least 1.7× ``--jobs 1``; peak memory for 10,000 copies at most
1.2× that for 1,000 and under 300 MB.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (script_main, WORK, ChildRun, Section, cores, ensure_sample_folder, fmt, mean, median,  # noqa: E402
                    fmt_steal, fmt_steal_range, python_cmd, run_child, start_section, xlflow_cmd)

BASELINES = Path(__file__).resolve().parent / "baselines.py"
AS_OF = "31.05.2026"
# quick -> (files for the throughput table, repeats, sizes of the scaling table)
PLAN = {True: (200, 3, (100, 1000)), False: (2000, 5, (100, 1000, 10000))}
# rounds of `--jobs 1` and `--jobs 2` at each size of the scaling table
SCALING_ROUNDS = 3


def collect_cmd(folder: Path, jobs: int) -> list[str]:
    out = WORK / "out" / f"collect-{folder.name}-j{jobs}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    return xlflow_cmd("collect", folder, "--out", out, "--jobs", jobs, "--quiet", "--as-of", AS_OF)


def run_ok(cmd: list[str]) -> ChildRun:
    """Run; exit code 1 (problems found in copies) is a normal outcome of collect."""
    run = run_child(cmd)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited with {run.returncode}: {run.stderr[-3000:]}")
    return run


def interleaved(cases: dict[str, list[list[str]]]) -> dict[str, list[ChildRun]]:
    """Run the cases round by round (A, B, C, A, B, C, ...), so that a change in
    the machine's load falls on every case alike. Each case gives its command
    for each round (the same one, or a share of a long loop)."""
    runs: dict[str, list[ChildRun]] = {k: [] for k in cases}
    (rounds,) = {len(cmds) for cmds in cases.values()}  # every case runs in every round
    for r in range(rounds):
        for key, cmds in cases.items():
            runs[key].append(run_ok(cmds[r]))
    return runs


def median_of(runs: list[ChildRun]) -> ChildRun:
    """The run with the median wall time."""
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def count_inputs(folder: Path) -> int:
    return sum(1 for p in folder.glob("*.xlsx") if not p.name.startswith((".", "~$")))


def throughput(quick: bool) -> Section:
    count, repeat, _sizes = PLAN[quick]
    folder = ensure_sample_folder(count)
    n = count_inputs(folder)
    sec = start_section(f"`xlflow collect` over {n} files ({count} copies + the school's registry), "
                        f"{cores()} cores, {repeat} interleaved rounds, start-up included")
    labels = {
        "pandas": "loop of `pandas.read_excel(sheet_name=None, engine=\"openpyxl\")` (reading only; "
                  f"all {n} files once, split in {repeat} shares, one per round)",
        "calamine": "loop of python-calamine raw reads (reading only)",
        "calamine2": "the same loop split over 2 forked processes",
        "j1": "`xlflow collect --jobs 1` (read, validate, consolidate, write summary)",
        "j2": "`xlflow collect --jobs 2`",
    }
    cases = {
        "pandas": [python_cmd(BASELINES, "pandas_openpyxl", folder, "--share", f"{r}/{repeat}")
                   for r in range(repeat)],
        "startup": [python_cmd(BASELINES, "pandas_openpyxl", "--startup")] * repeat,
        "calamine": [python_cmd(BASELINES, "calamine_raw", folder)] * repeat,
        "calamine2": [python_cmd(BASELINES, "calamine_raw", folder, "--procs", 2)] * repeat,
        "j1": [collect_cmd(folder, 1)] * repeat,
        "j2": [collect_cmd(folder, 2)] * repeat,
    }
    runs = interleaved(cases)
    got = {k: median_of(v) for k, v in runs.items()}
    got["pandas"] = whole_loop(runs["pandas"], runs["startup"])
    rows = []
    for key, label in labels.items():
        r = got[key]
        steal = fmt_steal(r.steal) if key != "pandas" else fmt_steal_range(x.steal for x in runs["pandas"])
        rows.append((label, fmt(r.wall), fmt(n / r.wall, 0), fmt(r.wall / n * 1000), fmt(r.cpu / n * 1000),
                     fmt(r.max_rss_mb, 0), fmt(r.tree_rss_mb, 0), steal))
    sec.table(["run", "wall s", "files/s", "ms per file", "CPU ms per file (all processes)",
               "peak RSS MB (largest process)", "peak RSS MB (all processes)", "steal (machine)"], rows)
    w = {k: r.wall for k, r in got.items()}
    c = {k: r.cpu for k, r in got.items()}
    per_round = [x.wall / y.wall for x, y in zip(scaled_shares(runs["pandas"], runs["startup"], n), runs["j1"])]
    sec.table(["ratio", "medians, wall", "median of the rounds' own ratios, wall",
               "CPU time (as the first column)", "target"], [
        ("collect --jobs 1 throughput / pandas+openpyxl loop",
         f"{w['pandas'] / mean(r.wall for r in runs['j1']):.1f}×", f"{median(per_round):.1f}×",
         f"{c['pandas'] / mean(r.cpu for r in runs['j1']):.1f}×", "≥ 10×"),
        ("collect --jobs 1 time / python-calamine raw loop", f"{w['j1'] / w['calamine']:.2f}×",
         f"{median(ratios(runs['j1'], runs['calamine'])):.2f}×", f"{c['j1'] / c['calamine']:.2f}×",
         "≤ about 2×"),
        ("collect --jobs 2 throughput / --jobs 1", f"{w['j1'] / w['j2']:.2f}×",
         f"{median(ratios(runs['j1'], runs['j2'])):.2f}×", "-", "≥ 1.7× on 2 cores"),
        (f"ceiling of that ratio: `--jobs 1` wall / (`--jobs 2` CPU / {cores()} cores), the most `--jobs 2` "
         "could give with the CPU time it needs (raised by steal in `--jobs 1`)",
         f"{ceiling(got['j1'], got['j2']):.2f}×",
         f"{median(ceilings(runs['j1'], runs['j2'])):.2f}×", "-", "-"),
        ("reference: raw calamine loop, 2 processes / 1 (what this machine gives the same reading on "
         "2 cores)", f"{w['calamine'] / w['calamine2']:.2f}×",
         f"{median(ratios(runs['calamine'], runs['calamine2'])):.2f}×", "-", "-"),
    ])
    startup = median_of(runs["startup"])
    sec.add("Runs were interleaved round by round (a share of the pandas loop, its start-up alone, calamine, "
            "calamine in 2 processes, jobs 1, jobs 2); each row but the pandas loop's is the run with the "
            "median wall time. The pandas loop's row is the sum of its shares less the start-ups of all but "
            f"one (median start-up {startup.wall:.2f} s wall, {startup.cpu:.2f} s CPU; shares "
            f"{', '.join(fmt(r.wall) for r in runs['pandas'])} s), so that it samples the machine's load "
            "of every round, as the `--jobs 1` runs do; in the ratios it is set against the mean of the "
            "`--jobs 1` runs, and in each round its share, scaled to all files, against that round's "
            "`--jobs 1` run. CPU time counts every process of the run "
            "(user + system), so it moves less with the machine's other load; `--jobs 1` uses one worker "
            "plus the parent.\n")
    sec.add("Round by round (the runs of a round follow each other, so they share the machine's load "
            "of the moment): the pandas loop (its share scaled to all files) / `--jobs 1` "
            f"{', '.join(f'{r:.1f}×' for r in per_round)}; `--jobs 1` / `--jobs 2` "
            f"{paired(runs['j1'], runs['j2'])}, its ceiling "
            f"{', '.join(f'{c:.2f}×' for c in ceilings(runs['j1'], runs['j2']))}; raw calamine "
            f"1 process / 2 processes {paired(runs['calamine'], runs['calamine2'])}; `--jobs 1` / raw "
            f"calamine {paired(runs['j1'], runs['calamine'])}. Steal (the share of both cores' time the "
            "hypervisor gave to other machines) during the `--jobs 1` runs: "
            f"{', '.join(fmt_steal(r.steal) for r in runs['j1'])}; the `--jobs 2` runs: "
            f"{', '.join(fmt_steal(r.steal) for r in runs['j2'])}.\n")
    return sec


def scaled_shares(shares: list[ChildRun], startups: list[ChildRun], n: int) -> list[ChildRun]:
    """Each round's share of the loop (every ``len(shares)``-th of ``n`` files)
    as the whole loop would have taken at that round's pace: its time less
    the round's start-up, times ``n`` over the share's files, plus that start-up."""
    k = len(shares)
    out = []
    for r, (share, start) in enumerate(zip(shares, startups)):
        scale = n / len(range(r, n, k))
        out.append(replace(share, wall=(share.wall - start.wall) * scale + start.wall,
                           cpu=(share.cpu - start.cpu) * scale + start.cpu))
    return out


def whole_loop(shares: list[ChildRun], startups: list[ChildRun]) -> ChildRun:
    """The loop over every file, from its shares (one process each): their
    wall and CPU times summed less the start-ups of all but one, and their
    largest peaks."""
    extra = len(shares) - 1
    start = median_of(startups)  # the start-up printed beside the table
    return ChildRun(cmd=shares[0].cmd, wall=sum(r.wall for r in shares) - extra * start.wall,
                    max_rss_mb=max(r.max_rss_mb for r in shares), tree_rss_mb=max(r.tree_rss_mb for r in shares),
                    returncode=0, cpu=sum(r.cpu for r in shares) - extra * start.cpu)


def ratios(a: list[ChildRun], b: list[ChildRun]) -> list[float]:
    """The wall-time ratios a/b of the runs of each round."""
    return [x.wall / y.wall for x, y in zip(a, b)]


def ceiling(j1: ChildRun, j2: ChildRun) -> float:
    """The largest ``j1.wall / j2.wall`` the CPU time of ``j2`` allows on the
    machine's cores: ``j2`` cannot take less wall time than its CPU time (all
    processes) spread over every core. It is below the core count when ``j1``
    already ran partly on a second core (the parent beside the worker) or when
    ``j2`` needs more CPU time than ``j1`` for the same files."""
    return j1.wall / (j2.cpu / cores())


def ceilings(j1: list[ChildRun], j2: list[ChildRun]) -> list[float]:
    """:func:`ceiling` of the runs of each round."""
    return [ceiling(a, b) for a, b in zip(j1, j2)]


def paired(a: list[ChildRun], b: list[ChildRun]) -> str:
    """The wall-time ratios a/b of the runs of each round, and their median."""
    got = ratios(a, b)
    return ", ".join(f"{r:.2f}×" for r in got) + f" (median {median(got):.2f}×)"


def scaling(quick: bool) -> Section:
    _count, _repeat, sizes = PLAN[quick]
    rounds = SCALING_ROUNDS
    sec = start_section(f"Scaling of `xlflow collect` with the number of copies ({rounds} rounds of "
                        "`--jobs 1` then `--jobs 2` at each size)")
    rows, ratio_rows, peaks = [], [], {}
    for size in sizes:
        folder = ensure_sample_folder(size)
        n = count_inputs(folder)
        runs = interleaved({"j1": [collect_cmd(folder, 1)] * rounds, "j2": [collect_cmd(folder, 2)] * rounds})
        for jobs, key in ((1, "j1"), (2, "j2")):
            mid = median_of(runs[key])
            # memory: the largest peak of the rounds (a cap is judged on the worst run)
            peaks[(size, jobs)] = max(r.tree_rss_mb for r in runs[key])
            rows.append((f"{size:,}".replace(",", " "), jobs, fmt(mid.wall), fmt(n / mid.wall, 0),
                         fmt(max(r.max_rss_mb for r in runs[key]), 0), fmt(peaks[(size, jobs)], 0),
                         ", ".join(fmt_steal(r.steal) for r in runs[key])))
        j1, j2 = median_of(runs["j1"]).wall, median_of(runs["j2"]).wall
        caps = ceilings(runs["j1"], runs["j2"])
        ratio_rows.append((f"{size:,}".replace(",", " "), f"{j1 / j2:.2f}×", paired(runs["j1"], runs["j2"]),
                           ", ".join(f"{c:.2f}×" for c in caps) + f" (median {median(caps):.2f}×)", "≥ 1.7×"))
    sec.table(["copies", "jobs", "wall s (median)", "files/s", "peak RSS MB (largest process, worst round)",
               "peak RSS MB (all processes, worst round)", "steal (machine), each round"], rows)
    sec.add("`--jobs 2` throughput / `--jobs 1` at each size. The start (imports, the folder's scan, the "
            "first results) and the end (consolidation, the summary's writing) are done by one process "
            "whatever the number of jobs; their share of the run changes with the number of copies. The "
            "ceiling is the most `--jobs 2` could give in that round with the CPU time it took (all "
            f"processes) spread over the {cores()} cores (`--jobs 1` wall / (`--jobs 2` CPU / {cores()})); "
            "steal during a `--jobs 1` run raises it:\n")
    sec.table(["copies", "medians", "round by round", "ceiling, round by round", "target"], ratio_rows)
    small, big = sizes[-2], sizes[-1]
    for jobs in (1, 2):
        ratio = peaks[(big, jobs)] / peaks[(small, jobs)]
        ok = ratio <= 1.2 and peaks[(big, jobs)] < 300
        sec.add(f"--jobs {jobs}: peak memory for {big} copies is {ratio:.2f}× that for {small} "
                f"({peaks[(big, jobs)]:.0f} MB): {'meets' if ok else 'misses'} the target "
                "(at most 1.2× and under 300 MB).\n")
    return sec


def copies_only_folder(size: int) -> Path:
    """The sample folder of ``size`` copies without the school's workbook (hard
    links, no copying): how memory grows with the number of copies alone, the
    registry (one workbook listing every pair, so it grows with the school)
    left out."""
    src = ensure_sample_folder(size)
    dst = WORK / f"copies-only-{src.name}"
    if dst.is_dir():  # made afresh each time: the samples may have been regenerated
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for p in src.iterdir():
        if p.suffix == ".xlsx" and not p.name.startswith("Книга школы"):
            os.link(p, dst / p.name)
    return dst


def scaling_copies_only(quick: bool) -> Section:
    _count, _repeat, sizes = PLAN[quick]
    small, big = sizes[-2], sizes[-1]
    sec = start_section("The same without the school's workbook (copies only; one run each, `--jobs 2`)")
    rows, runs = [], {}
    for size in (small, big):
        folder = copies_only_folder(size)
        runs[size] = run = run_ok(collect_cmd(folder, 2))
        rows.append((f"{size:,}".replace(",", " "), fmt(run.wall), fmt(count_inputs(folder) / run.wall, 0),
                     fmt(run.max_rss_mb, 0), fmt(run.tree_rss_mb, 0)))
    sec.table(["copies", "wall s", "files/s", "peak RSS MB (largest process)", "peak RSS MB (all processes)"],
              rows)
    for label, attr in (("largest process", "max_rss_mb"), ("all processes", "tree_rss_mb")):
        ratio = getattr(runs[big], attr) / getattr(runs[small], attr)
        sec.add(f"Copies only, {label}: {big} copies need {ratio:.2f}× the memory of {small}.\n")
    return sec


def run(quick: bool) -> list[Section]:
    return [throughput(quick), scaling(quick), scaling_copies_only(quick)]


if __name__ == "__main__":
    script_main(__doc__, run)
