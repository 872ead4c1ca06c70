"""A school's registry held in less memory while it is read and checked:
long tables' rows as shared-key dicts, each long sheet's cells and inflated
XML let go once read, rules that keep no pair per row and no spans for
people who cannot be overloaded. Each shortcut gives what the plain way gives."""
from __future__ import annotations

import copy
import datetime as dt
import marshal
import struct
import sys
import zipfile

import pytest

from test_validation_rules import PAIR_ROW, school_record
from xlflow.reading import programme, sheetstream
from xlflow.reading.grid import load_book
from xlflow.reading.rowshape import row_shape
from xlflow.reading.safety import check
from xlflow.validation import context, rules_load
from xlflow.validation.validate import validate_file, validate_records
from xlflow.writing.sample import write_samples

PAIR_KEYS = list(PAIR_ROW)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder, count=40, seed=20250901)
    return next(folder.glob("Книга школы*.xlsx"))


def _seen(problems):
    return [(p.code, p.sheet, p.cell, p.message) for p in problems]


def test_a_shaped_row_is_the_same_dict_in_less_memory():
    shape = row_shape(PAIR_KEYS)
    assert shape is not None
    for rec in (dict(PAIR_ROW), {k: v for k, v in PAIR_ROW.items() if k != "kind"}):
        out = shape(rec)
        assert type(out) is dict and out == rec and list(out) == list(rec)
        assert marshal.dumps(out, 2) == marshal.dumps(rec, 2)  # the fingerprint's bytes
        assert sys.getsizeof(out) < sys.getsizeof(rec)
    few = {k: PAIR_ROW[k] for k in PAIR_KEYS[:3]}
    assert shape(few) is few  # already smaller than a shared-key dict
    extra = {**PAIR_ROW, "other": 1}
    assert shape(extra) is extra
    turned = dict(reversed(list(PAIR_ROW.items())))
    out = shape(turned)
    assert out == turned and list(out) == list(turned)
    assert row_shape(["not an identifier"]) is None and row_shape([]) is None


def test_a_registry_reads_the_same_without_the_long_table_shortcuts(registry, monkeypatch):
    monkeypatch.setattr(programme, "long_sheet", lambda grid: len(grid.rows) > 30)  # the banks and pairs
    short = programme.read_programme(registry)
    monkeypatch.setattr(programme, "long_sheet", lambda grid: False)  # no shaped rows, no grid let go
    plain = programme.read_programme(registry)
    assert _seen(short.problems) == _seen(plain.problems)
    assert marshal.dumps(short.data, 2) == marshal.dumps(plain.data, 2)
    assert dict(short.cells.items()) == dict(plain.cells.items())
    assert sum(sys.getsizeof(r) for r in short.data["pairs"]) < sum(sys.getsizeof(r) for r in plain.data["pairs"])


def test_the_stream_lets_long_sheets_go_and_puts_them_back_for_python_calamine(registry, monkeypatch):
    monkeypatch.setattr(sheetstream, "STREAM_FROM", 1000)
    checked = check(str(registry))
    before = dict(checked.parts)
    names, grids = sheetstream.read_streamed(str(registry), None, checked)
    gone = set(before) - set(checked.parts)
    assert gone and all(len(before[m]) > 1000 for m in gone) and grids

    checked = check(str(registry))
    real = sheetstream._Book.rows
    calls = []

    def failing_late(book, name):  # the last sheet cannot be streamed, after the others were let go
        calls.append(name)
        if len(calls) == len(names):
            raise sheetstream.Unsupported("late")
        return real(book, name)

    monkeypatch.setattr(sheetstream._Book, "rows", failing_late)
    assert sheetstream.read_streamed(str(registry), None, checked) is None
    assert checked.parts == before  # inflated again, byte for byte
    calls.clear()
    fell_back = load_book(registry)
    monkeypatch.setattr(sheetstream, "wanted_for", lambda checked: False)
    plain = load_book(registry)
    assert len(calls) == len(names)
    for name, grid in plain.sheets.items():
        assert fell_back.sheets[name].rows == grid.rows, name


