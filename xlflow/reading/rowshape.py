"""The rows of a long table as dicts that share one keys table.

A school's registry holds ~23,000 table rows, each a dict of up to 13
keys. An ordinary dict keeps its own hash table of keys (~460 bytes for 13
keys); CPython's *split* dicts (those an instance's ``__dict__`` starts as)
share the keys of their class and keep only their values (~300 bytes).
:func:`row_shape` gives a function that returns a row's equal dict in that
form: the same keys in the same order and the same values, so every reader
of the records (rules, fingerprint, pickle) sees exactly the same dict. Where
the interpreter gives no smaller dict, it returns None (rows stay as built).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

Shape = Callable[[dict], dict]
_MAX_KEYS = 30  # CPython shares at most 30 keys of a class's instances


def row_shape(keys: Sequence[str]) -> Shape | None:
    """A function ``rec -> dict equal to rec``, in the shared-keys form, for
    rows whose keys are ``keys`` or a part of them in that order; None
    where that form is not smaller."""
    keys = list(dict.fromkeys(keys))
    if not keys or len(keys) > _MAX_KEYS or not all(type(k) is str and k.isidentifier() for k in keys):
        return None
    holder = type("Row", (), {})()  # a fresh class: its instances' keys are exactly ``keys``
    for key in keys:
        setattr(holder, key, None)
    template = vars(holder)
    if list(template) != keys or sys.getsizeof(template.copy()) >= sys.getsizeof(dict(template)):
        return None
    copy, width, known, size = template.copy, len(keys), frozenset(keys), sys.getsizeof(template.copy())

    def shaped(rec: dict) -> dict:
        if sys.getsizeof(rec) <= size or not known.issuperset(rec):
            return rec  # small already, or a key it does not share
        out = copy()
        out.update(rec)
        if len(rec) != width:
            for key in keys:
                if key not in rec:
                    del out[key]
        return out if all(a == b for a, b in zip(out, rec)) else rec  # the keys' order kept

    return shaped
