"""The checked workbook, repacked for the parser: every member stored
(uncompressed) exactly as the safety pre-check inflated and scanned it.

python-calamine then reads the very bytes that were checked (no second
inflate, and no room for a zip that reads one way in Python and another in
Rust: lying headers, overlapping or prepended members), and skips the cost of
inflating every part a second time. Each member keeps the CRC-32 declared in
the original directory, so a member whose bytes do not match it still fails
in the parser as it would have in the original file.

One change is made, to the sheets whose merged ranges xlflow scans itself
(``early_merges``): an empty ``<mergeCells></mergeCells>`` is put right after
the sheet's root tag. python-calamine looks for a sheet's merged ranges in a
second parse of the whole sheet that stops at the first ``mergeCells``; xlflow
never uses what it finds there (its own scan of the same bytes gives them,
see :mod:`xlflow.reading.grid`), and that second parse was about a fifth of
the parser's work on a copy. The cells read the same: the parser skips elements
before ``sheetData``. The element keeps the part's CRC-32 as declared (see
:func:`_crc_neutral_filler`); a sheet whose bytes do not match it is left as
it is, so that it still fails.
"""
from __future__ import annotations

import functools
import re
import struct
import zlib
from typing import Callable, Collection

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


def _early_merges(data: bytes, crc: int) -> tuple[bytes | memoryview, ...]:
    """The pieces of ``data`` with an empty merged-ranges element after its
    root tag, their CRC-32 that of ``data``; ``data`` alone when it is not a
    worksheet as expected or does not match its declared ``crc`` (the
    parser's second parse, which reads to the end, then fails on it as it
    would have: its reading of the cells stops at their end, unchecked)."""
    m = _WORKSHEET_ROOT.match(data)
    if m is None:
        return (data,)
    at = m.end()
    head, tail = memoryview(data)[:at], memoryview(data)[at:]
    register = zlib.crc32(head)
    if zlib.crc32(tail, register) != crc:
        return (data,)
    prefix = m.group(1)
    opened = b"<%smergeCells></%smergeCells><!--" % (prefix, prefix)
    return head, opened, _crc_neutral_filler(opened, register), _COMMENT_END, tail


# The element goes in with a short comment whose letters ("@".."O", four free
# bits each) bring the CRC-32 register back to its value before the element:
# the part keeps the CRC-32 declared for it, and damaged bytes still fail the
# parser's check. CRC-32 is affine over GF(2) in the register and in the
# message bits, so the letters come from one linear map, found once; ten
# letters give 40 bits, of which 32 independent ones are used.
_COMMENT_END = b"-->"
_FILLER = 10


def _letters(bits: int) -> bytes:
    return bytes(0x40 | (bits >> 4 * i & 15) for i in range(_FILLER))


def _crc_neutral_filler(opened: bytes, register: int) -> bytes:
    """The comment's letters after ``opened`` for which
    ``crc32(opened + letters + b"-->", register) == register``."""
    base, tables = _neutral_map(opened)
    letters = base ^ tables[0][register & 255] ^ tables[1][register >> 8 & 255] \
        ^ tables[2][register >> 16 & 255] ^ tables[3][register >> 24]
    return letters.to_bytes(_FILLER, "little")


@functools.lru_cache(maxsize=8)
def _neutral_map(opened: bytes) -> tuple[int, tuple[tuple[int, ...], ...]]:
    """(b, T): the letters for the register r, as a little-endian int, are b
    XOR the entries of T for r's four bytes."""
    def crc(register: int, bits: int) -> int:
        return zlib.crc32(opened + _letters(bits) + _COMMENT_END, register)

    f0 = crc(0, 0)
    # crc(r, d) = f0 ^ A·r ^ B·d; wanted: crc(r, d) = r, that is B·d = f0 ^ (A ^ I)·r
    solve = _gf2_solver([crc(0, 1 << j) ^ f0 for j in range(4 * _FILLER)])
    columns = [_spread(solve(crc(1 << i, 0) ^ f0 ^ (1 << i))) for i in range(32)]
    tables = []
    for byte in range(4):
        table = [0] * 256
        for value in range(1, 256):
            low = value & -value  # the table of a byte: XOR of its bits' columns
            table[value] = table[value ^ low] ^ columns[8 * byte + low.bit_length() - 1]
        tables.append(tuple(table))
    return int.from_bytes(_letters(solve(f0)), "little"), tuple(tables)


def _spread(bits: int) -> int:
    """The nibbles of ``bits`` one per byte (the letters' XOR difference)."""
    return int.from_bytes(bytes(bits >> 4 * i & 15 for i in range(_FILLER)), "little")


def _gf2_solver(columns: list[int]) -> Callable[[int], int]:
    """A function giving, for a 32-bit vector y, bits d with M·d = y, where M
    (over GF(2)) has these columns; M must have rank 32."""
    # Gaussian elimination on the columns: each kept column is reduced by the
    # earlier pivots and remembers which original columns it is made of
    pivots: list[tuple[int, int, int]] = []  # (pivot bit, reduced column, combination)
    for j, column in enumerate(columns):
        combo = 1 << j
        for bit, reduced, made_of in pivots:
            if column >> bit & 1:
                column ^= reduced
                combo ^= made_of
        if column:
            bit = column.bit_length() - 1
            for k, (b, reduced, made_of) in enumerate(pivots):  # keep every pivot bit in one column only
                if reduced >> bit & 1:
                    pivots[k] = (b, reduced ^ column, made_of ^ combo)
            pivots.append((bit, column, combo))
    if len(pivots) != 32:
        raise ValueError("the filler's bits do not reach every CRC-32 register")

    def solve(y: int) -> int:
        d = 0
        for bit, _, made_of in pivots:
            if y >> bit & 1:
                d ^= made_of
        return d

    return solve


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
        pieces = _early_merges(data, crc) if name in early_merges else (data,)
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
