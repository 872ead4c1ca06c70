"""Pre-checks that run before any parser sees a user's file.

openpyxl trusts the declared sheet dimension, python-calamine allocates dense
grids and aborts the whole interpreter when an allocation fails, and both
inflate zip members without limits. :func:`precheck` therefore looks at the
raw bytes first, cheaply:

* the container: an OOXML/ODF zip, an OLE2 (CFB) file (legacy ``.xls`` or a
  password-protected workbook), or something else (text, Word, PDF...);
* the zip directory (unpacked from the bytes by :mod:`xlflow.reading.zipdir`
  as zipfile reads it; zipfile itself for unusual layouts): number of
  entries, member names (``../``, absolute), declared sizes, compression
  methods;
* every member is inflated by streaming, without trusting the headers: the
  bytes actually produced are counted against the size limits and the
  inflate ratio (with a grace size so ordinary files pass);
* while inflating, XML parts are scanned for ``<!DOCTYPE``/``<!ENTITY``
  (entity expansion, external entities) in UTF-8 and UTF-16, and worksheet
  parts for the declared ``<dimension>`` and the real maximum row/column of
  their cells, so a sheet with a cell at XFD1048576 is refused before a
  parser builds a grid for it.

The result is the file kind (``xlsx``, ``xlsm`` or ``ods``); a file xlflow must
not read raises :class:`xlflow.errors.ReadError` with a registered code.
"""
from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import Any, BinaryIO, Literal, Mapping

from xlflow.errors import ReadError
from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.reading.foreign import OLE_MAGIC, cfb_stream_names, sniff_foreign
from xlflow.reading.memo import Inflated, InflatedMemo
from xlflow.reading.zipdir import Member, Source, from_zipfile, read_directory

__all__ = ["Checked", "Limits", "DEFAULT_LIMITS", "check", "precheck", "cfb_stream_names",
           "sniff_foreign", "col_number", "kind_problems", "problem_from_error"]

MiB = 1024 * 1024

FileKind = Literal["xlsx", "xlsm", "ods"]

# ---------------------------------------------------------------- codes
NOT_A_WORKBOOK = register(
    "not-a-workbook", ERROR,
    "Файл не является книгой Excel: {reason}. Откройте исходную книгу в Excel или LibreOffice, "
    "сохраните её как «Книга Excel (.xlsx)» и пришлите этот файл.",
    "not a spreadsheet (empty, text, Word, random bytes, truncated, foreign zip)")
LEGACY_XLS = register(
    "legacy-xls", ERROR,
    "Файл в старом формате .xls. Откройте его в Excel или LibreOffice и сохраните как "
    "«Книга Excel (.xlsx)».",
    "legacy BIFF .xls workbook")
ENCRYPTED = register(
    "encrypted-workbook", ERROR,
    "Книга защищена паролем (зашифрована), поэтому её нельзя прочитать. Откройте её в Excel, "
    "выберите «Файл → Сведения → Защитить книгу → Зашифровать с использованием пароля», "
    "удалите пароль, сохраните книгу и пришлите её снова (в LibreOffice: «Файл → Сохранить как», "
    "снимите флажок «Сохранить с паролем»).",
    "password-protected (encrypted) workbook")
MACRO_WORKBOOK = register(
    "macro-workbook", WARNING,
    "Книга с макросами (.xlsm): макросы никогда не запускаются, xlflow прочитал только значения "
    "ячеек. Чтобы не получать это предупреждение, сохраните книгу как «Книга Excel (.xlsx)».",
    "macro-enabled workbook: values read, macros ignored")
ODS = register(
    "ods", ERROR,
    "Файл в формате OpenDocument (.ods) здесь не принимается. Откройте его в LibreOffice Calc, "
    "выберите «Файл → Сохранить как», тип файла «Excel 2007–365 (.xlsx)», и пришлите этот файл.",
    "OpenDocument spreadsheet where only xlsx is accepted")
BINARY_WORKBOOK = register(
    "binary-workbook", ERROR,
    "Книга сохранена в двоичном формате Excel (.xlsb), xlflow его не читает. Откройте её в Excel "
    "и сохраните как «Книга Excel (.xlsx)».",
    "xlsb workbook")
FILE_TOO_LARGE = register(
    "file-too-large", ERROR,
    "Файл слишком большой ({size_mb} МБ, допускается не больше {limit_mb} МБ). Книга программы "
    "наставничества занимает обычно меньше 1 МБ: проверьте, тот ли это файл, удалите из книги "
    "картинки и лишние листы и сохраните её заново.",
    "file larger than max_file_bytes")
