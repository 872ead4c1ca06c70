"""Start-up and wall time of ``xlflow validate ONE.xlsx`` (target: under 0.5 s).

Measures, as child processes, the bare interpreter, ``import pandas`` (what the
validate path must not pay) and the real command on one sample copy, then lists
the slowest imports of the command (``python -X importtime``) and says whether
pandas or openpyxl got imported.

    python bench/bench_validate_cli.py [--quick]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (script_main, Section, ensure_samples, fmt, median, python_cmd, run_child,  # noqa: E402
                    start_section, xlflow_cmd)

TARGET_S = 0.5
HEAVY = ("pandas", "numpy", "openpyxl", "jsonschema", "xlsxwriter")


def wall_times(cmd: list[str], repeat: int, ok_codes: tuple[int, ...] = (0,)) -> tuple[list[float], float]:
    """Wall seconds of ``repeat`` runs (after one warm-up) and the peak RSS in MB."""
    warm = run_child(cmd)
    if warm.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited with {warm.returncode}: {warm.stderr[-2000:]}")
    runs = [run_child(cmd) for _ in range(repeat)]
    return [r.wall for r in runs], max(r.max_rss_mb for r in runs)


def parse_importtime(stderr: str) -> list[tuple[str, int, int]]:
    """``-X importtime`` lines -> (module, self µs, cumulative µs)."""
    out = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cum_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        out.append((parts[2].strip(), self_us, cum_us))
    return out


def top_level(imports: list[tuple[str, int, int]]) -> dict[str, int]:
    """Cumulative µs per top-level package (its outermost import)."""
    out: dict[str, int] = {}
    for name, _self, cum in imports:
        top = name.split(".")[0]
        if name == top:
            out[top] = max(out.get(top, 0), cum)
    return out


def run(quick: bool) -> list[Section]:
    repeat = 5 if quick else 15
    one = ensure_samples(30 if quick else 100)[0]
    sec = start_section(f"`xlflow validate ONE.xlsx`: wall time, start-up included (median of {repeat})")
    cases = [
        ("`python -c pass` (interpreter alone)", python_cmd("-c", "pass"), (0,)),
        ("`python -c 'import pandas'`", python_cmd("-c", "import pandas"), (0,)),
        ("`xlflow --help`", xlflow_cmd("--help"), (0,)),
        (f"`xlflow validate {one.name}`", xlflow_cmd("validate", one), (0, 1)),
    ]
    rows, results = [], {}
    for label, cmd, ok in cases:
        times, rss = wall_times(cmd, repeat, ok)
        results[label] = median(times)
        rows.append((label, fmt(median(times) * 1000), fmt(min(times) * 1000), fmt(rss, 0)))
    sec.table(["command", "median ms", "best ms", "peak RSS MB"], rows)
    validate_s = results[cases[-1][0]]
    verdict = "meets" if validate_s < TARGET_S else "misses"
    sec.add(f"`xlflow validate` takes {validate_s * 1000:.0f} ms wall: {verdict} the {TARGET_S * 1000:.0f} ms "
            "target.\n")
    prof = run_child(python_cmd("-X", "importtime", "-m", "xlflow.cli", "validate", one))
    imports = parse_importtime(prof.stderr)
    tops = sorted(top_level(imports).items(), key=lambda kv: -kv[1])[:12]
    sec.table(["top-level import of `xlflow validate`", "cumulative ms"],
              [(name, fmt(us / 1000)) for name, us in tops])
    loaded = {name.split(".")[0] for name, _s, _c in imports}
    sec.add("Heavy packages imported by `xlflow validate`: "
            + (", ".join(h for h in HEAVY if h in loaded) or "none")
            + f" (pandas {'IMPORTED: must not be' if 'pandas' in loaded else 'not imported'}).\n")
    return [sec]


if __name__ == "__main__":
    script_main(__doc__, run)
