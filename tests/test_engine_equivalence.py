"""The fast path (python-calamine) and openpyxl read the same files to the same records.

Checked on a small set of ``write_samples`` copies (some with deliberate errors)
and on the same copies re-saved by LibreOffice Calc (one conversion call).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from xlflow.reading.programme import read_programme
from xlflow.writing.sample import write_samples

COUNT = 10
SEED = 606


@pytest.fixture(scope="module")
def sample_copies(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("samples")
    write_samples(out, COUNT, seed=SEED, error_rate=0.4, jobs=1)
    files = sorted(p for p in out.glob("*.xlsx") if not p.name.startswith("."))
    assert len(files) >= COUNT
    return files


@pytest.fixture(scope="module")
def resaved_copies(sample_copies, lo_convert, tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("resaved")
    return lo_convert(sample_copies, "xlsx", out)


def problem_keys(parsed) -> list[tuple]:
    return sorted((p.code, p.sheet or "", p.cell or "", repr(sorted(p.params.items())))
                  for p in parsed.problems)


def assert_same(path: Path) -> None:
    fast = read_programme(path, engine="calamine")
    slow = read_programme(path, engine="openpyxl")
    assert fast.data == slow.data, f"records differ for {path.name}"
    assert fast.cells == slow.cells, f"cell maps differ for {path.name}"
    assert problem_keys(fast) == problem_keys(slow), f"reading problems differ for {path.name}"


def test_fast_path_is_the_default(sample_copies):
    path = sample_copies[0]
    assert read_programme(path).data == read_programme(path, engine="calamine").data


def test_samples_read_identically(sample_copies):
    for path in sample_copies:
        assert_same(path)


def test_samples_are_not_trivial(sample_copies):
    """The set exercises real content: filled tables, dates, and mistakes that
    validation reports (so values the reader could not normalise are compared too)."""
    from xlflow.validation.validate import validate_file

    parsed = [read_programme(p) for p in sample_copies]
    assert all(d.data["pairs"] for d in parsed)
    assert any(d.data["roadmap"] for d in parsed)
    assert any(d.data["diagnostics"] for d in parsed)
    assert sum(not validate_file(p).ok for p in sample_copies) >= 2


@pytest.mark.libreoffice
def test_libreoffice_resaved_read_identically(resaved_copies):
    for path in resaved_copies:
        assert_same(path)


@pytest.mark.libreoffice
def test_resaving_keeps_the_records(sample_copies, resaved_copies):
    """LibreOffice's re-save changes the file, not what the reader gets from it."""
    for original, resaved in zip(sample_copies, resaved_copies):
        assert read_programme(resaved).data == read_programme(original).data, resaved.name
