"""Recognising what a file is when it is not a workbook zip: foreign content
(PDF, HTML, text, images...) from its first bytes, and the stream names of an
OLE2 compound file (legacy ``.xls``, encrypted workbooks, Word documents).

Used by :mod:`xlflow.reading.safety`, which turns the findings into refusals.
"""
from __future__ import annotations

import struct
from typing import BinaryIO


# ---------------------------------------------------------------- foreign content
def sniff_foreign(head: bytes) -> str:
    """Russian description of a file that is neither a zip nor OLE2."""
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    low = h[:2048].lower()
    if h.startswith(b"%PDF"):
        return "это документ PDF"
    if h.startswith(b"{\\rtf"):
        return "это документ RTF (Word)"
    if h.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "это архив другого формата (RAR, 7z или gzip)"
    if h.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "это изображение"
    if b"urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "это таблица «XML Excel 2003»"
    if low.startswith((b"<!doctype html", b"<html")) or b"<table" in low:
        return "это веб-страница (HTML), сохранённая с расширением таблицы"
    if _looks_like_text(head):
        return "это текстовый файл (например, CSV), а не книга"
    return "содержимое файла не распознано"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return head.startswith((b"\xff\xfe", b"\xfe\xff"))
    for enc in ("utf-8", "cp1251"):
        try:
            head.decode(enc)
        except UnicodeDecodeError:
            continue
        return True
    return False


# ---------------------------------------------------------------- OLE2 / CFB
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENDOFCHAIN = 0xFFFFFFFE


def cfb_stream_names(fh: BinaryIO, size: int) -> list[str]:
    """Names in the directory of an OLE2 compound file (bounded, loop-safe)."""
    fh.seek(0)
    header = fh.read(512)
    if len(header) < 512:
        raise ValueError("short CFB header")
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector shift")
    sector = 1 << shift
    n_sectors = max(0, (size - 512) // sector + 1)
    fat = _cfb_fat(fh, header, sector, n_sectors)
    names: list[str] = []
    current = struct.unpack_from("<I", header, 0x30)[0]
    seen: set[int] = set()
    while current < n_sectors and current not in seen:
        seen.add(current)
        fh.seek(512 + current * sector)
        data = fh.read(sector)
        for off in range(0, len(data) - 127, 128):
            names.append(_cfb_entry_name(data[off:off + 128]))
        current = fat[current] if current < len(fat) else _ENDOFCHAIN
    return [n for n in names if n]


def _cfb_entry_name(entry: bytes) -> str:
    length = struct.unpack_from("<H", entry, 0x40)[0]
    if length < 2 or length > 64 or entry[0x42] not in (1, 2, 5):
        return ""
    return entry[: length - 2].decode("utf-16-le", "replace")


def _cfb_fat(fh: BinaryIO, header: bytes, sector: int, n_sectors: int) -> list[int]:
    fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < n_sectors]
    difat = struct.unpack_from("<I", header, 0x44)[0]
    per = sector // 4
    seen: set[int] = set()
    while difat < n_sectors and difat not in seen and len(fat_sectors) < n_sectors:
        seen.add(difat)
        fh.seek(512 + difat * sector)
        ids = struct.unpack(f"<{per}I", fh.read(sector).ljust(sector, b"\xff"))
        fat_sectors.extend(s for s in ids[:-1] if s < n_sectors)
        difat = ids[-1]
    fat: list[int] = []
    for s in fat_sectors[:n_sectors]:
        fh.seek(512 + s * sector)
        fat.extend(struct.unpack(f"<{per}I", fh.read(sector).ljust(sector, b"\xff")))
        if len(fat) >= n_sectors:
            break
    return fat
