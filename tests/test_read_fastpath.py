"""The reading fast path: one pass over the zip, the checked bytes parsed.

The safety pre-check keeps the inflated parts the reader scans again (sheets,
workbook, relationships) and the file's bytes; whatever it keeps or drops,
the reader's records, cells and problems stay the same.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from test_reader import Formula, put, sheet_name, skeleton, write_inline
from xlflow.errors import ReadError
from xlflow.reading import grid, repack, safety
from xlflow.reading.programme import read_programme

ENGINES = ("calamine", "openpyxl")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Path:
    """A workbook with values, a formula error and merged cells over inputs."""
    cells = skeleton()
    put(cells, "mentors", "A4", "Н-1")
    put(cells, "mentors", "B4", "Орлова Анна Петровна")
    put(cells, "mentors", "E4", Formula("=1/0", "#DIV/0!"))
    put(cells, "roadmap", "A5", "ИКТ-компетенции")
    put(cells, "roadmap", "E5", "#Н/Д")
    path = tmp_path_factory.mktemp("fastpath") / "faulty.xlsx"
    return write_inline(path, cells, {sheet_name("mentees"): ["B5:C6"], sheet_name("passport"): ["B9:B10"]})


def outcome(path: Path, engine: str) -> tuple:
    parsed = read_programme(path, engine=engine)
    return parsed.data, parsed.cells, [(p.code, p.sheet, p.cell, p.params) for p in parsed.problems]


def test_check_keeps_every_member_as_inflated(faulty):
    checked = safety.check(faulty)
    with zipfile.ZipFile(faulty) as zf:
        infos = zf.infolist()
        assert checked.parts == {i.filename: zf.read(i) for i in infos}
    assert checked.kind == "xlsx" and checked.complete
    assert checked.data == faulty.read_bytes()
    assert checked.entries == tuple((i.filename, i.CRC) for i in infos)
    assert checked.members == frozenset(i.filename for i in infos)
    assert safety.precheck(faulty) == "xlsx"


def test_stored_copy_holds_the_checked_members(faulty):
    checked = safety.check(faulty)
    stored = repack.stored_zip(checked)
    assert stored is not None
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:
        assert zf.testzip() is None  # every CRC matches
        assert [(i.filename, i.compress_type, i.CRC) for i in zf.infolist()] == \
            [(name, zipfile.ZIP_STORED, crc) for name, crc in checked.entries]
        assert {i.filename: zf.read(i) for i in zf.infolist()} == checked.parts


def test_no_stored_copy_unless_faithful(faulty, tmp_path):
    checked = safety.check(faulty)
    incomplete = safety.Checked("xlsx", checked.data, checked.parts, checked.entries, complete=False)
    twice = safety.Checked("xlsx", checked.data, checked.parts, checked.entries + checked.entries[:1], True)
    folder = safety.Checked("xlsx", checked.data, checked.parts, checked.entries + (("xl/x/", 0),), True)
    assert [repack.stored_zip(c) for c in (incomplete, twice, folder)] == [None, None, None]


def test_damaged_member_still_fails_in_the_parser(faulty, tmp_path):
    """A member whose bytes do not match its CRC fails as it does in the original."""
    import hostile
    import python_calamine

    part = "xl/worksheets/sheet3.xml"
    bad = hostile.rewrite_zip(faulty, tmp_path / "bad_crc.xlsx",
                              lambda name, data: data.replace(b"<v>", b"<v>1", 1) if name == part else data)
    with zipfile.ZipFile(faulty) as old, zipfile.ZipFile(bad) as new:
        old_crc, new_crc = old.getinfo(part).CRC, new.getinfo(part).CRC
    assert old_crc != new_crc
    bad.write_bytes(bad.read_bytes().replace(new_crc.to_bytes(4, "little"), old_crc.to_bytes(4, "little")))
    book = python_calamine.CalamineWorkbook.from_path(str(bad))
    with pytest.raises(python_calamine.CalamineError):
        [book.get_sheet_by_name(name).to_python() for name in book.sheet_names]
    with pytest.raises(ReadError) as info:
        read_programme(bad)
    assert info.value.code == "workbook-corrupt"


def test_problems_found_from_kept_parts(faulty):
    problems = outcome(faulty, "calamine")[2]
    assert sorted((code, sheet, cell) for code, sheet, cell, _ in problems if code != "column-missing") == sorted([
        ("formula-error", sheet_name("mentors"), "E4"), ("formula-error", sheet_name("roadmap"), "E5"),
        ("merged-cells", sheet_name("mentees"), "B5"), ("merged-cells", sheet_name("passport"), "B9")])


@pytest.mark.parametrize("limit", ["_KEEP_MEMBER", "_KEEP_TOTAL"])
@pytest.mark.parametrize("engine", ENGINES)
def test_parts_not_kept_are_read_from_the_zip(faulty, monkeypatch, limit, engine):
    expected = outcome(faulty, engine)
    monkeypatch.setattr(safety, limit, 1500)  # some sheets kept, the larger ones not
    checked = safety.check(faulty)
    assert any(n.startswith("xl/worksheets/") for n in checked.parts)
    assert any(n.startswith("xl/worksheets/") and n not in checked.parts for n in checked.members)
    assert outcome(faulty, engine) == expected


def test_one_sheet_not_kept_is_read_from_the_zip(faulty):
    checked = safety.check(faulty)
    names = [sheet_name(k) for k in ("passport", "mentors", "mentees", "roadmap")]
    expected = grid._xlsx_extras(str(faulty), names, checked)
    assert [bool(errors or merged) for errors, merged in expected.values()] == [True, True, True, False]
    paths = grid._xlsx_sheet_paths(checked.parts[grid._WORKBOOK_RELS], checked.parts[grid._WORKBOOK])
    dropped = {n: b for n, b in checked.parts.items() if n != paths[sheet_name("mentors")]}
    assert grid._xlsx_extras(str(faulty), names, safety.Checked("xlsx", checked.data, dropped,
                                                                checked.entries)) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_large_file_is_read_from_disk(faulty, monkeypatch, engine):
    expected = outcome(faulty, engine)
    monkeypatch.setattr(safety, "_IN_MEMORY", 100)
    checked = safety.check(faulty)
    assert checked.data is None and not checked.parts
    assert outcome(faulty, engine) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_parser_reads_the_bytes_that_were_checked(faulty, tmp_path, monkeypatch, engine):
    """A file replaced between the check and the parse: the checked bytes are read."""
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(faulty.read_bytes())
    expected = outcome(copy, engine)
    real_check = grid.check

    def check_then_replace(path, *args):
        checked = real_check(path, *args)
        Path(path).write_bytes(b"PK\x03\x04 not what was checked")
        return checked

    monkeypatch.setattr(grid, "check", check_then_replace)
    assert outcome(copy, engine) == expected


@pytest.mark.parametrize("tag", [
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="99999999">',
    b'<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount = \'+0099999999\'>',
])
def test_huge_declared_shared_strings_refused_in_any_sst_tag(tmp_path, tag):
    """Every sst tag counts, not only the first one; a harmless count passes."""
    import hostile

    def nested(count: bytes):
        def change(name: str, data: bytes) -> bytes:
            if name == "xl/sharedStrings.xml":
                cut = data.index(b"<si>")
                return data[:cut] + tag.replace(b"99999999", count) + data[cut:]
            return data
        return change

    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    assert safety.precheck(hostile.rewrite_zip(base, tmp_path / "ok.xlsx", nested(b"3"))) == "xlsx"
    with pytest.raises(safety.ReadError) as info:
        safety.precheck(hostile.rewrite_zip(base, tmp_path / "bad.xlsx", nested(b"99999999")))
    assert info.value.code == "not-a-workbook" and "99999999" in info.value.message
