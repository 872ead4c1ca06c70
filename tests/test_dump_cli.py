"""`xlflow dump`: JSON on stdout, reading problems on stderr, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.layout import load_layout
from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

LAYOUT = load_layout()
RECORDS = {
    "mentors": [{"id": "Н-001", "full_name": "Громова Елена Сергеевна", "experience_years": 21,
                 "consent": True, "consent_date": "2025-09-01"}],
    "rubric": [{"indicator": n, "score": 2} for n in range(1, 10)],
}


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dump") / "копия.xlsx"
    write_programme_workbook(path, WorkbookOptions("Школа № 3", "SCH-003", "2025/2026"), RECORDS)
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["dump", *args])


def test_dump_prints_records_as_json(workbook):
    result = run(str(workbook))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mentors"] == RECORDS["mentors"]
    assert data["computed"]["rubric_total"] == 18 and data["computed"]["rubric_level"] == "оптимальный"
    assert "Громова" in result.stdout  # ensure_ascii=False
    assert result.stderr == ""


def test_indent_and_engine(workbook):
    compact = run(str(workbook), "--indent", "0", "--engine", "openpyxl")
    assert compact.exit_code == 0
    assert compact.stdout.count("\n") == 1
    assert json.loads(compact.stdout) == json.loads(run(str(workbook)).stdout)
    wide = run(str(workbook), "--indent", "4")
    assert '\n    "meta"' in wide.stdout


def test_reading_problems_go_to_stderr(workbook, tmp_path):
    wb = openpyxl.load_workbook(workbook)
    wb[LAYOUT.sheet("mentors").name].merge_cells("B4:C4")
    target = tmp_path / "merged.xlsx"
    wb.save(target)
    result = run(str(target))
    assert result.exit_code == 0
    assert "merged" not in result.stdout
    assert "[ошибка] merged-cells" in result.stderr and "B4:C4" in result.stderr
    assert "Банк наставников" in result.stderr
    assert json.loads(result.stdout)["mentors"][0]["id"] == "Н-001"


@pytest.mark.parametrize("content", [b"not a workbook at all", b""])
def test_unreadable_file_exits_2_naming_the_file(tmp_path, content):
    path = tmp_path / "отчёт.xlsx"
    path.write_bytes(content)
    result = run(str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("Ошибка: не удалось прочитать файл «")
    assert "отчёт.xlsx" in result.stderr
    assert result.stdout == ""


def test_missing_file_exits_2(tmp_path):
    result = run(str(tmp_path / "нет.xlsx"))
    assert result.exit_code == 2
    assert "нет.xlsx" in result.stderr


def test_dump_path_does_not_import_pandas(workbook):
    code = ("import sys; from xlflow.cli import cli; "
            "sys.argv = ['xlflow', 'dump', sys.argv[1]]\n"
            "try:\n    cli()\nexcept SystemExit:\n    pass\n"
            "assert 'pandas' not in sys.modules, 'pandas imported'\n"
            "assert 'jsonschema' not in sys.modules, 'jsonschema imported'")
    res = subprocess.run([sys.executable, "-c", code, str(workbook)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["meta"]["school_code"] == "SCH-003"
