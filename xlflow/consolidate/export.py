"""Machine-readable copies of consolidated summaries (school now, municipality too).

``xlflow collect --out SUMMARY.xlsx`` writes, beside the workbook:

* ``SUMMARY.json``: the *payload*, one JSON object in the shape of
  ``schemas/school_summary.schema.json`` (``schema_version`` 1,
  ``template_id`` ``xlflow-school-summary``): ``school`` identity, ``as_of``,
  ``created``, ``directions``, ``limits``, ``figures`` (the numbers of the
  «Сводка» sheet) and ``tables`` (every table of the workbook as a list of row
  objects; every row carries every column of
  ``workbook_templates/school_summary.json``, ``null`` when unknown).
* ``SUMMARY.<table>.csv``: one CSV per table (UTF-8 with BOM so Excel shows
  Cyrillic, comma separated, header row = column keys, booleans ``true`` /
  ``false``, empty = unknown). Text beginning with ``= + - @`` gets a leading
  apostrophe so a spreadsheet never runs it as a formula; the JSON copy keeps
  the exact text.

The summary workbook itself is enough to read the payload back: its hidden
``_xlflow`` sheet holds key/value rows (``template_id``, ``schema_version``,
``payload_sha256``, ``payload_chunks`` ...) followed by the compact JSON
payload split into cells of at most 32,000 UTF-16 units (Excel's cell limit is
32,767). :func:`read_school_summary` accepts the ``.json`` or the ``.xlsx``
and checks the sha256 of the joined chunks.

Everything here is generic over the template id, so ``xlflow merge`` can reuse
:func:`write_payload_sheet`, :func:`write_machine_copy` and
:func:`read_summary_payload` for its municipal summary.
"""
from __future__ import annotations

import abc

import csv
import hashlib
import io
import json
import os
import pickle
import re
import struct
import tempfile
import zipfile
from xml.etree import ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Iterable, Mapping, Sequence

from xlflow.errors import ReadError
from xlflow.fileio import atomic_output
from xlflow.problems import ERROR, register
from xlflow.writing.xlsx import InlineTextSheet

SCHOOL_TEMPLATE_ID = "xlflow-school-summary"
SCHEMA_VERSION = 1
META_SHEET = "_xlflow"
CHUNK_UTF16 = 32000
PAYLOAD_KEY = "payload"

SUMMARY_UNREADABLE = register(
    "summary-unreadable", ERROR,
    "Не удалось прочитать сводку: {reason}. Создайте её заново командой «xlflow collect».",
    "summary file (json/xlsx) cannot be read")
SUMMARY_DAMAGED = register(
    "summary-damaged", ERROR,
    "Данные сводки повреждены или изменены вручную (не совпадает контрольная сумма на скрытом листе "
    "«_xlflow»). Создайте сводку заново командой «xlflow collect» или возьмите файл .json рядом с ней.",
    "embedded payload checksum mismatch")
SUMMARY_WRONG_KIND = register(
    "summary-wrong-kind", ERROR,
    "Файл не является сводкой xlflow нужного вида (ожидалась «{expected}», найдено «{found}»). "
    "Укажите сводку, созданную командой «xlflow collect».",
    "summary of another kind or version")


@lru_cache(maxsize=None)
def summary_layout(name: str = "school_summary.json") -> dict:
    """The declarative layout of a summary workbook (sheets, tables, columns)."""
    from xlflow.workbook_templates import load_json

    return load_json(name)


def table_columns(table: str, layout: Mapping[str, Any] | None = None) -> list[dict]:
    """Column specs (key, header, type, width) of ``table`` in the layout."""
    lay = layout if layout is not None else summary_layout()
    return list(lay["tables"][table]["columns"])


# ---------------------------------------------------------------- payload text

