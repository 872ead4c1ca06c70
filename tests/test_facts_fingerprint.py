"""collect's fingerprint: equal records give equal fingerprints (duplicates are
recognised), any changed value gives another one."""
from __future__ import annotations

import copy
import datetime as dt

import pytest

from xlflow.consolidate.facts import fingerprint
from xlflow.writing.sample_school import generate_school


@pytest.fixture(scope="module")
def records():
    return generate_school(21, n_copies=3).copies[0].records


def test_stamps_recomputed_values_and_key_order_are_ignored(records):
    other = copy.deepcopy(records)
    other["meta"]["created"] = "2030-01-01T00:00:00"
    other["meta"]["xlflow_version"] = "9.9"
    other["computed"] = {"roadmap_items": 999}
    other["meta"] = dict(reversed(list(other["meta"].items())))
    other = dict(reversed(list(other.items())))
    assert fingerprint(other) == fingerprint(records)


@pytest.mark.parametrize("change", [
    lambda r: r["pairs"][0].update(mentor_id=r["pairs"][0]["mentor_id"] + " "),
    lambda r: r["passport"].update(goal="другая цель"),
    lambda r: r["roadmap"].pop(),
    lambda r: r["meta"].update(school_code="X-1"),
    lambda r: r["mentors"][0].update(experience_years=float(r["mentors"][0]["experience_years"]) + 0.5),
])
def test_any_change_changes_it(records, change):
    other = copy.deepcopy(records)
    change(other)
    assert fingerprint(other) != fingerprint(records)


def test_numbers_and_booleans_of_equal_value_differ():
    base = {"meta": {}, "rubric": [{"indicator": 1, "score": 1}]}
    as_float = {"meta": {}, "rubric": [{"indicator": 1, "score": 1.0}]}
    as_bool = {"meta": {}, "rubric": [{"indicator": 1, "score": True}]}
    assert len({fingerprint(base), fingerprint(as_float), fingerprint(as_bool)}) == 3


def test_values_that_are_not_plain_data_still_hash():
    day = {"meta": {}, "pairs": [{"start_date": dt.date(2025, 9, 1)}], "passport": {"goal": "\ud800"}}
    same = copy.deepcopy(day)
    assert fingerprint(day) == fingerprint(same)
    assert fingerprint(day) != fingerprint({**day, "pairs": [{"start_date": dt.date(2025, 9, 2)}]})
