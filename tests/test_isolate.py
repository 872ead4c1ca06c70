"""read_isolated keeps files queued in each worker: a crash or a timeout is
still reported for the file being read, and the files queued behind it are
read by a fresh worker, in input order, none lost."""
from __future__ import annotations

import os
import time

from xlflow.reading.isolate import IN_FLIGHT, Failure, PathList, Reading, _Run, read_isolated


def _read_or_die(path: str) -> str:
    name = os.path.basename(path)
    if name.startswith("crash"):
        os.abort()
    if name.startswith("slow"):
        time.sleep(60)
    return name + f"@{os.getpid()}"


def _names(got):
    return [v.split("@")[0] if isinstance(v, str) else v.code for _p, v in got]


def test_crash_with_files_queued_behind_it(tmp_path):
    paths = [str(tmp_path / n) for n in ("a", "crash1", "b", "crash2", "crash3", "c", "d")]
    got = list(read_isolated(paths, _read_or_die, jobs=1, timeout_s=30))
    assert [p for p, _ in got] == paths
    assert _names(got) == ["a", "worker-crashed", "b", "worker-crashed", "worker-crashed", "c", "d"]
    assert all("SIGABRT" in v.message for _p, v in got if isinstance(v, Failure))
    # a fresh worker took over after each crash
    assert len({v.split("@")[1] for _p, v in got if isinstance(v, str)}) == 3


def test_timeout_with_files_queued_behind_it(tmp_path):
    paths = [str(tmp_path / n) for n in ("slow", "a", "b")]
    start = time.perf_counter()
    got = list(read_isolated(paths, _read_or_die, jobs=1, timeout_s=1))
    assert time.perf_counter() - start < 20
    assert _names(got) == ["read-timeout", "a", "b"]


def test_every_worker_gets_the_next_file_before_it_is_done(tmp_path):
    paths = [str(tmp_path / f"f{i}") for i in range(2 * IN_FLIGHT + 3)]
    run = _Run(paths, _read_or_die, jobs=2, memory_mb=0, timeout_s=30)
    try:
        run._feed()
        assert [len(w.tasks) for w in run.workers] == [IN_FLIGHT, IN_FLIGHT]
        # round robin: the first files go to different workers
        assert [w.tasks[0][0] for w in run.workers] == [0, 1]
        got = list(run.results())
    finally:
        run.close()
    assert _names(got) == [f"f{i}" for i in range(2 * IN_FLIGHT + 3)]


def _quick(path: str) -> str:
    time.sleep(0.002)
    return os.path.basename(path)


def test_parent_pauses_only_while_every_queue_is_full(tmp_path, monkeypatch):
    import xlflow.reading.isolate as isolate

    naps = []
    real_sleep = time.sleep
    monkeypatch.setattr(isolate.time, "sleep", lambda s: (naps.append(s), real_sleep(s)))
    few = [str(tmp_path / f"f{i}") for i in range(IN_FLIGHT - 1)]
    assert [v for _p, v in read_isolated(few, _quick, jobs=1)] == [f"f{i}" for i in range(IN_FLIGHT - 1)]
    assert naps == []
    many = [str(tmp_path / f"f{i}") for i in range(40)]
    assert [v for _p, v in read_isolated(many, _quick, jobs=1)] == [f"f{i}" for i in range(40)]
    assert naps and all(0 < s <= isolate.MAX_NAP_S for s in naps)


def test_pace_is_learned_from_each_look_not_from_each_result():
    """Results that arrive together after a pause must not read as instant files."""
    run = _Run(["a"], _quick, jobs=2, memory_mb=0, timeout_s=30)
    run._learn_pace(100.0, readers=2, received=0)  # the first look only starts the clock
    assert run.pace == 0
    run._learn_pace(100.020, readers=2, received=4)  # 20 ms, two workers, four files: 10 ms a file
    assert abs(run.pace - 0.010) < 1e-9
    run._learn_pace(100.030, readers=2, received=0)  # nothing came: no sample
    assert abs(run.pace - 0.010) < 1e-9
    run._learn_pace(100.050, readers=1, received=1)  # 20 ms for one file: the average moves towards it
    assert 0.010 < run.pace < 0.020


def _write_marker(path: str) -> str:
    with open(path, "w") as fh:
        fh.write("read")
    return os.path.basename(path)


def test_reading_starts_the_workers_before_the_first_result_is_asked_for(tmp_path):
    paths = [str(tmp_path / n) for n in ("a", "b", "c", "d", "e", "f")]
    reading = Reading(paths, _write_marker, jobs=2, timeout_s=30)
    try:
        assert reading.run is not None and len(reading.run.workers) == 2
        assert all(len(w.tasks) == min(IN_FLIGHT, 3) for w in reading.run.workers)
        deadline = time.monotonic() + 30
        while not os.path.exists(paths[0]) and time.monotonic() < deadline:  # read without being asked
            time.sleep(0.01)
        assert os.path.exists(paths[0])
        assert list(reading) == [(p, os.path.basename(p)) for p in paths]
    finally:
        reading.close()
    assert reading.run is None
    empty = Reading([], _write_marker, jobs=2)
    assert list(empty) == [] and empty.run is None
    empty.close()


def test_closing_a_reading_never_iterated_stops_its_workers(tmp_path):
    paths = [str(tmp_path / n) for n in ("slow", "a")]
    reading = Reading(paths, _read_or_die, jobs=1, timeout_s=60)
    assert reading.run is not None
    procs = [w.proc for w in reading.run.workers]
    reading.close()
    assert procs and not any(p.is_alive() for p in procs)


def _stamp(path: str) -> tuple[str, int, int]:
    return os.path.basename(path), os.getpid(), time.monotonic_ns()


def test_files_given_out_first_are_read_first_by_a_worker_of_their_own(tmp_path):
    """A PathList's ``first`` files (a school's registry among its copies) are
    read before the others, each by a worker that takes nothing else and then
    exits; the results still come in the list's order, none lost."""
    names = [f"f{i:02d}" for i in range(12)]
    paths = PathList(str(tmp_path) + os.sep, names, first=(9, 4))
    got = list(read_isolated(paths, _stamp, jobs=1, timeout_s=30))
    assert [p for p, _ in got] == [str(tmp_path / n) for n in names]
    assert [v[0] for _p, v in got] == names
    by_name = {name: (pid, t) for name, pid, t in (v for _p, v in got)}
    order = sorted(by_name, key=lambda n: by_name[n][1])
    assert order[:2] == ["f09", "f04"]
    assert order[2:] == [n for n in names if n not in ("f09", "f04")]
    pids = {n: by_name[n][0] for n in names}
    assert pids["f09"] != pids["f04"]
    others = {pids[n] for n in names if n not in ("f09", "f04")}
    assert len(others) == 1 and not others & {pids["f09"], pids["f04"]}


def test_without_first_files_one_worker_reads_everything_in_order(tmp_path):
    names = [f"f{i:02d}" for i in range(6)]
    got = list(read_isolated(PathList(str(tmp_path) + os.sep, names), _stamp, jobs=1, timeout_s=30))
    stamps = [v for _p, v in got]
    assert [s[0] for s in stamps] == names
    assert len({s[1] for s in stamps}) == 1
    assert [s[2] for s in stamps] == sorted(s[2] for s in stamps)
