"""Run every benchmark and append the results to ``bench/RESULTS.md``.

    python bench/run_all.py            # the issue's sizes (2,000 and 10,000 copies; about an hour)
    python bench/run_all.py --quick    # smaller sizes, a few minutes
    python bench/run_all.py --only read,validate   # some of: read, validate, collect, write

Inputs are generated with ``xlflow sample`` into ``bench/_work/`` (git-ignored)
once and reused by later runs; delete that folder to start afresh.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_collect  # noqa: E402
import bench_read  # noqa: E402
import bench_validate_cli  # noqa: E402
import bench_write  # noqa: E402
from common import RESULTS, Section, append_results, load_average, run_header  # noqa: E402

BENCHES = {
    "read": bench_read.run,
    "validate": bench_validate_cli.run,
    "collect": bench_collect.run,
    "write": bench_write.run,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run xlflow's benchmarks (see bench/README).")
    ap.add_argument("--quick", action="store_true", help="smaller inputs, a few minutes")
    ap.add_argument("--only", default=",".join(BENCHES),
                    help=f"comma-separated subset of: {', '.join(BENCHES)}")
    ap.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.name}")
    args = ap.parse_args(argv)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = [b for b in chosen if b not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
    mode = "quick" if args.quick else "full"
    if args.only != ",".join(BENCHES):
        mode += f", only {args.only}"
    header = run_header(mode)
    print(header, flush=True)
    sections: list[Section] = []
    t0 = time.perf_counter()
    for name in chosen:
        sections += BENCHES[name](args.quick)
    took = time.perf_counter() - t0
    print(f"\nAll benchmarks took {took / 60:.1f} min; load average at the end: {load_average()}.")
    if not args.no_save:
        tail = Section("Run")
        tail.text.append(f"Took {took / 60:.1f} min; load average at the end: {load_average()}.\n")
        append_results(header, sections + [tail])
        print(f"Appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
