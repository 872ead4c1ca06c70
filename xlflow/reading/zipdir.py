"""The central directory of a zip held in memory, read the way :mod:`zipfile`
reads it, for the safety pre-check (:mod:`xlflow.reading.safety`).

``zipfile.ZipFile`` builds a ``ZipInfo`` per member in Python; the pre-check
needs only a few fields of each. :func:`read_directory` unpacks them straight
from the bytes for the ordinary layout (the end record last, no archive
comment, no zip64 records, nothing prepended, no zip64 or broken extra
fields, names without NUL). Anything else returns None and the caller asks
:mod:`zipfile` itself (:func:`from_zipfile`), so every zip that ``zipfile``
refuses is still refused, and every zip both read gives the same members.
"""
from __future__ import annotations

import struct
import zipfile
from functools import partial
from typing import BinaryIO, NamedTuple

__all__ = ["Member", "Source", "read_directory", "from_zipfile"]

_END = struct.Struct("<4s4H2LH")  # end of central directory, 22 bytes
# central directory entry, 46 bytes: signature, version needed, flags, method,
# CRC-32, sizes, name/extra/comment lengths, local header offset (the rest skipped)
_CENTRAL = struct.Struct("<4s2xBx2H4x3L3H8xL")
_EXTRA = struct.Struct("<HH")
_END_SIG = b"PK\x05\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_UTF8_NAME = 0x800
_ZIP64_EXTRA = 0x0001
_MAX_EXTRACT_VERSION = zipfile.MAX_EXTRACT_VERSION


class Member(NamedTuple):
    """What the pre-check needs of one directory entry (named as in ``ZipInfo``)."""

    filename: str
    flag_bits: int
    compress_type: int
    CRC: int
    compress_size: int
    file_size: int
    header_offset: int


# a Member from a tuple without the Python-level __new__ of a NamedTuple
_member = partial(tuple.__new__, Member)


def from_zipfile(fh: BinaryIO) -> list[Member]:
    """The members as :mod:`zipfile` reads them (it raises for a broken zip)."""
    fh.seek(0)
    with zipfile.ZipFile(fh) as zf:
        return [Member(i.filename, i.flag_bits, i.compress_type, i.CRC, i.compress_size, i.file_size,
                       i.header_offset) for i in zf.infolist()]


def read_directory(data: bytes) -> list[Member] | None:
    """The members of the zip ``data`` in directory order, or None when its
    layout is not the ordinary one (then :func:`from_zipfile` decides)."""
    size = len(data)
    end_at = size - _END.size
    if end_at < 0 or not data.startswith(_END_SIG, end_at) or not data.endswith(b"\x00\x00"):
        return None  # no end record, or an archive comment: zipfile searches for it
    if end_at >= 20 and data.startswith(_ZIP64_LOCATOR_SIG, end_at - 20):
        return None  # zip64 records
    cd_size, cd_offset = _END.unpack_from(data, end_at)[5:7]
    if cd_offset + cd_size != end_at:
        return None  # bytes prepended (zipfile shifts every offset) or a directory that lies
    members: list[Member] = []
    pos = cd_offset
    while pos < end_at:  # one loop, no call per entry: a workbook has a few dozen
        if pos + _CENTRAL.size > end_at:
            return None  # truncated: zipfile raises
        (sig, version, flags, method, crc, csize, usize, name_len, extra_len, comment_len,
         offset) = _CENTRAL.unpack_from(data, pos)
        name_at = pos + _CENTRAL.size
        extra_at = name_at + name_len
        pos = extra_at + extra_len + comment_len
        if sig != _CENTRAL_SIG or pos > end_at or version > _MAX_EXTRACT_VERSION:
            return None  # zipfile raises, or reads a name cut short by the directory's end
        if extra_len and not _plain_extra(data, extra_at, extra_at + extra_len):
            return None
        raw = data[name_at:extra_at]
        if b"\x00" in raw:
            return None  # zipfile cuts the name at the NUL
        name = raw.decode("utf-8" if flags & _UTF8_NAME or raw.isascii() else "cp437")
        members.append(_member((name, flags, method, crc, csize, usize, offset)))
    return members


def _plain_extra(data: bytes, at: int, end: int) -> bool:
    """Extra fields that zipfile accepts and that change nothing (no zip64 field)."""
    while end - at >= 4:
        kind, length = _EXTRA.unpack_from(data, at)
        if kind == _ZIP64_EXTRA or at + 4 + length > end:
            return False
        at += 4 + length
    return True


_LOCAL_SIG = b"PK\x03\x04"
_LOCAL_LENGTHS = struct.Struct("<HH")  # name and extra lengths, at 26 in the 30-byte local header


class Source:
    """The zip being checked: its bytes when they are held in memory (then no
    seek or read per member), else the open file (read piece by piece)."""

    __slots__ = ("fh", "data", "size")

    def __init__(self, fh: BinaryIO, size: int, data: bytes | None) -> None:
        self.fh, self.size, self.data = fh, size, data

    def read(self, pos: int, n: int) -> bytes:
        if self.data is not None:
            return self.data[pos:pos + n]
        self.fh.seek(pos)
        return self.fh.read(n)

    def data_offset(self, info: Member) -> int:
        """Where the member's bytes start, after its local header."""
        at = info.header_offset
        local = self.data[at:at + 30] if self.data is not None else self.read(at, 30)
        if len(local) < 30 or not local.startswith(_LOCAL_SIG):
            raise zipfile.BadZipFile("bad local header")
        name_len, extra_len = _LOCAL_LENGTHS.unpack_from(local, 26)
        start = at + 30 + name_len + extra_len
        if start + info.compress_size > self.size:
            # zipfile and the Rust zip crate would try to read this many bytes
            raise zipfile.BadZipFile("member past end of file")
        return start
