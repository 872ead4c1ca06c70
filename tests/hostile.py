"""Generators of hostile and broken files, made during the test run.

Nothing here is a large binary kept in git: every case is built from a small
valid workbook (written with xlflow's own xlsx factory) by rewriting zip
members, patching zip headers, or assembling an OLE2 container by hand. A
"bomb" that would inflate to gigabytes is a few megabytes of repeated deflate
blocks (deflate cannot compress better than about 1:1032).
"""
from __future__ import annotations

import os
import random
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Callable

from xlflow.writing.xlsx import new_workbook

MiB = 1024 * 1024
SHEET1 = "xl/worksheets/sheet1.xml"


# ---------------------------------------------------------------- valid base files
def valid_xlsx(path: str | os.PathLike, sheets: int = 3, rows: int = 30, cols: int = 8,
               text: str = "Иванова Мария Петровна") -> Path:
    """A small ordinary workbook (fictional names)."""
    wb = new_workbook(str(path))
    for s in range(sheets):
        ws = wb.add_worksheet(f"Лист{s + 1}")
        for r in range(rows):
            for c in range(cols):
                if c % 2:
                    ws.write_string(r, c, f"{text} {r}")
                else:
                    ws.write_number(r, c, r * 10 + c)
    wb.close()
    return Path(path)


