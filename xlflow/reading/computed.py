"""The record's ``computed`` values: recalculated from the inputs, never read
from formula cells."""
from __future__ import annotations

from xlflow.layout import Layout, RubricSpec
from xlflow.reading.kept import Kept

__all__ = ["compute"]


_RUBRICS = Kept(8)


def _rubric_of(layout: Layout) -> tuple[RubricSpec, frozenset]:
    """The rubric's spec and its allowed scores, kept per layout (loaded once)."""
    found = _RUBRICS.take((id(layout),), layout)
    if found is None:
        rubric = layout.sheet("rubric")
        assert isinstance(rubric, RubricSpec)
        found = (rubric, frozenset(layout.choices(rubric.raw.get("score_list", "rubric_scores"))))
        _RUBRICS.keep((id(layout),), layout, found)
    return found


def compute(data: dict, layout: Layout) -> dict:
    """Rubric total/level and roadmap completion, recomputed from the inputs."""
    rubric, allowed = _rubric_of(layout)
    scores = [it["score"] for it in data.get("rubric", ())
              if type(it.get("score")) is int and it["score"] in allowed]
    total = sum(scores) if scores else None
    full = len(scores) == len(rubric.indicators)
    items = len(data.get("roadmap", ()))
    done = sum(1 for it in data.get("roadmap", ()) if it.get("completion") == "выполнено")
    return {
        "rubric_scored": len(scores),
        "rubric_total": total,
        "rubric_level": layout.rubric_level(total) if full and total is not None else None,
        "roadmap_items": items,
        "roadmap_done": done,
        "roadmap_percent": round(done / items * 100, 1) if items else None,
    }
