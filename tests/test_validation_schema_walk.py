"""schema_errors() walks only the parts of a record the fast check rejects;
it must give exactly iter_errors' errors, in the same order."""
from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given, settings, strategies as st

from xlflow.validation.schema import EMPTY_RECORD, is_schema_valid, programme_validator, schema_errors
from xlflow.writing.sample_school import generate_school

SECTIONS = ("meta", "passport", "mentors", "mentees", "pairs", "diagnostics", "roadmap", "rubric",
            "reflection", "computed")
# JSON values only: records come from the reader or from JSON (fastjsonschema
# would take a tuple for an array, jsonschema would not).
ODD_VALUES = [None, "", " ", "2025-02-31", "2025-2-8", 3, 3.5, -1, True, "да", "ОЧНЫЙ", [], {}, "x" * 100,
              [{"a": 1}], ["a", "b"]]


def _errors(errors) -> list[tuple]:
    return [(tuple(e.absolute_path), e.validator, e.message) for e in errors]


@pytest.fixture(scope="module")
def records():
    clean = generate_school(31, n_copies=6)
    faulty = generate_school(32, n_copies=12, error_rate=1.0)
    return [clean.registry] + [c.records for c in clean.copies + faulty.copies]


def test_the_empty_record_is_valid():
    assert is_schema_valid(EMPTY_RECORD)  # else every part is walked (right, but slow)


def _mutate(data: dict, rng: random.Random, value) -> None:
    tables = [k for k in SECTIONS if isinstance(data.get(k), list) and data[k]]
    roll = rng.random()
    if roll < 0.1:
        data.pop(rng.choice(SECTIONS + ("extra",)), None)
    elif roll < 0.2:
        data[rng.choice(SECTIONS + ("extra",))] = value
    elif roll < 0.3 and tables:
        table = data[rng.choice(tables)]
        table[rng.randrange(len(table))] = value
    elif roll < 0.45:
        section = data.get(rng.choice(("meta", "passport", "computed")))
        if isinstance(section, dict):
            section[rng.choice(sorted(section) or ["goal"])] = value
    elif tables:
        row = rng.choice(data[rng.choice(tables)])
        if isinstance(row, dict) and row:
            row[rng.choice(sorted(row) + ["extra"])] = value


def test_samples_agree(records):
    for data in records:
        assert _errors(schema_errors(data)) == _errors(programme_validator().iter_errors(data))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10_000), values=st.lists(st.sampled_from(ODD_VALUES), min_size=1, max_size=4))
def test_mutated_records_agree(records, seed, values):
    rng = random.Random(seed)
    data = copy.deepcopy(records[seed % len(records)])
    for value in values:
        _mutate(data, rng, copy.deepcopy(value))
    assert _errors(schema_errors(data)) == _errors(programme_validator().iter_errors(data))
