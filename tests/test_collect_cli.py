"""`xlflow collect` on the command line: exit codes, atomic outputs, own
outputs skipped, inputs untouched, and the summary opening in LibreOffice."""
from __future__ import annotations

import hashlib
import json
import zipfile
from contextlib import ExitStack
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.commands.collect import _progress_bar as _real_progress_bar
from xlflow.consolidate.export import read_school_summary
from xlflow.writing.sample import write_samples

CLEAN_SEED = 1


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A folder whose every file is valid: the registry and three copies."""
    root = tmp_path_factory.mktemp("clean")
    result = write_samples(root / "in", 3, seed=CLEAN_SEED, jobs=1)
    return root, result


def invoke(*args):
    return CliRunner().invoke(cli, ["collect", *map(str, args)])


def digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_all_accepted_exits_0_and_leaves_inputs_untouched(clean):
    root, sample = clean
    before = digests(root / "in")
    res = invoke(root / "in", "--out", root / "out" / "S.xlsx", "--as-of", sample.school.as_of.isoformat(), "--quiet")
    assert res.exit_code == 0, res.output
    assert digests(root / "in") == before
    assert "Файлов: 4 (принято: 4)" in res.output
    assert "Ошибок: 0, предупреждений: 0." in res.output
    out_files = sorted(p.name for p in (root / "out").iterdir())
    assert out_files[0] == "S.breakdown.csv" and "S.json" in out_files and "S.xlsx" in out_files
    assert not [n for n in out_files if n.startswith(".~")]
    payload = read_school_summary(root / "out" / "S.xlsx")
    assert payload["figures"]["files"]["accepted"] == 4
    assert payload["school"]["code"] == sample.school.school_code
    assert payload["as_of"] == sample.school.as_of.isoformat()


def test_summary_inside_the_folder_is_skipped_next_time(clean, tmp_path):
    root, sample = clean
    folder = tmp_path / "in"
    folder.mkdir()
    for p in (root / "in").iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    first = invoke(folder, "--out", folder / "СВОДКА.xlsx", "--quiet")
    assert first.exit_code == 0, first.output
    # an older summary kept under another name is recognised by its metadata
    (folder / "СВОДКА.xlsx").rename(folder / "старая сводка.xlsx")
    second = invoke(folder, "--out", folder / "СВОДКА.xlsx", "--format", "json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.output)
    files = {f["file"]: f for f in report["files"]}
    assert files["старая сводка.xlsx"]["status"] == "skipped"
    assert "результат работы xlflow" in files["старая сводка.xlsx"]["reason"]
    assert files["СВОДКА.json"]["status"] == "skipped"
    assert report["figures"]["files"]["accepted"] == 4
    # a third run overwrites its own summary in place
    third = invoke(folder, "--out", folder / "СВОДКА.xlsx", "--quiet")
    assert third.exit_code == 0, third.output
    assert not list(folder.glob(".~xlflow-*"))


def test_rejected_file_exits_1(clean, tmp_path):
    root, _ = clean
    folder = tmp_path / "in"
    folder.mkdir()
    for p in (root / "in").iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "сломанный.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    # a copy made by a future xlflow (another template version)
    wb = openpyxl.load_workbook(folder / sample_name(clean, 0))
    meta = wb["_xlflow"]
    row = next(r for r in meta.iter_rows() if r[0].value == "template_version")
    row[1].value = 99
    wb.save(folder / "новая версия.xlsx")
    # somebody's own spreadsheet
    other = openpyxl.Workbook()
    other.active.title = "Бюджет"
    other.active["A1"] = "Статья расходов"
    other.save(folder / "бюджет.xlsx")
    res = invoke(folder, "--out", tmp_path / "S.xlsx", "--quiet", "--jobs", "1", "--format", "json")
    assert res.exit_code == 1
    files = {f["file"]: f for f in json.loads(res.output)["files"]}
    assert {n: files[n]["status"] for n in ("сломанный.xlsx", "новая версия.xlsx", "бюджет.xlsx")} == dict.fromkeys(
        ("сломанный.xlsx", "новая версия.xlsx", "бюджет.xlsx"), "rejected")
    assert "99" in files["новая версия.xlsx"]["reason"]
    codes = {(p["file"], p["code"]) for p in json.loads(res.output)["problems"]}
    assert ("новая версия.xlsx", "template-version-mismatch") in codes
    assert ("бюджет.xlsx", "not-xlflow-workbook") in codes
    assert json.loads(res.output)["figures"]["files"]["accepted"] == 4


def sample_name(clean, index):
    return clean[1].copy_paths[index].name


@pytest.mark.parametrize("case", ["no-folder", "not-xlsx", "input", "as-of", "jobs", "out-dir"])
def test_bad_calls_exit_2_and_write_nothing(clean, tmp_path, case):
    root, sample = clean
    folder = root / "in"
    before = digests(folder)
    copy_path = sample.copy_paths[0]
    args = {
        "no-folder": [tmp_path / "нет такой папки", "--out", tmp_path / "S.xlsx"],
        "not-xlsx": [folder, "--out", tmp_path / "S.csv"],
        "input": [folder, "--out", copy_path],
        "as-of": [folder, "--out", tmp_path / "S.xlsx", "--as-of", "31/05/2026"],
        "jobs": [folder, "--out", tmp_path / "S.xlsx", "--jobs", "0"],
        "out-dir": [folder, "--out", folder],
    }[case]
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    assert digests(folder) == before
    assert not (tmp_path / "S.xlsx").exists() and not (tmp_path / "S.json").exists()
    if case == "input":
        assert "не является сводкой xlflow" in res.output


@pytest.mark.libreoffice
@pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")  # openpyxl on LibreOffice's x14 parts
def test_summary_opens_in_libreoffice_with_charts(clean, tmp_path, lo_convert):
    root, sample = clean
    out = tmp_path / "S.xlsx"
    res = invoke(root / "in", "--out", out, "--as-of", sample.school.as_of.isoformat(), "--quiet")
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 3
    wb = openpyxl.load_workbook(out)
    assert [len(wb[s]._charts) for s in ("Дефициты", "Дорожные карты", "Рубрика")] == [1, 1, 1]
    [converted] = lo_convert([out], "xlsx", tmp_path / "lo")
    with zipfile.ZipFile(converted) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    again = openpyxl.load_workbook(converted)
    assert again.sheetnames[:7] == wb.sheetnames[:7]
    assert again["Сводка"]["A1"].value == wb["Сводка"]["A1"].value
    # LibreOffice keeps the hidden payload: the re-saved workbook still reads back
    assert read_school_summary(converted) == read_school_summary(out)


def test_folder_without_workbooks_still_gets_a_summary(tmp_path):
    folder = tmp_path / "пусто"
    folder.mkdir()
    (folder / "письмо.txt").write_text("нет копий", encoding="utf-8")
    res = invoke(folder, "--out", tmp_path / "S.xlsx", "--format", "json")
    assert res.exit_code == 1
    report = json.loads(res.output)
    assert [p["code"] for p in report["problems"]] == ["collect-no-registry"]
    assert report["figures"]["programmes"] == 0 and report["figures"]["files"]["skipped"] == 1
    wb = openpyxl.load_workbook(tmp_path / "S.xlsx")
    assert all(len(ws._charts) == 0 for ws in wb)
    assert read_school_summary(tmp_path / "S.xlsx")["figures"]["roadmap"]["completion_percent"] is None


def test_progress_bar_on_a_terminal_only(clean, tmp_path, monkeypatch):
    from xlflow.commands import collect as command_module

    root, _ = clean
    calls = []
    monkeypatch.setattr(command_module, "_progress_bar",
                        lambda stack, enabled: calls.append(enabled) or (None, None))
    invoke(root / "in", "--out", tmp_path / "a.xlsx")
    invoke(root / "in", "--out", tmp_path / "b.xlsx", "--quiet")
    assert calls == [False, False]  # CliRunner's stderr is not a terminal
    with ExitStack() as stack:
        on_scan, progress = _real_progress_bar(stack, True)
        on_scan(2)
        progress(None)
        progress(None)
    with ExitStack() as stack:
        assert _real_progress_bar(stack, False) == (None, None)
