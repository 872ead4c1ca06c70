"""Raw cell values of a workbook, with true row and column numbers.

Two engines give identical grids:

* ``calamine`` (default, fast): python-calamine; reads .xlsx, .xlsm and .ods.
* ``openpyxl``: ``read_only=True, data_only=True``; .xlsx and .xlsm only.

Grid values are normalised so that both engines agree: an empty cell is
``None``; whole numbers are ``int``; a date at midnight is a ``datetime.date``;
a formula error is its English code as a string (``"#REF!"``). Row 0 is Excel
row 1 and column 0 is column A. The stored used range ("dimension") is never
trusted: the cells themselves are read, at most :data:`MAX_ROWS` rows per
sheet, and trailing empty rows are dropped.

Merged ranges and formula errors come from one scan of the sheet XML (.xlsx)
or of ``content.xml`` (.ods), because python-calamine reads error cells as
empty; so they are the same for both engines. Every file passes the safety
pre-checks (:func:`xlflow.reading.safety.precheck`) before any parser opens it;
the parser then reads the very bytes that were checked, and the scan for
merged ranges and errors reuses the parts the pre-check inflated.
"""
from __future__ import annotations

import datetime as _dt
import html
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from xlflow.errors import ReadError
from xlflow.problems import ERROR, Problem, code_info, register
from xlflow.reading.repack import stored_zip
from xlflow.reading.safety import ENCRYPTED, Checked, check, kind_problems

MAX_ROWS = 100_000
ENGINES = ("calamine", "openpyxl")


def register_once(code: str, severity: str, template: str, title: str) -> str:
    """Register ``code`` unless it is already registered (by the same or another module)."""
    try:
        code_info(code)
    except KeyError:
        register(code, severity, template, title)
    return code


FILE_NOT_FOUND = register_once(
    "file-not-found", ERROR,
    "Файл не найден. Проверьте имя файла и папку.",
    "input file does not exist")
WORKBOOK_CORRUPT = register_once(
    "workbook-corrupt", ERROR,
    "Книга повреждена и не читается ({detail}). Откройте её в Excel или LibreOffice, "
    "сохраните заново как «Книга Excel (.xlsx)» и повторите.",
    "the parser failed on the zip/XML structure of the workbook")
ENGINE_UNSUPPORTED = register_once(
    "engine-unsupported-format", ERROR,
    "Книга в формате OpenDocument (.ods) читается только обработчиком calamine. Запустите "
    "команду без параметра --engine или сохраните книгу как «Книга Excel (.xlsx)».",
    "openpyxl engine cannot read .ods")


