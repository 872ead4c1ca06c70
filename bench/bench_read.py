"""Per-file reading: xlflow's reader against the baselines, in the same run.

Every reader reads all cell values of the same ``xlflow sample`` copies; the
table gives the median ms per file over repeated passes, the speed-up over what
a user would write (pandas + openpyxl) and the ratio to python-calamine's raw
read. A second table splits xlflow's cost: safety pre-checks, reading, and
validation, and gives the cost of the hardening on the fast path: the same
``read_programme`` with the safety pre-checks switched off (the parser opens the
file directly, as it would without hardening) against the hardened read.

    python bench/bench_read.py [--quick]
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines  # noqa: E402
from common import script_main, Section, compare_per_file, ensure_samples, fmt, start_section  # noqa: E402

SIZES = {True: (30, 3), False: (100, 5)}  # quick -> (files, repeats)


def readers() -> dict[str, tuple[str, Callable[[Path], object]]]:
    """Every reader of the table: key -> (label, read one file)."""
    from xlflow.reading.programme import read_programme

    out = {k: (baselines.LABELS[k], f) for k, f in baselines.READERS.items()}
    out["xlflow_fast"] = ("xlflow `read_programme` (calamine, default)", read_programme)
    out["xlflow_openpyxl"] = ('xlflow `read_programme(engine="openpyxl")`',
                              lambda p: read_programme(p, engine="openpyxl"))
    return out


def stages() -> dict[str, tuple[str, Callable[[Path], object]]]:
    """xlflow's fast path split into stages (each measured on its own)."""
    import datetime as dt

    from xlflow.consolidate.facts import read_facts
    from xlflow.reading import safety
    from xlflow.reading.programme import read_programme
    from xlflow.validation.validate import validate_records

    today = dt.date(2026, 5, 31)
    parsed: dict[Path, object] = {}

    def validate_only(p: Path) -> object:
        got = parsed.get(p)
        if got is None:
            got = parsed[p] = read_programme(p)
        return validate_records(got.data, got.cells, today=today)

    return {
        "precheck": ("safety pre-checks alone (`safety.precheck`)", safety.precheck),
        "unhardened": ("read without the pre-checks (parser opens the file itself; for the hardening's cost)",
                       read_unhardened),
        "calamine": ("python-calamine raw read (for reference)", baselines.calamine_raw),
        "read": ("read (`read_programme`, pre-checks included)", read_programme),
        "validate": ("validate parsed records (`validate_records`: schema + rules)", validate_only),
        "facts": ("collect's per-file work (`read_facts`: read + validate + compact)",
                  lambda p: read_facts(str(p), p.name, today)),
    }


def read_unhardened(path: Path) -> object:
    """``read_programme`` with the safety pre-checks switched off: the file is
    taken for a plain xlsx and python-calamine and the merged/error scan open
    it themselves, as a reader without hardening would. Benchmark only."""
    from xlflow.reading import grid
    from xlflow.reading.programme import read_programme
    from xlflow.reading.safety import Checked

    real = grid.check
    grid.check = lambda name, *a, **k: Checked(kind="xlsx")
    try:
        return read_programme(path)
    finally:
        grid.check = real


def run(quick: bool) -> list[Section]:
    count, repeat = SIZES[quick]
    paths = ensure_samples(count)
    sec = start_section(f"Reading one workbook ({len(paths)} sample copies, median of {repeat} "
                        "interleaved passes)")
    table = readers()
    ms = compare_per_file({k: f for k, (_, f) in table.items()}, paths, repeat)
    user, raw = ms["pandas_openpyxl"], ms["calamine_raw"]
    sec.table(["reader", "ms per file", "files/s", "speed-up vs pandas+openpyxl", "× calamine raw"],
              [(label, fmt(ms[k]), fmt(1000 / ms[k], 0), f"{user / ms[k]:.1f}×", f"{ms[k] / raw:.2f}")
               for k, (label, _) in table.items()])
    parts = stages()
    st = compare_per_file({k: f for k, (_, f) in parts.items()}, paths, repeat)
    sec.table(["xlflow stage", "ms per file"], [(label, fmt(st[k])) for k, (label, _) in parts.items()])
    bare, read = st["unhardened"], st["read"]
    cost = read / bare - 1
    verdict = "meets" if cost <= 0.25 else "misses"
    sec.add(f"Hardening costs the fast path {cost * 100:.0f}%: `read_programme` {read:.2f} ms per file "
            f"with the pre-checks, {bare:.2f} ms without them (the pre-checks alone take "
            f"{st['precheck']:.2f} ms, but the parser then reads the members they inflated instead of "
            f"inflating them again): {verdict} the target of at most 25%.\n")
    return [sec]


if __name__ == "__main__":
    script_main(__doc__, run)