class RowStream(abc.ABC):
    """A long table of a payload kept outside the heap (e.g. collect's spill):
    iterable any number of times, one row dict at a time, with a length.
    The writers here stream it wherever a list of rows is accepted."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[dict]:
        """The rows, in order, one dict at a time."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of rows."""

    def __bool__(self) -> bool:
        return len(self) > 0

    def json_pieces(self, indent: int | None, sort_keys: bool, level: int) -> Iterator[str] | None:
        """This table's text in :func:`iter_json` at ``level``, when it has
        its own way to give it (:class:`OneRead`); None: encode the rows."""
        return None

    def csv_pieces(self, columns: Sequence[str]) -> Iterator[str] | None:
        """This table's CSV rows after the header, when it has its own way to
        give them (:class:`OneRead`); None: write the rows."""
        return None


# the two encodings of a payload: the compact text of the hidden sheet (hashed) and the JSON copy
TEXT_FORM = (None, True)  # (indent, sort_keys)
JSON_FORM = (1, False)


class OneRead(RowStream):
    """A long table of a payload whose machine copy (the hidden sheet's text,
    the JSON, the CSV) reads it once instead of once per text: rows are read
    (from collect's spill: sqlite and unmarshalling) when :func:`iter_json`
    first asks for the table in one of ``forms`` ((indent, sort_keys)), and
    each row is then also encoded in the other forms and as a CSV row of
    ``columns``, each into a temporary file that the later texts copy. A
    table asked for otherwise, or before that first read ended, is read again
    as usual (the text is the same either way). Close it when done."""

    def __init__(self, rows: RowStream, columns: Sequence[str],
                 forms: Sequence[tuple[int | None, bool]] = (TEXT_FORM, JSON_FORM)) -> None:
        self.rows, self.columns, self.forms = rows, list(columns), tuple(forms)
        self.level: int | None = None  # the tables' level in the payload, known at the first read
        self.spools: dict[Any, Any] = {}  # form or "csv" -> temporary text file, once the read is done

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def json_pieces(self, indent: int | None, sort_keys: bool, level: int) -> Iterator[str] | None:
        form = (indent, sort_keys)
        if form not in self.forms or self.level not in (None, level):
            return None
        if form in self.spools:
            return _replay(self.spools[form])
        if self.spools:  # read once already
            return None
        return self._read(form, level)

    def csv_pieces(self, columns: Sequence[str]) -> Iterator[str] | None:
        spool = self.spools.get("csv")
        return _replay(spool) if spool is not None and list(columns) == self.columns else None

    def _read(self, form: tuple[int | None, bool], level: int) -> Iterator[str]:
        """The rows' text in ``form``, the other forms and the CSV spooled on the way."""
        others = {f: _ArrayText(*f, level) for f in self.forms if f != form}
        mine = _ArrayText(*form, level)
        spools = {f: tempfile.TemporaryFile("w+", encoding="utf-8", newline="") for f in [*others, "csv"]}
        try:
            writer = csv.writer(spools["csv"], lineterminator="\r\n")
            batch = []
            for row in self.rows:
                batch.append(mine.item(row))
                for f, text in others.items():
                    spools[f].write(text.item(row))
                writer.writerow(_csv_row(map(row.get, self.columns)))
                if len(batch) >= _BATCH:
                    yield "".join(batch)
                    batch = []
            batch.append(mine.end())
            yield "".join(batch)
            for f, text in others.items():
                spools[f].write(text.end())
        except BaseException:
            for spool in spools.values():
                spool.close()
            raise
        if self.spools:  # another read of the table ended first: keep its files
            for spool in spools.values():
                spool.close()
            return
        self.level, self.spools = level, spools

    def close(self) -> None:
        for spool in self.spools.values():
            spool.close()
        self.spools = {}


def _replay(spool: Any) -> Iterator[str]:
    spool.seek(0)
    while piece := spool.read(1 << 16):
        yield piece


class _ArrayText:
    """The text :func:`iter_json` gives of an array of rows at ``level``, one row at a time."""

    def __init__(self, indent: int | None, sort_keys: bool, level: int) -> None:
        self.indent, self.sort_keys, self.level = indent, sort_keys, level
        self.inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
        self.n = 0

    def item(self, row: Any) -> str:
        """The row's text, with what comes before it (the opening bracket or a comma)."""
        head = ("," if self.n else "[") + self.inner
        self.n += 1
        flat = _flat_json(row, self.indent, self.sort_keys, self.level + 1)
        return head + (flat if flat is not None else "".join(iter_json(row, self.indent, self.sort_keys,
                                                                      self.level + 1)))

    def end(self) -> str:
        if not self.n:
            return "[]"
        return ("" if self.indent is None else "\n" + " " * (self.indent * self.level)) + "]"


