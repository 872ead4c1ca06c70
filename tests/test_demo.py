"""`xlflow demo`: the whole path on sample data, run once through the CLI."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.demo import CHECK_DIR, MARKER, SCHOOLS, SCHOOLS_DIR, prepare_out
from xlflow.errors import XlflowError


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "xlflow-demo"
    res = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    return out, res


def test_demo_exits_0_and_tells_every_step(demo):
    out, res = demo
    assert res.exit_code == 0, res.output
    for word in ("new", "split", "dump", "validate", "collect", "merge", "Готово за"):
        assert word in res.output
    steps = re.findall(r"^(\d+)\. ", res.output, flags=re.M)
    assert steps == [str(n) for n in range(1, len(steps) + 1)] and len(steps) == 8


def test_demo_creates_the_files_it_reports(demo):
    out, res = demo
    reported = [Path(line.split("→ ", 1)[1]) for line in res.output.splitlines() if "→ " in line]
    assert len(reported) >= 12
    for path in reported:
        assert path.exists(), path
        assert out in path.parents


def test_demo_outputs_are_what_each_step_promises(demo):
    import openpyxl

    out, _ = demo
    school_dirs = sorted((out / SCHOOLS_DIR).iterdir())
    assert len(school_dirs) == SCHOOLS
    copies = list(school_dirs[0].glob("*.xlsx"))
    split = list((out / "3 Копии для раздачи").glob("*.xlsx"))
    assert len(split) == len(copies) - 1  # every copy but the registry
    annotated = [p for p in (out / CHECK_DIR).glob("*.xlsx")]
    assert len(annotated) == 1
    assert "Ошибки" in openpyxl.load_workbook(annotated[0], read_only=True).sheetnames
    dumps = list((out / CHECK_DIR).glob("*.json"))
    assert len(dumps) == 1 and json.loads(dumps[0].read_text(encoding="utf-8"))["meta"]["workbook_kind"] == "programme"
    report = (out / CHECK_DIR / "Отчёт проверки.txt").read_text(encoding="utf-8")
    assert "лист «" in report and "ячейка" in report
    summaries = sorted((out / "5 Сводки школ").glob("Сводка *.xlsx"))
    assert [p.stem for p in summaries] == [f"Сводка {d.name}" for d in school_dirs]
    assert (out / "6 Муниципалитет" / "Муниципальная сводка.xlsx").exists()


def test_demo_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "мои данные.xlsx").write_bytes(b"")
    res = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "не пуста" in res.output
    assert [p.name for p in tmp_path.iterdir()] == ["мои данные.xlsx"]


def test_rerun_clears_stale_files_of_an_earlier_demo(tmp_path):
    (tmp_path / MARKER).write_text("", encoding="utf-8")
    stale = tmp_path / SCHOOLS_DIR / "ОО-001" / "старая копия.xlsx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    prepare_out(tmp_path)
    assert not stale.exists()
    assert (tmp_path / MARKER).exists()


def test_demo_out_must_not_be_a_file(tmp_path):
    target = tmp_path / "файл"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(XlflowError):
        prepare_out(target)


def test_demo_folders_look_like_real_ones_and_collect_sees_it(demo):
    out, res = demo
    assert "не вернулась к куратору" in res.output and "прислана дважды" in res.output
    assert "копий не сдано: 1" in res.output
    assert "повторов 1" in res.output and "пропущено 1" in res.output
