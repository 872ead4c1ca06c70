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


class _Counted(_Rows):
    """Rows that count how often they are read."""

    reads = 0

    def __iter__(self):
        self.reads += 1
        return iter(self.rows)


_table_rows = st.lists(st.fixed_dictionaries({"a": _values, "b": _cells, "c": _cells}), max_size=4)


@given(payload=st.dictionaries(st.text(max_size=4), _values, max_size=3),
       tables=st.dictionaries(st.text(max_size=4), _table_rows, min_size=1, max_size=3),
       json_first=st.booleans())
def test_one_read_gives_every_text_reading_each_table_once(payload, tables, json_first):
    """The hidden sheet's text, the JSON and the CSV of a payload whose tables are
    :class:`export.OneRead` are the texts of the plain payload; each table is read once."""
    plain = {**payload, "tables": tables}
    counted = {name: _Counted(rows) for name, rows in tables.items()}
    wrapped = {**payload, "tables": {name: export.OneRead(rows, ["a", "b", "c"]) for name, rows in counted.items()}}
    forms = [export.JSON_FORM, export.TEXT_FORM] if json_first else [export.TEXT_FORM, export.JSON_FORM]
    for indent, sort_keys in forms:
        expected = json.dumps(plain, ensure_ascii=False, indent=indent, sort_keys=sort_keys,
                              separators=(",", ":") if indent is None else None)
        assert "".join(export.iter_json(wrapped, indent, sort_keys)) == expected
    for name, rows in tables.items():
        assert export.csv_text(["a", "b", "c"], wrapped["tables"][name]) == export.csv_text(["a", "b", "c"], rows)
    assert {rows.reads for rows in counted.values()} == {1}
    # another encoding, or other columns, read the rows again (the text is the same)
    assert "".join(export.iter_json(wrapped, indent=2)) == json.dumps(plain, ensure_ascii=False, indent=2)
    name, rows = next(iter(tables.items()))
    assert export.csv_text(["c", "a"], wrapped["tables"][name]) == export.csv_text(["c", "a"], rows)
    for table in wrapped["tables"].values():
        table.close()


def test_one_read_abandoned_reads_again():
    """A first read that stops half way (an error writing the text) leaves nothing spooled:
    the next one reads the rows again, and spools them for the third."""
    rows = _Counted([{"a": 1}, {"a": "я"}] * 300)
    table = export.OneRead(rows, ["a"])
    pieces = table.json_pieces(*export.TEXT_FORM, level=0)
    assert pieces is not None
    next(pieces)
    pieces.close()
    assert "".join(export.iter_json(table, *export.JSON_FORM)) == json.dumps(rows.rows, ensure_ascii=False, indent=1)
    assert "".join(export.iter_json(table, *export.TEXT_FORM)) == json.dumps(
        rows.rows, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert rows.reads == 2
    table.close()


def test_flat_values_the_encoder_made_once_writes_as_json_does():
    """The C encoder called directly (no check for circular references) on the odd scalars."""
    odd = [float("nan"), float("inf"), -float("inf"), -0.0, 1e300, 10 ** 30, True, None, 'a"\\\u2028\x00я😀']
    for value in [*odd, dict(zip("abcdefghi", odd))]:
        for indent in (None, 1):
            for sort_keys in (False, True):
                expected = json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys,
                                      separators=(",", ":") if indent is None else None)
                assert "".join(export.iter_json(value, indent, sort_keys)) == expected
