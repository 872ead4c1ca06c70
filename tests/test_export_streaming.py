"""Streamed payload chunks rebuild the text exactly, within Excel's UTF-16 cell limit."""
from __future__ import annotations

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
