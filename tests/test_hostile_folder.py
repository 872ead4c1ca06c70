"""A folder mixing good and hostile files: every file is accounted for,
every good file is read, a crashing worker loses only its own file."""
from __future__ import annotations

import os
import resource
import shutil
import time
from pathlib import Path

import pytest

import hostile
from xlflow.reading.isolate import Failure, read_isolated
from xlflow.scan import CANDIDATE, scan_inputs
from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

FOLDER_SECONDS = 60  # whole folder, 2 workers (documented in the README)
WORKER_MEMORY_MB = 512


def read_one(path: str) -> dict:
    """The reader collect uses, as a picklable summary."""
    from xlflow.reading.programme import read_programme

    parsed = read_programme(path)
    return {"school": parsed.data["meta"].get("school_code"), "problems": len(parsed.problems)}


def read_or_abort(path: str) -> str:
    if "crash" in os.path.basename(path):
        os.abort()  # what a Rust allocation failure in python-calamine does
    return os.path.basename(path)


def _programmes(folder: Path, n: int, first: int = 0) -> list[Path]:
    paths = []
    for i in range(first, first + n):
        p = folder / f"Программа {i + 1} — наставник Сидорова.xlsx"
        write_programme_workbook(p, WorkbookOptions(school_name="Школа № 7", school_code=f"S{i:03d}",
                                                    academic_year="2025/2026"))
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    hostile_cases = hostile.build_all(root / "присланные")
    good = _programmes(root, 3)
    long_part = ("очень длинное имя папки " * 4).strip()  # 191 bytes in UTF-8
    deep = root / "2025" / long_part / long_part  # the full path is longer than 260 characters
    deep.mkdir(parents=True)
    good += _programmes(deep, 1, first=10)
    return root, good, hostile_cases


def test_every_file_accounted_for_and_good_files_read(mixed):
    root, good, hostile_cases = mixed
    on_disk = {p for p in root.rglob("*") if p.is_file()}
    start = time.perf_counter()
    scan = scan_inputs([root], purpose="collect")
    names = {Path(e.path) for e in scan.entries}
    assert on_disk <= names
    candidates = [e.path for e in scan.candidates]
    results = dict(read_isolated(candidates, read_one, jobs=2, memory_mb=WORKER_MEMORY_MB, timeout_s=60))
    elapsed = time.perf_counter() - start
    assert set(results) == set(candidates)
    for p in good:
        assert isinstance(results[str(p)], dict), results[str(p)]
    expected = {str(p): code for p, code in hostile_cases.values()}
    for path, value in results.items():
        if path in expected:
            assert isinstance(value, Failure), path
            assert value.code == expected[path], (path, value)
            assert Path(path).name in value.to_problem().where()
    assert elapsed < FOLDER_SECONDS
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert children < WORKER_MEMORY_MB + 400


def test_worker_crash_loses_only_its_file(tmp_path):
    paths = [str(tmp_path / f"{n}.xlsx") for n in ("a", "b", "crash", "c", "d", "e")]
    got = list(read_isolated(paths, read_or_abort, jobs=2, timeout_s=30))
    assert [p for p, _ in got] == paths
    crash = dict(got)[paths[2]]
    assert isinstance(crash, Failure) and crash.code == "worker-crashed"
    assert "SIGABRT" in crash.message
    assert [v for p, v in got if p != paths[2]] == ["a.xlsx", "b.xlsx", "c.xlsx", "d.xlsx", "e.xlsx"]


def test_crash_in_the_middle_of_a_folder_read(mixed, tmp_path):
    root, good, _ = mixed
    folder = tmp_path / "папка"
    folder.mkdir()
    for p in good[:2]:
        shutil.copy(p, folder / p.name)
    shutil.copy(good[2], folder / "crash.xlsx")
    scan = scan_inputs([folder], purpose="collect")
    # crash.xlsx is byte-identical to no other file: three distinct candidates
    paths = [e.path for e in scan.candidates]
    assert len(paths) == 3
    results = dict(read_isolated(paths, _read_unless_crash, jobs=1, timeout_s=60))
    assert results[str(folder / "crash.xlsx")].code == "worker-crashed"
    assert sum(isinstance(v, dict) for v in results.values()) == 2


def _read_unless_crash(path: str) -> dict:
    if os.path.basename(path) == "crash.xlsx":
        os.abort()
    return read_one(path)


