"""The streaming reader of large xlsx sheets (:mod:`xlflow.reading.sheetstream`)
gives the very grids python-calamine's path gives, and hands back to
python-calamine whatever it does not read identically."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import pytest
import xlsxwriter

from hostile import rewrite_zip
from xlflow.reading import grid, sheetstream
from xlflow.reading.grid import load_book
from xlflow.reading.safety import check
from xlflow.writing.sample import write_samples


def _typed(rows):
    return [[(type(v).__name__, v) for v in row] for row in rows]


def _both(path, monkeypatch):
    """(streamed book, calamine book, whether the stream was used) of ``path``."""
    used = []
    real = sheetstream.read_streamed

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        used.append(out is not None)
        return out

    with monkeypatch.context() as m:
        m.setattr(sheetstream, "STREAM_FROM", 1)
        m.setattr(sheetstream, "read_streamed", spy)
        streamed = load_book(path)
    with monkeypatch.context() as m:
        m.setattr(sheetstream, "wanted_for", lambda checked: False)
        plain = load_book(path)
    return streamed, plain, used == [True]


def _same(a, b):
    assert a.sheet_names == b.sheet_names and list(a.sheets) == list(b.sheets)
    for name in a.sheets:
        x, y = a.sheets[name], b.sheets[name]
        assert _typed(x.rows) == _typed(y.rows), name
        assert (x.merged, x.capped) == (y.merged, y.capped), name


def _odd_book(path, constant_memory: bool = False, date_1904: bool = False):
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "date_1904": date_1904})
    ws = wb.add_worksheet("Странный лист")
    date = wb.add_format({"num_format": "dd.mm.yyyy"})
    builtin = wb.add_format({"num_format": 14})
    pct = wb.add_format({"num_format": "0%"})
    bold = wb.add_format({"bold": True})
    ws.write_string(0, 0, "Текст")
    ws.write_string(0, 1, "")  # an empty text
    ws.write_string(0, 2, "  с пробелами  ")
    ws.write_number(0, 3, 42)
    ws.write_number(0, 4, -1.25e-3)
    ws.write_number(0, 5, 1e21)
    ws.write_boolean(0, 6, True)
    ws.write_boolean(0, 7, False)
    ws.write_datetime(1, 0, dt.datetime(2025, 9, 3), date)
    ws.write_datetime(1, 1, dt.datetime(2026, 5, 31), builtin)
    ws.write_number(1, 2, 0.5, pct)
    ws.write_formula(1, 3, '="а"&"б"', None, "аб")  # a formula's text
    ws.write_formula(1, 4, "=1/0", None, "#DIV/0!")  # an error cell
    ws.write_formula(1, 5, "=A1", None, "")  # a formula's empty result
    ws.write_string(4, 27, "AB5")  # a row after a gap, columns past Z
    ws.write_string(6, 701, "ZZ7")
    ws.write_string(6, 703, "AAB7")
    ws.write_rich_string(7, 1, "жирный ", bold, "и", " обычный")
    ws.write_string(9, 0, "x" * 300)
    ws.merge_range("C12:E13", "объединены")
    ws.write_number(14, 3, 7)
    ws.write_blank(20, 2, None, date)  # a styled empty cell below the last value
    other = wb.add_worksheet("Второй")
    other.write_string(3, 3, "D4")
    wb.close()
    return path


@pytest.mark.parametrize("constant_memory", [False, True])  # shared strings, inline strings
def test_odd_sheets_read_as_python_calamine_reads_them(tmp_path, monkeypatch, constant_memory):
    path = _odd_book(tmp_path / "odd.xlsx", constant_memory)
    streamed, plain, used = _both(path, monkeypatch)
    assert used
    _same(streamed, plain)
    rows = streamed.sheets["Странный лист"].rows
    assert rows[1][:2] == [dt.date(2025, 9, 3), dt.date(2026, 5, 31)] and rows[1][4] == "#DIV/0!"
    assert rows[0][6:8] == [True, False] and rows[6][703] == "AAB7" and rows[7][1] == "жирный и обычный"


def _patched(src, dst, change):
    return rewrite_zip(src, dst, lambda name, data: change(name, data) if name.endswith(".xml") else data)


def _sheet1(fn):
    return lambda name, data: fn(data) if name == "xl/worksheets/sheet1.xml" else data


HANDED_BACK = {
    "time of day": lambda src, dst: _with_cell(src, dst, lambda ws, wb: ws.write_datetime(
        30, 0, dt.datetime(2025, 9, 3, 12, 30), wb.add_format({"num_format": "dd.mm.yyyy"}))),
    "time format": lambda src, dst: _with_cell(src, dst, lambda ws, wb: ws.write_number(
        30, 0, 0.25, wb.add_format({"num_format": "hh:mm"}))),
    "duration": lambda src, dst: _with_cell(src, dst, lambda ws, wb: ws.write_number(
        30, 0, 1.5, wb.add_format({"num_format": 46}))),
    "early date": lambda src, dst: _with_cell(src, dst, lambda ws, wb: ws.write_number(
        30, 0, 30, wb.add_format({"num_format": "dd.mm.yyyy"}))),
    "carriage return": lambda src, dst: _with_cell(src, dst, lambda ws, wb: ws.write_string(30, 0, "a\r\nb")),
    "cell without reference": lambda src, dst: _patched(src, dst, _sheet1(
        lambda d: d.replace(b'<c r="D1"', b"<c", 1))),
    "row without reference": lambda src, dst: _patched(src, dst, _sheet1(
        lambda d: re.sub(rb'<row r="2"', b"<row", d, count=1))),
    "iso date cell": lambda src, dst: _patched(src, dst, _sheet1(
        lambda d: d.replace(b'<c r="D1"><v>42</v>', b'<c r="D1" t="d"><v>2025-09-03</v>', 1))),
    "phonetic run": lambda src, dst: _patched(src, dst, lambda name, d: d.replace(
        b"</si>", b'<rPh sb="0" eb="1"><t>x</t></rPh></si>', 1) if name == "xl/sharedStrings.xml" else d),
    "malformed": lambda src, dst: _patched(src, dst, _sheet1(lambda d: d.replace(b"</sheetData>", b"</sheetDat>"))),
}


def _with_cell(src, dst, write):
    wb = xlsxwriter.Workbook(str(dst))
    ws = wb.add_worksheet("Лист1")
    ws.write_number(0, 3, 42)
    ws.write_string(1, 0, "текст")
    write(ws, wb)
    wb.close()
    return dst


@pytest.mark.parametrize("case", sorted(HANDED_BACK))
def test_what_the_stream_does_not_read_goes_to_python_calamine(tmp_path, monkeypatch, case):
    src = _with_cell(None, tmp_path / "base.xlsx", lambda ws, wb: None)
    path = HANDED_BACK[case](src, tmp_path / "odd.xlsx")
    assert sheetstream.read_streamed(str(path), None, check(str(path))) is None
    try:
        plain = load_book(path)
    except Exception as exc:  # noqa: BLE001 - then both paths fail alike
        with pytest.raises(type(exc)):
            _both(path, monkeypatch)
        return
    streamed, plain, used = _both(path, monkeypatch)
    assert not used
    _same(streamed, plain)


def test_a_1904_book_goes_to_python_calamine(tmp_path, monkeypatch):
    path = _odd_book(tmp_path / "odd.xlsx", date_1904=True)
    streamed, plain, used = _both(path, monkeypatch)
    assert not used
    _same(streamed, plain)


def test_the_stream_reads_large_books_only(tmp_path, monkeypatch):
    path = _odd_book(tmp_path / "odd.xlsx")
    checked = check(str(path))
    biggest = max(len(p) for p in checked.parts.values())
    assert sheetstream.wanted_for(checked, biggest - 1) and not sheetstream.wanted_for(checked, biggest)
    assert not sheetstream.wanted_for(checked)  # a small book: python-calamine
    monkeypatch.setattr(sheetstream, "STREAM_FROM", 1)
    monkeypatch.setattr(grid, "_read_calamine", lambda *a, **k: pytest.fail("python-calamine used"))
    assert load_book(path).sheets["Второй"].rows[3] == [None, None, None, "D4"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder, count=40, seed=20250901)
    return next(folder.glob("Книга школы*.xlsx"))


def test_a_registry_reads_as_with_python_calamine(registry, monkeypatch, tmp_path):
    streamed, plain, used = _both(registry, monkeypatch)
    assert used
    _same(streamed, plain)
    # pieces far smaller than a cell, and the sheets inflated again from the checked bytes
    monkeypatch.setattr(sheetstream, "_PIECE", 7)
    monkeypatch.setattr("xlflow.reading.safety._KEEP_MEMBER", 1)
    streamed, plain, used = _both(registry, monkeypatch)
    assert used
    _same(streamed, plain)


@pytest.mark.libreoffice
def test_a_registry_resaved_by_libreoffice_reads_as_with_python_calamine(registry, lo_convert, tmp_path,
                                                                          monkeypatch):
    (resaved,) = lo_convert([registry], "xlsx", tmp_path / "lo")
    with zipfile.ZipFile(resaved) as zf:
        assert b"<sheetData" in zf.read("xl/worksheets/sheet1.xml")
    streamed, plain, used = _both(resaved, monkeypatch)
    assert used
    _same(streamed, plain)


def _facts(path, side_dir, monkeypatch, stream: bool):
    from xlflow.consolidate.facts import read_facts

    used = []
    real = sheetstream.read_streamed
    with monkeypatch.context() as m:
        m.setattr(sheetstream, "read_streamed", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
        if stream:
            m.setattr(sheetstream, "STREAM_FROM", 1)
        else:
            m.setattr(sheetstream, "wanted_for", lambda checked: False)
        facts = read_facts(str(path), "Книга.xlsx", dt.date(2026, 5, 31), side_dir=str(side_dir))
    assert [u is not None for u in used] == ([True] if stream else [])
    return facts


def _side_rows(path):
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return [list(db.execute(f"SELECT * FROM {t} ORDER BY rowid")) for t in ("bank", "reg_pairs")]
    finally:
        db.close()


def test_a_registry_with_mistakes_gives_the_same_facts_either_way(registry, tmp_path, monkeypatch):
    import openpyxl

    wb = openpyxl.load_workbook(registry)  # re-saved by another writer, with mistakes on several sheets
    mentors, pairs = wb["Банк наставников"], wb["Пары и группы"]
    mentors["A6"] = mentors["A5"].value  # a repeated id
    mentors["E7"] = "много"  # not a number
    pairs["I8"] = "32.13.2025"  # not a date
    pairs["C9"] = "Н-9999"  # nobody in the bank
    pairs["Z12"] = "лишнее"  # data without a header
    pairs.merge_cells("E20:F21")  # merged over inputs
    bad = tmp_path / "Книга школы с ошибками.xlsx"
    wb.save(bad)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    streamed = _facts(bad, tmp_path / "a", monkeypatch, stream=True)
    plain = _facts(bad, tmp_path / "b", monkeypatch, stream=False)

    def seen(facts):
        return [(p.code, p.sheet, p.cell, p.message) for p in facts.problems]

    assert {"merged-cells", "data-without-header"} <= {p[0] for p in seen(plain)} and len(seen(plain)) >= 5
    assert seen(streamed) == seen(plain)
    assert (streamed.record, streamed.fingerprint, streamed.meta) == (plain.record, plain.fingerprint, plain.meta)
    assert _side_rows(streamed.side) == _side_rows(plain.side)


def test_a_part_let_go_comes_back_whole_when_its_declared_size_is_too_small():
    """As the pre-check inflates it: the deflate stream to its end, whatever
    the directory says its compressed size is."""
    import io
    import zipfile

    from xlflow.reading.sheetstream import _inflated

    text = ("<row>" + "x" * 50 + "</row>") * 4000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", text)
    data = buf.getvalue()
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    assert _inflated(data, info) == text.encode()
    info.compress_size //= 2  # a directory that lies
    assert _inflated(data, info) == text.encode()
