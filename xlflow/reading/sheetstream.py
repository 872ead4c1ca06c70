"""The sheets of a large .xlsx (a school's registry) read by streaming their
checked XML through expat, instead of python-calamine.

python-calamine holds a whole sheet's cells and every shared string in Rust
while its rows are converted: at 10,000 pairs that is the worker's peak. Here
a sheet's XML goes through expat in pieces (from the part the safety
pre-check kept, or inflated again in pieces from the very bytes it checked),
the shared strings are one list of ``str`` (every cell holding a text holds
that one object) and each row becomes the list python-calamine's path would
give (:func:`xlflow.reading.grid._norm_rows` normalises both).

Only what this reader provably reads as python-calamine does is read here:
anything else (a date in the 1904 system, a time or duration format, a date
with a time of day or before 1 March 1900, a cell or row without its
reference, unusual cell types or numbers, phonetic runs, ``_xHHHH_`` escapes,
raw carriage returns, chart sheets, malformed XML...) raises
:class:`Unsupported` and the caller reads the workbook with python-calamine
as before. Error cells read as empty, as python-calamine reads them; the
grid's error texts and merged ranges come from the same scan as on the
calamine path.

Used when the workbook is held in memory, is not an ODS, and a part is
larger than :data:`STREAM_FROM` bytes (``XLFLOW_STREAM_SHEET_BYTES``) or too
large to have been kept: copies of the programme keep python-calamine.
"""
from __future__ import annotations

import datetime as _dt
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from xml.parsers import expat

from xlflow.reading.safety import Checked
from xlflow.reading.zipdir import Source

MAX_ROWS = 100_000  # as xlflow.reading.grid.MAX_ROWS: a longer sheet is read by python-calamine


