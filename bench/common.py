"""Shared helpers of the benchmarks: timing, child-process memory, machine info,
Markdown tables, sample inputs and the results file.

The benchmarks are run by hand (``python bench/run_all.py [--quick]``), never by
pytest. Every number printed here is a median over repeats, measured in the same
run as the baseline it is compared with.
"""
from __future__ import annotations

import datetime as _dt
import argparse
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / "_work"
RESULTS = BENCH_DIR / "RESULTS.md"
SAMPLE_SEED = 20250901
ERROR_RATE = 0.05

# Measure the checkout these scripts belong to, whatever ``pip install -e`` points at.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PACKAGES = ("openpyxl", "xlsxwriter", "python-calamine", "pandas", "jsonschema", "click")


# --------------------------------------------------------------------------- machine

def cores() -> int:
    """Cores this process may run on (what ``--jobs`` can use)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_ram_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def machine_line() -> str:
    ram = total_ram_mb()
    ram_s = f", {ram / 1024:.0f} GB RAM" if ram else ""
    return (f"{cores()} cores ({cpu_model()}){ram_s}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def versions_line() -> str:
    return ", ".join(f"{k} {v}" for k, v in package_versions().items())


# --------------------------------------------------------------------------- timing

def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def mean(values: Iterable[float]) -> float:
    return statistics.fmean(values)


def time_repeats(fn: Callable[[], object], repeat: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``fn()`` for ``repeat`` runs after ``warmup`` unmeasured runs."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def per_file_ms(read: Callable[[Path], object], paths: Sequence[Path], repeat: int) -> float:
    """Median over ``repeat`` passes of (pass time / number of files), in ms.

    One unmeasured warm-up pass first, so the OS page cache and the imports are
    the same for every reader."""
    return compare_per_file({"x": read}, paths, repeat)["x"]


def compare_per_file(readers: dict[str, Callable[[Path], object]], paths: Sequence[Path],
                     repeat: int) -> dict[str, float]:
    """Median ms per file of each reader, passes interleaved.

    Every round times one pass over ``paths`` of each reader in turn, so a
    change of machine load during the run hits all readers alike and the
    ratios between them stay fair. One unmeasured warm-up round first."""
    paths = list(paths)
    times: dict[str, list[float]] = {k: [] for k in readers}
    for round_no in range(repeat + 1):
        for key, read in readers.items():
            t0 = time.perf_counter()
            for p in paths:
                read(p)
            if round_no:
                times[key].append(time.perf_counter() - t0)
    return {k: median(v) / len(paths) * 1000.0 for k, v in times.items()}


def load_average() -> str:
    try:
        one, five, _fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) ticks of all CPUs so far (``/proc/stat``), or None off Linux."""
    fields = _read_proc("/proc/stat").split(b"\n", 1)[0].split()
    if not fields or fields[0] != b"cpu" or len(fields) < 9:
        return None
    ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of all CPUs' time between two :func:`cpu_ticks` that the
    hypervisor gave to other machines (steal): on a shared virtual machine,
    how much of the measured time was not this machine's to use."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def fmt_steal(share: float | None) -> str:
    return "?" if share is None else f"{share * 100:.0f}%"


def fmt_steal_range(shares: Iterable[float | None]) -> str:
    """The lowest and highest of several runs' steal ("3–12%", or one figure)."""
    known = [s for s in shares if s is not None]
    if not known:
        return "?"
    low, high = fmt_steal(min(known)), fmt_steal(max(known))
    return low if low == high else f"{low[:-1]}–{high}"


# --------------------------------------------------------------------------- child processes

@dataclass
class ChildRun:
    cmd: list[str]
    wall: float  # seconds, start-up included
    max_rss_mb: float  # largest single process of the tree (kernel's ru_maxrss)
    tree_rss_mb: float  # peak of the sum over the process tree (sampled every 20 ms)
    returncode: int
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for
    steal: float | None = None  # share of the machine's CPU time the hypervisor took meanwhile (0..1)
    stdout: str = ""
    stderr: str = ""

    def check(self) -> "ChildRun":
        if self.returncode != 0:
            raise RuntimeError(
                f"command failed ({self.returncode}): {' '.join(self.cmd)}\n{self.stderr[-3000:]}")
        return self


