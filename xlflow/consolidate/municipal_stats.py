"""Municipal figures computed from the figures of each school.

Pure functions over :class:`SchoolFigures` (one accepted school summary each):
sums for counts, shares recomputed from summed numerators and denominators
(never averaged percentages), heat-map means from summed intensity marks,
and the list of schools that need attention. The result is a plain dict
(the ``figures`` part of ``MUNICIPAL.json``) built in a fixed order, so the
same schools give byte-identical JSON whatever order the files came in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from xlflow.workbook_templates import load_json

LAYOUT_FILE = "municipal_summary.json"
STAGES = ("entry", "final")

NAMES_NONE = "none"
NAMES_PLAIN = "names"
NAMES_PSEUDONYMS = "pseudonyms"


@lru_cache(maxsize=None)
def municipal_layout() -> dict:
    """The declarative layout of the municipal workbook (``municipal_summary.json``)."""
    return load_json(LAYOUT_FILE)


@dataclass(frozen=True)
class MentorFigures:
    """One mentor of a school (only used with ``--with-names``/``--pseudonymize``)."""

    mentor_id: str
    full_name: str = ""
    programmes: int = 0
    completed: int = 0
    rubric_sum: int = 0
    rubric_count: int = 0


@dataclass(frozen=True)
class SchoolFigures:
    """The key figures of one school summary, independent of its file format.

    ``status_counts`` maps a status key (``planned``, ``active``, ``completed``,
    ``terminated``, ``unknown``) to a number of programmes; ``rubric_levels``
    maps a level key (``optimal``, ``acceptable``, ``unacceptable``) to a number
    of programmes; ``deficits`` maps ``(stage, direction)`` to
    ``(sum of intensity marks, number of marks)``.
    """

    school_code: str
    school_name: str = ""
    municipality: str = ""
    academic_year: str = ""
    created: str = ""
    mentors: int = 0
    mentees: int = 0
    pairs: int = 0
    groups: int = 0
    programmes: int = 0
    young_total: int = 0
    young_covered: int = 0
    status_counts: Mapping[str, int] = field(default_factory=dict)
    roadmap_items: int = 0
    roadmap_done: int = 0
    rubric_levels: Mapping[str, int] = field(default_factory=dict)
    rubric_unscored: int = 0
    rubric_sum: int = 0
    rubric_count: int = 0
    mentors_over_limit: int = 0
    mentees_over_limit: int = 0
    pairs_missing: int = 0
    files_accepted: int = 0
    files_rejected: int = 0
    directions: tuple[str, ...] = ()
    deficits: Mapping[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    mentor_rows: tuple[MentorFigures, ...] = ()


def ru_timestamp(iso: str) -> str:
    """``2026-05-20T10:00:00Z`` -> ``20.05.2026 10:00:00 (UTC)``; other text unchanged."""
    import datetime as dt

    try:
        stamp = dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return iso
    return stamp.strftime("%d.%m.%Y %H:%M:%S") + " (UTC)"


def percent(numerator: int, denominator: int) -> float | None:
    """Share in percent with one decimal, or None when there is nothing to share."""
    if not denominator:
        return None
    return round(100.0 * numerator / denominator, 1)


def mean(total: int | float, count: int) -> float | None:
    """Mean with two decimals, or None without values."""
    if not count:
        return None
    return round(total / count, 2)


def _status_keys() -> list[str]:
    return [s["key"] for s in municipal_layout()["statuses"]] + ["unknown"]


def _level_keys() -> list[str]:
    return [lv["key"] for lv in municipal_layout()["rubric_levels"]]


_COUNT_FIELDS = (
    "mentors", "mentees", "pairs", "groups", "programmes", "young_total", "young_covered",
    "roadmap_items", "roadmap_done", "rubric_unscored", "mentors_over_limit",
    "mentees_over_limit", "pairs_missing", "files_accepted", "files_rejected",
)


def _counts(school: SchoolFigures) -> dict[str, int]:
    """Every additive number of a school, under its column key."""
    out = {name: int(getattr(school, name)) for name in _COUNT_FIELDS}
    for key in _status_keys():
        out[f"status_{key}"] = int(school.status_counts.get(key, 0))
    for key in _level_keys():
        out[f"rubric_{key}"] = int(school.rubric_levels.get(key, 0))
    out["rubric_sum"] = int(school.rubric_sum)
    out["rubric_count"] = int(school.rubric_count)
    return out


def _derived(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Shares and means recomputed from numerators and denominators."""
    scored = sum(counts[f"rubric_{k}"] for k in _level_keys())
    return {
        "young_share": percent(counts["young_covered"], counts["young_total"]),
        "roadmap_percent": percent(counts["roadmap_done"], counts["roadmap_items"]),
        "rubric_mean": mean(counts["rubric_sum"], counts["rubric_count"]),
        "rubric_optimal_share": percent(counts["rubric_optimal"], scored),
        "rubric_unacceptable_share": percent(counts["rubric_unacceptable"], scored),
    }