def _stream_from() -> int:
    raw = os.environ.get("XLFLOW_STREAM_SHEET_BYTES", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 2 << 20


STREAM_FROM = _stream_from()
_PIECE = 1 << 18  # bytes handed to expat at a time
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SEP = " "
_C, _V, _T, _IS, _ROW, _SI, _RPH = (f"{_MAIN}{_SEP}{t}" for t in ("c", "v", "t", "is", "row", "si", "rPh"))
_LETTERS = re.compile(r"[A-Z]{1,3}\Z")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
_MAX_COL = 16384
_EPOCH = _dt.date(1899, 12, 30)
_FIRST_SERIAL, _LAST_SERIAL = 61, 2958465  # 1900-03-01 .. 9999-12-31
_DATE, _OTHER, _ODD = "date", "other", "odd"


class Unsupported(Exception):
    """Something this reader does not read exactly as python-calamine would."""


def wanted_for(checked: Checked, stream_from: int | None = None) -> bool:
    """Whether the book of ``checked`` is read by streaming (see the module doc)."""
    limit = STREAM_FROM if stream_from is None else stream_from
    if checked.kind == "ods" or checked.data is None:
        return False
    return not checked.complete or any(len(part) > limit for part in checked.parts.values())


def read_streamed(path: str, wanted: Any, checked: Checked,
                  before: Callable[[list[str]], None] | None = None) -> tuple[list[str], dict] | None:
    """``(sheet names, {name: SheetGrid})`` as :func:`xlflow.reading.grid._read_calamine`
    gives them, or None when the book must be read by python-calamine."""
    from xlflow.reading import grid as g

    book = None
    try:
        book = _Book(checked)
        names = book.names
        chosen = g._selected(names, wanted)
        if before is not None:
            before(chosen)
        grids = {}
        for name in chosen:
            rows, capped = g._norm_rows(book.rows(name), g.MAX_ROWS)
            grids[name] = g.SheetGrid(name, rows, [], capped)
        return names, grids
    except Exception:  # noqa: BLE001 - whatever the stream cannot read, python-calamine reads or reports as before
        if book is not None:
            book.restore()
        return None


class _Book:
    """The workbook parts this reader needs, from ``checked``."""

    def __init__(self, checked: Checked) -> None:
        from xlflow.reading import grid as g

        self.checked = checked
        self.let_go: list[str] = []  # members taken out of ``checked.parts`` (see :meth:`rows`)
        book, rels = self._part(g._WORKBOOK), self._part(g._WORKBOOK_RELS)
        self.paths = dict(g._xlsx_sheet_paths(rels, book))
        self.names = list(self.paths)
        start = book.find(b"<sheets")
        declared = len(re.findall(rb"<(?:\w+:)?sheet\s", book[start:book.find(b"sheets>", start + 7) + 7])) \
            if start != -1 else -1
        if declared != len(self.names) or not all("worksheets/" in p and p in checked.members
                                                  for p in self.paths.values()):
            raise Unsupported("sheets")
        if re.search(rb"date1904\s*=\s*[\"'](?:1|true)", book):
            raise Unsupported("1904")
        self.styles = _styles(self._part("xl/styles.xml") if "xl/styles.xml" in checked.members else b"")
        self._shared: list[str] | None = None  # read with the first sheet: after the scan (``before``)

    def _part(self, name: str) -> bytes:
        if name in self.checked.parts:
            return self.checked.parts[name]
        with zipfile.ZipFile(io.BytesIO(self.checked.data or b"")) as zf:
            return zf.read(name)

    def _pieces(self, name: str) -> Iterator[bytes]:
        """The part's bytes in pieces of :data:`_PIECE`, refused when expat would
        read them otherwise than python-calamine's parser does."""
        tail = b""
        for piece in self._raw_pieces(name):
            if b"\r" in piece or _ESCAPE.search(tail + piece[:8]) or (b"_x" in piece and _ESCAPE.search(piece)):
                raise Unsupported("escapes")
            tail = piece[-8:]
            yield piece

    def _raw_pieces(self, name: str) -> Iterator[bytes]:
        part = self.checked.parts.get(name)
        if part is not None:
            for at in range(0, len(part), _PIECE):
                yield part[at:at + _PIECE]
            return
        with zipfile.ZipFile(io.BytesIO(self.checked.data or b"")) as zf, zf.open(name) as fh:
            while piece := fh.read(_PIECE):
                yield piece

    def rows(self, name: str) -> Iterator[list[Any]]:
        """The sheet's rows from row 1, each a list from column A (gaps: None).
        A long sheet's inflated part is let go once read (:meth:`restore`
        puts it back): the megabytes of the parts read and the rows of the
        sheets after them are not held at once."""
        if self._shared is None:
            self._shared = _shared_strings(self._pieces("xl/sharedStrings.xml")) \
                if "xl/sharedStrings.xml" in self.checked.members else []
        sheet = _SheetRows(self._shared, self.styles)
        parser = _parser(sheet.start, sheet.end, sheet.chars)
        for piece in self._pieces(self.paths[name]):
            parser.Parse(piece, False)
            yield from sheet.take()
        parser.Parse(b"", True)
        yield from sheet.take()
        self._let_go(self.paths[name])

    def _let_go(self, member: str) -> None:
        parts = self.checked.parts
        if isinstance(parts, dict) and len(parts.get(member, b"")) > STREAM_FROM:
            del parts[member]
            self.let_go.append(member)

    def restore(self) -> None:
        """Put back the parts let go, inflated again from the same checked
        bytes (for python-calamine's read of the book after all)."""
        if not self.let_go:
            return
        parts = self.checked.parts
        assert isinstance(parts, dict)
        data = self.checked.data or b""
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [zf.getinfo(member) for member in self.let_go]
        for info in infos:
            parts[info.filename] = _inflated(data, info)
        self.let_go = []


def _inflated(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """Member ``info`` of the zip ``data`` inflated as the pre-check inflated
    it (:mod:`xlflow.reading.safety`): from the end of its local header, a
    deflate stream until it ends whatever the declared sizes say, its CRC not
    compared (the pre-check does not compare it either)."""
    start = Source(io.BytesIO(data), len(data), data).data_offset(info)
    if info.compress_type == zipfile.ZIP_STORED:
        return data[start:start + info.compress_size]
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise zipfile.BadZipFile(f"compression {info.compress_type} of {info.filename}")
    return zlib.decompressobj(-15).decompress(data[start:])


def _parser(start: Callable, end: Callable, chars: Callable) -> Any:
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars

    def refuse(*_args: Any) -> None:
        raise Unsupported("declarations")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser


class _SheetRows:
    """expat handlers turning a worksheet's ``sheetData`` into rows."""

    def __init__(self, shared: list[str], styles: list[str]) -> None:
        self.shared = shared
        self.kinds = {str(i): kind for i, kind in enumerate(styles)} if styles else {"0": _OTHER}
        self.ready: list[list[Any]] = []  # rows complete, not yet taken
        self.next_row = 0  # index of the next row to hand out
        self.row: list[Any] | None = None
        self.row_at = -1
        self.row_digits = ""  # the row's number as its cells' references end
        self.cell: tuple[int, str, str] | None = None  # column, type, style kind
        self.text: list[str] | None = None  # character data of an inline string's text
        self.value: str | None = None
        self.in_value = False  # inside a cell's <v>
        self.inline = 0  # depth inside <is>
        self.dates: dict[int, _dt.date] = {}
        self.columns: dict[str, int] = {}

    def take(self) -> list[list[Any]]:
        out, self.ready = self.ready, []
        return out

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == _C:
            ref = attrs.get("r", "")
            letters = ref.rstrip("0123456789")
            col = self.columns.get(letters)
            if col is None:
                col = self._column(letters)
            row = self.row
            if row is None or ref[len(letters):] != self.row_digits or col < len(row):
                raise Unsupported("cell reference")
            kind = self.kinds.get(attrs.get("s", "0"))
            if kind is None:
                raise Unsupported("style")
            self.cell = (col, attrs.get("t", "n"), kind)
            self.value = None
        elif tag == _V:
            if self.cell is not None:
                self.value = ""
                self.in_value = True
        elif tag == _ROW:
            self._start_row(attrs)
        elif tag == _IS:
            self.inline += 1
            self.value = ""
        elif tag == _T and self.inline:
            self.text = []
        elif tag == _RPH:
            raise Unsupported("phonetic")

    def _column(self, letters: str) -> int:
        if not _LETTERS.match(letters):
            raise Unsupported("cell reference")
        col = 0
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        if col > _MAX_COL:
            raise Unsupported("cell reference")
        self.columns[letters] = col - 1
        return col - 1

    def _start_row(self, attrs: dict[str, str]) -> None:
        raw = attrs.get("r", "")
        if not raw.isdigit() or raw[0] == "0" or not self.row_at < int(raw) - 1 < MAX_ROWS or self.row is not None:
            raise Unsupported("row reference")
        self.row_at = int(raw) - 1
        self.row_digits = raw
        while self.next_row < self.row_at:
            self.ready.append([])
            self.next_row += 1
        self.row = []

    def chars(self, data: str) -> None:
        if self.in_value:
            self.value += data
        elif self.text is not None:
            self.text.append(data)

    def end(self, tag: str) -> None:
        if tag == _C:
            self._end_cell()
        elif tag == _V:
            self.in_value = False
        elif tag == _ROW:
            self.ready.append(self.row or [])
            self.next_row += 1
            self.row = None
        elif tag == _T:
            if self.text is not None and self.inline:
                self.value = (self.value or "") + "".join(self.text)
                self.text = None
        elif tag == _IS:
            self.inline -= 1

    def _end_cell(self) -> None:
        cell, row = self.cell, self.row
        if cell is None or row is None:
            raise Unsupported("cell")
        col, kind, style = cell
        raw = self.value
        if kind == "s" and raw is not None:
            if not raw.isdigit() or int(raw) >= len(self.shared):
                raise Unsupported("shared string index")
            value = self.shared[int(raw)]
        else:
            value = self._value(kind, style, raw)
        if value is not None:
            if col > len(row):
                row.extend([None] * (col - len(row)))
            row.append(value)
        self.cell = None

    def _value(self, kind: str, style: str, raw: str | None) -> Any:
        if raw is None or kind == "e" or (raw == "" and kind == "n"):  # a formula's empty result
            return None
        if kind in ("str", "inlineStr"):
            return raw
        if kind == "b":
            if raw not in ("0", "1"):
                raise Unsupported("boolean")
            return raw == "1"
        if kind != "n" or not _NUMBER.match(raw):
            raise Unsupported("cell type")
        number = float(raw)
        if style == _OTHER:
            return number
        if style != _DATE or not number.is_integer() or not _FIRST_SERIAL <= number <= _LAST_SERIAL:
            raise Unsupported("date")
        serial = int(number)
        day = self.dates.get(serial)
        if day is None:
            day = self.dates[serial] = _EPOCH + _dt.timedelta(days=serial)
        return day


def _shared_strings(pieces: Iterable[bytes]) -> list[str]:
    out: list[str] = []
    state: dict[str, Any] = {"text": None, "item": None, "phonetic": 0}

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if tag == _SI:
            state["item"] = []
        elif tag == _RPH:
            raise Unsupported("phonetic")
        elif tag == _T and state["item"] is not None:
            state["text"] = []

    def end(tag: str) -> None:
        if tag == _T and state["text"] is not None:
            state["item"].append("".join(state["text"]))
            state["text"] = None
        elif tag == _SI:
            out.append("".join(state["item"] or ()))
            state["item"] = None

    def chars(data: str) -> None:
        if state["text"] is not None:
            state["text"].append(data)

    parser = _parser(start, end, chars)
    for piece in pieces:
        parser.Parse(piece, False)
    parser.Parse(b"", True)
    return out


_BUILTIN_DATES = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 47})
_BUILTIN_ODD = frozenset({46})


