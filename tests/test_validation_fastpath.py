"""The compiled fast schema check agrees with jsonschema's iter_errors.

schema_problems() asks fastjsonschema first and walks iter_errors only for a
record it rejects, so the two must agree on validity for every record."""
from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given, settings, strategies as st

from xlflow.validation.schema import is_schema_valid, programme_validator
from xlflow.writing.sample_school import generate_school


def _agree(data) -> bool:
    slow_valid = next(programme_validator().iter_errors(data), None) is None
    assert is_schema_valid(data) == slow_valid
    return slow_valid


@pytest.fixture(scope="module")
def records():
    clean = generate_school(11, n_copies=12)
    faulty = generate_school(12, n_copies=24, error_rate=1.0)
    return [clean.registry] + [c.records for c in clean.copies + faulty.copies]


def test_clean_and_faulty_samples_agree(records):
    verdicts = [_agree(r) for r in records]
    assert any(verdicts) and not all(verdicts), "the set must hold valid and invalid records"


ODD_VALUES = [None, "", " ", "31.02.2025", "2025-02-31", "2025-02-28", "2025-2-8", 3, 3.5, -1, 0,
              True, "да", "много", "ОЧНЫЙ", "очный", [], {}, "x" * 100, 2 ** 40]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10_000), value=st.sampled_from(ODD_VALUES))
def test_mutated_records_agree(records, seed, value):
    rng = random.Random(seed)
    data = copy.deepcopy(records[1 + seed % (len(records) - 1)])
    tables = [k for k in ("mentors", "mentees", "pairs", "roadmap", "diagnostics", "rubric", "reflection")
              if data[k]]
    if rng.random() < 0.2:
        data["passport"][rng.choice(sorted(data["passport"]) or ["goal"])] = value
    else:
        row = rng.choice(data[rng.choice(tables)])
        row[rng.choice(sorted(row))] = value
    _agree(data)