def one_read(payload: Mapping[str, Any], forms: Sequence[tuple[int | None, bool]] = (TEXT_FORM, JSON_FORM),
             layout: Mapping[str, Any] | None = None) -> dict:
    """``payload`` with each long table (:class:`RowStream`) as a :class:`OneRead` in
    ``forms``, CSV of its columns in ``layout``, for its machine copy
    (:func:`close_one_reads` when done)."""
    tables = {name: OneRead(rows, [c["key"] for c in table_columns(name, layout)], forms)
              if isinstance(rows, RowStream) else rows for name, rows in payload["tables"].items()}
    return {**payload, "tables": tables}


def close_one_reads(payload: Mapping[str, Any]) -> None:
    for rows in payload["tables"].values():
        if isinstance(rows, OneRead):
            rows.close()


_SCALARS = frozenset((str, int, float, bool, type(None)))
_BATCH = 256  # flat items joined into one piece


@lru_cache(maxsize=None)
def _encoder(item_separator: str, key_separator: str, sort_keys: bool) -> Callable[[Any], str]:
    """``encode`` of a JSON encoder made once (``json.dumps`` builds one per call),
    for the flat values of :func:`_flat_json`. Where json has its C encoder, that
    is made once too and called directly, as ``JSONEncoder.encode`` calls it (it
    makes it anew for every value: about a third of the time of a row), without
    the check for circular references (``markers`` None): a flat value has none."""
    enc = json.JSONEncoder(ensure_ascii=False, separators=(item_separator, key_separator), sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return enc.encode
    flat = make(None, enc.default, json.encoder.encode_basestring, None, key_separator, item_separator, sort_keys,
                enc.skipkeys, enc.allow_nan)
    return lambda value: "".join(flat(value, 0))


@lru_cache(maxsize=None)
def _indented(indent: int, sort_keys: bool, level: int) -> tuple[Callable[[Any], str], str, str]:
    """(encode, head, tail) of a flat row at ``level``: the encoder puts the indented
    separators between its items; head and tail replace its braces."""
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    return _encoder(",\n" + inner, ": ", sort_keys), "{\n" + inner, "\n" + pad + "}"


def _flat_json(value: Any, indent: int | None, sort_keys: bool, level: int) -> str | None:
    """The JSON of a scalar or of a dict of scalars as :func:`iter_json` gives it, by
    the C encoder (json's ``indent`` runs in Python); None for any other value."""
    kind = type(value)
    if kind in _SCALARS:
        return _encoder(",", ":", sort_keys)(value)
    if kind is not dict or not _SCALARS.issuperset(map(type, value.values())):
        return None
    if indent is None or not value:
        return _encoder(",", ":", sort_keys)(value)
    encode, head, tail = _indented(indent, sort_keys, level)
    return head + encode(value)[1:-1] + tail


def _leaf_json(value: Any, indent: int | None, sort_keys: bool, level: int) -> str:
    flat = _flat_json(value, indent, sort_keys, level)
    if flat is not None:
        return flat
    if indent is None:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    text = json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    return text.replace("\n", "\n" + " " * (indent * level)) if level else text


def iter_json(value: Any, indent: int | None = None, sort_keys: bool = False, level: int = 0) -> Iterator[str]:
    """Pieces of ``json.dumps(value, ensure_ascii=False, indent=indent,
    sort_keys=sort_keys)`` (compact separators when ``indent`` is None), with
    every :class:`RowStream` inside written row by row: the whole text is never
    held in memory. The pieces join to exactly the text ``json`` would give."""
    pieces = value.json_pieces(indent, sort_keys, level) if isinstance(value, RowStream) else None
    if pieces is not None:
        yield from pieces
    elif isinstance(value, dict) and value and _nested(value.values()) and all(isinstance(k, str) for k in value):
        items = sorted(value.items()) if sort_keys else value.items()
        pairs = ((json.dumps(k, ensure_ascii=False), v) for k, v in items)
        yield from _iter_container("{", "}", pairs, indent, sort_keys, level)
    elif isinstance(value, (list, tuple, RowStream)) and value and _nested(value):
        yield from _iter_container("[", "]", ((None, row) for row in value), indent, sort_keys, level)
    elif isinstance(value, RowStream):
        yield from _iter_container("[", "]", ((None, row) for row in value), indent, sort_keys, level) \
            if value else iter(("[]",))
    else:
        yield _leaf_json(value, indent, sort_keys, level)


def _nested(values: Iterable[Any]) -> bool:
    """True when some value is a container (then the container is written piece by piece)."""
    if isinstance(values, RowStream):
        return True
    return any(isinstance(v, (dict, list, tuple, RowStream)) for v in values)


def _iter_container(open_: str, close: str, items: Iterable[tuple[str | None, Any]], indent: int | None,
                    sort_keys: bool, level: int) -> Iterator[str]:
    """The items' text; runs of flat items (rows) come joined, :data:`_BATCH` at a time."""
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    key_sep = ":" if indent is None else ": "
    batch = [open_]
    for n, (key, value) in enumerate(items):
        batch.append(("," if n else "") + inner + ("" if key is None else key + key_sep))
        flat = _flat_json(value, indent, sort_keys, level + 1)
        if flat is None:
            yield "".join(batch)
            batch = []
            yield from iter_json(value, indent, sort_keys, level + 1)
        else:
            batch.append(flat)
            if len(batch) >= 2 * _BATCH:
                yield "".join(batch)
                batch = []
    batch.append(("" if indent is None else "\n" + " " * (indent * level)) + close)
    yield "".join(batch)


def payload_text(payload: Mapping[str, Any]) -> str:
    """Compact, deterministic JSON text of the payload (the text that is hashed)."""
    indent, sort_keys = TEXT_FORM
    return "".join(iter_json(payload, indent, sort_keys))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utf16_len(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def iter_chunks(text: str, limit: int | None = None) -> Iterator[str]:
    """Pieces of ``text`` whose UTF-16 length is at most ``limit`` (default
    :data:`CHUNK_UTF16`; Excel counts cell length in UTF-16 units), one at a
    time: a summary of thousands of copies never holds all pieces at once."""
    limit = CHUNK_UTF16 if limit is None else limit
    if limit < 2:
        raise ValueError("limit must be at least 2")
    if not text:
        yield ""
        return
    if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):  # one UTF-16 unit per character
        for i in range(0, len(text), limit):
            yield text[i:i + limit]
        return
    current, size = [], 0
    for ch in text:
        n = _utf16_len(ch)
        if size + n > limit:
            yield "".join(current)
            current, size = [], 0
        current.append(ch)
        size += n
    yield "".join(current)


def split_chunks(text: str, limit: int | None = None) -> list[str]:
    return list(iter_chunks(text, limit))


def stream_chunks(pieces: Iterable[str], limit: int | None = None) -> Iterator[str]:
    """:func:`iter_chunks` of the text the ``pieces`` join to, holding only
    about two chunks at a time (each chunk depends only on the text before it)."""
    limit = CHUNK_UTF16 if limit is None else limit
    buf: list[str] = []
    size = 0
    for piece in pieces:
        buf.append(piece)
        size += len(piece)
        if size >= 2 * limit:
            *done, rest = iter_chunks("".join(buf), limit)
            yield from done
            buf, size = [rest], len(rest)
    yield from iter_chunks("".join(buf), limit)


# ---------------------------------------------------------------- _xlflow sheet

class PayloadText:
    """The compact payload text of an ``_xlflow`` sheet (:func:`payload_text`)
    as chunks (:func:`iter_chunks`), spooled once to a temporary file with
    their sha256: the text is never held whole. It can be made in a forked
    child first thing (:meth:`then`: collect's child that writes the JSON and
    CSV copies) while the caller writes the other sheets; :meth:`chunks` waits
    for the child's word that it is ready, or makes it then where there is no
    child. Close it when done."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.spool = tempfile.TemporaryFile()  # made before the fork: the child writes into the same file
        self.made: tuple[str, int] | None = None
        self.child: Any = None  # the forked child making the text (its error, if it fails)
        self._ready: int | None = None  # pipe on which the child sends (sha256, count)
        self._send: int | None = None

    def then(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """What a forked child runs: make the text, say so, then ``func()``.
        Call :meth:`made_by` in the parent once the child is forked (or not)."""
        self._ready, self._send = os.pipe()

        def run() -> Any:
            assert self._send is not None
            with os.fdopen(self._send, "wb") as fh:
                fh.write(pickle.dumps(self._make()))
            return func()

        return run

    def made_by(self, child: Any) -> None:
        """The parent's side of :meth:`then`: ``child`` is the forked child
        (None when there is none: the text is then made here when needed)."""
        self.child = child
        if self._send is not None:
            os.close(self._send)
            self._send = None
        if child is None and self._ready is not None:
            os.close(self._ready)
            self._ready = None

    def _make(self) -> tuple[str, int]:
        """Spool the chunks (each as its UTF-8 length and bytes); (sha256 hex, number of chunks)."""
        digest, count = hashlib.sha256(), 0
        self.spool.seek(0)
        for chunk in stream_chunks(iter_json(self.payload, *TEXT_FORM)):
            data = chunk.encode("utf-8")  # the UTF-8 of the pieces is the UTF-8 of the whole
            digest.update(data)
            self.spool.write(struct.pack("<I", len(data)) + data)
            count += 1
        self.spool.flush()
        return digest.hexdigest(), count

    def _wait(self) -> tuple[str, int]:
        """The child's (sha256, count); what it raised when it ended without them."""
        assert self._ready is not None
        with os.fdopen(self._ready, "rb") as fh:
            self._ready = None
            data = fh.read()
        if data:
            return pickle.loads(data)
        child, self.child = self.child, None
        child.result()  # raises what went wrong
        raise ChildProcessError("дочерний процесс не передал данные сводки")

    def chunks(self) -> tuple[str, int, Iterator[str]]:
        """(sha256 hex, number of chunks, the chunks one at a time)."""
        if self.made is None:
            self.made = self._wait() if self._ready is not None else self._make()
        digest, count = self.made
        return digest, count, self._read(count)

    def _read(self, count: int) -> Iterator[str]:
        self.spool.seek(0)
        for _ in range(count):
            (size,) = struct.unpack("<I", self.spool.read(4))
            yield self.spool.read(size).decode("utf-8")

    def close(self) -> None:
        for fd in (self._ready, self._send):
            if fd is not None:
                os.close(fd)
        self._ready = self._send = None
        self.spool.close()


def write_payload_sheet(workbook: Any, meta: Mapping[str, Any], payload: Mapping[str, Any],
                        sheet_name: str = META_SHEET, text: PayloadText | None = None) -> None:
    """Add the hidden metadata sheet to an xlsxwriter ``workbook``.

    Rows: ``key | value`` for every item of ``meta``, then ``payload_sha256``,
    ``payload_chunks`` and one ``payload`` row per chunk (value in column B).
    All values are written as strings (never formulas). ``text``: the
    payload's text already on its way (the caller closes it), else made here."""
    ws = workbook.add_worksheet(sheet_name, worksheet_class=InlineTextSheet)
    own = text is None
    text = PayloadText(payload) if text is None else text
    try:
        digest, count, chunks = text.chunks()
        rows: list[tuple[str, str]] = [(str(k), "" if v is None else str(v)) for k, v in meta.items()]
        rows.append(("payload_sha256", digest))
        rows.append(("payload_chunks", str(count)))
        for r, (key, value) in enumerate(rows):
            ws.write_string(r, 0, key)
            ws.write_string(r, 1, value)
        for r, chunk in enumerate(chunks, start=len(rows)):
            ws.write_string(r, 0, PAYLOAD_KEY)
            ws.write_inline(r, 1, chunk)
    finally:
        if own:
            text.close()
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 60)
    ws.hide()


