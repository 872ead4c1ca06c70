"""plausible_years skips values whose year text already lies in range without
parsing them: the warning must still come exactly at the range's edges, for
any ISO date in any cell, and never for text that is no date."""
from __future__ import annotations

import pytest

from test_validation_schema import TODAY, check, programme_record
from xlflow.validation.rules_dates import EARLIEST_YEAR, FUTURE_YEARS

LATEST = TODAY.year + FUTURE_YEARS


def _implausible(value: str, table: str = "mentees", key: str = "consent_date") -> list:
    data = programme_record()
    data[table][0][key] = value
    return [p for p in check(data) if p.code == "implausible-date"]


@pytest.mark.parametrize("value, flagged", [
    (f"{EARLIEST_YEAR - 1}-12-31", True),
    (f"{EARLIEST_YEAR}-01-01", False),
    (f"{LATEST}-12-31", False),
    (f"{LATEST + 1}-01-01", True),
    ("0999-01-01", True),
    ("9999-12-31", True),
    ("1999-02-30", False),  # no date at all: the schema check reports it
    ("199X-01-01", False),
])
def test_year_edges(value, flagged):
    assert bool(_implausible(value)) == flagged


def test_a_date_typed_into_a_text_cell_is_checked_too():
    found = _implausible("1990-05-05", table="roadmap", key="place")
    assert len(found) == 1 and found[0].params["year"] == 1990
