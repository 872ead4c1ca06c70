"""The checked workbook, repacked for the parser: every member stored
(uncompressed) exactly as the safety pre-check inflated and scanned it.

python-calamine then reads the very bytes that were checked (no second
inflate, and no room for a zip that reads one way in Python and another in
Rust: lying headers, overlapping or prepended members), and skips the cost of
inflating every part a second time. Each member keeps the CRC-32 declared in
the original directory, so a member whose bytes do not match it still fails
in the parser as it would have in the original file.
"""
from __future__ import annotations

import struct

from xlflow.reading.safety import Checked

_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory entry, 46 bytes
_END = struct.Struct("<IHHHHIIH")  # end of central directory, 22 bytes
_VERSION = 20  # 2.0: stored members, no zip64
_UTF8 = 0x800
_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest DOS date
_MAX_ENTRIES = 0xFFFF


def stored_zip(checked: Checked) -> bytes | None:
    """The stored copy of a checked xlsx/xlsm, or None when it cannot be made
    faithfully (a member not kept, a repeated name, a folder entry, an ODS)."""
    entries = checked.entries
    if (checked.kind == "ods" or not checked.complete or not entries or len(entries) > _MAX_ENTRIES
            or len(checked.members) != len(entries) or any(name.endswith("/") for name, _ in entries)):
        return None
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, crc in entries:
        data = checked.parts[name]
        raw = name.encode("utf-8")
        flags = 0 if raw.isascii() else _UTF8
        size = len(data)
        out += (_LOCAL.pack(0x04034B50, _VERSION, flags, 0, 0, _DATE, crc, size, size, len(raw), 0), raw, data)
        central += (_CENTRAL.pack(0x02014B50, _VERSION, _VERSION, flags, 0, 0, _DATE, crc, size, size,
                                  len(raw), 0, 0, 0, 0, 0, offset), raw)
        offset += _LOCAL.size + len(raw) + size
    directory = b"".join(central)
    out += (directory, _END.pack(0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0))
    return b"".join(out)