def _rows_of_meta_sheet(path: Path, sheet_name: str) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        try:
            return wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        finally:
            wb.close()
    except Exception as exc:  # calamine raises several unrelated types
        raise ReadError(SUMMARY_UNREADABLE, str(path),
                        reason=f"нет листа «{sheet_name}» или файл не открывается ({type(exc).__name__})") from exc


def payload_from_meta_rows(rows: Iterable[Sequence[Any]], file: str | None = None) -> dict:
    """Rebuild and verify the payload from the rows of an ``_xlflow`` sheet."""
    meta: dict[str, str] = {}
    chunks: list[str] = []
    for row in rows:
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        value = row[1] if isinstance(row[1], str) else ("" if row[1] is None else str(row[1]))
        if row[0] == PAYLOAD_KEY:
            chunks.append(value)
        else:
            meta[row[0]] = value
    expected = meta.get("payload_sha256")
    if not expected or not chunks:
        raise ReadError(SUMMARY_UNREADABLE, file, reason="на скрытом листе «_xlflow» нет данных сводки")
    text = "".join(chunks)
    if sha256_text(text) != expected or str(len(chunks)) != meta.get("payload_chunks"):
        raise ReadError(SUMMARY_DAMAGED, file)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ReadError(SUMMARY_DAMAGED, file) from exc