def rewrite_zip(src: str | os.PathLike, dst: str | os.PathLike,
                change: Callable[[str, bytes], bytes | None],
                extra: dict[str, bytes] | None = None) -> Path:
    """Copy a zip; ``change(name, data)`` returns new data (None drops the member)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return Path(dst)


def replace_in_sheet(src, dst, old: bytes, new: bytes, member: str = SHEET1) -> Path:
    def change(name: str, data: bytes) -> bytes:
        if name == member:
            assert old in data, (old, data[:200])
            return data.replace(old, new, 1)
        return data
    return rewrite_zip(src, dst, change)


# ---------------------------------------------------------------- not a workbook
def empty(path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def random_bytes(path, n: int = 5000, seed: int = 7) -> Path:
    rnd = random.Random(seed)
    data = bytes(rnd.randrange(256) for _ in range(n))
    Path(path).write_bytes(b"\x13\x37" + data)
    return Path(path)


def csv_renamed(path) -> Path:
    Path(path).write_text("ФИО;Стаж\nИванова Мария;12\nПетров Олег;3\n", encoding="cp1251")
    return Path(path)


def html_renamed(path) -> Path:
    Path(path).write_text("<html><body><table><tr><td>Иванова</td></tr></table></body></html>", encoding="utf-8")
    return Path(path)


def docx(path) -> Path:
    ctypes = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
              'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
              'officedocument.wordprocessingml.document.main+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ctypes)
        z.writestr("word/document.xml", "<w:document/>")
    return Path(path)


def foreign_zip(path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("photo.txt", "не книга")
        z.writestr("notes/readme.txt", "просто архив")
    return Path(path)


def truncated(src, dst, keep: float = 0.6) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * keep)])
    return Path(dst)


def xlsb(src, dst) -> Path:
    def change(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            return data.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.binary.macroEnabled.main")
        return data
    return rewrite_zip(src, dst, change)


def xlsm(src, dst) -> Path:
    """A macro-enabled workbook: content type and a vbaProject.bin member."""
    def change(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            return data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        return data
    return rewrite_zip(src, dst, change, extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\x00" * 512})


# ---------------------------------------------------------------- OLE2 containers
def ole2(path, streams: dict[str, bytes]) -> Path:
    """A minimal valid compound file (CFB v3) holding ``streams`` in the root."""
    sector = 512
    data_sectors: list[bytes] = []
    starts: dict[str, int] = {}
    for name, content in streams.items():
        content = content or b"\x00"
        starts[name] = 2 + len(data_sectors)
        for off in range(0, max(len(content), 4096), sector):  # >= 4096: not in the mini stream
            data_sectors.append(content[off:off + sector].ljust(sector, b"\x00"))
    n = 2 + len(data_sectors)
    fat = [0xFFFFFFFD, 0xFFFFFFFE]  # FAT sector, directory (one sector)
    for name in streams:
        first = starts[name]
        count = -(-max(len(streams[name]), 4096) // sector)
        fat.extend(list(range(first + 1, first + count)) + [0xFFFFFFFE])
    fat = fat[:n] + [0xFFFFFFFF] * (128 - n)
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<I", header, 0x4C, 0)
    for i in range(1, 109):
        struct.pack_into("<I", header, 0x4C + 4 * i, 0xFFFFFFFF)
    directory = _ole_entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1 if streams else 0xFFFFFFFF)
    names = list(streams)
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else 0xFFFFFFFF
        directory += _ole_entry(name, 2, starts[name], max(len(streams[name]), 4096), right=right)
    directory = directory.ljust(sector * ((len(directory) + sector - 1) // sector), b"\x00")
    assert len(directory) == sector, "keep test containers to three streams"
    body = bytes(header) + struct.pack("<128I", *fat) + directory + b"".join(data_sectors)
    Path(path).write_bytes(body)
    return Path(path)


def _ole_entry(name: str, kind: int, start: int, size: int, child: int = 0xFFFFFFFF,
               right: int = 0xFFFFFFFF) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    e = bytearray(128)
    e[0:len(raw)] = raw
    struct.pack_into("<HBB", e, 0x40, len(raw), kind, 1)
    struct.pack_into("<III", e, 0x44, 0xFFFFFFFF, right, child)
    struct.pack_into("<II", e, 0x74, start, size)
    return bytes(e)


def legacy_xls(path) -> Path:
    return ole2(path, {"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00" + b"\x00" * 100})


def encrypted(path) -> Path:
    """What Excel writes for a password-protected .xlsx: an OLE2 container."""
    return ole2(path, {"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\x00" * 64,
                       "EncryptedPackage": os.urandom(600)})


def word_doc(path) -> Path:
    return ole2(path, {"WordDocument": b"\xec\xa5" + b"\x00" * 200})


# ---------------------------------------------------------------- XML attacks
BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                    b'uniqueCount="1"><si><t>&lol9;</t></si></sst>')
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>')


def with_part(src, dst, member: str, data: bytes) -> Path:
    return rewrite_zip(src, dst, lambda name, old: data if name == member else old)


def unknown_encoding(src, dst) -> Path:
    """An XML declaration naming an encoding no parser knows."""
    def change(name: str, data: bytes) -> bytes:
        return data.replace(b'encoding="UTF-8"', b'encoding="UTF-1e309"', 1) if name == SHEET1 else data
    return rewrite_zip(src, dst, change)


def billion_laughs(src, dst) -> Path:
    return with_part(src, dst, "xl/sharedStrings.xml", BILLION_LAUGHS)


def xxe(src, dst) -> Path:
    return with_part(src, dst, "xl/sharedStrings.xml", XXE)


def xxe_utf16(src, dst) -> Path:
    text = XXE.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    return with_part(src, dst, "xl/sharedStrings.xml", b"\xff\xfe" + text.encode("utf-16-le"))


# ---------------------------------------------------------------- zip attacks
def _deflate_blocks(total: int, unit: int = 4 * MiB, fill: bytes = b" ") -> tuple[bytes, int]:
    """A raw deflate stream inflating to ``total`` bytes of ``fill``, built by
    repeating one fully flushed block: a few MB for gigabytes of output."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(b'<?xml version="1.0"?><worksheet><sheetData>') + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(fill * unit) + co.flush(zlib.Z_FULL_FLUSH)
    tail = co.flush(zlib.Z_FINISH)
    n = max(1, total // unit)
    return head + block * n + tail, 44 + n * unit


def _write_raw_member(zf_path, name: str, raw: bytes, size: int, crc: int = 0,
                      declared_size: int | None = None, copies: int = 1) -> None:
    """Append a deflated member with given raw stream; sizes as declared."""
    declared = size if declared_size is None else declared_size
    with open(zf_path, "r+b") as fh:
        data = fh.read()
        eocd = data.rfind(b"PK\x05\x06")
        cd_off, = struct.unpack_from("<I", data, eocd + 16)
        cd_size, = struct.unpack_from("<I", data, eocd + 12)
        entries, = struct.unpack_from("<H", data, eocd + 10)
        central = data[cd_off:cd_off + cd_size]
        fh.seek(cd_off)
        fh.truncate()
        bname = name.encode()
        local_off = cd_off
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc,
                            min(len(raw), 0xFFFFFFFF), min(declared, 0xFFFFFFFF), len(bname), 0) + bname
        fh.write(local + raw)
        new_cd = bytearray(central)
        for i in range(copies):
            entry_name = bname if i == 0 else f"{name}.{i}".encode()
            new_cd += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                                  min(len(raw), 0xFFFFFFFF), min(declared, 0xFFFFFFFF), len(entry_name),
                                  0, 0, 0, 0, 0, local_off) + entry_name
        new_cd_off = fh.tell()
        fh.write(new_cd)
        fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries + copies, entries + copies,
                             len(new_cd), new_cd_off, 0))


