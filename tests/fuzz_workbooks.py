"""Fuzz xlflow's reading and validation with mutated workbooks (run by hand, not in CI).

    python tests/fuzz_workbooks.py --minutes 10
    python tests/fuzz_workbooks.py --minutes 1 --seed 7 --jobs 2 --out fuzz-findings
    python tests/fuzz_workbooks.py --minutes 10 --engines calamine

Seeds are filled sample workbooks (``xlflow.writing.sample_files.write_samples``)
and an empty programme workbook, written at start-up. Each round mutates them
(bytes flipped or cut, zip members dropped, renamed or rewritten, XML slices
deleted or duplicated, hostile tokens inserted: far cell references, huge
dimensions, DOCTYPE, formula errors, odd numbers, lying zip headers...) and
reads every mutant in worker processes (``xlflow.reading.isolate``) through
the path ``xlflow validate`` takes: pre-check, reader (python-calamine, and
openpyxl for some), schema and rule validation.

A mutant ends in one of: read and validated; refused with one of xlflow's own
errors (:class:`xlflow.errors.XlflowError`, a registered code); or a *finding*:
any other exception, a worker that died (abort, segfault, out of memory) or
a read slower than ``--timeout``. Findings are saved in ``--out`` (the mutant
and a text file with the traceback) and listed at the end; the exit code is 1
when there are findings. The file name is not ``test_*`` so pytest never
collects it.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from pathlib import Path

INTERESTING_TOKENS = [
    b'<c r="XFD1048576"><v>1</v></c>', b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>',
    b'<dimension ref="A1:XFD1048576"/>', b'<mergeCell ref="A1:XFD1048576"/>', b'<mergeCell ref="B2:C3"/>',
    b'<c r="B2" t="e"><v>#REF!</v></c>', b'<c r="C3" t="e"><v>#DIV/0!</v></c>', b'<c r="A1" t="s"><v>999999</v></c>',
    b'<c r="A2" t="s"><v>-1</v></c>', b'<c r="A3" t="b"><v>2</v></c>', b'<c r="A4" t="d"><v>not a date</v></c>',
    b'<c r="A5"><v>1e308</v></c>', b'<c r="A6"><v>NaN</v></c>', b'<c r="A7"><v>-0</v></c>',
    b'<c r="A8"><v>2958466</v></c>', b'<c r="A9" t="inlineStr"><is><t>=HYPERLINK("x")</t></is></c>',
    b'<c r="A10"><f>1/0</f></c>', b'<c r="ZZ5"><v>1</v></c>', b'<c r="a1"><v>1</v></c>', b'<c><v>1</v></c>',
    b'<row><c><v>1</v></c></row>', b"<!DOCTYPE x [<!ENTITY e \"e\">]>", b"&#0;", b"&amp;", b"<![CDATA[x]]>",
    b'r="0"', b'r="-5"', b's="99999"', b't="n"', b't="s"', b'<sheet name="_xlflow" sheetId="99" r:id="rId99"/>',
    "Иванова Мария Петровна".encode(), "\u202e\u0000\ufffe".encode("utf-8", "surrogatepass"),
    b"\x00\xff\xfe", b"<x:c r=\"B7\"><x:v>1</x:v></x:c>",
]
INTERESTING_NUMBERS = [b"0", b"-1", b"1048576", b"1048577", b"16384", b"2147483648", b"99999999999999999999",
                       b"1e309", b"0.5", b"-0", b"45000", b"3", b"10"]


# ---------------------------------------------------------------- mutations
def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(i, zf.read(i.filename)) for i in zf.infolist()]
    except Exception:  # noqa: BLE001 - a mutant of a mutant may not be a zip
        return None


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        seen: set[str] = set()
        for name, content in members:
            if name in seen:
                name = name + "_"
            seen.add(name)
            zf.writestr(name, content)
    return buf.getvalue()


def mutate_xml(text: bytes, rng: random.Random) -> bytes:
    if not text:
        return rng.choice(INTERESTING_TOKENS)
    n = len(text)
    a = rng.randrange(n)
    b = min(n, a + rng.choice((1, 4, 16, 64, 512, 4096)))
    op = rng.randrange(7)
    if op == 0:
        return text[:a] + text[b:]
    if op == 1:
        return text[:b] + text[a:b] * rng.choice((2, 3, 50)) + text[b:]
    if op == 2:
        return text[:a] + rng.choice(INTERESTING_TOKENS) + text[a:]
    if op == 3:
        nums = list(re.finditer(rb"\d+", text))
        if nums:
            m = rng.choice(nums)
            return text[:m.start()] + rng.choice(INTERESTING_NUMBERS) + text[m.end():]
        return text
    if op == 4:
        refs = list(re.finditer(rb'r="[A-Z]+\d+"', text))
        if refs:
            m = rng.choice(refs)
            col = "".join(rng.choice("ABCXYZ") for _ in range(rng.randint(1, 3)))
            return text[:m.start()] + f'r="{col}{rng.choice((1, 7, 99999, 1048576))}"'.encode() + text[m.end():]
        return text
    if op == 5:
        tags = list(re.finditer(rb"<(/?)([A-Za-z:]+)", text))
        if len(tags) > 1:
            m1, m2 = rng.sample(tags, 2)
            return text[:m1.start(2)] + m2.group(2) + text[m1.end(2):]
        return text
    return text[:a] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + text[b:]


def mutate_zip(data: bytes, rng: random.Random) -> bytes | None:
    members = _members(data)
    if not members:
        return None
    items = [(i.filename, c) for i, c in members]
    op = rng.randrange(10)
    k = rng.randrange(len(items))
    if op == 0 and len(items) > 1:
        del items[k]
    elif op == 1:
        name, content = items[k]
        items[k] = (rng.choice([i[0] for i in items]), content)
    elif op == 2:
        items.append(rng.choice(items))
    else:
        weighted = [i for i, (n, _) in enumerate(items)
                    if n.endswith(".xml") and ("worksheets" in n or "shared" in n or "workbook" in n)]
        k = rng.choice(weighted) if weighted and rng.random() < 0.8 else k
        name, content = items[k]
        for _ in range(rng.choice((1, 1, 2, 4))):
            content = mutate_xml(content, rng)
        items[k] = (name, content)
    return _zip(items)


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    op = rng.randrange(5)
    n = len(data)
    if op == 0:
        return data[: rng.randrange(n)]
    if op == 1:
        out = bytearray(data)
        for _ in range(rng.choice((1, 2, 8, 32))):
            out[rng.randrange(n)] = rng.randrange(256)
        return bytes(out)
    if op == 2:
        return _lie_about_sizes(data, rng)
    if op == 3:
        a = rng.randrange(n)
        return data[:a] + data[a:a + rng.randint(1, 4096)] + data[a:]
    return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def _lie_about_sizes(data: bytes, rng: random.Random) -> bytes:
    """Patch a central-directory size field (uncompressed or compressed)."""
    out = bytearray(data)
    starts = [m.start() for m in re.finditer(rb"PK\x01\x02", data)]
    if not starts:
        return data
    at = rng.choice(starts) + rng.choice((20, 24))
    if at + 4 <= len(out):
        out[at:at + 4] = rng.choice((0, 1, 1024, 0x7FFFFFFF, 0xFFFFFFFF)).to_bytes(4, "little")
    return bytes(out)


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if rng.random() < 0.75:
            changed = mutate_zip(data, rng)
            if changed is not None:
                data = changed
                continue
        data = mutate_bytes(data, rng)
    return data, hashlib.sha1(data).hexdigest()[:12]


# ---------------------------------------------------------------- the target
def target(path: str) -> tuple[str, str]:
    """Runs in a worker: ("ok"|"xlflow", code) or ("bug", traceback)."""
    from xlflow.errors import XlflowError
    from xlflow.reading.programme import read_programme
    from xlflow.validation.validate import validate_records

    import warnings

    warnings.simplefilter("ignore")  # openpyxl warns about every odd part it skips
    engine = "openpyxl" if path.endswith("-o.xlsx") else "calamine"
    try:
        parsed = read_programme(path, engine=engine)
        validate_records(parsed.data, parsed.cells, file=path)
        for problem in parsed.problems:
            problem.message  # every template renders
    except XlflowError as exc:
        return "xlflow", exc.code
    except Exception:  # noqa: BLE001 - that is what we are looking for
        return "bug", traceback.format_exc()
    return "ok", ""


# ---------------------------------------------------------------- driver
def make_seeds(folder: Path) -> list[bytes]:
    from xlflow.writing.programme import WorkbookOptions, write_programme_workbook
    from xlflow.writing.sample_files import write_samples

    write_samples(folder / "samples", 4, seed=11, error_rate=0.5, jobs=1)
    write_programme_workbook(folder / "empty.xlsx", WorkbookOptions(
        school_name="Школа № 3", school_code="S003", academic_year="2025/2026"))
    files = sorted(folder.rglob("*.xlsx"))
    return [p.read_bytes() for p in files]


def run(minutes: float, seed: int, jobs: int, out: Path, timeout: float, batch: int,
        engines: tuple[str, ...] = ("calamine", "openpyxl")) -> int:
    from xlflow.reading.isolate import Failure, read_isolated

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="xlflow-fuzz-"))
    seeds = make_seeds(work / "seeds")
    deadline = time.monotonic() + minutes * 60
    outcomes: Counter[str] = Counter()
    findings: dict[str, Path] = {}
    rounds = 0
    try:
        while time.monotonic() < deadline:
            rounds += 1
            mutants = _write_mutants(work / "round", seeds, rng, batch, engines)
            for path, value in read_isolated(mutants, target, jobs=jobs, timeout_s=timeout, memory_mb=1024):
                kind, detail = _outcome(value, Failure)
                outcomes[kind if kind != "xlflow" else f"xlflow:{detail}"] += 1
                if kind == "bug":
                    _save_finding(path, detail, out, findings)
            _progress(rounds, outcomes, findings, deadline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _summary(outcomes, findings)
    return 1 if findings else 0


def _write_mutants(folder: Path, seeds: list[bytes], rng: random.Random, n: int,
                   engines: tuple[str, ...]) -> list[str]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        data, digest = mutate(rng.choice(seeds), rng)
        engine = engines[0] if len(engines) == 1 else ("openpyxl" if rng.random() < 0.2 else "calamine")
        suffix = "-o.xlsx" if engine == "openpyxl" else ".xlsx"
        p = folder / f"m{i:03d}-{digest}{suffix}"
        p.write_bytes(data)
        paths.append(str(p))
    return paths


def _outcome(value, failure_type) -> tuple[str, str]:
    if isinstance(value, failure_type):
        return "bug", f"{value.code}: {value.message}\n{value.detail}"
    return value


def _save_finding(path: str, detail: str, out: Path, findings: dict[str, Path]) -> None:
    lines = [ln for ln in detail.strip().splitlines() if ln.strip()]
    key = hashlib.sha1("\n".join(lines[-3:]).encode()).hexdigest()[:10]
    if key in findings:
        return
    out.mkdir(parents=True, exist_ok=True)
    saved = out / f"finding-{key}{Path(path).suffix}"
    shutil.copy(path, saved)
    saved.with_suffix(".txt").write_text(detail, encoding="utf-8")
    findings[key] = saved
    print(f"\nFINDING {key}: {lines[-1] if lines else detail}\n  saved as {saved}", flush=True)


def _progress(rounds: int, outcomes: Counter, findings: dict, deadline: float) -> None:
    total = sum(outcomes.values())
    left = max(0, int(deadline - time.monotonic()))
    print(f"round {rounds}: {total} mutants, ok {outcomes['ok']}, "
          f"refused {sum(v for k, v in outcomes.items() if k.startswith('xlflow:'))}, "
          f"findings {len(findings)}, {left} s left", flush=True)


def _summary(outcomes: Counter, findings: dict) -> None:
    print("\nOutcomes:")
    for k, v in outcomes.most_common():
        print(f"  {v:6d}  {k}")
    print(f"Findings: {len(findings)}")
    for key, path in findings.items():
        print(f"  {key}: {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz xlflow's reader and validation with mutated workbooks.")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (same seed, same mutants)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per mutant before it is a finding")
    ap.add_argument("--batch", type=int, default=40, help="mutants per round")
    ap.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="folder for findings")
    ap.add_argument("--engines", default="calamine,openpyxl",
                    help="reader engines to fuzz, comma separated (a fifth of mutants use openpyxl)")
    args = ap.parse_args(argv)
    engines = tuple(e for e in args.engines.split(",") if e in ("calamine", "openpyxl"))
    if not engines:
        ap.error("--engines: calamine and/or openpyxl")
    return run(args.minutes, args.seed, args.jobs, args.out, args.timeout, args.batch, engines)


if __name__ == "__main__":
    sys.exit(main())
