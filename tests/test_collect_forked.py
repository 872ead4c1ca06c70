"""collect makes the payload text of the workbook's hidden sheet and then
writes the machine-readable copy (JSON, CSV) in a forked child, while the
parent writes the workbook (:mod:`xlflow.consolidate.forked`): the same
files as written one after the other, and a failure in any process is the
same error, with no temporary file or child process left behind."""
from __future__ import annotations

import datetime as dt
import errno
import json
import os

import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.consolidate import collect as C
from xlflow.consolidate import export, school_writer
from xlflow.consolidate import forked as forked_module
from xlflow.consolidate.forked import Forked
from xlflow.fileio import atomic_output
from xlflow.writing.sample import write_samples

AS_OF = dt.date(2026, 2, 1)

@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("forked") / "in"
    write_samples(root, 4, seed=20250901, error_rate=0.5, jobs=1)
    return root


def _collect(folder, out, forked, monkeypatch):
    monkeypatch.setattr(forked_module, "can_fork", lambda: forked)
    outcome = C.collect(folder, out, as_of=AS_OF, jobs=1)
    outcome.close()
    return outcome


def _machine_files(out_dir) -> dict:
    """The JSON (without its creation stamp) and the CSV files by name."""
    found = {}
    for p in sorted(out_dir.iterdir()):
        if p.suffix == ".json":
            payload = json.loads(p.read_text(encoding="utf-8"))
            payload.pop("created")
            found[p.name] = payload
        elif p.suffix == ".csv":
            found[p.name] = p.read_bytes()
    return found


def _leftovers(out_dir) -> list[str]:
    return [p.name for p in out_dir.iterdir() if p.name.startswith(".~")]


def _hidden_sheet(book) -> tuple[list, dict]:
    """The key/value rows of the workbook's ``_xlflow`` sheet (without the
    creation stamp and the checksum, which covers it) and its payload, checked."""
    rows = export._rows_of_meta_sheet(book, export.META_SHEET)
    payload = export.payload_from_meta_rows(rows)
    payload.pop("created")
    return [r for r in rows if r[0] not in ("created", "payload_sha256", export.PAYLOAD_KEY)], payload


def _no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_same_files_as_one_after_the_other(folder, tmp_path, monkeypatch):
    forked = _collect(folder, tmp_path / "a" / "S.xlsx", True, monkeypatch)
    plain = _collect(folder, tmp_path / "b" / "S.xlsx", False, monkeypatch)
    assert [p.name for p in forked.outputs] == [p.name for p in plain.outputs]
    assert forked.outputs[0].name == "S.xlsx" and len(forked.outputs) > 5
    assert all(p.exists() for p in forked.outputs)
    assert _machine_files(tmp_path / "a") == _machine_files(tmp_path / "b")
    assert _hidden_sheet(forked.outputs[0]) == _hidden_sheet(plain.outputs[0])
    assert _hidden_sheet(forked.outputs[0])[1]["tables"]["files"]  # the payload, whole
    assert forked.exit_code == plain.exit_code == 1
    assert not _leftovers(tmp_path / "a")


def _disk_full(monkeypatch, suffix):
    """Writing the output ending in ``suffix`` fails half way (in whichever process writes it)."""
    real = export.write_csv

    def write_csv(path, columns, rows):
        if not str(path).endswith(suffix):
            return real(path, columns, rows)
        with atomic_output(path) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(export, "write_csv", write_csv)


@pytest.mark.parametrize("forked", [True, False])
def test_an_error_writing_the_copy_is_the_same_error(folder, tmp_path, monkeypatch, forked):
    out = tmp_path / "out" / "S.xlsx"
    _disk_full(monkeypatch, ".files.csv")
    with pytest.raises(OSError) as caught:
        _collect(folder, out, forked, monkeypatch)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "out" / "S.files.csv")
    assert out.exists() and (tmp_path / "out" / "S.json").exists()  # written before
    assert not (tmp_path / "out" / "S.files.csv").exists()
    assert not _leftovers(tmp_path / "out")


def test_the_cli_reports_the_child_error_as_before(folder, tmp_path, monkeypatch):
    _disk_full(monkeypatch, ".problems.csv")
    out = tmp_path / "out" / "S.xlsx"
    res = CliRunner().invoke(cli, ["collect", str(folder), "--out", str(out), "--quiet"])
    assert res.exit_code == 2
    assert f"Не удалось записать сводку {out}: No space left on device." in res.output
    assert not _leftovers(tmp_path / "out")


def test_a_failing_workbook_stops_the_child(folder, tmp_path, monkeypatch):
    def write_school_summary(path, payload, text=None):
        with atomic_output(path) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(school_writer, "write_school_summary", write_school_summary)
    out = tmp_path / "out" / "S.xlsx"
    with pytest.raises(OSError) as caught:
        _collect(folder, out, True, monkeypatch)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(out)
    assert not out.exists()
    assert not _leftovers(tmp_path / "out")
    assert _no_child_left()