def zip_bomb(src, dst, inflated: int = 2 * 1024 * MiB, lie: bool = False) -> Path:
    """The valid workbook plus a worksheet part that inflates to ``inflated``
    bytes; with ``lie`` the zip headers claim it inflates to 1 KB."""
    rewrite_zip(src, dst, lambda name, data: data)
    raw, size = _deflate_blocks(inflated)
    _write_raw_member(dst, "xl/worksheets/sheet9.xml", raw, size, declared_size=1024 if lie else size)
    return Path(dst)


def overlapping_bomb(src, dst, copies: int = 40, each: int = 8 * MiB) -> Path:
    """Many central-directory entries pointing at one member that inflates
    to ``each`` bytes (below the per-member grace), so only the total of
    bytes actually inflated gives it away."""
    rewrite_zip(src, dst, lambda name, data: data)
    raw, size = _deflate_blocks(each, unit=MiB)
    _write_raw_member(dst, "xl/media/pad.xml", raw, size, copies=copies)
    return Path(dst)


def lying_compressed_size(src, dst, member: str = SHEET1) -> Path:
    """The central directory claims a 2 GB compressed member: zipfile would
    try to read (and allocate) that much."""
    rewrite_zip(src, dst, lambda name, data: data)
    data = bytearray(Path(dst).read_bytes())
    at = data.index(b"PK\x01\x02")
    while True:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, at + 20, 0x7FFFFFFF)
            break
        extra, comment = struct.unpack_from("<HH", data, at + 30)
        at += 46 + name_len + extra + comment
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def many_entries(src, dst, n: int = 3000) -> Path:
    extra = {f"xl/media/empty{i}.txt": b"" for i in range(n)}
    return rewrite_zip(src, dst, lambda name, data: data, extra=extra)


def unsafe_member(src, dst, member: str = "../../evil.xml") -> Path:
    return rewrite_zip(src, dst, lambda name, data: data, extra={member: b"<x/>"})


# ---------------------------------------------------------------- sheet extent attacks
def far_cell(src, dst) -> Path:
    return replace_in_sheet(src, dst, b"</sheetData>",
                            b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')


def huge_dimension(src, dst) -> Path:
    def change(name: str, data: bytes) -> bytes:
        if name == SHEET1:
            start = data.index(b'<dimension ref="')
            end = data.index(b'"', start + 16)
            return data[:start] + b'<dimension ref="A1:XFD1048576' + data[end:]
        return data
    return rewrite_zip(src, dst, change)


def wide_sparse(src, dst) -> Path:
    """Within the row and column limits, but the grid between A1 and ZZ99999
    has 70 million cells."""
    return replace_in_sheet(src, dst, b"</sheetData>", b'<row r="99999"><c r="ZZ99999"><v>1</v></c></row></sheetData>')


def implicit_columns(src, dst, n: int = 5000) -> Path:
    """Cells without r= take the next column: 5,000 of them reach column 5,000."""
    return replace_in_sheet(src, dst, b"</sheetData>", b"<row>" + b"<c><v>1</v></c>" * n + b"</row></sheetData>")


def overflow_row(src, dst) -> Path:
    """A row number of 20 digits: a parser's 32-bit counter wraps around."""
    return replace_in_sheet(src, dst, b'<c r="A2"', b'<c r="A99999999999999999999"')


def long_column(src, dst) -> Path:
    """Five column letters: past XFD, past any real sheet."""
    return replace_in_sheet(src, dst, b'<c r="A2"', b'<c r="ABCDE2"')


def duplicate_ref(src, dst) -> Path:
    """A second r attribute: python-calamine takes the last one."""
    return replace_in_sheet(src, dst, b'<c r="A2"', b'<c r="A2" r="XFD1048576"')


def huge_shared_strings_count(src, dst) -> Path:
    """python-calamine reserves uniqueCount strings up front and aborts."""
    def change(name: str, data: bytes) -> bytes:
        if name == "xl/sharedStrings.xml":
            return re.sub(rb'uniqueCount="\d+"', b'uniqueCount="99999999999"', data, count=1)
        return data
    return rewrite_zip(src, dst, change)


def ods_repeated(path, rows: int = 1_000_000, cols: int = 16384) -> Path:
    """An .ods whose one non-empty cell is repeated over a huge area."""
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
               '<table:table table:name="Лист1">'
               f'<table:table-row table:number-rows-repeated="{rows}">'
               f'<table:table-cell table:number-columns-repeated="{cols}" office:value-type="float" office:value="1">'
               '<text:p>1</text:p></table:table-cell></table:table-row>'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                   'opendocument:xmlns:manifest:1.0"/>', zipfile.ZIP_DEFLATED)
    return Path(path)