XML_ENTITIES = register(
    "xml-entities", ERROR,
    "Книга содержит объявления DOCTYPE/ENTITY в части «{part}». Excel и LibreOffice такие книги "
    "не создают; это может быть попыткой атаки, поэтому файл не прочитан. Откройте данные в "
    "Excel, скопируйте их в новую книгу xlflow и пришлите её.",
    "DOCTYPE/ENTITY in an XML part (billion laughs, XXE)")
ZIP_BOMB = register(
    "zip-bomb", ERROR,
    "Книга распаковывается в слишком большой объём ({detail}), это похоже на «zip-бомбу», "
    "поэтому файл не прочитан. Если файл настоящий, скопируйте данные в новую книгу xlflow и "
    "пришлите её.",
    "member or total inflated size or inflate ratio over the limits")
TOO_MANY_ENTRIES = register(
    "too-many-entries", ERROR,
    "Книга состоит из слишком большого числа частей ({count}, допускается не больше {limit}), "
    "поэтому файл не прочитан. Скопируйте данные в новую книгу xlflow и пришлите её.",
    "zip with too many entries")
UNSAFE_MEMBER = register(
    "unsafe-member-name", ERROR,
    "Книга содержит часть с недопустимым именем «{member}» (выход за пределы архива). Excel и "
    "LibreOffice такие файлы не создают; файл не прочитан. Скопируйте данные в новую книгу "
    "xlflow и пришлите её.",
    "zip member with ../ or an absolute path")
UNREADABLE = register(
    "file-unreadable", ERROR,
    "Нет прав на чтение файла. Попросите владельца открыть доступ на чтение или скопируйте файл "
    "в свою папку и повторите.",
    "permission denied")
VANISHED = register(
    "file-vanished", WARNING,
    "Файл исчез во время работы (его переместили, переименовали или удалили): пропущен. "
    "Повторите команду, когда все файлы будут на месте.",
    "file disappeared between listing and reading")
SHEET_TOO_LARGE = register(
    "sheet-too-large", ERROR,
    "Лист «{sheet}» слишком большой: {detail} (допускается не больше {max_rows} строк и "
    "{max_cols} столбцов). Удалите лишние строки и столбцы после таблицы (выделите их, "
    "«Удалить»), сохраните книгу и пришлите её снова.",
    "sheet dimension or cells beyond max_rows/max_cols")


# ---------------------------------------------------------------- limits
@dataclass(frozen=True)
class Limits:
    """Resource limits of the pre-check (and of what the parsers may see).

    Every field can be overridden from the environment with
    ``XLFLOW_<FIELD NAME IN CAPITALS>`` (see :meth:`from_env`)."""

    max_file_bytes: int = 50 * MiB
    max_uncompressed_bytes: int = 200 * MiB  # all members together, as inflated
    max_member_bytes: int = 100 * MiB  # one member, as inflated
    max_ratio: int = 100  # inflated / compressed, checked past ratio_grace_bytes
    ratio_grace_bytes: int = 10 * MiB
    max_entries: int = 2000
    max_rows: int = 100_000
    max_cols: int = 1024
    max_cells: int = 5_000_000  # rows x cols of the grid a parser would build

    @classmethod
    def from_env(cls, environ: "os._Environ[str] | dict[str, str] | None" = None) -> "Limits":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get("XLFLOW_" + f.name.upper(), "").strip()
            if raw.isdigit() and int(raw) > 0:  # anything else keeps the default
                values[f.name] = int(raw)
        return cls(**values)


DEFAULT_LIMITS = Limits.from_env()


# ---------------------------------------------------------------- entry point
@dataclass(frozen=True)
class Checked:
    """What the pre-check saw, for the reader that follows it.

    ``data`` holds the file's bytes as checked (None for a file too large to
    read into memory) so that the parser reads exactly those bytes; ``parts``
    the inflated members, as scanned, within a small budget; ``entries`` every
    member of the zip in order, as (name, CRC-32 declared in the directory);
    ``complete``: every member is in ``parts``."""

    kind: FileKind
    data: bytes | None = None
    parts: Mapping[str, bytes] = field(default_factory=dict)
    entries: tuple[tuple[str, int], ...] = ()
    complete: bool = False

    @cached_property
    def members(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.entries)