def test_timeout_and_memory_limits(tmp_path):
    paths = [str(tmp_path / n) for n in ("slow", "hungry", "fine")]
    start = time.perf_counter()
    got = dict(read_isolated(paths, _slow_or_hungry, jobs=2, timeout_s=2, memory_mb=256))
    assert time.perf_counter() - start < 15
    assert got[paths[0]].code == "read-timeout"
    assert got[paths[1]].code in ("read-out-of-memory", "worker-crashed")
    assert got[paths[2]] == "fine"


def _slow_or_hungry(path: str) -> str:
    name = os.path.basename(path)
    if name == "slow":
        time.sleep(60)
    if name == "hungry":
        blob = bytearray(2 * 1024 ** 3)
        return str(len(blob))
    return name


def test_errors_become_failures_with_codes(tmp_path):
    bad = hostile.legacy_xls(tmp_path / "old.xls")
    got = dict(read_isolated([str(bad), str(tmp_path / "x")], _raise_things, jobs=2))
    assert got[str(bad)].code == "legacy-xls"
    failure = got[str(tmp_path / "x")]
    assert failure.code == "read-failed" and "KeyError" in failure.message
    assert "Traceback" in failure.detail


def _raise_things(path: str) -> str:
    from xlflow.reading.safety import precheck

    if path.endswith(".xls"):
        precheck(path)
    raise KeyError(path)


def test_candidate_statuses(mixed):
    root, good, hostile_cases = mixed
    scan = scan_inputs([root], purpose="collect")
    statuses = {Path(e.path).name: e.status for e in scan.entries}
    for p in good:
        assert statuses[p.name] == CANDIDATE
    for p, _code in hostile_cases.values():
        assert statuses[p.name] == CANDIDATE  # refused later by the reader, with its code


def test_file_changed_while_reading_is_not_counted(tmp_path):
    steady = hostile.valid_xlsx(tmp_path / "steady.xlsx")
    moving = hostile.valid_xlsx(tmp_path / "moving.xlsx")
    got = dict(read_isolated([str(steady), str(moving)], _read_while_someone_saves, jobs=2))
    assert got[str(steady)] == "steady.xlsx"
    assert got[str(moving)].code == "file-changed-while-reading"
    assert "Дождитесь" in got[str(moving)].message


def _read_while_someone_saves(path: str) -> str:
    if path.endswith("moving.xlsx"):
        with open(path, "ab") as fh:  # another program is still writing it
            fh.write(b"\0" * 100)
    return os.path.basename(path)


def test_spawned_workers_as_on_windows(tmp_path, monkeypatch):
    """Windows and macOS start workers with spawn: func and results are pickled."""
    monkeypatch.setenv("XLFLOW_START_METHOD", "spawn")
    bad = hostile.encrypted(tmp_path / "protected.xlsx")
    paths = [str(tmp_path / "a.xlsx"), str(tmp_path / "crash.xlsx"), str(bad)]
    got = dict(read_isolated(paths, _spawn_target, jobs=2, timeout_s=60))
    assert got[paths[0]] == "a.xlsx"
    assert got[paths[1]].code == "worker-crashed"
    assert got[paths[2]].code == "encrypted-workbook"


def _spawn_target(path: str) -> str:
    from xlflow.reading.safety import precheck

    if path.endswith("protected.xlsx"):
        precheck(path)
    return read_or_abort(path)


def test_workers_die_with_their_parent(tmp_path):
    """A run killed from outside (closed terminal) leaves no worker behind."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "run.py"
    pids = tmp_path / "pids.txt"
    script.write_text(
        "import os, sys, time\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from xlflow.reading.isolate import read_isolated\n"
        "import test_hostile_folder as t\n"
        "for _ in read_isolated(['a', 'b'], t._sleep_and_report, jobs=2, timeout_s=60):\n"
        "    pass\n", encoding="utf-8")
    env = {**os.environ, "XLFLOW_TEST_PIDS": str(pids)}
    proc = subprocess.Popen([sys.executable, str(script), "x", str(Path(__file__).parent)], env=env)
    deadline = time.time() + 30
    while time.time() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        time.sleep(0.1)
    workers = [int(p) for p in pids.read_text().split()]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    time.sleep(1.0)
    assert [pid for pid in workers if _alive(pid)] == []


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper does not count)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            state = next(line for line in fh if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "Z" not in state.split()[1]


def _sleep_and_report(path: str) -> str:
    with open(os.environ["XLFLOW_TEST_PIDS"], "a", encoding="ascii") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(60)
    return path
