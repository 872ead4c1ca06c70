"""`xlflow validate` through click: exit codes, text and JSON reports, --annotate."""
from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner

from test_validation_files import write
from test_validation_schema import programme_record
from xlflow.cli import cli


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    good = programme_record()
    warn = programme_record()
    warn["pairs"][0]["participants_consent"] = False
    bad = programme_record()
    bad["pairs"][0]["mode"] = "заочный"
    bad["mentees"][0]["experience_years"] = 9
    broken = folder / "битый.xlsx"
    broken.write_bytes(b"this is not a workbook")
    return {"good": write(folder / "хорошая.xlsx", good), "warn": write(folder / "предупреждение.xlsx", warn),
            "bad": write(folder / "ошибки.xlsx", bad), "broken": str(broken), "folder": folder}


def run(*args):
    return CliRunner().invoke(cli, ["validate", *map(str, args)])


def test_valid_file_exit_0(books):
    result = run(books["good"])
    assert result.exit_code == 0, result.output
    assert "Ошибок не найдено" in result.output


def test_warnings_only_exit_0(books):
    result = run(books["warn"])
    assert result.exit_code == 0
    assert "[предупреждение] participants-consent-missing" in result.output and "ячейка M4" in result.output


def test_errors_exit_1_with_cell_and_message(books):
    result = run(books["bad"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    line = next(x for x in lines if "not-in-list" in x)
    assert line.startswith("[ошибка] not-in-list:")
    assert "лист «Пары и группы», ячейка H4" in line and "«заочный»" in line and books["bad"] in line
    assert any("young-specialist-experience" in x and "ячейка E4" in x for x in lines)
    assert lines[-1] == "Проверено файлов: 1. Ошибок: 2, предупреждений: 0."


def test_unreadable_file_exit_2_others_still_checked(books):
    result = run(books["bad"], books["broken"])
    assert result.exit_code == 2
    assert "not-in-list" in result.output and books["broken"] in result.output
    assert "Файлов без ошибок: 0 из 2." in result.output
    assert f"Не удалось прочитать: {books['broken']}." in result.output


def test_wrong_calls_exit_2(books, tmp_path):
    assert run(tmp_path / "нет такого.xlsx").exit_code == 2
    assert run(books["good"], "--format", "xml").exit_code == 2
    assert run().exit_code == 2
    result = run(books["good"], "--annotate", books["good"])
    assert result.exit_code == 2 and "совпадает с входным" in result.output
    result = run(books["good"], books["bad"], "--annotate", tmp_path / "один.xlsx")
    assert result.exit_code == 2 and "папку" in result.output


def test_json_report(books):
    result = run(books["bad"], books["good"], "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["errors"] == 2
    assert report["files"] == [books["bad"], books["good"]]
    [problem] = [p for p in report["problems"] if p["code"] == "not-in-list"]
    assert (problem["file"], problem["sheet"], problem["cell"]) == (books["bad"], "Пары и группы", "H4")
    assert "«заочный»" in problem["message"] and problem["severity"] == "error"
    assert report["by_file"] == [
        {"file": books["bad"], "readable": True, "valid": False, "errors": 2, "warnings": 0},
        {"file": books["good"], "readable": True, "valid": True, "errors": 0, "warnings": 0}]


def test_annotate_one_file(books, tmp_path):
    out = tmp_path / "с пометками.xlsx"
    result = run(books["bad"], "--annotate", out)
    assert result.exit_code == 1
    wb = openpyxl.load_workbook(out)
    cell = wb["Пары и группы"]["H4"]
    assert cell.comment is not None and "«заочный»" in cell.comment.text
    assert cell.fill.fgColor.rgb == "FFFFC7CE"
    listed = [row for row in wb["Ошибки"].iter_rows(min_row=2, values_only=True)]
    assert sorted((r[2], r[3], r[5]) for r in listed) == [
        ("Банк наставляемых", "E4", "young-specialist-experience"), ("Пары и группы", "H4", "not-in-list")]


def test_annotate_folder_for_several_files_and_folder_input(books, tmp_path):
    folder = tmp_path / "пометки"
    result = run(books["folder"], "--annotate", folder)
    assert result.exit_code == 2  # the broken file in the folder
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["ошибки_ошибки.xlsx", "предупреждение_ошибки.xlsx", "хорошая_ошибки.xlsx"]
    assert "не прочитан" in result.output


def test_no_pandas_or_openpyxl_on_the_validate_path(books):
    import subprocess
    import sys

    code = ("import sys\nfrom xlflow.cli import cli\ntry:\n    cli(['validate', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'openpyxl', 'xlsxwriter') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, books["bad"]], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
