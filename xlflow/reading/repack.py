"""The checked workbook, repacked for the parser: every member stored
(uncompressed) exactly as the safety pre-check inflated and scanned it.

python-calamine then reads the very bytes that were checked (no second
inflate, and no room for a zip that reads one way in Python and another in
Rust: lying headers, overlapping or prepended members), and skips the cost of
inflating every part a second time. Each member keeps the CRC-32 declared in
the original directory, so a member whose bytes do not match it still fails
in the parser as it would have in the original file (but see below).

One change is made, to the sheets whose merged ranges xlflow scans itself
(``early_merges``): an empty ``<mergeCells></mergeCells>`` is put right after
the sheet's root tag. python-calamine looks for a sheet's merged ranges in a
second parse of the whole sheet that stops at the first ``mergeCells``; xlflow
never uses what it finds there (its own scan of the same bytes gives them,
see :mod:`xlflow.reading.grid`), and that second parse was about a fifth of
the parser's work on a copy. The cells read the same: the parser skips elements
before ``sheetData``. Such a sheet is first checked against its declared
CRC-32 here (the parser's reading of the cells stops at their end and would
not notice damage); one that does not match is left as it is, so that it
still fails, and a changed one is stored with the CRC-32 of its new bytes.
"""
from __future__ import annotations

import re
import struct
import zlib
from typing import Collection

from xlflow.reading.safety import Checked

_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory entry, 46 bytes
_END = struct.Struct("<IHHHHIIH")  # end of central directory, 22 bytes
_VERSION = 20  # 2.0: stored members, no zip64
_UTF8 = 0x800
_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest DOS date
_MAX_ENTRIES = 0xFFFF

# the XML declaration (if any) and the root start tag of a worksheet part, its
# attribute values quoted (a ">" inside one is no end); group 1: its prefix
_WORKSHEET_ROOT = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml\s[^?<>]*\?>\s*)?<((?:[A-Za-z_][\w.-]*:)?)worksheet"
    rb"(?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*\s*>")


def _early_merges(data: bytes, crc: int) -> tuple[tuple[bytes | memoryview, ...], int]:
    """The pieces of ``data`` with an empty merged-ranges element after its
    root tag, and their CRC-32; ``data`` and ``crc`` as they are when it is
    not a worksheet as expected or does not match its declared ``crc`` (the
    parser's second parse, which reads to the end, then fails on it as it
    would have: its reading of the cells stops at their end, unchecked)."""
    m = _WORKSHEET_ROOT.match(data)
    if m is None:
        return (data,), crc
    at = m.end()
    head, tail = memoryview(data)[:at], memoryview(data)[at:]
    register = zlib.crc32(head)
    if zlib.crc32(tail, register) != crc:
        return (data,), crc
    empty = b"<%smergeCells></%smergeCells>" % (m.group(1), m.group(1))
    return (head, empty, tail), zlib.crc32(tail, zlib.crc32(empty, register))


def stored_zip(checked: Checked, early_merges: Collection[str] = ()) -> bytes | None:
    """The stored copy of a checked xlsx/xlsm, or None when it cannot be made
    faithfully (a member not kept, a repeated name, a folder entry, an ODS).
    ``early_merges``: the sheet parts to give an empty merged-ranges element
    first (see the module's doc)."""
    entries = checked.entries
    if (checked.kind == "ods" or not checked.complete or not entries or len(entries) > _MAX_ENTRIES
            or len(checked.members) != len(entries) or any(name.endswith("/") for name, _ in entries)):
        return None
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, crc in entries:
        data = checked.parts[name]
        pieces, crc = _early_merges(data, crc) if name in early_merges else ((data,), crc)
        raw = name.encode("utf-8")
        flags = 0 if raw.isascii() else _UTF8
        size = sum(len(piece) for piece in pieces)
        out += (_LOCAL.pack(0x04034B50, _VERSION, flags, 0, 0, _DATE, crc, size, size, len(raw), 0), raw, *pieces)
        central += (_CENTRAL.pack(0x02014B50, _VERSION, _VERSION, flags, 0, 0, _DATE, crc, size, size,
                                  len(raw), 0, 0, 0, 0, 0, offset), raw)
        offset += _LOCAL.size + len(raw) + size
    directory = b"".join(central)
    out += (directory, _END.pack(0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0))
    return b"".join(out)
