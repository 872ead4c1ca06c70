"""The reading fast path: one pass over the zip, the checked bytes parsed.

The safety pre-check keeps the inflated parts the reader scans again (sheets,
workbook, relationships) and the file's bytes; whatever it keeps or drops,
the reader's records, cells and problems stay the same.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------- merged ranges looked for once

_EARLY = re.compile(rb"<(\w+:)?mergeCells></\1?mergeCells>")


def _stored_parts(stored: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:
        assert zf.testzip() is None  # every CRC matches the bytes stored
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _calamine_sheets(data: bytes) -> dict[str, tuple[list, list]]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return {name: (sheet.to_python(skip_empty_area=False), list(sheet.merged_cell_ranges))
                for name in book.sheet_names for sheet in [book.get_sheet_by_name(name)]}
    finally:
        book.close()


def test_sheets_scanned_for_merges_tell_the_parser_there_are_none(faulty):
    """python-calamine's own search for merged ranges (a second parse of each
    sheet) ends at once; the cells read the same, and xlflow still finds the
    merged ranges itself."""
    checked = safety.check(faulty)
    early = grid._scanned_sheets(checked)
    paths = grid._xlsx_sheet_paths(checked.parts[grid._WORKBOOK_RELS], checked.parts[grid._WORKBOOK])
    assert early == frozenset(paths.values()) and len(early) == len(paths) > 5
    plain, changed = repack.stored_zip(checked), repack.stored_zip(checked, early)
    parts = _stored_parts(changed)
    with zipfile.ZipFile(io.BytesIO(changed)) as zf:
        declared = dict(checked.entries)
        assert [i.filename for i in zf.infolist()] == list(declared)
        assert all(i.CRC == declared[i.filename] for i in zf.infolist() if i.filename not in early)
    for name, data in checked.parts.items():
        if name not in early:
            assert parts[name] == data, name
            continue
        found = list(_EARLY.finditer(parts[name]))
        assert len(found) == 1, name
        at = found[0].start()
        assert parts[name][:at] + parts[name][found[0].end():] == data
        assert data[:at].rstrip().endswith(b">") and b"<worksheet " in data[:at]
    before, after = _calamine_sheets(plain), _calamine_sheets(changed)
    assert [cells for cells, _ in after.values()] == [cells for cells, _ in before.values()]
    merged_before = {name: merged for name, (_, merged) in before.items() if merged}
    assert set(merged_before) == {sheet_name("mentees"), sheet_name("passport")}
    assert not any(merged for _, merged in after.values())  # the parser's search stopped at the empty element
    book = grid.load_book(faulty)
    assert {name: [((r0, c0), (r1, c1)) for r0, c0, r1, c1 in g.merged]
            for name, g in book.sheets.items() if g.merged} == merged_before


def test_root_tag_found_with_a_prefix_and_a_quoted_angle_bracket():
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?>\r\n<x:worksheet a="1>2" '
             b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData/></x:worksheet>')
    pieces, crc = repack._early_merges(sheet, zlib.crc32(sheet))
    joined = b"".join(pieces)
    assert crc == zlib.crc32(joined)
    assert joined == sheet.replace(b"<x:sheetData/>", b"<x:mergeCells></x:mergeCells><x:sheetData/>")
    # a "<" inside a value is not well-formed: the tag is not taken, the part stays as it is
    odd = sheet.replace(b'a="1>2"', b'a="1<2"')
    assert repack._early_merges(odd, zlib.crc32(odd)) == ((odd,), zlib.crc32(odd))


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><chartsheet xmlns="urn:x"><sheetPr/></chartsheet>',
    b'<?xml version="1.0"?><!-- a comment first --><worksheet xmlns="urn:x"><sheetData/></worksheet>',
    b'<worksheet xmlns="urn:x"/>',
    "<?xml version=\"1.0\" encoding=\"UTF-16\"?><worksheet/>".encode("utf-16"),
])
def test_other_parts_stay_as_they_are(data):
    assert repack._early_merges(data, zlib.crc32(data)) == ((data,), zlib.crc32(data))


def test_damaged_sheet_stays_as_it_is():
    """Its bytes do not match the declared CRC-32: the parser's second parse
    still reads it to the end and fails on it."""
    sheet = b'<worksheet xmlns="urn:x"><sheetData><row r="1"/></sheetData></worksheet>'
    assert repack._early_merges(sheet, zlib.crc32(sheet) ^ 1) == ((sheet,), zlib.crc32(sheet) ^ 1)
    assert len(repack._early_merges(sheet, zlib.crc32(sheet))[0]) == 3


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from(["", "x:", "main:"]), value=st.text(alphabet="ab>/= '", max_size=12),
       body=st.binary(max_size=60))
def test_element_goes_right_after_the_root_tag(prefix, value, body):
    head = f'<?xml version="1.0"?>\n<{prefix}worksheet v="{value}" xmlns="urn:x">'.encode()
    sheet = head + body
    pieces, crc = repack._early_merges(sheet, zlib.crc32(sheet))
    assert b"".join(pieces) == head + b"<%smergeCells></%smergeCells>" % (prefix.encode(), prefix.encode()) + body
    assert crc == zlib.crc32(b"".join(pieces))
