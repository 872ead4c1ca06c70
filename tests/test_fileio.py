"""Output safety: atomic writes, never overwriting an input, text never a formula."""
from __future__ import annotations

import os

import openpyxl
import pytest

from xlflow.errors import XlflowError
from xlflow.fileio import atomic_output, refuse_overwriting_inputs, same_file, write_text_atomic
from xlflow.writing.xlsx import new_workbook


def test_atomic_write_replaces_target(tmp_path):
    target = tmp_path / "СВОДКА.xlsx"
    target.write_bytes(b"old")
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".~xlflow-") and tmp.suffix == ".xlsx"
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible before the end
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["СВОДКА.xlsx"]


def test_writer_raising_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half a workbook")
            raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_writer_raising_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous summary")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target) as tmp:
            wb = new_workbook(tmp)
            wb.add_worksheet("Лист")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"previous summary"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_write_text_atomic_creates_folders(tmp_path):
    target = tmp_path / "новая папка" / "итог.json"
    write_text_atomic(target, '{"ok": true}')
    assert target.read_text(encoding="utf-8") == '{"ok": true}'


def test_refuse_overwriting_an_input(tmp_path):
    src = tmp_path / "Программа.xlsx"
    src.write_bytes(b"input")
    with pytest.raises(XlflowError) as info:
        refuse_overwriting_inputs(src, [src])
    assert info.value.code == "output-is-input"
    assert "входные файлы xlflow не изменяет" in info.value.message
    assert src.read_bytes() == b"input"


def test_refuse_overwriting_an_input_through_another_name(tmp_path):
    src = tmp_path / "Программа.xlsx"
    src.write_bytes(b"input")
    link = tmp_path / "ссылка.xlsx"
    os.symlink(src, link)
    hard = tmp_path / "жёсткая.xlsx"
    os.link(src, hard)
    for out in (link, hard, tmp_path / "." / "Программа.xlsx"):
        with pytest.raises(XlflowError):
            refuse_overwriting_inputs(out, [src])
    assert same_file(hard, src)


def test_other_outputs_are_allowed(tmp_path):
    src = tmp_path / "a.xlsx"
    src.write_bytes(b"input")
    refuse_overwriting_inputs(tmp_path / "b.xlsx", [src])  # does not exist yet
    (tmp_path / "c.xlsx").write_bytes(b"other")
    refuse_overwriting_inputs(tmp_path / "c.xlsx", [src])


DANGEROUS = ["=HYPERLINK(\"http://example.invalid\",\"нажми\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
             "=1+1", "http://example.invalid/путь", "0012345", "1e5"]


def test_user_text_is_never_a_formula(tmp_path):
    path = tmp_path / "out.xlsx"
    wb = new_workbook(path)
    ws = wb.add_worksheet("Лист")
    for row, text in enumerate(DANGEROUS):
        ws.write(row, 0, text)  # the generic write() is what guesses types
    wb.close()
    book = openpyxl.load_workbook(path)
    sheet = book["Лист"]
    for row, text in enumerate(DANGEROUS, start=1):
        cell = sheet.cell(row, 1)
        assert cell.data_type == "s", (text, cell.data_type)
        assert cell.value == text
    assert not sheet._hyperlinks
