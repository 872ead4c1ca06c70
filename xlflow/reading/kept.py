"""What the reader keeps from copy to copy of one template (its layout is
loaded once): plans and lookups built from a copy's label and header cells,
reused for the next copy whose cells are the same (:mod:`xlflow.reading.programme`)."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["BY_LABELS", "Kept", "by_labels", "hashable", "padded"]


class Kept(dict):
    """What copies of one template share, kept from copy to copy: entries
    ``key -> (*owners, value)``, where the owners are the objects whose ids
    the key holds (checked by identity on a hit: an id is reused once its
    object is gone). Bounded: at ``limit`` entries, all are dropped."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def take(self, key: tuple | None, *owners: Any) -> Any:
        """The value kept for ``key`` and ``owners``, or None."""
        hit = self.get(key) if key is not None else None
        if hit is None or any(a is not b for a, b in zip(hit, owners)):
            return None
        return hit[-1]

    def keep(self, key: tuple | None, *owners_and_value: Any) -> None:
        if key is None:
            return
        if len(self) >= self.limit:
            self.clear()
        self[key] = owners_and_value


BY_LABELS = Kept(256)


def by_labels(spec: Any, labels: tuple, build: Callable[[], Any]) -> Any:
    """``build()``, kept per (spec, the label cells it depends on): every copy
    of a template repeats its labels. Keyed by the spec's identity (the
    layout is loaded once) and by the cells' values and types (1, 1.0 and
    True are equal keys, but not the same label)."""
    key = hashable((id(spec), labels, tuple(map(type, labels))))
    value = BY_LABELS.take(key, spec)
    if value is None:
        value = build()
        BY_LABELS.keep(key, spec, value)
    return value


def hashable(key: tuple) -> tuple | None:
    """``key``, or None when a cell in it cannot be hashed (an object some
    engine gives for a cell): then nothing is kept."""
    try:
        hash(key)
    except TypeError:
        return None
    return key


def padded(row: list, width: int) -> list:
    """The first ``width`` cells of ``row``, an empty cell (None) past its end."""
    return row[:width] if len(row) >= width else row + [None] * (width - len(row))
