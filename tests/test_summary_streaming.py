"""The school summary written row by row (constant memory) equals the
in-memory workbook cell for cell: no sheet writes a row out of order."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
from hypothesis import given, strategies as st
from xlsxwriter.worksheet import Worksheet

from xlflow.consolidate import school_writer
from xlflow.consolidate.collect import collect
from xlflow.consolidate.school_writer import write_school_summary
from xlflow.writing.sample import write_samples
from xlflow.writing.xlsx import new_workbook


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}


def test_streamed_summary_equals_in_memory_summary(tmp_path):
    write_samples(tmp_path / "in", 8, seed=4, error_rate=0.3, jobs=1)
    outcome = collect(tmp_path / "in", tmp_path / "S.xlsx", as_of=dt.date(2026, 5, 25), jobs=1)
    streamed = write_school_summary(tmp_path / "streamed.xlsx", outcome.payload, constant_memory=True)
    in_memory = write_school_summary(tmp_path / "memory.xlsx", outcome.payload, constant_memory=False)
    a, b = _cells(streamed), _cells(in_memory)
    assert list(a) == list(b)
    for sheet in b:
        assert a[sheet] == b[sheet], sheet
    assert sum(len(rows) for rows in b.values()) > 50


def _sheet_xml(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")}


def test_fast_summary_sheet_writes_the_xml_of_xlsxwriters_own(tmp_path, monkeypatch):
    write_samples(tmp_path / "in", 6, seed=7, error_rate=0.5, jobs=1)
    outcome = collect(tmp_path / "in", tmp_path / "S.xlsx", as_of=dt.date(2026, 5, 25), jobs=1)
    fast = _sheet_xml(write_school_summary(tmp_path / "fast.xlsx", outcome.payload))
    monkeypatch.setattr(school_writer, "SummarySheet", Worksheet)
    stock = _sheet_xml(write_school_summary(tmp_path / "stock.xlsx", outcome.payload))
    outcome.close()
    assert fast == stock and len(fast) >= 8


def _cells_of_every_kind(path, cls):
    texts = ["просто текст", "a & b <c>", " ведущий пробел", "хвост ", "_x0041_ и _X00e9_", "упр\x01символ",
             "<r>rich</r>", "строка\nдве", 'кавычки "да"', "\ufffe", ""]
    wb = new_workbook(path, constant_memory=True)
    ws = wb.add_worksheet("Лист", worksheet_class=cls)
    fmt = wb.add_format({"bold": True})
    for r, text in enumerate(texts):
        ws.write_string(r, 0, text, fmt)
        ws.write_string(r, 1, text)
        ws.write_number(r, 2, r / 3, fmt)
        ws.write_datetime(r, 3, dt.datetime(2026, 1, r + 1), fmt)
        ws.write_blank(r, 4, None, fmt)
    wb.close()
    return _sheet_xml(path)


def test_every_kind_of_cell_text_through_the_fast_sheet(tmp_path):
    fast = _cells_of_every_kind(tmp_path / "fast.xlsx", school_writer.SummarySheet)
    stock = _cells_of_every_kind(tmp_path / "stock.xlsx", Worksheet)
    assert fast == stock
    assert b'xml:space="preserve"' in stock["xl/worksheets/sheet1.xml"]


_ODD_VALUES = ["a & b <c>", " ведущий", "хвост ", "_x0041_", "_X00e9_", "упр\x01символ", "<r>rich</r>",
               "строка\nдве", "\ue000", "a \ue000", "\ue000 b", "2026-13-45", "2026-02-03", "2026-02-03T10:30:00",
               True, False, 0, -7, 2 ** 60, 1 / 3, 1e-300, float("nan"), float("inf"), "", None, "x" * 20000, "😀 Ё"]


def _odd_payload(payload):
    """The payload's tables with every odd value once in every column (one odd cell per row)."""
    tables = {}
    for name, rows in payload["tables"].items():
        rows = [dict(r) for r in rows] or [{}]
        keys = [c["key"] for c in school_writer.summary_layout()["tables"][name]["columns"]]
        tables[name] = [{**rows[i % len(rows)], keys[i % len(keys)]: _ODD_VALUES[i // len(keys)]}
                        for i in range(len(keys) * len(_ODD_VALUES))]
    return {**payload, "tables": tables}


def test_whole_rows_of_odd_values_write_the_xml_of_xlsxwriters_own(tmp_path, monkeypatch):
    write_samples(tmp_path / "in", 4, seed=11, error_rate=0.5, jobs=1)
    outcome = collect(tmp_path / "in", tmp_path / "S.xlsx", as_of=dt.date(2026, 5, 25), jobs=1)
    payload = _odd_payload(outcome.payload)
    outcome.close()
    fast = _sheet_xml(write_school_summary(tmp_path / "fast.xlsx", payload))
    monkeypatch.setattr(school_writer, "SummarySheet", Worksheet)
    stock = _sheet_xml(write_school_summary(tmp_path / "stock.xlsx", payload))
    assert fast == stock
    whole = b"".join(fast.values())
    for piece in (b"&amp;", b'xml:space="preserve"', b"_x0001_", b"#NUM!", b"<v>0.3333333333333333</v>", "😀".encode()):
        assert piece in whole, piece


_JOINED_BEFORE = re.compile(r"[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|\s\ue000|\ue000\s")  # one search, slower


@given(st.lists(st.text(alphabet=st.sampled_from(["a", "я", " ", "\t", "\n", "\u00a0", "&", "<", ">", "\x01", "\x1f",
                                                   "\ufffe", "\uffff", "\ue000", "_", "x"]), max_size=5),
                min_size=1, max_size=4))
def test_plain_texts_is_the_one_search_it_replaced(texts):
    joined = school_writer._SEP + school_writer._SEP.join(texts) + school_writer._SEP
    assert school_writer._plain_texts(texts, 10_000) == ("_x" not in joined and not _JOINED_BEFORE.search(joined))
