"""What collect keeps in memory of each file (:class:`Entry`): the fields
consolidation reads come back as the facts give them, from one packed bytes
object."""
from __future__ import annotations

import datetime as dt

from xlflow.consolidate import collect as C
from xlflow.consolidate.collect_stream import Entry
from xlflow.consolidate.facts import REJECTED, FileFacts, compact_record

AS_OF = dt.date(2026, 2, 1)


def _copy(fingerprint: str = "ab" * 32, **meta) -> FileFacts:
    record = compact_record({"pairs": [{"group_id": "Г-001", "mentee_id": "Н-007", "mentor_id": "Т-002"}]}, AS_OF)
    return FileFacts(path="/папка/копия.xlsx", name="копия\udcff.xlsx", mtime=1.5, kind="programme",
                     meta={"school_code": " 0042 ", **meta}, record=record, fingerprint=fingerprint)


def test_a_copy_keeps_name_identity_rank_and_fingerprint():
    f = _copy(programme_id="Г-001")
    e = Entry(7, f)
    assert (e.i, e.name, e.kind, e.school_code, e.status) == (7, f.name, "programme", "0042", None)
    assert e.identity == C.copy_identity(f) == ("Г-001", "Н-007")
    assert e.rank == C.rank(f)
    assert (e.programme_id, e.mentee_id) == ("Г-001", None)
    assert e.fingerprint == Entry(8, _copy(programme_id="Г-001")).fingerprint
    assert e.fingerprint != Entry(8, _copy("cd" * 32, programme_id="Г-001")).fingerprint is not None


def test_values_marshal_cannot_write_are_kept_too():
    f = _copy(programme_id=dt.date(2026, 1, 1), mentee_id="Н-007")
    e = Entry(0, f)
    assert e.programme_id == dt.date(2026, 1, 1) and e.identity is None and e.name == f.name


def test_an_unreadable_file_keeps_its_name_only():
    e = Entry(1, FileFacts(path="/п/х.xlsx", name="х.xlsx", status=REJECTED))
    assert (e.name, e.status, e.identity, e.rank, e.fingerprint, e.programme_id) == (
        "х.xlsx", REJECTED, None, None, None, None)


def test_copy_keys_are_one_bytes_object_each_that_sorts_like_the_tuple():
    import itertools

    from xlflow.consolidate.collect_stream import Copies, _identity_of, _key

    parts = ["", "a", "a\0", "a\0\1", "ab", "\0", "\0\0", "Г-001", "Г-0010", "\udcff", "\ue000", "\ud7ff"]
    pairs = list(itertools.product(parts, parts))
    assert sorted(pairs) == sorted(pairs, key=_key)
    assert [_identity_of(_key(p)) for p in pairs] == pairs
    assert len({_key(p) for p in pairs}) == len(pairs)
    e, f = Entry(0, _copy()), Entry(1, _copy())
    copies = Copies({_key(("б", "1")): e, _key(("а", "2")): f})
    assert copies.get(("б", "1")) is e and copies.get(("б", "2")) is None and len(copies) == 2
    assert list(copies.values()) == [e, f]
    assert list(copies.in_key_order()) == [(("а", "2"), f), (("б", "1"), e)]
