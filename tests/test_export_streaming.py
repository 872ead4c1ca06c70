"""Streamed payload chunks rebuild the text exactly, within Excel's UTF-16 cell limit."""
from __future__ import annotations

import csv
import io
import json

from hypothesis import given, strategies as st

from xlflow.consolidate import export


@given(text=st.text(alphabet=st.sampled_from(["a", "Я", "ё", "😀", "𝔄", " ", "\n"]), max_size=80),
       limit=st.integers(2, 9))
def test_chunks_rebuild_text_within_the_utf16_limit(text, limit):
    chunks = list(export.iter_chunks(text, limit))
    assert "".join(chunks) == text
    assert all(len(c.encode("utf-16-le")) // 2 <= limit for c in chunks)
    assert all(chunks) or chunks == [""]
    assert export.split_chunks(text, limit) == chunks


class _Rows(export.RowStream):
    def __init__(self, rows):
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=4), inner, max_size=3), max_leaves=8)
_rows = st.lists(st.dictionaries(st.text(max_size=4), _values, max_size=4), max_size=4)


@given(payload=st.dictionaries(st.text(max_size=4), _values, max_size=4), tables=st.dictionaries(
    st.text(max_size=4), _rows, max_size=3), indent=st.sampled_from([None, 1, 2]), sort_keys=st.booleans())
def test_streamed_json_is_the_text_json_gives(payload, tables, indent, sort_keys):
    expected = json.dumps({**payload, "tables": tables}, ensure_ascii=False, indent=indent, sort_keys=sort_keys,
                          separators=(",", ":") if indent is None else None)
    streamed = {**payload, "tables": {name: _Rows(rows) for name, rows in tables.items()}}
    assert "".join(export.iter_json(streamed, indent, sort_keys)) == expected


@given(pieces=st.lists(st.text(alphabet=st.sampled_from(["a", "Я", "😀", " "]), max_size=12), max_size=12),
       limit=st.integers(2, 9))
def test_chunks_of_a_stream_are_the_chunks_of_the_whole_text(pieces, limit):
    assert list(export.stream_chunks(pieces, limit)) == list(export.iter_chunks("".join(pieces), limit))


_cells = st.none() | st.booleans() | st.integers() | st.floats() | st.text(
    alphabet=st.sampled_from(["a", "Я", "=", "+", "-", "@", "\t", "\r", "\n", '"', ",", " "]), max_size=5)


@given(rows=st.lists(st.lists(_cells, min_size=3, max_size=3), max_size=5))
def test_csv_rows_are_csv_value_of_every_cell(rows):
    columns = ["a", "b", "c"]
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([export.csv_value(v) for v in row])
    assert export.csv_text(columns, [dict(zip(columns, row)) for row in rows]) == expected.getvalue()