def school_row(school: SchoolFigures) -> dict:
    """One row of the «Школы» table (all column keys of the layout, plus rubric sums)."""
    counts = _counts(school)
    row: dict = {
        "school_code": school.school_code,
        "school_name": school.school_name,
        "municipality": school.municipality,
        "academic_year": school.academic_year,
        "collected": school.created,
    }
    row.update(counts)
    row.update(_derived(counts))
    return row


def totals_row(schools: Sequence[SchoolFigures]) -> dict:
    """Municipality totals: sums of counts, shares from the summed parts."""
    summed: dict[str, int] = {}
    for school in schools:
        for key, value in _counts(school).items():
            summed[key] = summed.get(key, 0) + value
    if not schools:
        summed = {key: 0 for key in _counts(SchoolFigures(school_code=""))}
    row: dict = {"schools": len(schools)}
    row.update(summed)
    row.update(_derived(summed))
    return row


def all_directions(schools: Iterable[SchoolFigures], standard: Sequence[str]) -> list[str]:
    """Standard directions first (in their order), then every school's own
    directions sorted case-insensitively; each once."""
    seen = {d.casefold() for d in standard}
    extra: dict[str, str] = {}
    for school in schools:
        names = list(school.directions) + [d for (_, d) in school.deficits]
        for d in names:
            d = " ".join(str(d).split())
            if d and d.casefold() not in seen and d.casefold() not in extra:
                extra[d.casefold()] = d
    return list(standard) + [extra[k] for k in sorted(extra)]


def _deficit_parts(school: SchoolFigures, stage: str, direction: str) -> tuple[int, int]:
    total, count = 0, 0
    folded = direction.casefold()
    for (st, d), (s, n) in school.deficits.items():
        if st == stage and " ".join(str(d).split()).casefold() == folded:
            total += s
            count += n
    return total, count


def heatmap(schools: Sequence[SchoolFigures], directions: Sequence[str]) -> dict:
    """Mean deficit intensity per school × direction, on entry and at the end.

    Each cell keeps the number of marks it averages, so a municipality total is
    the mean over all marks, not the mean of the school means."""
    rows = []
    sums = {st: [0] * len(directions) for st in STAGES}
    marks = {st: [0] * len(directions) for st in STAGES}
    for school in schools:
        row: dict = {"school_code": school.school_code, "school_name": school.school_name}
        for stage in STAGES:
            parts = [_deficit_parts(school, stage, d) for d in directions]
            row[stage] = [mean(s, n) for s, n in parts]
            row[f"{stage}_marks"] = [n for _, n in parts]
            row[f"{stage}_sums"] = [s for s, _ in parts]
            for i, (s, n) in enumerate(parts):
                sums[stage][i] += s
                marks[stage][i] += n
        row["change"] = _change(row["entry_sums"], row["entry_marks"], row["final_sums"], row["final_marks"])
        del row["entry_sums"], row["final_sums"]
        rows.append(row)
    total: dict = {}
    for stage in STAGES:
        total[stage] = [mean(s, n) for s, n in zip(sums[stage], marks[stage])]
        total[f"{stage}_marks"] = list(marks[stage])
    total["change"] = _change(sums["entry"], marks["entry"], sums["final"], marks["final"])
    return {"directions": list(directions), "schools": rows, "total": total}


def _change(entry_sums: Sequence[int], entry_marks: Sequence[int], final_sums: Sequence[int],
            final_marks: Sequence[int]) -> list[float | None]:
    """End mean minus entry mean per direction (negative: the deficit shrank),
    from the exact sums; None unless both stages have marks."""
    return [round(fs / fn - es / en, 2) if en and fn else None
            for es, en, fs, fn in zip(entry_sums, entry_marks, final_sums, final_marks)]


def rubric_rows(rows: Sequence[dict]) -> list[dict]:
    """Rubric levels per school, in the columns of the «Рубрика» sheet."""
    keys = [c["key"] for c in municipal_layout()["rubric_columns"]]
    return [{k: row.get(k) for k in keys} for row in rows]