def _read_proc(path: str) -> bytes:
    """A /proc file's bytes (b"" once the process is gone), with the fewest
    system calls: the sampler runs beside the measured processes every 20 ms
    and must not take CPU from them (on two busy cores it would slow ``--jobs 2``)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return b""
    try:
        return os.read(fd, 8192)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _children_of(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out: list[int] = []
    for task in tasks:
        out.extend(int(x) for x in _read_proc(f"/proc/{pid}/task/{task}/children").split())
    return out


def _kb_after(text: bytes, label: bytes) -> int:
    at = text.find(label)
    if at < 0:
        return 0
    end = text.find(b"kB", at)
    try:
        return int(text[at + len(label):end])
    except ValueError:
        return 0


def _memory_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS so far) of one process in kB, from /proc/PID/status."""
    status = _read_proc(f"/proc/{pid}/status")
    return _kb_after(status, b"VmRSS:"), _kb_after(status, b"VmHWM:")


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(summed current RSS, largest per-process peak RSS) of ``pid`` and all its
    descendants (Linux /proc)."""
    total, largest, stack, seen = 0, 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        rss, hwm = _memory_kb(p)
        total += rss
        largest = max(largest, hwm)
        stack.extend(_children_of(p))
    return total, largest


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0  # summed over the tree
        self.largest_kb = 0  # one process's own peak (VmHWM)
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            total, largest = tree_memory_kb(self.pid)
            self.peak_kb = max(self.peak_kb, total)
            self.largest_kb = max(self.largest_kb, largest)
            self.stop_event.wait(self.interval)


def _child_environ() -> dict[str, str]:
    """The environment of measured commands: this one, but with bytecode caching
    on (``PYTHONDONTWRITEBYTECODE`` removed), as on a user's machine where pip
    compiled the modules at install time; otherwise every start-up would
    recompile changed modules from source and measure the compiler."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_child(cmd: Sequence[str], cwd: Path | None = None, env: dict | None = None,
              timeout: float = 3600.0) -> ChildRun:
    """Run ``cmd``; return wall time and peak memory.

    ``max_rss_mb`` is the largest per-process peak (VmHWM, sampled every 20 ms
    while the processes live; for a process too short to be sampled, the
    kernel's ru_maxrss from ``os.wait4``, which may include the parent's memory
    at fork time). ``tree_rss_mb`` is the peak of the summed RSS of the whole
    tree, sampled, so worker processes running at the same time are added up."""
    cmd = [str(c) for c in cmd]
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    full_env = {**_child_environ(), "PYTHONPATH": path, **(env or {})}
    ticks0 = cpu_ticks()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    reader_out: list[str] = []
    reader_err: list[str] = []
    t_out = threading.Thread(target=lambda: reader_out.append(proc.stdout.read()), daemon=True)
    t_err = threading.Thread(target=lambda: reader_err.append(proc.stderr.read()), daemon=True)
    t_out.start()
    t_err.start()
    # a blocking wait (no polling beside the measured processes); the timer kills a run that hangs
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    wall = time.perf_counter() - t0
    steal = steal_share(ticks0, cpu_ticks())
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop_event.set()
    sampler.join()
    t_out.join()
    t_err.join()
    largest_kb = sampler.largest_kb or usage.ru_maxrss
    return ChildRun(cmd=cmd, wall=wall, max_rss_mb=largest_kb / 1024.0,
                    tree_rss_mb=max(sampler.peak_kb, largest_kb) / 1024.0,
                    returncode=proc.returncode, cpu=usage.ru_utime + usage.ru_stime, steal=steal,
                    stdout="".join(reader_out), stderr="".join(reader_err))


def python_cmd(*args: object) -> list[str]:
    """The current interpreter with ``args`` (works from a clean checkout)."""
    return [sys.executable, *[str(a) for a in args]]


def xlflow_cmd(*args: object) -> list[str]:
    """``xlflow ARGS`` run through the current interpreter (same as the console script)."""
    return python_cmd("-m", "xlflow.cli", *args)


