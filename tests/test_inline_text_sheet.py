"""Texts written unchanged on the hidden sheet (:class:`InlineTextSheet`): the XML of xlsxwriter's own."""
from __future__ import annotations

import zipfile

from hypothesis import given, strategies as st
from xlsxwriter.utility import _preserve_whitespace
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from xlflow.writing.xlsx import InlineTextSheet, inline_unchanged, new_workbook

_ODD = ["просто текст", '{"a":[1,2],"b":"в"}', "a & b", "<c>", " ведущий", "хвост ", "\tтаб", "конец\n",
        "_x0041_", "_X00e9_", "_x00G1_", "упр\x01символ", "\x0b", "<r>rich</r>", "строка\nдве", "\ufffe", "\uffff",
        "\u00a0неразрывный", "", "x" * 40_000, "😀" * 17_000, "😀 Ё" * 5000]


def _xlsxwriter_keeps(text: str) -> bool:
    """What xlsxwriter does to an inline string (constant_memory): nothing."""
    escaped = XMLwriter._escape_data(XMLwriter(), XMLwriter._escape_control_characters(text))
    return escaped == text and not _preserve_whitespace(text) and not text.startswith("<r>")


@given(st.text(alphabet=st.sampled_from(["a", "Ё", " ", "\n", "\t", "\x01", "&", "<", ">", '"', "_", "x", "0",
                                         "F", "\ufffe", "\u00a0", "😀"]), max_size=12))
def test_unchanged_is_what_xlsxwriter_leaves_unchanged(text):
    assert inline_unchanged(text) == _xlsxwriter_keeps(text)


def test_odd_texts():
    assert [inline_unchanged(t) for t in _ODD] == [_xlsxwriter_keeps(t) for t in _ODD]


def _sheet(path, fast: bool, constant_memory: bool) -> bytes:
    wb = new_workbook(path, constant_memory=constant_memory)
    ws = wb.add_worksheet("_x", worksheet_class=InlineTextSheet if fast else Worksheet)
    for r, text in enumerate(_ODD):
        ws.write_string(r, 0, "payload")
        if fast:
            ws.write_inline(r, 1, text)
        else:
            ws.write_string(r, 1, text)
    ws.set_column(0, 0, 20)  # as the hidden sheet: columns set after the rows (the last row is written at close)
    ws.set_column(1, 1, 60)
    ws.hide()
    wb.close()
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")


def test_unchanged_texts_write_the_xml_of_xlsxwriters_own(tmp_path):
    for constant_memory in (True, False):
        fast = _sheet(tmp_path / "fast.xlsx", True, constant_memory)
        stock = _sheet(tmp_path / "stock.xlsx", False, constant_memory)
        assert fast == stock