# ---------------------------------------------------------------- JSON / CSV files

def machine_paths(xlsx_path: str | os.PathLike, tables: Iterable[str]) -> list[Path]:
    """Paths of the machine-readable copies written beside ``xlsx_path``:
    ``<stem>.json`` then ``<stem>.<table>.csv`` for each table."""
    p = Path(xlsx_path)
    return [p.with_suffix(".json")] + [p.with_name(f"{p.stem}.{t}.csv") for t in tables]


def write_json(path: str | os.PathLike, payload: Mapping[str, Any]) -> Path:
    """Stream the JSON into the file (no whole-document string: a summary of
    10,000 copies would otherwise hold it twice, as text and as bytes)."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for piece in iter_json(payload, *JSON_FORM):
                fh.write(piece)
    return Path(path)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any) -> str:
    """One CSV cell: None -> empty, bool -> true/false, text guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_row(values: Iterable[Any]) -> list[Any]:
    """:func:`csv_value` of each value, leaving those the csv writer itself writes the same
    (None as empty, numbers as ``str``, text that starts no formula) untouched."""
    return [v if v is None or (t := type(v)) is int or t is float or (t is str and not v.startswith(_FORMULA_START))
            else csv_value(v) for v in values]


def _write_csv_rows(fh: Any, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow(columns)
    pieces = rows.csv_pieces(columns) if isinstance(rows, RowStream) else None
    if pieces is not None:
        fh.writelines(pieces)
    else:
        writer.writerows(_csv_row(map(row.get, columns)) for row in rows)


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    _write_csv_rows(buf, columns, rows)
    return buf.getvalue()


def write_csv(path: str | os.PathLike, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """UTF-8 with BOM (Excel then opens Cyrillic right), streamed row by row."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            _write_csv_rows(fh, columns, rows)
    return Path(path)


def write_machine_copy(xlsx_path: str | os.PathLike, payload: Mapping[str, Any],
                       layout: Mapping[str, Any] | None = None) -> list[Path]:
    """Write ``<stem>.json`` and one ``<stem>.<table>.csv`` per table of
    ``payload["tables"]`` beside ``xlsx_path``; return the written paths."""
    lay = layout if layout is not None else summary_layout()
    tables = payload["tables"]
    paths = machine_paths(xlsx_path, tables)
    written = [write_json(paths[0], payload)]
    for path, (name, rows) in zip(paths[1:], tables.items()):
        columns = [c["key"] for c in table_columns(name, lay)]
        written.append(write_csv(path, columns, rows))
    return written


# ---------------------------------------------------------------- reading back

def _check_kind(payload: Any, template_id: str, schema_version: int, file: str) -> dict:
    if not isinstance(payload, dict):
        raise ReadError(SUMMARY_WRONG_KIND, file, expected=template_id, found="не объект JSON")
    found = payload.get("template_id")
    version = payload.get("schema_version")
    if found != template_id or version != schema_version:
        raise ReadError(SUMMARY_WRONG_KIND, file, expected=f"{template_id} v{schema_version}",
                        found=f"{found} v{version}")
    return payload


def read_summary_payload(path: str | os.PathLike, template_id: str,
                         schema_version: int = SCHEMA_VERSION) -> dict:
    """Payload of a summary given as its ``.json`` copy or as the workbook."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        try:
            payload = json.loads(p.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise ReadError(SUMMARY_UNREADABLE, str(p), reason=f"файл JSON не читается ({type(exc).__name__})") from exc
    else:
        payload = payload_from_meta_rows(_rows_of_meta_sheet(p, META_SHEET), str(p))
    return _check_kind(payload, template_id, schema_version, str(p))


_JSON_HEAD = re.compile(r'\{\s*"schema_version":\s*(\d+),\s*"template_id":\s*("(?:[^"\\]|\\.)*")')
_HEAD_ROWS = 64


def read_summary_head(path: str | os.PathLike) -> dict[str, str] | None:
    """``template_id`` and ``schema_version`` of a summary, reading only the
    beginning of the file (the key/value rows before the payload on the hidden
    sheet, or the first keys of the JSON copy): {} when it is no summary;
    None when this cannot be told without reading it all (the sheet keeps its
    text in the shared strings: see :func:`read_summary_payload`)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".json":
            with open(p, encoding="utf-8-sig") as fh:
                found = _JSON_HEAD.match(fh.read(512))
            return {"schema_version": found.group(1), "template_id": json.loads(found.group(2))} if found else {}
        with zipfile.ZipFile(p) as z:
            target = _sheet_part(z, META_SHEET)
            return _head_rows(z, target) if target else {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, ET.ParseError, EOFError):
        return {}


def _sheet_part(z: zipfile.ZipFile, name: str) -> str | None:
    """The zip member of sheet ``name`` of an xlsx (None when there is no such sheet)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    rid = next((el.get(f"{rel_ns}id") for el in ET.fromstring(z.read("xl/workbook.xml")).iter(f"{ns}sheet")
                if el.get("name") == name), None)
    if rid is None:
        return None
    for rel in ET.fromstring(z.read("xl/_rels/workbook.xml.rels")):
        if rel.get("Id") == rid:
            target = rel.get("Target") or ""
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _head_rows(z: zipfile.ZipFile, part: str) -> dict[str, str] | None:
    meta: dict[str, str] = {}
    with z.open(part) as fh:
        for _event, el in ET.iterparse(fh):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "c" and el.get("t") == "s":
                return None  # shared strings: not one of ours written row by row
            if tag != "row":
                continue
            texts = ["".join(t.text or "" for t in c.iter() if t.tag.endswith("}t")) for c in el]
            el.clear()
            if len(texts) < 2 or texts[0] == PAYLOAD_KEY or len(meta) >= _HEAD_ROWS:
                break
            meta[texts[0]] = texts[1]
    return meta


def read_school_summary(path: str | os.PathLike) -> dict:
    """The school summary payload from ``SUMMARY.json`` or ``SUMMARY.xlsx``
    (shape: ``schemas/school_summary.schema.json``). Raises
    :class:`xlflow.errors.ReadError` when unreadable, damaged or of another kind."""
    return read_summary_payload(path, SCHOOL_TEMPLATE_ID)


def schema_errors(payload: Mapping[str, Any], schema_name: str = "school_summary.schema.json") -> list[str]:
    """Messages of every schema violation of ``payload`` (empty list when valid)."""
    import jsonschema

    from xlflow.schemas import load_schema

    validator = jsonschema.Draft202012Validator(
        load_schema(schema_name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(payload)]
