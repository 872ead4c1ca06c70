"""Machine-readable copy of the school summary: JSON, CSV, embedded payload."""
from __future__ import annotations

import json

import pytest

from xlflow.consolidate import export
from xlflow.errors import ReadError
from xlflow.writing.xlsx import new_workbook


def _payload(text: str = "Иванова Мария 😀") -> dict:
    return {"template_id": export.SCHOOL_TEMPLATE_ID, "schema_version": 1, "note": text,
            "tables": {"files": [{"file": "=HYPERLINK(1)", "errors": 0}]}}


def test_split_chunks_respects_utf16_limit():
    text = "я" * 10 + "😀" * 5 + "a" * 7
    chunks = export.split_chunks(text, limit=4)
    assert "".join(chunks) == text
    assert all(len(c.encode("utf-16-le")) // 2 <= 4 for c in chunks)
    assert export.split_chunks("abcdef", 4) == ["abcd", "ef"]


def test_payload_round_trip_through_hidden_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_UTF16", 50)
    payload = _payload("Петров " * 40)
    path = tmp_path / "s.xlsx"
    wb = new_workbook(path)
    wb.add_worksheet("Сводка").write_string(0, 0, "x")
    export.write_payload_sheet(wb, {"template_id": export.SCHOOL_TEMPLATE_ID}, payload)
    wb.close()
    assert export.read_school_summary(path) == payload
    import openpyxl
    ws = openpyxl.load_workbook(path)["_xlflow"]
    assert ws.sheet_state == "hidden"
    assert sum(1 for r in ws.iter_rows(values_only=True) if r[0] == "payload") > 1


def test_damaged_payload_is_refused():
    text = export.payload_text(_payload())
    rows = [["payload_sha256", export.sha256_text(text)], ["payload_chunks", "1"], ["payload", text[:-1] + " "]]
    with pytest.raises(ReadError) as err:
        export.payload_from_meta_rows(rows, "x.xlsx")
    assert err.value.code == export.SUMMARY_DAMAGED


def test_json_and_csv_copies(tmp_path):
    payload = _payload()
    paths = export.write_machine_copy(tmp_path / "SUMMARY.xlsx", payload)
    assert [p.name for p in paths] == ["SUMMARY.json", "SUMMARY.files.csv"]
    assert json.loads(paths[0].read_text(encoding="utf-8")) == payload
    raw = paths[1].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("file,status,kind")
    assert lines[1].startswith("'=HYPERLINK(1),,,,,0,")
    assert export.read_school_summary(paths[0]) == payload
    assert not list(tmp_path.glob(".~xlflow-*"))


def test_wrong_kind_is_refused(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"template_id": "other", "schema_version": 1}), encoding="utf-8")
    with pytest.raises(ReadError) as err:
        export.read_school_summary(p)
    assert err.value.code == export.SUMMARY_WRONG_KIND
    p.write_text("{broken", encoding="utf-8")
    with pytest.raises(ReadError):
        export.read_school_summary(p)
