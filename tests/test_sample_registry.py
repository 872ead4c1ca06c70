"""Clean sample registries have no remarks at all: extended or shortened
programmes are marked in «Пары и группы» as a curator would."""
from __future__ import annotations

import pytest

from xlflow.validation.validate import validate_records
from xlflow.writing.sample_school import generate_school

SCHOOLS = {seed: generate_school(seed, n_copies=30) for seed in range(12)}


@pytest.mark.parametrize("seed", sorted(SCHOOLS))
def test_clean_registry_has_no_problems(seed):
    school = SCHOOLS[seed]
    problems = validate_records(school.registry, file="registry", today=school.as_of)
    assert [(p.code, p.cell) for p in problems] == []


def test_some_sample_programmes_are_marked_extended_or_shortened():
    marks = [r.get("term_change") for s in SCHOOLS.values() for r in s.registry["pairs"]]
    assert {"продлена", "сокращена"} <= set(marks)
    assert "нет" not in marks, "an unchanged term is left empty, as a curator would"
