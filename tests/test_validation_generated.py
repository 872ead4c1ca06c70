"""The committed fast schema check (xlflow/validation/_programme_check.py) is
fastjsonschema's code of the current schema, and validation uses it.

If the first test fails, the schema (or the generation) changed: run
``python tools/gen_validator.py`` and commit the regenerated module."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from xlflow.validation import _programme_check, schema
from xlflow.writing.sample_school import generate_school

GENERATED = Path(schema.__file__).with_name("_programme_check.py")


def test_committed_check_is_up_to_date():
    assert GENERATED.read_text(encoding="utf-8") == schema.check_code(), \
        "xlflow/validation/_programme_check.py is stale: run python tools/gen_validator.py"
    assert _programme_check.SCHEMA_SHA256 == schema.schema_digest()


def test_fast_check_uses_the_generated_module():
    check = schema.fast_check()
    assert getattr(check, "func", None) is _programme_check.validate


@pytest.fixture()
def stale_module(monkeypatch):
    """The generated module as if generated from another schema."""
    monkeypatch.setattr(_programme_check, "SCHEMA_SHA256", "0" * 64)
    schema.fast_check.cache_clear()
    yield
    monkeypatch.undo()
    schema.fast_check.cache_clear()


def test_stale_module_is_not_used(stale_module):
    check = schema.fast_check()
    assert getattr(check, "func", None) is not _programme_check.validate
    school = generate_school(5, n_copies=2)
    good = school.copies[0].records
    bad = copy.deepcopy(good)
    bad["pairs"][0]["start_date"] = "2025-02-31"
    assert schema.is_schema_valid(good)
    assert not schema.is_schema_valid(bad)
