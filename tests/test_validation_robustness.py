"""Rules and schema mapping never crash, whatever the reader left in a field."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from test_validation_rules import school_record
from test_validation_schema import check, programme_record

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["2025-02-30", "2025-09-01", "1.9.25", "да", "группа", "пара",
                                           "завершена", "выполнено", "Н-001", "У-001", "", " "]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _targets(data: dict) -> list[tuple]:
    out = [("passport", k) for k in data["passport"]] + [("meta", k) for k in data["meta"]]
    for table in ("mentors", "mentees", "pairs", "diagnostics", "roadmap", "rubric"):
        for i, row in enumerate(data[table]):
            out += [(table, i, k) for k in row]
    return out


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(["programme", "school"]), picks=st.lists(st.tuples(st.integers(0, 10**6), values),
                                                                      min_size=1, max_size=6))
def test_any_values_give_problems_not_crashes(kind, picks):
    data = programme_record() if kind == "programme" else school_record()
    targets = _targets(data)
    for n, value in picks:
        path = targets[n % len(targets)]
        holder = data[path[0]] if len(path) == 2 else data[path[0]][path[1]]
        holder[path[-1]] = value
    for problem in check(data):
        assert problem.message and not PLACEHOLDER.search(problem.message)
        assert problem.sheet is not None