def attention(rows: Sequence[dict]) -> list[dict]:
    """Schools that need attention, one entry per (school, reason), with the
    reason in Russian. Rules are checked in a fixed order."""
    layout = municipal_layout()
    limits = layout["thresholds"]
    texts = layout["attention_reasons"]
    threshold = limits["low_completion_percent"]
    majority = _majority_year(rows)
    out = []
    for row in rows:
        checks = [
            ("mentors_over_limit", row["mentors_over_limit"], {"limit": limits["mentor_limit"]}),
            ("mentees_over_limit", row["mentees_over_limit"], {"limit": limits["mentee_limit"]}),
            ("rubric_unacceptable", row["rubric_unacceptable"], {}),
            ("low_completion", _low_completion(row, threshold), {"threshold": threshold}),
            ("files_rejected", row["files_rejected"], {}),
            ("pairs_missing", row["pairs_missing"], {}),
            ("no_pairs", 1 if row["pairs"] + row["groups"] == 0 else 0, {}),
            ("other_year", 1 if majority and row["academic_year"] != majority else 0,
             {"majority": majority}),
        ]
        for key, value, params in checks:
            if not value:
                continue
            shown = {"low_completion": row["roadmap_percent"], "no_pairs": None,
                     "other_year": row["academic_year"] or "не указан"}.get(key, value)
            out.append({
                "school_code": row["school_code"],
                "school_name": row["school_name"],
                "reason_key": key,
                "reason": texts[key].format(value=_fmt(shown), **params),
                "value": shown,
            })
    return out


def _majority_year(rows: Sequence[dict]) -> str:
    """The academic year most schools report (ties: the later year)."""
    counts: dict[str, int] = {}
    for row in rows:
        if row["academic_year"]:
            counts[row["academic_year"]] = counts.get(row["academic_year"], 0) + 1
    return max(counts, key=lambda y: (counts[y], y)) if counts else ""


def _low_completion(row: dict, threshold: float) -> int:
    items, done = row["roadmap_items"], row["roadmap_done"]
    return 1 if items and done * 100 < threshold * items else 0


def _fmt(value: object) -> str:
    if isinstance(value, float):
        text = f"{value:.1f}".rstrip("0").rstrip(".")
        return text.replace(".", ",")
    return str(value)


def mentor_rows(schools: Sequence[SchoolFigures], names: str,
                pseudonymize=None) -> list[dict]:
    """Mentor table for ``--with-names`` (names) or ``--pseudonymize``
    (``pseudonymize(school_code, mentor_id) -> str`` replaces name and code)."""
    if names == NAMES_NONE:
        return []
    out = []
    for school in schools:
        for m in sorted(school.mentor_rows, key=lambda m: m.mentor_id):
            if names == NAMES_PSEUDONYMS:
                mentor_id, name = "", pseudonymize(school.school_code, m.mentor_id)
            else:
                mentor_id, name = m.mentor_id, m.full_name
            out.append({
                "school_code": school.school_code, "school_name": school.school_name,
                "mentor_id": mentor_id, "name": name, "programmes": m.programmes,
                "completed": m.completed, "rubric_mean": mean(m.rubric_sum, m.rubric_count),
            })
    return out


def municipal_figures(schools: Iterable[SchoolFigures], standard_directions: Sequence[str],
                      names: str = NAMES_NONE, pseudonymize=None) -> dict:
    """All figures of the municipal summary, schools sorted by code."""
    ordered = sorted(schools, key=lambda s: (s.school_code, s.created))
    rows = [school_row(s) for s in ordered]
    totals = totals_row(ordered)
    flagged = attention(rows)
    totals["attention_schools"] = len({a["school_code"] for a in flagged})
    municipalities = sorted({s.municipality for s in ordered if s.municipality})
    return {
        "municipality": "; ".join(municipalities),
        "academic_years": sorted({s.academic_year for s in ordered if s.academic_year}),
        "schools": rows,
        "totals": totals,
        "heatmap": heatmap(ordered, all_directions(ordered, standard_directions)),
        "rubric": rubric_rows(rows),
        "attention": flagged,
        "names": names,
        "mentors": mentor_rows(ordered, names, pseudonymize),
    }


# ---------------------------------------------------------------- from a school summary

def _status_key(label: object) -> str:
    for s in municipal_layout()["statuses"]:
        if s["label"] == label:
            return s["key"]
    return "unknown"


def _level_key(label: object) -> str | None:
    for lv in municipal_layout()["rubric_levels"]:
        if lv["label"] == label:
            return lv["key"]
    return None