# ---------------------------------------------------------------- catalogue
def build_all(folder: str | os.PathLike) -> dict[str, tuple[Path, str]]:
    """Every hostile case in ``folder``: {case: (path, expected error code)}."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    base = valid_xlsx(d / "_base.xlsx")
    cases: dict[str, tuple[Path, str]] = {
        "empty": (empty(d / "пустой.xlsx"), "not-a-workbook"),
        "random": (random_bytes(d / "random.xlsx"), "not-a-workbook"),
        "csv": (csv_renamed(d / "таблица.xlsx"), "not-a-workbook"),
        "html": (html_renamed(d / "page.xlsx"), "not-a-workbook"),
        "docx": (docx(d / "document.xlsx"), "not-a-workbook"),
        "word_ole": (word_doc(d / "old_word.xlsx"), "not-a-workbook"),
        "foreign_zip": (foreign_zip(d / "archive.xlsx"), "not-a-workbook"),
        "truncated": (truncated(base, d / "truncated.xlsx"), "not-a-workbook"),
        "xls": (legacy_xls(d / "старый.xls"), "legacy-xls"),
        "encrypted": (encrypted(d / "с паролем.xlsx"), "encrypted-workbook"),
        "xlsb": (xlsb(base, d / "binary.xlsb"), "binary-workbook"),
        "billion_laughs": (billion_laughs(base, d / "laughs.xlsx"), "xml-entities"),
        "xxe": (xxe(base, d / "xxe.xlsx"), "xml-entities"),
        "xxe_utf16": (xxe_utf16(base, d / "xxe16.xlsx"), "xml-entities"),
        "unknown_encoding": (unknown_encoding(base, d / "encoding.xlsx"), "not-a-workbook"),
        "zip_bomb": (zip_bomb(base, d / "bomb.xlsx"), "zip-bomb"),
        "zip_bomb_lying": (zip_bomb(base, d / "bomb_lying.xlsx", lie=True), "zip-bomb"),
        "overlapping_bomb": (overlapping_bomb(base, d / "bomb_overlap.xlsx"), "zip-bomb"),
        "lying_compressed_size": (lying_compressed_size(base, d / "lying_size.xlsx"), "not-a-workbook"),
        "many_entries": (many_entries(base, d / "many.xlsx"), "too-many-entries"),
        "dotdot": (unsafe_member(base, d / "dotdot.xlsx"), "unsafe-member-name"),
        "absolute": (unsafe_member(base, d / "absolute.xlsx", "/etc/evil.xml"), "unsafe-member-name"),
        "far_cell": (far_cell(base, d / "far.xlsx"), "sheet-too-large"),
        "huge_dimension": (huge_dimension(base, d / "dimension.xlsx"), "sheet-too-large"),
        "wide_sparse": (wide_sparse(base, d / "wide.xlsx"), "sheet-too-large"),
        "implicit_columns": (implicit_columns(base, d / "implicit.xlsx"), "sheet-too-large"),
        "ods_repeated": (ods_repeated(d / "repeated.ods"), "sheet-too-large"),
        "overflow_row": (overflow_row(base, d / "overflow.xlsx"), "sheet-too-large"),
        "long_column": (long_column(base, d / "long_column.xlsx"), "sheet-too-large"),
        "duplicate_ref": (duplicate_ref(base, d / "duplicate_ref.xlsx"), "sheet-too-large"),
        "shared_strings_count": (huge_shared_strings_count(base, d / "sst_count.xlsx"), "not-a-workbook"),
    }
    base.unlink()
    return cases