def _styles(data: bytes) -> list[str]:
    """The kind of each cell style (:data:`_DATE`, :data:`_OTHER` or
    :data:`_ODD`: a time or duration, read by python-calamine), by index."""
    if not data:
        return []
    formats: dict[int, str] = {}
    kinds: list[str] = []
    state = {"xfs": False}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(_SEP)[2]
        if local == "numFmt":
            if not attrs.get("numFmtId", "").isdigit():
                raise Unsupported("number format")
            formats[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            state["xfs"] = True
        elif local == "xf" and state["xfs"]:
            fid = attrs.get("numFmtId", "0")
            if not fid.isdigit():
                raise Unsupported("number format")
            kinds.append(_format_kind(int(fid), formats))

    def end(tag: str) -> None:
        if tag.rpartition(_SEP)[2] == "cellXfs":
            state["xfs"] = False

    parser = _parser(start, end, lambda _data: None)
    parser.Parse(data, True)
    return kinds


def _format_kind(fid: int, formats: dict[int, str]) -> str:
    code = formats.get(fid)
    if code is None:
        return _DATE if fid in _BUILTIN_DATES else _ODD if fid in _BUILTIN_ODD else _OTHER
    return _custom_kind(code)


_DATE_CODE = re.compile(r"(?:\[\$-[0-9A-F]{1,8}\])?[dmy]+(?:(?:\\?[./\- ])+[dmy]+)*\Z", re.IGNORECASE)
_PLAIN_CODE = re.compile(r"(?:General|@|[0#.,%]+|[0#.,]+\\ ?%?|0\.0+E\+0+)\Z", re.IGNORECASE)


def _custom_kind(code: str) -> str:
    """A custom format: a plain date (days, months, years), a plain number or
    text format, or anything else (read only by python-calamine)."""
    if _DATE_CODE.match(code):
        return _DATE
    if _PLAIN_CODE.match(code) or not code:
        return _OTHER
    return _ODD