def _int(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _deficits(rows: Sequence[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    """(stage, direction) -> (sum, marks), from the exact ``*_sum`` columns; a
    summary without them gives the rounded mean × marks (exact while a direction
    has < 100 marks, since means are rounded to 2 decimals)."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        direction = row.get("direction")
        if not direction:
            continue
        for stage in STAGES:
            n = _int(row.get(f"{stage}_n"))
            total, m = row.get(f"{stage}_sum"), row.get(f"{stage}_mean")
            if n and isinstance(total, int) and not isinstance(total, bool):
                out[(stage, direction)] = (total, n)
            elif n and isinstance(m, (int, float)):
                out[(stage, direction)] = (round(m * n), n)
    return out


def _mentor_rows(tables: Mapping[str, list]) -> tuple[MentorFigures, ...]:
    completed_label = next(s["label"] for s in municipal_layout()["statuses"] if s["key"] == "completed")
    done: dict[str, int] = {}
    for p in tables.get("programmes") or []:
        if p.get("status") == completed_label and p.get("mentor_id"):
            done[p["mentor_id"]] = done.get(p["mentor_id"], 0) + 1
    rubric: dict[str, list[int]] = {}
    for r in tables.get("rubric_programmes") or []:
        if r.get("mentor_id") and _level_key(r.get("level")) and isinstance(r.get("total"), int):
            rubric.setdefault(r["mentor_id"], []).append(r["total"])
    from xlflow.consolidate.export import summary_layout

    mentor_role = summary_layout()["labels"]["role_mentor"]
    out = []
    for row in tables.get("load") or []:
        pid = row.get("person_id")
        if row.get("role") != mentor_role or not pid or not _int(row.get("programmes")):
            continue  # the mentors table lists mentors who run programmes, not the whole bank
        totals = rubric.get(pid, [])
        out.append(MentorFigures(mentor_id=pid, full_name=row.get("full_name") or "",
                                 programmes=_int(row.get("programmes")), completed=done.get(pid, 0),
                                 rubric_sum=sum(totals), rubric_count=len(totals)))
    return tuple(sorted(out, key=lambda m: m.mentor_id))


def school_figures_from_summary(payload: Mapping) -> SchoolFigures:
    """Map a school summary payload (``schemas/school_summary.schema.json``,
    version 1) to :class:`SchoolFigures`."""
    school, fig, tables = payload["school"], payload["figures"], payload.get("tables") or {}
    statuses: dict[str, int] = {}
    for row in tables.get("statuses") or []:
        key = _status_key(row.get("status"))
        statuses[key] = statuses.get(key, 0) + _int(row.get("programmes"))
    levels: dict[str, int] = {}
    unscored = 0
    for row in tables.get("rubric_levels") or []:
        key = _level_key(row.get("level"))
        if key is None:
            unscored += _int(row.get("programmes"))
        else:
            levels[key] = levels.get(key, 0) + _int(row.get("programmes"))
    totals = [r["total"] for r in tables.get("rubric_programmes") or []
              if _level_key(r.get("level")) and isinstance(r.get("total"), int)]
    files, roadmap = fig.get("files") or {}, fig.get("roadmap") or {}
    return SchoolFigures(
        school_code=str(school.get("code") or "").strip(), school_name=school.get("name") or "",
        municipality=school.get("municipality") or "", academic_year=school.get("academic_year") or "",
        created=payload.get("created") or "",
        mentors=_int(fig.get("mentors")), mentees=_int(fig.get("mentees")),
        pairs=_int(fig.get("pairs")), groups=_int(fig.get("groups")),
        programmes=_int(fig.get("programmes")),
        young_total=_int(fig.get("young_specialists")),
        young_covered=_int(fig.get("young_specialists_covered")),
        status_counts=statuses,
        roadmap_items=_int(roadmap.get("planned")), roadmap_done=_int(roadmap.get("done")),
        rubric_levels=levels, rubric_unscored=unscored,
        rubric_sum=sum(totals), rubric_count=len(totals),
        mentors_over_limit=_int(fig.get("mentors_over_limit")),
        mentees_over_limit=_int(fig.get("mentees_over_limit")),
        pairs_missing=_int(fig.get("copies_missing")),
        files_accepted=_int(files.get("accepted")) + _int(files.get("accepted_with_problems")),
        files_rejected=_int(files.get("rejected")),
        directions=tuple(payload.get("directions") or ()),
        deficits=_deficits(tables.get("deficits") or []),
        mentor_rows=_mentor_rows(tables),
    )