@pytest.mark.parametrize("forked", [True, False])
def test_an_error_making_the_hidden_sheet_text_is_the_same_error(folder, tmp_path, monkeypatch, forked):
    real = export.iter_json

    def iter_json(value, indent=None, sort_keys=False, level=0):
        if sort_keys:  # the compact text of the hidden sheet, not the JSON copy
            raise OSError(errno.EIO, "Input/output error")
        return real(value, indent, sort_keys, level)

    monkeypatch.setattr(export, "iter_json", iter_json)
    out = tmp_path / "out" / "S.xlsx"
    with pytest.raises(OSError) as caught:
        _collect(folder, out, forked, monkeypatch)
    assert caught.value.errno == errno.EIO
    assert not out.exists()
    assert not _leftovers(tmp_path / "out")
    assert _no_child_left()


def test_the_hidden_sheet_text_made_in_a_child_is_the_text(tmp_path):
    payload = {"b": ["ж" * 40_000, "\U0001f600" * 20_000], "a": {"x": 1}}
    text = export.PayloadText(payload)
    child = forked_module.start(text.then(lambda: "и копия"), lambda: None)
    text.made_by(child)
    try:
        digest, count, chunks = text.chunks()
        got = list(chunks)
    finally:
        text.close()
    assert child is not None and child.result() == "и копия"  # the child goes on after the text
    whole = export.payload_text(payload)
    assert got == export.split_chunks(whole) and count == len(got) > 2
    assert digest == export.sha256_text(whole)
    assert _no_child_left()


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("no")


def _raise_unpicklable():
    raise _Unpicklable("what went wrong")


def _no_fork():
    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")


def test_no_process_to_spare_means_the_work_is_done_here(folder, tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(forked_module.os, "fork", _no_fork)
        fds = sorted(os.listdir("/proc/self/fd"))
        with pytest.raises(BlockingIOError):
            Forked(lambda: 1, lambda: None)
        assert sorted(os.listdir("/proc/self/fd")) == fds  # the pipe is closed again
        assert forked_module.start(lambda: 1, lambda: None) is None

    def failing(func, prepare):
        _no_fork()

    monkeypatch.setattr(forked_module, "Forked", failing)  # the scan and the writing (workers still fork)
    outcome = C.collect(folder, tmp_path / "S.xlsx", as_of=AS_OF, jobs=1)
    outcome.close()
    assert all(p.exists() for p in outcome.outputs) and len(outcome.outputs) > 5


def test_the_child_result_or_what_went_wrong():
    assert Forked(lambda: [1, "два"], lambda: None).result() == [1, "два"]
    with pytest.raises(KeyError, match="нет"):
        Forked(lambda: {}["нет"], lambda: None).result()
    with pytest.raises(RuntimeError, match="what went wrong"):
        Forked(_raise_unpicklable, lambda: None).result()
    with pytest.raises(ChildProcessError):
        Forked(lambda: os._exit(3), lambda: None).result()


_ORDER_PROBE = """
import sys
from xlflow.consolidate import forked
from xlflow.reading import isolate
seen = {}
real_start, real_give, real_receive = forked.start, isolate._Worker.give, isolate._Run._receive

def start(func, prepare):
    seen.setdefault("scan forked, readers imported", "xlflow.reading.grid" in sys.modules)
    return real_start(func, prepare)

def give(self, index, path):
    seen.setdefault("worker given a file, consolidation imported", "xlflow.consolidate.collect_stream" in sys.modules)
    return real_give(self, index, path)

def receive(self, w):
    seen["last file read, workbook writer imported"] = "xlsxwriter" in sys.modules
    return real_receive(self, w)

forked.start, isolate._Worker.give, isolate._Run._receive = start, give, receive
from xlflow.consolidate import collect as C
import datetime as dt
C.collect(sys.argv[1], sys.argv[2], as_of=dt.date(2026, 2, 1), jobs=1).close()
print(seen)
"""


def test_the_scan_and_the_reading_start_before_what_the_parent_does_not_need_yet(folder, tmp_path):
    """The scan's child is forked before the parent imports the readers (the
    two overlap), the worker gets its first file before the parent imports
    its consolidation (the spill, the figures), and the workbook writer is
    imported while the worker reads, not after."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _ORDER_PROBE, str(folder), str(tmp_path / "S.xlsx")],
                         capture_output=True, text=True, timeout=300, check=True)
    assert run.stdout.strip() == str({"scan forked, readers imported": False,
                                      "worker given a file, consolidation imported": False,
                                      "last file read, workbook writer imported": True})


def test_an_error_in_the_consolidation_leaves_no_worker_child_or_side_file(folder, tmp_path, monkeypatch):
    import tempfile

    from xlflow.consolidate import collect_stream

    def failing(facts, as_of, created=None):
        next(iter(facts))
        raise RuntimeError("consolidation failed")

    monkeypatch.setattr(collect_stream, "collect_stream", failing)
    side_dirs = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(RuntimeError, match="consolidation failed"):
        C.collect(folder, tmp_path / "S.xlsx", as_of=AS_OF, jobs=1)
    assert _no_child_left()
    assert not {d for d in os.listdir(tempfile.gettempdir()) if d.startswith("xlflow-registry-")} - side_dirs
