"""Members repeated byte for byte across copies are inflated and scanned once
per process (safety._MEMO, :mod:`xlflow.reading.memo`), with the same
outcome as the first time."""
from __future__ import annotations

import shutil
import zlib

import pytest

import hostile
from xlflow.errors import ReadError
from xlflow.reading import safety
from xlflow.reading.memo import Inflated, InflatedMemo
from xlflow.reading.safety import Limits, check


@pytest.fixture()
def inflates(monkeypatch):
    """Counts the deflate streams the pre-check starts."""
    calls = []
    real = zlib.decompressobj

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(safety.zlib, "decompressobj", counting)
    monkeypatch.setattr(safety, "_MEMO", InflatedMemo(2 * safety.MiB))
    return calls


def _same(a: safety.Checked, b: safety.Checked) -> bool:
    return (a.kind, a.data, dict(a.parts), a.entries, a.complete) == \
        (b.kind, b.data, dict(b.parts), b.entries, b.complete)


def test_identical_copy_is_not_inflated_again(tmp_path, inflates):
    first = hostile.valid_xlsx(tmp_path / "a.xlsx", sheets=4, rows=40)
    second = shutil.copyfile(first, tmp_path / "b.xlsx")
    one = check(first)
    before = len(inflates)
    two = check(second)
    # no member is inflated again, not even [Content_Types].xml for the kind sniff
    assert len(inflates) == before
    assert before > len(one.entries) // 2
    assert _same(one, two)


def test_remembered_member_is_scanned_again_under_other_limits(tmp_path, inflates):
    path = hostile.valid_xlsx(tmp_path / "base.xlsx", rows=30)
    assert check(path, Limits(max_rows=30)).kind == "xlsx"
    before = len(inflates)
    with pytest.raises(ReadError) as info:
        check(path, Limits(max_rows=29))
    assert info.value.code == "sheet-too-large"
    # the workbook part and its relationships for the sheet's name: the kind
    # sniff and the refused sheet itself used remembered bytes
    assert len(inflates) - before == 2


def test_hostile_member_next_to_remembered_ones_is_refused(tmp_path, inflates):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    check(base)
    bad = hostile.replace_in_sheet(base, tmp_path / "far.xlsx", b"</sheetData>",
                                   b'<row r="5000000"><c r="A5000000"><v>1</v></c></row></sheetData>')
    with pytest.raises(ReadError) as info:
        check(bad)
    assert info.value.code == "sheet-too-large"
    with pytest.raises(ReadError):  # and again, now that its other members are remembered
        check(bad)


def test_memo_stays_within_its_budget():
    memo = InflatedMemo(1000)
    for i in range(50):
        memo.add(b"%d" % i, Inflated(b"x" * 100, 10))
    memo.add(b"49", Inflated(b"y" * 100, 10))  # the same bytes again: counted once
    assert memo.size <= 1000
    assert sum(len(v.data) for _, v in memo.found.values()) == memo.size
    assert memo.get(b"49") is not None and memo.get(b"0") is None  # oldest out first
    memo.add(b"big", Inflated(b"x" * 200, 10))  # more than an eighth: not kept
    assert memo.get(b"big") is None


def test_memo_hit_needs_the_same_bytes_not_just_the_same_end():
    memo = InflatedMemo(1000)
    first = b"a" * 100 + b"same end of the stream, 32 bytes"
    other = b"b" * 100 + b"same end of the stream, 32 bytes"
    memo.add(first, Inflated(b"first", 10))
    assert memo.get(first).data == b"first"
    assert memo.get(other) is None
    memo.add(other, Inflated(b"other", 10))  # takes the place of the first
    assert memo.get(other).data == b"other"
    assert memo.get(first) is None
    assert memo.size == len(b"other")