def precheck(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> FileKind:
    """Check ``path`` before any parser opens it; return its kind.

    Raises :class:`ReadError` (registered code, ``file`` = path) for a file
    that is not a workbook xlflow reads or that exceeds ``limits``."""
    return check(path, limits).kind


def check(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Checked:
    """:func:`precheck`, returning what the reader needs besides the kind."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            # ordinary workbooks are read once into memory: no seek/read per member
            data = raw.read() if size <= _IN_MEMORY else None
            fh: BinaryIO = io.BytesIO(data) if data is not None else raw
            head = fh.read(4096)
            return _check_open_file(fh, file, size, head, limits)
    except ReadError:
        raise
    except FileNotFoundError as exc:
        raise ReadError(VANISHED, file=file) from exc
    except PermissionError as exc:
        raise ReadError(UNREADABLE, file=file) from exc
    except IsADirectoryError as exc:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это папка, а не файл") from exc
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, OSError,
            NotImplementedError, RuntimeError, OverflowError) as exc:  # zipfile's ways of saying "broken"
        raise ReadError(NOT_A_WORKBOOK, file=file, reason=DAMAGED) from exc


DAMAGED = "файл повреждён или загружен не полностью"


def problem_from_error(err: ReadError) -> Problem:
    """The :class:`Problem` (with the file) for a read failure, for reports."""
    return Problem(err.code, file=err.file, params=dict(err.params))


def kind_problems(kind: FileKind, file: str | None = None) -> list[Problem]:
    """Warnings a reader adds for a file of this kind (``.xlsm``: macros ignored)."""
    if kind == "xlsm":
        return [Problem(MACRO_WORKBOOK, file=file)]
    return []


def _check_open_file(fh: BinaryIO, file: str, size: int, head: bytes, limits: Limits) -> Checked:
    if size == 0:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="файл пустой")
    if size > limits.max_file_bytes:
        raise ReadError(FILE_TOO_LARGE, file=file, size_mb=_mb(size), limit_mb=_mb(limits.max_file_bytes))
    if head.startswith(OLE_MAGIC):
        _raise_for_ole(fh, file, size)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        raise ReadError(NOT_A_WORKBOOK, file=file, reason=sniff_foreign(head))
    return _check_zip(fh, file, size, limits)


def _mb(n: int) -> str:
    return f"{n / MiB:.1f}".replace(".", ",")


# ---------------------------------------------------------------- OLE2 / CFB
def _raise_for_ole(fh: BinaryIO, file: str, size: int) -> None:
    names = {n.lower() for n in cfb_stream_names(fh, size)}
    if {"encryptioninfo", "encryptedpackage"} & names:
        raise ReadError(ENCRYPTED, file=file)
    if {"workbook", "book"} & names:
        raise ReadError(LEGACY_XLS, file=file)
    if "worddocument" in names:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это документ Word")
    if "powerpoint document" in names:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это презентация PowerPoint")
    raise ReadError(NOT_A_WORKBOOK, file=file, reason="это документ Microsoft Office другого типа")


# ---------------------------------------------------------------- zip container
_IN_MEMORY = 8 * MiB
_EOCD = b"PK\x05\x06"
_CHUNK = 256 * 1024
_OUT_CHUNK = 1024 * 1024


def _check_zip(fh: BinaryIO, file: str, size: int, limits: Limits) -> Checked:
    _check_declared_entry_count(fh, file, size, limits)
    data = fh.getvalue() if isinstance(fh, io.BytesIO) else None
    infos = read_directory(data) if data is not None else None
    if infos is None:
        infos = from_zipfile(fh)  # an unusual layout: zipfile reads (or refuses) it
    if len(infos) > limits.max_entries:
        raise ReadError(TOO_MANY_ENTRIES, file=file, count=len(infos), limit=limits.max_entries)
    names = {i.filename for i in infos}
    if _maybe_unsafe_names(names):
        for info in infos:  # in order: the first unsafe name is the one reported
            _check_member_name(info.filename, file)
    src = Source(fh, size, data)
    kind = _zip_kind(src, file, infos, names)
    _check_declared_sizes(infos, file, limits)
    kept = _Kept() if data is not None else None
    try:
        _inflate_all(src, file, infos, limits, ods=(kind == "ods"), kept=kept)
    except ReadError as err:
        if err.code == SHEET_TOO_LARGE and kind != "ods":
            name = _sheet_name_of_part(src, infos, str(err.params["sheet"]))
            if name:
                raise ReadError(SHEET_TOO_LARGE, file=file, **{**err.params, "sheet": name}) from err
        raise
    entries = tuple(map(_NAME_AND_CRC, infos))
    if kept is None:
        return Checked(kind, None, {}, entries)
    return Checked(kind, data, kept.parts, entries, kept.complete)


def _sheet_name_of_part(src: Source, infos: list[Member], part: str) -> str | None:
    """The sheet name a user sees for a worksheet part (for messages only)."""
    from defusedxml import ElementTree as DET

    names = {i.filename: i for i in infos}
    try:
        book = DET.fromstring(_read_small(src, names["xl/workbook.xml"], MiB), forbid_dtd=True)
        rels = DET.fromstring(_read_small(src, names["xl/_rels/workbook.xml.rels"], MiB), forbid_dtd=True)
    except Exception:  # noqa: BLE001 - no name: the message shows the part
        return None
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter() if r.tag.endswith("Relationship")}
    for el in book.iter():
        if el.tag.endswith("}sheet"):
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            full = target.lstrip("/") if target.startswith("/") else "xl/" + target
            if full == part:
                return el.get("name")
    return None


def _check_declared_entry_count(fh: BinaryIO, file: str, size: int, limits: Limits) -> None:
    """Read the entry count from the end-of-central-directory record before
    zipfile builds a ZipInfo per entry."""
    tail_len = min(size, 65536 + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(_EOCD)
    if pos < 0 or pos + 22 > len(tail):
        raise ReadError(NOT_A_WORKBOOK, file=file, reason=DAMAGED)
    total = struct.unpack_from("<H", tail, pos + 10)[0]
    cd_size = struct.unpack_from("<I", tail, pos + 12)[0]
    if total != 0xFFFF and total > limits.max_entries:
        raise ReadError(TOO_MANY_ENTRIES, file=file, count=total, limit=limits.max_entries)
    # a central directory entry is at least 46 bytes: bound zip64 counts too
    if cd_size != 0xFFFFFFFF and cd_size // 46 > limits.max_entries and cd_size > 4 * MiB:
        raise ReadError(TOO_MANY_ENTRIES, file=file, count=f"более {cd_size // 46}", limit=limits.max_entries)


_DRIVE = re.compile(r"^[A-Za-z]:")
_NAME_AND_CRC = attrgetter("filename", "CRC")


def _maybe_unsafe_names(names: set[str]) -> bool:
    """False when no name can fail :func:`_check_member_name`: a few searches
    over all the names at once instead of a call per name."""
    joined = "\n".join(names)
    return (".." in joined or ":" in joined or "\\" in joined or "\x00" in joined
            or joined.startswith("/") or "\n/" in joined)


def _check_member_name(name: str, file: str) -> None:
    if ".." not in name and ":" not in name and "\\" not in name and "\x00" not in name \
            and not name.startswith("/"):
        return  # nothing below can match
    norm = name.replace("\\", "/")
    parts = norm.split("/")
    if norm.startswith("/") or _DRIVE.match(norm) or ".." in parts or "\x00" in name:
        raise ReadError(UNSAFE_MEMBER, file=file, member=name[:200])


def _zip_kind(src: Source, file: str, infos: list[Member], names: set[str]) -> FileKind:
    if "mimetype" in names:
        mime = _read_small(src, _info(infos, "mimetype"), 200).strip()
        if mime == b"application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
        if mime.startswith(b"application/vnd.oasis.opendocument.text"):
            raise ReadError(NOT_A_WORKBOOK, file=file, reason="это текстовый документ OpenDocument (.odt)")
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это документ OpenDocument другого типа")
    if "[Content_Types].xml" not in names:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это zip-архив, а не книга")
    info = _info(infos, "[Content_Types].xml")
    small = _small_member(src, info)  # remembered: the same in every copy of a template
    ctypes = small.data if small is not None else _read_small(src, info, 1 * MiB)
    _scan_entities(ctypes, file, "[Content_Types].xml")
    if b"ms-excel.sheet.binary.macroEnabled.main" in ctypes:
        raise ReadError(BINARY_WORKBOOK, file=file)
    if b"macroEnabled.main+xml" in ctypes:
        return "xlsm"
    if b"spreadsheetml.sheet.main+xml" in ctypes or b"spreadsheetml.template.main+xml" in ctypes:
        return "xlsx"
    if b"wordprocessingml" in ctypes:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это документ Word (.docx)")
    if b"presentationml" in ctypes:
        raise ReadError(NOT_A_WORKBOOK, file=file, reason="это презентация PowerPoint (.pptx)")
    raise ReadError(NOT_A_WORKBOOK, file=file, reason="это zip-архив, а не книга")


def _info(infos: list[Member], name: str) -> Member:
    return [i for i in infos if i.filename == name][-1]


def _check_declared_sizes(infos: list[Member], file: str, limits: Limits) -> None:
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ReadError(ENCRYPTED, file=file)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ReadError(NOT_A_WORKBOOK, file=file, reason="части книги сжаты неизвестным способом")
        if info.file_size > limits.max_member_bytes:
            raise ReadError(ZIP_BOMB, file=file, detail=f"часть «{info.filename[:100]}» — {_mb(info.file_size)} МБ")
        total += info.file_size
    if total > limits.max_uncompressed_bytes:
        raise ReadError(ZIP_BOMB, file=file, detail=f"всего {_mb(total)} МБ")


def _read_small(src: Source, info: Member, cap: int) -> bytes:
    """Inflate a small member (at most ``cap`` bytes of output)."""
    start = src.data_offset(info)
    raw = src.read(start, min(info.compress_size, src.size - start, cap))
    if info.compress_type == zipfile.ZIP_STORED:
        return raw[:cap]
    return zlib.decompressobj(-15).decompress(raw, cap)


# ---------------------------------------------------------------- streaming inflate
class _Budget:
    def __init__(self, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.total = 0

    def add(self, name: str, member_out: int, member_in: int, n: int) -> None:
        lim = self.limits
        self.total += n
        if member_out > lim.max_member_bytes:
            raise ReadError(ZIP_BOMB, file=self.file,
                            detail=f"часть «{name[:100]}» — больше {_mb(lim.max_member_bytes)} МБ")
        if self.total > lim.max_uncompressed_bytes:
            raise ReadError(ZIP_BOMB, file=self.file, detail=f"всего больше {_mb(lim.max_uncompressed_bytes)} МБ")
        if member_out > lim.ratio_grace_bytes and member_out > lim.max_ratio * max(member_in, 1):
            raise ReadError(ZIP_BOMB, file=self.file,
                            detail=f"часть «{name[:100]}» сжата в {member_out // max(member_in, 1)} раз")


# Inflated members kept for the reader (it scans sheets again for merged
# ranges and error cells, and hands the parser the very bytes checked): small
# ones only, so a hostile file cannot make us hold much.
_KEEP_MEMBER = 4 * MiB
_KEEP_TOTAL = 16 * MiB


class _Kept:
    """Inflated members, within :data:`_KEEP_TOTAL`; ``complete`` while none was left out."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}
        self.total = 0
        self.complete = True

    def add(self, name: str, pieces: list[bytes] | None, size: int) -> None:
        if pieces is None or self.total + size > _KEEP_TOTAL:
            self.parts.pop(name, None)  # a duplicate name must not leave an older copy
            self.complete = False
            return
        self.total += size
        self.parts[name] = pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _inflate_all(src: Source, file: str, infos: list[Member], limits: Limits, ods: bool,
                 kept: _Kept | None = None) -> None:
    budget = _Budget(file, limits)
    plain = (limits, False)  # the scan a member passed, as its memo remembers it
    for info in infos:
        name = info.filename
        if name.endswith("/"):
            continue  # a folder entry
        scan = (limits, True) if ods and name == "content.xml" else plain
        small = _small_member(src, info)
        if small is None:
            _inflate_streamed(src, file, info, scan, budget, kept)
            continue
        out = small.data
        budget.add(name, len(out), small.consumed, len(out))
        if scan not in small.clean:  # scanned as the one piece it streams as
            _PartScanner(file, name, limits, ods=scan[1]).scan_whole(out)
            small.clean.append(scan)
        if kept is not None:
            kept.add(name, [out] if len(out) <= _KEEP_MEMBER else None, len(out))


_MEMO = InflatedMemo(MiB // 4)  # the parts copies share (~50 KB) fit several times over
_MEMO_IN = 64 * 1024  # largest compressed member remembered


def _small_member(src: Source, info: Member) -> Inflated | None:
    """A small deflated member whose stream ends within its first read (the
    read :func:`_inflate_deflate` makes) and inflates to one piece, else None
    (the member is then streamed)."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.compress_size > _MEMO_IN:
        return None
    start = src.data_offset(info)
    want = info.compress_size if info.compress_size > 64 else 64  # at most _MEMO_IN, below _CHUNK
    raw = src.read(start, want if want < src.size - start else src.size - start)
    hit = _MEMO.get(raw)
    if hit is not None:
        return hit
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(raw, _OUT_CHUNK)
    except zlib.error:  # streamed, it fails the same way
        return None
    if not (d.eof and out and len(out) < _OUT_CHUNK):
        return None
    found = Inflated(out, len(raw) - len(d.unused_data))
    _MEMO.add(raw, found)
    return found


def _inflate_streamed(src: Source, file: str, info: Member, scan: tuple[Limits, bool], budget: _Budget,
                      kept: _Kept | None) -> None:
    """Inflate a member piece by piece, each piece counted and scanned as it comes."""
    scanner = _PartScanner(file, info.filename, scan[0], ods=scan[1])
    pieces: list[bytes] | None = [] if kept is not None else None
    got = 0
    for piece in _inflate_member(src, info, budget):
        scanner.feed(piece)
        if pieces is not None:
            got += len(piece)
            pieces = pieces if got <= _KEEP_MEMBER else None
            if pieces is not None:
                pieces.append(piece)
    scanner.close()
    if kept is not None:
        kept.add(info.filename, pieces if pieces != [] else [b""], got)


def _inflate_member(src: Source, info: Member, budget: _Budget):
    """Yield the bytes of a member as a parser would get them, ignoring the
    declared sizes: a deflate stream is inflated until it ends (or the file
    ends), so headers that lie cannot hide a bomb."""
    start = src.data_offset(info)
    if info.compress_type == zipfile.ZIP_STORED:
        remaining = min(info.compress_size, src.size - start)
        pos = start
        while remaining > 0:
            data = src.read(pos, min(_CHUNK, remaining))
            if not data:
                break
            pos += len(data)
            remaining -= len(data)
            budget.add(info.filename, pos - start, pos - start, len(data))
            yield data
        return
    yield from _inflate_deflate(src, info.filename, start, budget, info.compress_size)


def _inflate_deflate(src: Source, name: str, start: int, budget: _Budget, declared: int):
    d = zlib.decompressobj(-15)
    pos, out_total, consumed, size = start, 0, 0, src.size
    pending = b""
    want = max(declared, 64)  # the declared compressed size first; more if the stream goes on
    while not d.eof:
        if not pending:
            if pos >= size:
                break  # truncated stream: parsers fail on it; nothing more to inflate
            pending = src.read(pos, min(want, _CHUNK, size - pos))
            want = _CHUNK
            pos += len(pending)
        out = d.decompress(pending, _OUT_CHUNK)
        consumed += len(pending) - len(d.unconsumed_tail) - len(d.unused_data)
        pending = d.unconsumed_tail
        if out:
            out_total += len(out)
            budget.add(name, out_total, consumed, len(out))
            yield out


# ---------------------------------------------------------------- XML scans
_ENTITY_PATTERNS = tuple(
    p.encode(enc) for p in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
_TAIL = 32


def _scan_entities(data: bytes, file: str, part: str) -> None:
    if b"!" not in data:  # memchr: every pattern contains "!"
        return
    if b"<!" not in data and b"<\x00!" not in data:  # every pattern contains one ("!" is common in text)
        return
    for pat in _ENTITY_PATTERNS:
        if pat in data:
            raise ReadError(XML_ENTITIES, file=file, part=part[:200])


# Encodings expat decodes itself; any other name makes Python look up a codec
# (an unknown one raises LookupError in the parser). Excel writes UTF-8.
_XML_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii",
                  "iso-8859-1", "latin-1", "latin1"}
_XML_DECL_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([^"']{0,40})["']""")


def _check_declared_encoding(head: bytes, file: str, part: str) -> None:
    if b'encoding="UTF-8"' in head or b"encoding" not in head:  # what everybody writes
        return
    m = _XML_DECL_ENCODING.match(head)
    if m and m.group(1).decode("ascii", "replace").strip().lower() not in _XML_ENCODINGS:
        raise ReadError(NOT_A_WORKBOOK, file=file,
                        reason=f"часть «{part[:100]}» записана в неизвестной кодировке, файл повреждён")


# Fast path. Parsers place a cell by its own r= (the row's r= only matters
# for cells without one), so a sheet is "plain" when every cell tag is exactly
# ``<c r="B7"`` with one letter and fewer digits than max_rows: then no cell
# lies past column Z or row 99,999. One search finds any other cell tag: no
# r=, r= not first, spaces, quotes, ``$``, lower case, two or more letters, a
# long row number, or a second r attribute (python-calamine takes the last). It starts with the literal ``<c`` so the engine skips to it
# at C speed. Namespace prefixes (``<x:c``) are found by a second search.
# Anything found sends the piece to the exact (slower) path.
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_REF = rb"""\sr\s*=\s*["']\$?"""
_ANY_REF = re.compile(_REF + rb"""([A-Za-z]*)\$?0*([0-9]+)["']""")
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_ROW_WITH_R = re.compile(rb"""<(?:[\w.-]+:)?row(?=\s)[^<>]*?\sr\s*=""")
_CELL_WITH_R = re.compile(rb"""<(?:[\w.-]+:)?c(?=\s)[^<>]*?\sr\s*=""")
_SST_TAG = re.compile(rb"<(?:[\w.-]+:)?sst[\s>][^>]*>")
_UNIQUE_COUNT = re.compile(rb"""uniqueCount\s*=\s*["']\s*\+?0*([0-9]+)""")
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\s[^<>]*?ref\s*=\s*["']([^"']{1,64})["']""")


def _prefixed(buf: bytes, end: int) -> bool:
    """A prefixed cell or row tag in ``buf[:end]`` (one search: the engine
    skips to each ":" faster than two ``bytes.find`` calls would)."""
    return _PREFIXED.search(buf, 0, end) is not None


@lru_cache(maxsize=8)
def _plain_cells(max_rows: int) -> tuple[int, re.Pattern]:
    """The rows a plain piece may reach (its refs have fewer digits than
    ``max_rows`` has: below ``10 ** (digits - 1)``) and its odd-cell search."""
    digits = len(str(max_rows))
    return 10 ** (digits - 1) - 1, _odd_cells(digits)


# ``[^>r]`` spelled as three ranges: sre tests a set of three ranges against a
# bitmap, but a negated pair of letters letter by letter, and this set runs
# over every attribute of every cell (about a sixth fewer instructions per sheet)
_NOT_GT_R = rb"[\x00-=?-qs-\xff]"


@lru_cache(maxsize=8)
def _odd_cells(digits: int) -> re.Pattern:
    """Cell tags that are not a plain ``<c r="B7" s="1" t="s">`` with fewer
    than ``digits`` digits (see above)."""
    # after the ref, an "r" may only appear inside a word (t="str"), never
    # as an attribute name (r= or r =)
    return re.compile(rb'<c(?! r="[A-Z][0-9]{1,%d}"%s*+(?:r(?![\s=])%s*+)*+>)[\s/>]'
                      % (digits - 1, _NOT_GT_R, _NOT_GT_R))


def col_number(letters: bytes) -> int:
    """1-based column number of Excel letters (A -> 1, XFD -> 16384)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


class _PartScanner:
    """Streams one member: entity scan for every part; sheet bounds for parts
    that contain ``sheetData``; repeated-cell bounds for ODS content."""

    def __init__(self, file: str, part: str, limits: Limits, ods: bool) -> None:
        self.file, self.part, self.limits = file, part, limits
        self.carry = b""
        self.is_sheet = False
        self.row_bound = 0  # upper bound of the last row of any cell
        self.col_bound = 0  # upper bound of the last column
        self.implicit_rows = self.implicit_cells = 0
        self.started = False
        self.plain_rows, self.odd_cells = _plain_cells(limits.max_rows)
        # limits below the plain bound (26 columns, plain_rows rows) would refuse
        # every ordinary sheet: then each piece is bounded exactly
        self.plain_fits = 26 <= limits.max_cols and self.plain_rows * 26 <= limits.max_cells
        self.ods = _ods_bounds(self) if ods else None

    def scan_whole(self, data: bytes) -> None:
        """:meth:`feed` then :meth:`close` for a member inflated in one piece:
        the same scans over the same bytes, without splitting off the last tag."""
        if self.ods is not None:
            self.feed(data)
            self.close()
            return
        _scan_entities(data, self.file, self.part)
        _check_declared_encoding(data[:256], self.file, self.part)
        self._process(data, len(data))

    def feed(self, data: bytes) -> None:
        buf = self.carry + data if self.carry else data
        _scan_entities(buf, self.file, self.part)
        if not self.started:
            self.started = True
            _check_declared_encoding(buf[:256], self.file, self.part)
        # a tag split between two chunks is carried over and seen whole
        cut = buf.rfind(b"<")
        if cut <= 0 or len(buf) - cut > _OUT_CHUNK:
            cut = max(len(buf) - _TAIL, 0)
        self._process(buf, cut)
        self.carry = buf[cut:]

    def close(self) -> None:
        if self.ods is not None or b"<" in self.carry[1:] or not self.carry.startswith(b"</"):
            self._process(self.carry, len(self.carry))  # not just a closing tag like </worksheet>
        self.carry = b""

        if self.ods is not None:
            self.ods.close()

    def _process(self, buf: bytes, end: int) -> None:
        """Scan ``buf[:end]`` (searched in place, without copying)."""
        if end <= 0:
            return
        if self.ods is not None:
            self.ods.feed(buf[:end])
            return
        at = buf.find(b"uniqueCount", 0, end)  # an sst tag without the attribute reserves nothing
        if at >= 0:
            self._check_shared_strings(buf, at, end)
        if not self.is_sheet:
            at = buf.find(b"sheetData", 0, end)
            if at < 0:
                return
            self.is_sheet = True
            m = _DIMENSION.search(buf, 0, end)
            if m:
                self._check_extent(*_ref_extent(m.group(1)), declared=True)
        if self._is_plain(buf, end):
            # every ref has one letter and fewer digits than max_rows: narrow and short
            self.col_bound = max(self.col_bound, 26)
            self.row_bound = max(self.row_bound, self.plain_rows)
        else:
            self._exact_piece(buf, end)
        # a row or cell without r= takes the next position: bound it conservatively
        self._check_extent(self.row_bound + self.implicit_rows, self.col_bound + self.implicit_cells,
                           declared=False)

    def _check_shared_strings(self, buf: bytes, at: int, end: int) -> None:
        """python-calamine reserves ``uniqueCount`` strings up front (at every
        ``sst`` tag): a huge declared count aborts the interpreter. ``at`` is
        the first ``uniqueCount`` of the piece; each is checked in its tag."""
        while at >= 0:
            m = _SST_TAG.match(buf, max(buf.rfind(b"<", 0, at), 0))
            count = _UNIQUE_COUNT.match(buf, at, m.end()) if m and m.end() > at else None
            declared = int(count.group(1)) if count else 0
            if declared > self.limits.max_cells:
                raise ReadError(NOT_A_WORKBOOK, file=self.file,
                                reason=f"список строк книги объявляет {declared} записей, файл повреждён")
            at = buf.find(b"uniqueCount", at + 1, end)

    def _is_plain(self, buf: bytes, end: int) -> bool:
        if self.col_bound > 26 or not self.plain_fits:  # a wide sheet or tight limits: exact all along
            return False
        return not (self.odd_cells.search(buf, 0, end) or _prefixed(buf, end))

    def _exact_piece(self, buf: bytes, end: int) -> None:
        refs = _ANY_REF.findall(buf, 0, end)
        if refs:
            letters = {r[0] for r in refs if r[0]}
            if letters:
                self.col_bound = max(self.col_bound, max(map(col_number, letters)))
            self.row_bound = max(self.row_bound, max(int(r[1]) for r in refs))
        rows, cells = len(_ROW_TAG.findall(buf, 0, end)), len(_CELL_TAG.findall(buf, 0, end))
        rows_r = len(_ROW_WITH_R.findall(buf, 0, end))
        cells_r = len(_CELL_WITH_R.findall(buf, 0, end))
        self.implicit_rows += max(rows - rows_r, 0)
        self.implicit_cells += max(cells - cells_r, 0)

    def _check_extent(self, rows: int, cols: int, declared: bool, sheet: str | None = None) -> None:
        lim = self.limits
        if rows > lim.max_rows or cols > lim.max_cols or rows * cols > lim.max_cells:
            what = "объявленный размер листа доходит" if declared else "заполненные ячейки доходят"
            raise ReadError(SHEET_TOO_LARGE, file=self.file, sheet=(sheet or self.part)[:200],
                            detail=f"{what} до строки {rows} и столбца {cols}",
                            max_rows=lim.max_rows, max_cols=lim.max_cols)


_EXTENT_PART = re.compile(rb"\s*([A-Za-z]*)0*([0-9]*)\s*")


@lru_cache(maxsize=256)
def _ref_extent(ref: bytes) -> tuple[int, int]:
    """Largest row and column named in a range like ``A1:XFD1048576``."""
    rows = cols = 0
    for part in ref.replace(b"$", b"").split(b":"):
        m = _EXTENT_PART.fullmatch(part)
        if m:
            rows = max(rows, int(m.group(2) or 0))
            cols = max(cols, col_number(m.group(1)))
    return (rows, cols)


def _ods_bounds(scanner: _PartScanner) -> Any:
    from xlflow.reading.odsbounds import OdsBounds  # ODS is rare: its XML parser is loaded on demand

    return OdsBounds(scanner)
