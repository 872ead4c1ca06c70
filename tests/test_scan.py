"""Folder hazards for collect/merge: every file found gets a status and a code."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import hostile
from xlflow.problems import Report
from xlflow.scan import CANDIDATE, SKIPPED, UNREADABLE, read_template_id, scan_inputs


def _summary(path: Path, template_id: str) -> Path:
    from xlflow.consolidate.export import write_payload_sheet
    from xlflow.writing.xlsx import new_workbook

    wb = new_workbook(str(path))
    wb.add_worksheet("Сводка").write_string(0, 0, "Сводка по школе")
    write_payload_sheet(wb, {"template_id": template_id, "schema_version": 1}, {"rows": ["x" * 50_000]})
    wb.close()
    return path


def by_name(result) -> dict:
    return {e.name: e for e in result.entries}


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "Школа 7"
    root.mkdir()
    hostile.valid_xlsx(root / "Программа Петровой.xlsx", text="Петрова Анна")
    hostile.valid_xlsx(root / "Программа Орлова.xlsx", text="Орлов Игорь")
    (root / "~$Программа Петровой.xlsx").write_bytes(b"\x00" * 165)
    (root / ".~lock.Программа Орлова.xlsx#").write_text("lock")
    (root / ".скрытый.xlsx").write_bytes(b"PK")
    (root / ".hidden").mkdir()
    hostile.valid_xlsx(root / ".hidden" / "inside.xlsx")
    (root / "заметки.docx").write_bytes(b"PK\x03\x04")
    (root / "список.csv").write_text("a;b\n")
    (root / "папка.xlsx").mkdir()
    hostile.valid_xlsx(root / "папка.xlsx" / "внутри.xlsx", text="Кузнецова Ольга")
    shutil.copy(root / "Программа Петровой.xlsx", root / "копия Петровой.xlsx")
    os.link(root / "Программа Орлова.xlsx", root / "жёсткая ссылка.xlsx")
    outside = tmp_path / "снаружи.xlsx"
    hostile.valid_xlsx(outside, text="Внешний Файл")
    os.symlink(outside, root / "ссылка наружу.xlsx")
    os.symlink(root / "Программа Орлова.xlsx", root / "ссылка внутри.xlsx")
    os.symlink(tmp_path / "нет такого.xlsx", root / "битая ссылка.xlsx")
    os.symlink(root / "папка.xlsx", root / "ссылка на папку")
    (root / ".~xlflow-abc123.xlsx").write_bytes(b"partial")
    _summary(root / "СВОДКА.xlsx", "xlflow-school-summary")
    _summary(root / "МУНИЦИПАЛИТЕТ.xlsx", "xlflow-municipal-summary")
    long_name = ("Программа наставничества молодого специалиста " * 2).strip() + ".xlsx"  # 180 bytes
    hostile.valid_xlsx(root / long_name, text="Длинное Имя")
    return root


def test_every_file_classified(folder):
    result = scan_inputs([folder], purpose="collect")
    got = by_name(result)
    expect = {
        "Программа Петровой.xlsx": (CANDIDATE, None),
        "Программа Орлова.xlsx": (CANDIDATE, None),
        "~$Программа Петровой.xlsx": (SKIPPED, "skipped-lock-file"),
        ".~lock.Программа Орлова.xlsx#": (SKIPPED, "skipped-lock-file"),
        ".скрытый.xlsx": (SKIPPED, "skipped-hidden"),
        ".hidden": (SKIPPED, "skipped-hidden"),
        "заметки.docx": (SKIPPED, "skipped-not-spreadsheet"),
        "список.csv": (SKIPPED, "skipped-not-spreadsheet"),
        "папка.xlsx/": (SKIPPED, "skipped-folder-named-like-workbook"),
        "папка.xlsx/внутри.xlsx": (CANDIDATE, None),
        "копия Петровой.xlsx": (SKIPPED, "skipped-duplicate-file"),
        "жёсткая ссылка.xlsx": (SKIPPED, "skipped-duplicate-file"),
        "ссылка наружу.xlsx": (SKIPPED, "skipped-symlink-outside"),
        "ссылка внутри.xlsx": (SKIPPED, "skipped-duplicate-file"),
        "битая ссылка.xlsx": (SKIPPED, "skipped-broken-link"),
        "ссылка на папку": (SKIPPED, "skipped-symlink-folder"),
        ".~xlflow-abc123.xlsx": (SKIPPED, "skipped-temporary"),
        "СВОДКА.xlsx": (SKIPPED, "skipped-own-output"),
        "МУНИЦИПАЛИТЕТ.xlsx": (SKIPPED, "skipped-own-output"),
    }
    for name, (status, code) in expect.items():
        assert (got[name].status, got[name].code) == (status, code), name
    long_names = [n for n in got if n.startswith("Программа наставничества")]
    assert len(long_names) == 1 and got[long_names[0]].status == CANDIDATE
    assert len(result.entries) == len(expect) + 1
    # the duplicate names the file that counts
    assert got["копия Петровой.xlsx"].duplicate_of in ("Программа Петровой.xlsx", "копия Петровой.xlsx")
    assert got["копия Петровой.xlsx"].params["other"] == "Программа Петровой.xlsx"
    assert "«Программа Петровой.xlsx»" in got["копия Петровой.xlsx"].problem().message
    assert got["СВОДКА.xlsx"].params["what"] == "сводка школы"


def test_problems_render_in_russian_with_file_names(folder):
    result = scan_inputs([folder], purpose="collect")
    report = Report()
    report.extend(result.problems())
    text = report.to_text()
    assert "файл ссылка наружу.xlsx" in text
    assert "блокировки" in text
    assert not any(p.is_error for p in result.problems())


def test_merge_reads_school_summaries_but_skips_its_own(folder):
    result = by_name(scan_inputs([folder], purpose="merge"))
    assert result["СВОДКА.xlsx"].status == CANDIDATE
    assert result["СВОДКА.xlsx"].template_id == "xlflow-school-summary"
    assert result["МУНИЦИПАЛИТЕТ.xlsx"].code == "skipped-own-output"
    assert result["список.csv"].code == "skipped-not-spreadsheet"
    assert "копия сводки" in result["список.csv"].problem().message


def test_output_paths_are_skipped(folder):
    out = folder / "Программа Орлова.xlsx"
    result = by_name(scan_inputs([folder], purpose="collect", output_paths=[out]))
    assert result["Программа Орлова.xlsx"].code == "skipped-own-output"
    not_yet = folder / "будет.xlsx"
    scan_inputs([folder], purpose="collect", output_paths=[not_yet])  # a missing output is fine


def test_explicit_files_are_always_candidates(tmp_path):
    odd = tmp_path / "программа.dat"
    hostile.valid_xlsx(tmp_path / "x.xlsx")
    shutil.copy(tmp_path / "x.xlsx", odd)
    result = scan_inputs([odd, tmp_path / "нет.xlsx"], purpose="collect")
    got = by_name(result)
    assert got[str(odd)].status == CANDIDATE and got[str(odd)].explicit
    assert got[str(tmp_path / "нет.xlsx")].status == UNREADABLE
    assert got[str(tmp_path / "нет.xlsx")].code == "input-not-found"


def test_same_file_named_twice_counts_once(tmp_path):
    p = hostile.valid_xlsx(tmp_path / "книга.xlsx")
    result = scan_inputs([p, tmp_path], purpose="collect")
    assert len(result.candidates) == 1
    assert len(result.entries) == 2


def test_unreadable_file(folder, monkeypatch):
    import builtins

    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("Программа Орлова.xlsx"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("xlflow.scan.open", fake_open, raising=False)
    result = by_name(scan_inputs([folder], purpose="collect"))
    entry = result["Программа Орлова.xlsx"]
    assert (entry.status, entry.code) == (UNREADABLE, "file-unreadable")
    assert entry.problem().is_error
    assert "прав" in entry.problem().message


def test_unreadable_folder(tmp_path, monkeypatch):
    (tmp_path / "закрыто").mkdir()
    hostile.valid_xlsx(tmp_path / "открыто.xlsx")
    real_scandir = os.scandir

    def fake_scandir(path):
        if str(path).endswith("закрыто"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("xlflow.scan.os.scandir", fake_scandir)
    result = by_name(scan_inputs([tmp_path], purpose="collect"))
    assert result["закрыто"].code == "folder-unreadable"
    assert result["открыто.xlsx"].status == CANDIDATE


def test_file_vanishing_while_scanning(folder, monkeypatch):
    import xlflow.scan as scan

    real = scan._classify_candidate

    def vanish_then_classify(entry, *args):
        if entry.name == "Программа Орлова.xlsx":
            os.unlink(entry.path)
        return real(entry, *args)

    monkeypatch.setattr(scan, "_classify_candidate", vanish_then_classify)
    result = by_name(scan_inputs([folder], purpose="collect"))
    assert result["Программа Орлова.xlsx"].code == "file-vanished"
    assert result["Программа Петровой.xlsx"].status == CANDIDATE


def test_template_id_is_read_cheaply_and_safely(tmp_path):
    from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

    prog = tmp_path / "p.xlsx"
    write_programme_workbook(prog, WorkbookOptions(school_name="Школа", school_code="S1", academic_year="2025/2026"))
    assert read_template_id(prog) == "xlflow-programme"
    assert read_template_id(_summary(tmp_path / "s.xlsx", "xlflow-school-summary")) == "xlflow-school-summary"
    assert read_template_id(hostile.valid_xlsx(tmp_path / "plain.xlsx")) is None
    assert read_template_id(hostile.empty(tmp_path / "empty.xlsx")) is None
    bomb = hostile.zip_bomb(hostile.valid_xlsx(tmp_path / "b.xlsx"), tmp_path / "bomb.xlsx", lie=True)
    assert read_template_id(bomb) is None
    laughs = hostile.billion_laughs(prog, tmp_path / "laughs.xlsx")
    assert read_template_id(laughs) is None  # shared strings with DOCTYPE are refused


def test_machine_copies_beside_summaries_are_own_outputs(tmp_path):
    import json

    (tmp_path / "СВОДКА.json").write_text(json.dumps({"template_id": "xlflow-school-summary", "x": 1}),
                                         encoding="utf-8")
    (tmp_path / "СВОДКА.pairs.csv").write_text("a,b\n", encoding="utf-8-sig")
    (tmp_path / "МУН.json").write_text(json.dumps({"schema_version": 1, "template_id": "xlflow-municipal-summary"}),
                                      encoding="utf-8")
    (tmp_path / "чужой.json").write_text('{"a": 1}', encoding="utf-8")
    (tmp_path / "данные.csv").write_text("a,b\n", encoding="utf-8")
    collect = by_name(scan_inputs([tmp_path], purpose="collect"))
    assert collect["СВОДКА.json"].code == "skipped-own-output"
    assert collect["СВОДКА.pairs.csv"].code == "skipped-own-output"
    assert collect["МУН.json"].code == "skipped-own-output"
    assert collect["чужой.json"].code == "skipped-not-spreadsheet"
    assert collect["данные.csv"].code == "skipped-not-spreadsheet"
    merge = by_name(scan_inputs([tmp_path], purpose="merge"))
    assert merge["СВОДКА.json"].status == CANDIDATE
    assert merge["СВОДКА.json"].template_id is None or merge["СВОДКА.json"].template_id == "xlflow-school-summary"
    assert merge["МУН.json"].code == "skipped-own-output"
    assert merge["чужой.json"].status == CANDIDATE  # refused later by the summary reader, with its reason
    assert merge["СВОДКА.pairs.csv"].code == "skipped-own-output"


def test_same_size_files_are_duplicates_only_when_every_byte_matches(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "а.xlsx").read_bytes()
    head_differs = bytes([base[0] ^ 1]) + base[1:]  # same size, same last KB
    middle_differs = base[:len(base) // 2] + bytes([base[len(base) // 2] ^ 1]) + base[len(base) // 2 + 1:]
    (tmp_path / "б.xlsx").write_bytes(head_differs)
    (tmp_path / "в.xlsx").write_bytes(base)
    (tmp_path / "г.xlsx").write_bytes(middle_differs)
    (tmp_path / "д.xlsx").write_bytes(head_differs)
    (tmp_path / "е.xlsx").write_bytes(b"x" * 10 + base[10:-10] + b"y" * 10)  # same size, another tail
    got = by_name(scan_inputs([tmp_path], purpose="collect"))
    assert {n: e.duplicate_of for n, e in got.items()} == {
        "а.xlsx": None, "б.xlsx": None, "в.xlsx": "а.xlsx", "г.xlsx": None, "д.xlsx": "б.xlsx", "е.xlsx": None}
    assert got["в.xlsx"].code == "skipped-duplicate-file" and got["г.xlsx"].status == CANDIDATE
