"""Byte-level shared-string lookup used to recognise xlflow's own outputs."""
from __future__ import annotations

import io
import zipfile

from xlflow.scan import _SharedStrings

TABLE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" uniqueCount="5">'
    '<x:si><x:t>template_id</x:t></x:si>'
    '<x:si/>'
    '<x:si><x:r><x:rPr><x:b/></x:rPr><x:t>xlflow-</x:t></x:r><x:r><x:t xml:space="preserve">school&amp;summary</x:t></x:r>'
    '<x:rPh sb="0" eb="1"><x:t>ФУРИГАНА</x:t></x:rPh></x:si>'
    '<x:si><x:t>Код &lt;школы&gt; &#1071;</x:t></x:si>'
    '<x:si><x:t>последняя</x:t></x:si>'
    '</x:sst>'
)


def _zip(parts: dict[str, str]) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text.encode("utf-8"))
    return zipfile.ZipFile(buf)


def test_lookup_by_index_handles_prefixes_runs_escapes_and_empty_items():
    strings = _SharedStrings(_zip({"xl/sharedStrings.xml": TABLE}))
    assert strings.get(0) == "template_id"
    assert strings.get(1) == ""
    assert strings.get(2) == "xlflow-school&summary"
    assert strings.get(3) == "Код <школы> Я"
    assert strings.get(4) == "последняя"
    assert strings.get(5) is None


def test_no_table_and_entities_are_never_expanded():
    assert _SharedStrings(_zip({"xl/workbook.xml": "<workbook/>"})).get(0) is None
    hostile = ('<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
               '<sst><si><t>&b;</t></si></sst>')
    assert _SharedStrings(_zip({"xl/sharedStrings.xml": hostile})).get(0) == "&b;"