@dataclass
class SheetGrid:
    """Cell values of one sheet: ``rows[r][c]`` with true indices (ragged rows)."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 inclusive
    capped: bool = False  # more than MAX_ROWS rows: the rest was not read

    def value(self, row: int, col: int) -> Any:
        if 0 <= row < len(self.rows):
            r = self.rows[row]
            if 0 <= col < len(r):
                return r[col]
        return None

    @property
    def height(self) -> int:
        return len(self.rows)


@dataclass
class GridBook:
    path: str
    sheet_names: list[str]
    sheets: dict[str, SheetGrid]
    engine: str
    kind: str = "xlsx"  # xlsx | xlsm | ods (from the safety pre-check)
    problems: list[Problem] = field(default_factory=list)  # e.g. macros ignored


# ---------------------------------------------------------------- value normalisation

def _norm_other(v: Any) -> Any:
    if type(v) is _dt.datetime and v.hour == 0 and v.minute == 0 and v.second == 0 and v.microsecond == 0:
        return v.date()
    return v


_SHARED_FROM = 128  # rows of a sheet read before equal texts start sharing one object
_SHARED_MAX = 4096  # distinct texts remembered per sheet for that


def _norm_rows(rows: Iterable[Any], limit: int) -> tuple[list[list[Any]], bool]:
    """Normalised rows (trailing empty rows and cells dropped) and whether capped.

    In a long sheet (a school's registry: thousands of people and pairs)
    equal texts share one object: positions, subjects, forms, ids repeat on
    most rows, and each cell would otherwise hold its own copy."""
    out: list[list[Any]] = []
    last = -1
    capped = False
    shared: dict[str, str] = {}
    for i, row in enumerate(rows):
        if i >= limit:
            capped = True
            break
        if type(row) is list and row.count("") == len(row):
            out.append([])
            continue
        # each value normalised (see the module doc); trailing empty cells dropped
        vals = [(v or None) if (t := type(v)) is str
                else (int(v) if v.is_integer() else v) if t is float
                else v if v is None or t is int or t is bool
                else _norm_other(v)
                for v in row]
        while vals and vals[-1] is None:
            vals.pop()
        if i >= _SHARED_FROM:
            _share_texts(vals, shared)
        out.append(vals)
        if vals:
            last = i
    del out[last + 1:]
    return out, capped


def _share_texts(vals: list[Any], shared: dict[str, str]) -> None:
    """Replace each text of ``vals`` by the equal one met before, if any."""
    for j, v in enumerate(vals):
        if type(v) is str:
            hit = shared.get(v)
            if hit is not None:
                vals[j] = hit
            elif len(shared) < _SHARED_MAX:
                shared[v] = v


def long_sheet(grid: SheetGrid) -> bool:
    """Whether ``grid`` is long enough for its equal texts to share one object."""
    return len(grid.rows) > _SHARED_FROM


Convert = Callable[[Any], Any]


def sharing_for(grid: SheetGrid) -> Callable[[Convert], Convert]:
    """What the converters of a table read from ``grid`` are wrapped in: in a
    long table (a school's registry) a text a converter gives back unchanged
    stays the cell's object (shared by :func:`_norm_rows`), and equal texts
    the converters make (dates, codes) are one object for the whole table, so
    that its records do not hold tens of thousands of copies."""
    if not long_sheet(grid):
        return _as_is
    shared: dict[str, str] = {}

    def share(convert: Convert) -> Convert:
        def convert_shared(raw: Any) -> Any:
            value = convert(raw)
            if type(value) is not str or value is raw:
                return value
            if type(raw) is str and value == raw:
                return raw
            hit = shared.get(value)
            if hit is not None:
                return hit
            if len(shared) < _SHARED_MAX:
                shared[value] = value
            return value

        return convert_shared

    return share


def _as_is(convert: Convert) -> Convert:
    return convert


# ---------------------------------------------------------------- xlsx XML scan

_REF = re.compile(rb"([A-Z]{1,3})([0-9]{1,7})")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]{1,3}[0-9]{1,7})(?::([A-Z]{1,3}[0-9]{1,7}))?\"")
_CELL_REF = re.compile(rb"\br=\"([A-Z]{1,3}[0-9]{1,7})\"")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_ERROR_ATTR = b't="e"'


def _ref_to_rc(ref: bytes) -> tuple[int, int]:
    m = _REF.fullmatch(ref)
    if m is None:
        raise ValueError(ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + (ch - 64)
    return int(m.group(2)) - 1, col - 1


_TAG_SHEET = re.compile(rb"<(?:\w+:)?sheet\s([^>]*)>")
_TAG_REL = re.compile(rb"<(?:\w+:)?Relationship\s([^>]*)>")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attrs(text: bytes) -> dict[str, str]:
    out = {}
    for key, double, single in _ATTR.findall(text):  # an unmatched group is b"" here
        out[key.decode("utf-8", "replace")] = html.unescape((double or single).decode("utf-8", "replace"))
    return out


_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"


@lru_cache(maxsize=32)
def _xlsx_sheet_paths(rels: bytes, book: bytes) -> Mapping[str, str]:
    """Sheet name -> path of its XML part inside the zip, from the workbook
    part and its relationships (cached: copies of one template share them).

    Regular expressions over bytes the safety pre-check already cleared of
    DOCTYPE/ENTITY declarations (an XML parser here cost more than the read)."""
    targets = {}
    for m in _TAG_REL.finditer(rels):
        a = _attrs(m.group(1))
        targets[a.get("Id")] = a.get("Target", "")
    out = {}
    end = book.find(b"sheets>", book.find(b"sheet "))  # the <sheets> list comes before defined names
    for m in _TAG_SHEET.finditer(book, 0, end + 7 if end != -1 else len(book)):
        a = _attrs(m.group(1))
        rid = next((v for k, v in a.items() if k == "id" or k.endswith(":id")), None)
        target = targets.get(rid, "")
        if not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out[a.get("name", "")] = _clean_zip_path(path)
    return MappingProxyType(out)


def _kept_sheet_paths(parts: Mapping[str, bytes]) -> Mapping[str, str] | None:
    """:func:`_xlsx_sheet_paths` from the kept parts, or None when the
    workbook part or its relationships were not kept."""
    if _WORKBOOK not in parts or _WORKBOOK_RELS not in parts:
        return None
    return _xlsx_sheet_paths(parts[_WORKBOOK_RELS], parts[_WORKBOOK])


def _scanned_sheets(checked: Checked) -> frozenset[str]:
    """The sheet parts whose merged ranges :func:`_xlsx_extras` reads from the
    kept parts: python-calamine need not look for them again."""
    paths = _kept_sheet_paths(checked.parts)
    return frozenset(p for p in paths.values() if p in checked.parts) if paths is not None else frozenset()


def _clean_zip_path(path: str) -> str:
    parts: list[str] = []
    for p in path.split("/"):
        if p == "..":
            if parts:
                parts.pop()
        elif p and p != ".":
            parts.append(p)
    return "/".join(parts)


def _scan_sheet_xml(data: bytes) -> tuple[dict[tuple[int, int], str], list[tuple[int, int, int, int]]]:
    """Formula error cells and merged ranges of one sheet's XML."""
    errors: dict[tuple[int, int], str] = {}
    pos = data.find(_ERROR_ATTR)
    while pos != -1:
        start = data.rfind(b"<", 0, pos)
        end = data.find(b"</", pos)
        ref = _CELL_REF.search(data, start, pos + 200)
        val = _VALUE.search(data, pos, end + 40 if end != -1 else len(data))
        if ref and val:
            errors[_ref_to_rc(ref.group(1))] = val.group(1).decode("utf-8", "replace")
        pos = data.find(_ERROR_ATTR, pos + 1)
    merged = []
    at = data.find(b"mergeCell")
    if at != -1:  # from the tag of the first one to the end of the last tag: nothing outside is searched
        last = data.rfind(b"mergeCell")
        stop = data.find(b">", last)
        for m in _MERGE.finditer(data, max(data.rfind(b"<", 0, at), 0), len(data) if stop == -1 else stop + 1):
            r0, c0 = _ref_to_rc(m.group(1))
            r1, c1 = _ref_to_rc(m.group(2)) if m.group(2) else (r0, c0)
            merged.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
    return errors, merged


def _xlsx_extras(path: str, names: list[str], checked: Checked) -> dict[str, tuple[dict, list]]:
    """Error cells and merged ranges of the sheets ``names``, from the parts the
    pre-check kept (the zip is opened again only for parts it did not keep)."""
    parts = checked.parts
    paths = _kept_sheet_paths(parts)
    if paths is not None:
        wanted = [(n, paths.get(n)) for n in names]
        if all(p is None or p in parts or p not in checked.members for _, p in wanted):
            return {n: _scan_sheet_xml(parts[p]) for n, p in wanted if p is not None and p in parts}
    with zipfile.ZipFile(_source(path, checked)) as zf:
        paths = _xlsx_sheet_paths(zf.read(_WORKBOOK_RELS), zf.read(_WORKBOOK))
        out = {}
        for name in names:
            part = paths.get(name)
            if part is None or part not in zf.NameToInfo:
                continue
            if part in parts:
                out[name] = _scan_sheet_xml(parts[part])
                continue
            with zf.open(part) as fh:
                out[name] = _scan_sheet_stream(fh)
    return out


_CHUNK = 1 << 20
_ROW_END = re.compile(rb"</(?:\w+:)?row>")


def _scan_sheet_stream(fh: Any) -> tuple[dict[tuple[int, int], str], list[tuple[int, int, int, int]]]:
    """:func:`_scan_sheet_xml` of a sheet too large to have been kept, read in
    pieces of about :data:`_CHUNK` bytes cut after a row's end tag (a cell and
    a merged range never span two pieces): the sheet's XML is never whole in
    memory."""
    errors: dict[tuple[int, int], str] = {}
    merged: list[tuple[int, int, int, int]] = []
    carry = b""
    while True:
        chunk = fh.read(_CHUNK)
        data = carry + chunk if carry else chunk
        cut = _last_row_end(data) if chunk else len(data)
        if cut:
            found, ranges = _scan_sheet_xml(data[:cut])
            errors.update(found)
            merged += ranges
        carry = data[cut:]
        if not chunk:
            return errors, merged


def _last_row_end(data: bytes) -> int:
    """Offset just after the last ``</row>`` end tag of ``data`` (0: none)."""
    pos = data.rfind(b"row>")
    while pos != -1:
        start = data.rfind(b"</", max(0, pos - 40), pos)
        m = _ROW_END.match(data, start) if start != -1 else None
        if m is not None and m.end() == pos + 4:
            return m.end()
        pos = data.rfind(b"row>", 0, pos)
    return 0


def _source(path: str, checked: Checked) -> Any:
    """The checked bytes as a file object, or the path for a file too large to keep."""
    return io.BytesIO(checked.data) if checked.data is not None else path


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODS_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


class _OdsScan:
    """expat handlers collecting merged ranges and error cells of chosen ODS sheets.

    Positions follow the repeat attributes, as LibreOffice writes them; the
    safety pre-check already refused DOCTYPE/ENTITY declarations."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.out: dict[str, tuple[dict, list]] = {}
        self.sheet: str | None = None
        self.depth = 0  # nesting of tables (sub-tables are skipped)
        self.row = 0
        self.col = 0
        self.row_repeat = 1
        self.cell_repeat = 1
        self.error_at: tuple[int, int] | None = None
        self.text: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == f"{_ODS_TABLE} table":
            self.depth += 1
            if self.depth == 1:
                name = attrs.get(f"{_ODS_TABLE} name", "")
                self.sheet = name if name in self.names else None
                self.row = 0
                if self.sheet is not None:
                    self.out[self.sheet] = ({}, [])
        elif self.sheet is None or self.depth != 1:
            return
        elif tag == f"{_ODS_TABLE} table-row":
            self.col = 0
            self.row_repeat = int(attrs.get(f"{_ODS_TABLE} number-rows-repeated", "1") or 1)
        elif tag in (f"{_ODS_TABLE} table-cell", f"{_ODS_TABLE} covered-table-cell"):
            self._cell(attrs)
        elif tag == f"{_ODS_TEXT} p" and self.error_at is not None and self.text:
            self.text.append("\n")

    def _cell(self, attrs: dict[str, str]) -> None:
        self.cell_repeat = int(attrs.get(f"{_ODS_TABLE} number-columns-repeated", "1") or 1)
        errors, merged = self.out[self.sheet or ""]
        span_c = int(attrs.get(f"{_ODS_TABLE} number-columns-spanned", "1") or 1)
        span_r = int(attrs.get(f"{_ODS_TABLE} number-rows-spanned", "1") or 1)
        if span_c > 1 or span_r > 1:
            merged.append((self.row, self.col, self.row + span_r - 1, self.col + span_c - 1))
        if attrs.get(f"{_ODS_CALCEXT} value-type") == "error":
            self.error_at = (self.row, self.col)
            self.text = []

    def end(self, tag: str) -> None:
        if tag == f"{_ODS_TABLE} table":
            self.depth -= 1
            if self.depth == 0:
                self.sheet = None
        elif self.sheet is None or self.depth != 1:
            return
        elif tag == f"{_ODS_TABLE} table-row":
            self.row += self.row_repeat
        elif tag in (f"{_ODS_TABLE} table-cell", f"{_ODS_TABLE} covered-table-cell"):
            if self.error_at is not None:
                self.out[self.sheet][0][self.error_at] = "".join(self.text).strip() or "#VALUE!"
                self.error_at = None
            self.col += self.cell_repeat

    def chars(self, data: str) -> None:
        if self.error_at is not None:
            self.text.append(data)


def _ods_extras(path: str, names: list[str], checked: Checked) -> dict[str, tuple[dict, list]]:
    from xml.parsers import expat

    scan = _OdsScan(set(names))
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.chars
    try:
        if "content.xml" in checked.parts:
            parser.Parse(checked.parts["content.xml"], True)
        else:
            with zipfile.ZipFile(_source(path, checked)) as zf, zf.open("content.xml") as fh:
                parser.ParseFile(fh)
    except expat.ExpatError as exc:
        raise ValueError(f"content.xml: {exc}") from exc
    return scan.out


def _apply_extras(grid: SheetGrid, extras: tuple[dict, list] | None) -> None:
    if not extras:
        return
    errors, merged = extras
    grid.merged = merged
    for (r, c), text in errors.items():
        if r >= MAX_ROWS:
            continue
        while len(grid.rows) <= r:
            grid.rows.append([])
        row = grid.rows[r]
        while len(row) <= c:
            row.append(None)
        row[c] = text


# ---------------------------------------------------------------- engines

def _selected(names: list[str], wanted: Any) -> list[str]:
    if wanted is None:
        return names
    chosen = wanted(names) if callable(wanted) else wanted
    return [n for n in dict.fromkeys(chosen) if n in names]


def _read_calamine(path: str, wanted: Any, data: bytes | None,
                   before: Callable[[list[str]], None] | None = None) -> tuple[list[str], dict[str, SheetGrid]]:
    """The sheet names and the grids of the sheets ``wanted``; ``before`` gets
    the names of those sheets once the workbook is open, before any is read."""
    import python_calamine as pc

    try:
        book = pc.CalamineWorkbook.from_path(path) if data is None else \
            pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError as exc:
        raise ReadError(ENCRYPTED, path) from exc
    except (pc.CalamineError, ValueError, OSError) as exc:
        raise ReadError(WORKBOOK_CORRUPT, path, detail=_short(exc)) from exc
    try:
        names = list(book.sheet_names)
        chosen = _selected(names, wanted)
        if before is not None:
            before(chosen)
        grids = {}
        for name in chosen:
            sheet = book.get_sheet_by_name(name)
            rows, capped = _norm_rows(_calamine_rows(sheet), MAX_ROWS)
            # (python-calamine before 0.4 has no merged ranges: the scan's are used anyway)
            merged = [(a[0], a[1], b[0], b[1]) for a, b in (getattr(sheet, "merged_cell_ranges", None) or [])]
            grids[name] = SheetGrid(name, rows, merged, capped)
    except (pc.CalamineError, ValueError, OverflowError) as exc:
        raise ReadError(WORKBOOK_CORRUPT, path, detail=_short(exc)) from exc
    finally:
        book.close()
    return names, grids


def _calamine_rows(sheet: Any) -> Iterable[list[Any]]:
    """The sheet's rows from row 1 and column A, as ``to_python(skip_empty_area=False)``
    gives them. A sheet whose cells start at A1 (every sheet xlflow writes) is
    read one row at a time, so that only the normalised copy is kept (a
    school's registry has tens of thousands of rows); another is converted
    whole (``iter_rows`` pads the rows above its first cell but not the
    columns left of it)."""
    if sheet.start in (None, (0, 0)):
        return sheet.iter_rows()
    return sheet.to_python(skip_empty_area=False, nrows=MAX_ROWS + 1)


def _read_openpyxl(path: str, wanted: Any, data: bytes | None) -> tuple[list[str], dict[str, SheetGrid]]:
    import openpyxl

    # a file object: openpyxl would refuse unusual extensions
    fh = open(path, "rb") if data is None else io.BytesIO(data)
    try:
        book = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, SyntaxError) as exc:
        fh.close()
        raise ReadError(WORKBOOK_CORRUPT, path, detail=_short(exc)) from exc
    try:
        names = list(book.sheetnames)
        grids = {}
        for name in _selected(names, wanted):
            ws = book[name]
            if not hasattr(ws, "reset_dimensions"):  # chartsheet
                grids[name] = SheetGrid(name, [])
                continue
            ws.reset_dimensions()
            rows, capped = _norm_rows(ws.iter_rows(values_only=True), MAX_ROWS)
            grids[name] = SheetGrid(name, rows, [], capped)
    except (KeyError, IndexError, ValueError, TypeError, SyntaxError, zipfile.BadZipFile) as exc:
        # IndexError: a cell pointing past the shared-strings table (fuzz finding)
        raise ReadError(WORKBOOK_CORRUPT, path, detail=_short(exc)) from exc
    finally:
        book.close()
        fh.close()
    return names, grids


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def check_readable(path: str | os.PathLike, engine: str = "calamine") -> str:
    """Raise :class:`ReadError` unless ``path`` is a workbook the engine may read.

    Runs the safety pre-checks; returns the file kind (xlsx, xlsm, ods)."""
    return _checked(os.fspath(path), engine).kind


def _checked(name: str, engine: str) -> Checked:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    if not os.path.isfile(name):
        raise ReadError(FILE_NOT_FOUND, name)
    checked = check(name)
    if checked.kind == "ods" and engine == "openpyxl":
        raise ReadError(ENGINE_UNSUPPORTED, name)
    return checked


def load_book(path: str | os.PathLike,
              sheet_names: Iterable[str] | Callable[[list[str]], Iterable[str]] | None = None, *,
              engine: str = "calamine") -> GridBook:
    """Read the sheets ``sheet_names`` (all when None; unknown names are ignored).

    ``sheet_names`` may also be a function that receives the workbook's sheet
    names and returns the ones to read."""
    name = os.fspath(path)
    checked = _checked(name, engine)
    kind = checked.kind
    scan = _SheetScan(name, checked)
    streamed = _streamed(name, sheet_names, checked, scan.run) if engine == "calamine" else None
    if streamed is not None:
        del checked
        return _finish(name, *streamed, engine, kind, scan)
    data = stored_zip(checked, _scanned_sheets(checked)) if engine == "calamine" else None
    data = data or checked.data
    del checked  # the scan holds the inflated parts only until it has run
    if engine == "calamine":
        names, grids = _read_calamine(name, sheet_names, data, scan.run)
    else:
        names, grids = _read_openpyxl(name, sheet_names, data)
    del data
    return _finish(name, names, grids, engine, kind, scan)


def _streamed(name: str, wanted: Any, checked: Checked, before: Callable[[list[str]], None]) -> Any:
    """The sheets of a large xlsx read by :mod:`xlflow.reading.sheetstream`, or None."""
    from xlflow.reading import sheetstream

    return sheetstream.read_streamed(name, wanted, checked, before) if sheetstream.wanted_for(checked) else None


def _finish(name: str, names: list[str], grids: dict[str, SheetGrid], engine: str, kind: str,
            scan: "_SheetScan") -> GridBook:
    if not names:
        raise ReadError(WORKBOOK_CORRUPT, name, detail="в книге нет ни одного листа")
    if grids:
        extras = scan.result(list(grids))
        for sheet, grid in grids.items():
            _apply_extras(grid, extras.get(sheet))
        if any(long_sheet(grid) for grid in grids.values()):
            release_heap()  # the parser's buffers of a long sheet, before the records are built
    return GridBook(name, names, grids, engine, kind, kind_problems(kind, name))


def release_heap() -> None:
    """Give the heap memory freed so far back to the system (glibc): Python's
    small objects live in arenas of their own and cannot reuse what the
    parser (Rust) and large buffers freed, so a big file's peak would stay."""
    import ctypes  # only here: its import costs every start-up ~2 ms

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class _SheetScan:
    """Merged ranges and error cells of the sheets read, scanned from the
    checked parts before the parser reads the cells (so that the inflated
    parts are freed first: a school's registry keeps megabytes of them).
    A failure of the scan is raised by :meth:`result`, as if the scan had
    run after the parser: a parser's own error still comes first."""

    def __init__(self, name: str, checked: Checked) -> None:
        self.name = name
        self.checked: Checked | None = checked
        self.found: dict[str, tuple[dict, list]] = {}
        self.error: BaseException | None = None

    def run(self, sheets: list[str]) -> None:
        checked, self.checked = self.checked, None
        if not sheets or checked is None:
            return
        try:
            self.found = (_ods_extras if checked.kind == "ods" else _xlsx_extras)(self.name, list(sheets), checked)
        except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
            self.error = exc

    def result(self, sheets: list[str]) -> dict[str, tuple[dict, list]]:
        if self.checked is not None:  # not run before the cells were read (openpyxl)
            self.run(sheets)
        if self.error is not None:
            raise ReadError(WORKBOOK_CORRUPT, self.name, detail=_short(self.error)) from self.error
        return self.found


def read_grids(path: str | os.PathLike, sheet_names: Iterable[str] | None = None, *,
               engine: str = "calamine") -> dict[str, list[list[Any]]]:
    """Raw cell values per sheet: ``{sheet name: rows}``, ``rows[0]`` = Excel row 1."""
    book = load_book(path, sheet_names, engine=engine)
    return {name: grid.rows for name, grid in book.sheets.items()}
