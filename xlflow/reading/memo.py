"""Inflated zip members remembered by the safety pre-check
(:mod:`xlflow.reading.safety`), so that parts repeated byte for byte across
the copies of one template are inflated and scanned once per process."""
from __future__ import annotations

from typing import Any

__all__ = ["Inflated", "InflatedMemo"]


class Inflated:
    """A member's inflated bytes, the compressed bytes its stream used, and
    the (limits, ods) under which these bytes passed the scan."""

    __slots__ = ("data", "consumed", "clean")

    def __init__(self, data: bytes, consumed: int) -> None:
        self.data, self.consumed = data, consumed
        # (Limits, ods): a short list, as a frozen dataclass hashes all its fields each time
        self.clean: list[tuple[Any, bool]] = []


class InflatedMemo:
    """Deflated members inflated before in this process, by their compressed
    bytes: copies of one template repeat their styles, theme, relationships
    and instructions byte for byte. Bytes whose deflate stream ends within
    them always inflate to the same output, which scans the same under the
    same limits, so such a member is inflated and scanned once. Bounded:
    least recently used first out."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.size = 0
        # by (length, last bytes): cheap to hash, unlike the whole compressed
        # member; a hit compares the whole bytes
        self.found: dict[tuple[int, bytes], tuple[bytes, Inflated]] = {}

    def get(self, raw: bytes) -> Inflated | None:
        key = (len(raw), raw[-_KEY_TAIL:])  # _key, inlined: called for every member
        entry = self.found.pop(key, None)
        if entry is None:
            return None
        self.found[key] = entry
        return entry[1] if entry[0] == raw else None

    def add(self, raw: bytes, inflated: Inflated) -> None:
        if len(inflated.data) > self.total // 8:
            return
        key = _key(raw)
        old = self.found.pop(key, None)
        if old is not None:
            self.size -= len(old[1].data)
        self.found[key] = (raw, inflated)
        self.size += len(inflated.data)
        while self.size > self.total:
            self.size -= len(self.found.pop(next(iter(self.found)))[1].data)


_KEY_TAIL = 32  # the end of a deflate stream: its last block, different in different members


def _key(raw: bytes) -> tuple[int, bytes]:
    return (len(raw), raw[-_KEY_TAIL:])