def best_of(cmd: Sequence[str], repeat: int, cwd: Path | None = None,
            env: dict | None = None) -> tuple[ChildRun, list[float]]:
    """Run ``cmd`` ``repeat`` times; return the run with the median wall time and all times."""
    runs = [run_child(cmd, cwd=cwd, env=env).check() for _ in range(repeat)]
    runs.sort(key=lambda r: r.wall)
    return runs[len(runs) // 2], [r.wall for r in runs]


# --------------------------------------------------------------------------- output

def fmt(x: float, digits: int = 2) -> str:
    if x >= 100:
        return f"{x:,.0f}".replace(",", " ")
    return f"{x:.{digits}f}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)

    def add(self, chunk: str) -> None:
        print(chunk, flush=True)
        self.text.append(chunk)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        self.add(md_table(headers, rows) + "\n")

    def markdown(self) -> str:
        return f"### {self.title}\n\n" + "\n".join(self.text).rstrip() + "\n"


def start_section(title: str) -> Section:
    print(f"\n### {title}\n", flush=True)
    return Section(title)


def run_header(mode: str) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"## Run of {now} ({mode})\n\n"
            f"- Machine: {machine_line()}\n"
            f"- Packages: {versions_line()}\n"
            f"- Load average at start: {load_average()}\n")


def append_results(header: str, sections: Sequence[Section], path: Path = RESULTS) -> None:
    """Append one run (``header`` from :func:`run_header` at its start, then its
    sections) to RESULTS.md."""
    head = "# Benchmark results\n\nAppended by `python bench/run_all.py`; newest run last.\n\n"
    body = header + "\n" + "\n".join(s.markdown() for s in sections)
    old = path.read_text(encoding="utf-8") if path.exists() else head
    path.write_text(old.rstrip() + "\n\n" + body, encoding="utf-8")


# --------------------------------------------------------------------------- inputs

def sample_dir(count: int, seed: int = SAMPLE_SEED) -> Path:
    return WORK / f"samples-{count}-s{seed}"


def ensure_sample_folder(count: int, seed: int = SAMPLE_SEED, jobs: int | None = None) -> Path:
    """A folder with a school's registry and ``count`` filled copies made by
    ``xlflow sample`` (library ``write_samples``, 5% of copies with mistakes),
    generated once into ``bench/_work/`` and reused by later runs while the
    template stays the same."""
    out = sample_dir(count, seed)
    marker = out / ".complete"
    stamp = f"{count}\n{template_stamp()}\n"
    if not marker.exists() or marker.read_text(encoding="utf-8") != stamp:
        from xlflow.writing.sample import write_samples

        if out.exists():
            for old in out.glob("*.xlsx"):
                old.unlink()
        res = write_samples(out, count, seed=seed, error_rate=ERROR_RATE, jobs=jobs or cores())
        print(f"(generated {count} sample copies in {res.seconds:.1f} s, "
              f"{res.ms_per_workbook:.0f} ms per workbook with {res.jobs} jobs, into {out})", flush=True)
        marker.write_text(stamp, encoding="utf-8")
    return out


def template_stamp() -> str:
    """Hash of the workbook layout and record schema: samples made for another
    version of the template are generated again."""
    import hashlib

    h = hashlib.sha256()
    for part in (REPO / "workbook_templates" / "programme.json", REPO / "schemas" / "programme.schema.json"):
        h.update(part.read_bytes())
    return h.hexdigest()[:16]


def ensure_samples(count: int, seed: int = SAMPLE_SEED, jobs: int | None = None) -> list[Path]:
    """The ``count`` filled copies (without the registry) of :func:`ensure_sample_folder`."""
    return copy_files(ensure_sample_folder(count, seed, jobs))


def is_registry(path: Path) -> bool:
    from xlflow.writing.sample_files import REGISTRY_STEM

    return path.name.startswith(REGISTRY_STEM)


def copy_files(folder: Path) -> list[Path]:
    """Filled programme copies in ``folder`` (no registry, no temporary files)."""
    return sorted(p for p in folder.glob("*.xlsx")
                  if not p.name.startswith((".", "~$")) and not is_registry(p))


def script_main(doc: str, run: Callable[[bool], object]) -> None:
    """Command line of a single benchmark script: ``--quick`` for small sizes."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    run(ap.parse_args().quick)