def _wrong_crcs(src, dst):
    """``src`` with every member's CRC-32 wrong (local headers and directory alike)."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        infos = zf.infolist()
    for info in infos:
        data[info.header_offset + 14:info.header_offset + 18] = struct.pack("<I", info.CRC ^ 1)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        crc = struct.unpack("<I", data[at + 16:at + 20])[0]
        data[at + 16:at + 20] = struct.pack("<I", crc ^ 1)
        at = data.find(b"PK\x01\x02", at + 46)
    dst.write_bytes(bytes(data))
    return dst


def test_parts_let_go_come_back_as_the_pre_check_inflated_them(registry, tmp_path, monkeypatch):
    bad = _wrong_crcs(registry, tmp_path / "crc.xlsx")  # the pre-check does not compare CRCs
    monkeypatch.setattr(sheetstream, "STREAM_FROM", 1000)
    checked = check(str(bad))
    before = dict(checked.parts)
    book = sheetstream._Book(checked)
    for name in book.names:
        list(book.rows(name))
    assert book.let_go and not set(book.let_go) & set(checked.parts)
    book.restore()
    assert checked.parts == before and not book.let_go


def _overloaded(data: dict) -> dict:
    data = copy.deepcopy(data)
    for n in range(5):  # Н-001 in five programmes at once, У-001 in three
        data["pairs"].append({**PAIR_ROW, "group_id": f"П-{10 + n}", "mentee_id": "У-001" if n < 2 else "У-002"})
    for group in ("П-30", "П-31"):  # У-003 (in Г-01 too) in three programmes on exactly three rows
        data["pairs"].append({**PAIR_ROW, "group_id": group, "mentor_id": "Н-002", "mentee_id": "У-003"})
    data["pairs"].append({**PAIR_ROW, "group_id": "П-20", "start_date": "2026-01-01"})  # not over the limit
    data["pairs"].append({**PAIR_ROW, "group_id": "П-21", "planned_end_date": "2024-01-01"})  # ends first
    data["pairs"].append("не строка")
    data["mentors"].append({**data["mentors"][0]})  # a repeated id
    return data


def _plain_rules(monkeypatch):
    real = rules_load._spans
    monkeypatch.setattr(rules_load, "_spans", lambda ctx, key, limit=0: real(ctx, key, 0))
    monkeypatch.setattr(context, "IndexedRows", lambda rows: list(enumerate(rows)))
    monkeypatch.setattr(context.RuleContext, "forget", lambda ctx, compute: None)


def test_a_forgotten_index_is_computed_again():
    ctx = context.RuleContext(data={"pairs": [{"group_id": "А"}]}, locator=None)
    calls = []

    def index(c):
        calls.append(c)
        return [len(calls)]

    assert ctx.shared(index) == [1] and ctx.shared(index) == [1]
    ctx.forget(index)
    ctx.forget(index)
    assert ctx.shared(index) == [2] and calls == [ctx, ctx]


@pytest.mark.parametrize("kind", ["school", "programme"])
def test_rules_give_the_same_problems_without_their_shortcuts(kind, monkeypatch):
    data = school_record() if kind == "school" else _as_programme(school_record())
    data = _overloaded(data)
    if kind == "programme":
        data["pairs"].pop()  # rows must all be dicts for the copy's whole pair list
    short = _seen(validate_records(data, file="к.xlsx", today=dt.date(2026, 5, 31)))
    assert {"mentor-overload", "mentee-overload", "duplicate-id"} <= {p[0] for p in short}
    assert any(p[0] == "mentee-overload" and "«У-003»" in p[3] for p in short)
    _plain_rules(monkeypatch)
    assert _seen(validate_records(data, file="к.xlsx", today=dt.date(2026, 5, 31))) == short


def _as_programme(data: dict) -> dict:
    data["meta"].update(workbook_kind="programme", programme_id="Г-01", mentee_id="У-002")
    return data


def test_a_registry_file_gives_the_same_problems_without_the_rule_shortcuts(registry, tmp_path, monkeypatch):
    import openpyxl

    wb = openpyxl.load_workbook(registry)
    pairs = wb["Пары и группы"]
    first = [c.value for c in pairs[5]]
    for n in range(4):  # the first pair's mentor and mentee in more programmes at once
        for col, value in enumerate(first, start=1):
            pairs.cell(60 + n, col, value)
        pairs.cell(60 + n, 1, f"П-9{n}")
    pairs["C9"] = "Н-9999"
    bad = tmp_path / "Книга школы с перегрузкой.xlsx"
    wb.save(bad)
    short = _seen(validate_file(bad, today=dt.date(2026, 5, 31)).problems)
    assert {"mentor-overload", "mentee-overload", "unknown-mentor"} <= {p[0] for p in short}
    _plain_rules(monkeypatch)
    assert _seen(validate_file(bad, today=dt.date(2026, 5, 31)).problems) == short


def test_indexed_rows_are_the_pairs_of_index_and_row():
    rows = [{"a": 1}, {"a": 2}, {"a": 3}]
    view = context.IndexedRows(rows)
    assert list(view) == list(enumerate(rows)) and len(view) == 3
    assert view[1] == (1, rows[1]) and view[-1] == (2, rows[2]) and view[1:] == list(enumerate(rows))[1:]
    assert dict(view)[2] is rows[2]
    ctx = context.RuleContext(data={"pairs": rows, "mentors": [{"id": 1}, "x", {"id": 2}]}, locator=None)
    assert isinstance(ctx.rows("pairs"), context.IndexedRows)
    assert list(ctx.rows("mentors")) == [(0, {"id": 1}), (2, {"id": 2})]
