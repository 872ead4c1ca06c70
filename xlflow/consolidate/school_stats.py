"""Figures and tables of the school summary, computed from consolidated records.

Pure functions: a :class:`Programme` (a pair row with the records of its
counted copy) and the reduction of a copy's records (:func:`reduce_record`,
done in the workers) in, rows in the shape of the tables of
``workbook_templates/school_summary.json`` out. The accumulation over all
programmes is :class:`xlflow.consolidate.school_stream.FigureSink`. Nothing
here reads files.

Definitions (also in the README):

* A *programme* is one row of the curator's «Пары и группы» (one mentee of a
  pair or group), plus any accepted copy for a pair the registry does not list.
  A pair/group is one ``group_id``; ``пара``/``группа`` comes from its «Тип»
  (when empty: a group when the id has several mentees).
* mentors / mentees: distinct people in programmes; ``*_in_bank``: people in
  the banks (the curator's banks, completed by the people of the copies).
* young specialists: mentees of the bank whose category is «молодой
  специалист (стаж 0–3 года)»; covered: those who are the mentee of a programme;
  share = covered / young specialists × 100 (one decimal; null without any).
* Breakdown by form, kind, mode, type and interaction form: programmes with that
  value, distinct pairs and groups, mentors and mentees among them.
* Choice values that are not on their list (misspelt) are left out of the
  figures like other unsound values (validation reports them at their cells).
* Status: the copy's «Статус программы»; «статус не указан» when empty or
  not on the list;
  «нет данных (копия не сдана)» when no copy came back.
* Load: a programme runs from «Дата начала» to «Фактическая дата завершения»
  when filled, otherwise to «Плановая дата окончания», both days included; a
  group counts once for its mentor. ``max_concurrent`` is the largest number of
  a person's programmes running on the same day; over the limit when it exceeds
  4 (mentor) or 2 (mentee).
* Deficits: per direction, the mean of the deficit intensities (0–3) filled
  at entry and at the end over all counted copies; change = end − entry; high
  priority = intensity 3.
* Roadmap: an activity whose direction is empty or not one of the school's
  directions is counted under «(направление не указано или не из списка)»;
  planned = all activities; done «выполнено»; partial «выполнено
  частично»; postponed «перенесено»; not done «не выполнено»; overdue = not
  «выполнено» with «Срок» before ``as_of``; completion = done / planned × 100.
* Rubric: total of the nine scores when all nine are filled, level by the
  layout's bands (15–18, 9–14, 0–8); otherwise «не оценено». Indicator mean
  over the filled scores.
* Duration in months = days / 30.4375 (one decimal): planned from start to
  planned end, real from start to the actual end date when filled.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from xlflow.layout import RubricSpec, load_layout

MENTOR_LIMIT = 4
MENTEE_LIMIT = 2
YOUNG_SPECIALIST = load_layout().lists["mentee_categories"][0]
STATUS_MISSING = "нет данных (копия не сдана)"
STATUS_UNKNOWN = "статус не указан"
NOT_SCORED = "не оценено"
NO_DIRECTION = "(направление не указано или не из списка)"
DAYS_PER_MONTH = 365.25 / 12
BREAKDOWN_DIMENSIONS = ("group_type", "mentoring_form", "interaction_form", "kind", "mode")
COMPLETION = {"выполнено": "done", "выполнено частично": "partial", "перенесено": "postponed",
              "не выполнено": "not_done"}
ROLE_MENTOR = "наставник"  # labels.role_mentor of school_summary.json
ROLE_MENTEE = "наставляемый"
ROADMAP_COUNTS = ("planned", "done", "partial", "postponed", "not_done", "overdue")


def parse_date(value: Any) -> dt.date | None:
    """ISO date string -> date; anything unsound -> None."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    return _parsed_day(value)


@lru_cache(maxsize=2048)
def _parsed_day(text: str) -> dt.date | None:
    """(Cached: the copies of a school repeat the days of one school year.)"""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _int_in(value: Any, allowed: range) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in allowed else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def choice(value: Any, list_name: str) -> str | None:
    """A choice cell's value when it is on the layout's list, else None
    (a misspelt value is reported by validation and left out of the figures)."""
    text = _text(value)
    return text if text in load_layout().lists[list_name] else None


@dataclass
class Programme:
    """One mentee's programme: the pair row and the records of its counted copy."""

    programme_id: str
    mentee_id: str
    pair: dict
    record: dict | None = None
    in_registry: bool = True
    file: str | None = None

    @property
    def mentor_id(self) -> str | None:
        return _text(self.pair.get("mentor_id"))

    @property
    def passport(self) -> dict:
        return (self.record or {}).get("passport") or {}

    @property
    def start(self) -> dt.date | None:
        return parse_date(self.pair.get("start_date"))

    @property
    def planned_end(self) -> dt.date | None:
        return parse_date(self.pair.get("planned_end_date"))

    @property
    def actual_end(self) -> dt.date | None:
        return parse_date(self.passport.get("actual_end_date"))

    @property
    def end(self) -> dt.date | None:
        return self.actual_end or self.planned_end

    @property
    def status(self) -> str:
        if self.record is None:
            return STATUS_MISSING
        return choice(self.passport.get("status"), "statuses") or STATUS_UNKNOWN


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def months(start: dt.date | None, end: dt.date | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).days / DAYS_PER_MONTH, 1)


# ---------------------------------------------------------------- breakdown, statuses

def breakdown_rows(dim: str, counts: Mapping[str, Sequence[int]]) -> list[dict]:
    """Rows of one dimension from {value: (programmes, pairs, groups, mentors, mentees)}, in list order."""
    keys = ("programmes", "pairs", "groups", "mentors", "mentees")
    return [{"dimension": dim, "value": value, **dict(zip(keys, counts[value]))}
            for value in sorted(counts, key=lambda v: _list_order(dim, v))]


_LIST_OF_DIMENSION = {"group_type": "group_types", "mentoring_form": "mentoring_forms",
                      "interaction_form": "interaction_forms", "kind": "kinds", "mode": "modes"}


def _list_order(dim: str, value: str) -> tuple[int, str]:
    values = load_layout().lists[_LIST_OF_DIMENSION[dim]]
    return (values.index(value), "") if value in values else (len(values), value)


def status_rows(counts: Mapping[str, int]) -> list[dict]:
    order = list(load_layout().lists["statuses"]) + [STATUS_UNKNOWN, STATUS_MISSING]
    keys = [s for s in order if s in counts] + sorted(s for s in counts if s not in order)
    return [{"status": s, "programmes": counts[s]} for s in keys]


# ---------------------------------------------------------------- load

def max_overlap(intervals: Iterable[tuple[dt.date, dt.date]]) -> tuple[int, dt.date | None]:
    """Largest number of intervals (both ends included) sharing one day, and the first such day."""
    events = []
    for start, end in intervals:
        if end < start:
            end = start
        events.append((start, 0))
        events.append((end + dt.timedelta(days=1), -1))
    events.sort(key=lambda e: (e[0], e[1]))
    best, best_day, current = 0, None, 0
    for day, kind in events:
        current += 1 if kind == 0 else -1
        if current > best:
            best, best_day = current, day
    return best, best_day


def _intervals_by_programme(programmes: Iterable[Any]) -> dict[str, tuple[dt.date, dt.date]]:
    spans: dict[str, tuple[dt.date, dt.date]] = {}
    for p in programmes:
        if p.start is None or p.end is None:
            continue
        old = spans.get(p.programme_id)
        spans[p.programme_id] = (p.start, p.end) if old is None else (min(old[0], p.start), max(old[1], p.end))
    return spans


def _load_row(role: str, person_id: str, name: str | None, progs: Sequence[Any], limit: int) -> dict:
    """The load row of a person; ``progs``: their programmes (anything with ``programme_id``,
    ``start`` and ``end``, e.g. :class:`xlflow.consolidate.school_stream.Span`)."""
    spans = _intervals_by_programme(progs)
    peak, day = max_overlap(spans.values())
    return {
        "role": role, "person_id": person_id, "full_name": name,
        "programmes": len({p.programme_id for p in progs}), "max_concurrent": peak,
        "limit": limit, "over_limit": peak > limit,
        "peak_date": day.isoformat() if day and peak > limit else None,
        "programme_ids": ", ".join(sorted({p.programme_id for p in progs})) or None,
    }


# ---------------------------------------------------------------- deficits, roadmap, rubric

def reduce_record(record: Mapping[str, Any] | None, as_of: dt.date | None = None) -> dict:
    """The per-copy facts the figures need, instead of the copy's rows.

    Collect's workers call this (with ``as_of``) so that the parent keeps a
    few hundred bytes per copy rather than every diagnostics, roadmap and
    rubric row: memory stays nearly flat as the number of copies grows. The
    figures below accept a record in either form (:func:`reduced`).

    * ``diag_directions``: directions met in the diagnostics, in order;
    * ``deficits``: {(stage, direction): (sum, count, count of 3)} of sound
      deficit intensities;
    * ``roadmap``: {direction as typed (None if empty): counts in the order
      of ROADMAP_COUNTS}, overdue judged on ``as_of``;
    * ``roadmap_done``: activities marked exactly «выполнено»;
    * ``latest_done``: the latest sound «Дата выполнения» (ISO) or "";
    * ``rubric``: {indicator: score} of sound scores."""
    rec = record or {}
    directions: dict[str, None] = {}
    deficits: dict[tuple[str, str], tuple[int, int, int]] = {}
    for item in rec.get("diagnostics") or []:
        d = _text(item.get("direction"))
        if d:
            directions.setdefault(d, None)
        level = _int_in(item.get("level"), range(4))
        stage = item.get("stage")
        if item.get("aspect") == "deficit" and stage in ("entry", "final") and d and level is not None:
            total, n, high = deficits.get((stage, d), (0, 0, 0))
            deficits[(stage, d)] = (total + level, n + 1, high + (level == 3))
    roadmap: dict[str | None, list[int]] = {}
    done = 0
    latest = ""
    for item in rec.get("roadmap") or []:
        if not isinstance(item, dict):
            continue
        counts = roadmap.setdefault(_text(item.get("direction")), [0] * len(ROADMAP_COUNTS))
        _count_item(counts, item, as_of)
        done += item.get("completion") == "выполнено"
        day = item.get("done_date")
        if parse_date(day) and day > latest:
            latest = day
    return {"diag_directions": tuple(directions), "deficits": deficits,
            "roadmap": {d: tuple(c) for d, c in roadmap.items()}, "roadmap_done": done,
            "latest_done": latest, "rubric": _rubric_scores_of(rec)}


def reduced(record: Mapping[str, Any] | None, as_of: dt.date | None = None) -> dict:
    """``record["reduced"]`` when a worker already reduced it, else reduce now."""
    if record is not None and "reduced" in record:
        return record["reduced"]
    return reduce_record(record, as_of)


def deficit_rows(directions: Sequence[str], sums: Mapping[tuple[str, str], Sequence[int]]) -> list[dict]:
    """Deficit rows from {(stage, direction): (sum, count, count of 3)}."""
    rows = []
    for d in directions:
        e_sum, e_n, e_high = sums.get(("entry", d), (0, 0, 0))
        f_sum, f_n, f_high = sums.get(("final", d), (0, 0, 0))
        em = e_sum / e_n if e_n else None
        fm = f_sum / f_n if f_n else None
        rows.append({
            "direction": d, "entry_mean": _r2(em), "final_mean": _r2(fm),
            "change": _r2(fm - em) if em is not None and fm is not None else None,
            "entry_n": e_n, "final_n": f_n,
            "entry_high": e_high, "final_high": f_high,
            "entry_sum": e_sum, "final_sum": f_sum,
        })
    return rows


_COUNT_INDEX = {key: i for i, key in enumerate(ROADMAP_COUNTS)}


def _count_item(counts: list[int], item: Mapping[str, Any], as_of: dt.date | None) -> None:
    """Add one roadmap activity to ``counts`` (ordered as ROADMAP_COUNTS)."""
    counts[0] += 1
    mark = COMPLETION.get(_text(item.get("completion")) or "")
    if mark:
        counts[_COUNT_INDEX[mark]] += 1
    if as_of is not None and mark != "done":
        due = parse_date(item.get("due_date"))
        if due is not None and due < as_of:
            counts[5] += 1


def _counts_dict(counts: Sequence[int]) -> dict:
    c = dict(zip(ROADMAP_COUNTS, counts))
    c["completion_percent"] = _pct(c["done"], c["planned"])
    return c


def roadmap_row(p: Programme, counts: Sequence[int]) -> dict:
    """The «by programme» roadmap row of ``p`` with its activity counts."""
    return {"programme_id": p.programme_id, "mentee_id": p.mentee_id, "mentor_id": p.mentor_id,
            **_counts_dict(counts)}


def roadmap_direction_rows(directions: list[str], by_direction: Mapping[str, Sequence[int]]) -> list[dict]:
    """The «by direction» roadmap rows (the table's directions, then the unlisted bucket when used)."""
    width = len(ROADMAP_COUNTS)
    directions = directions + ([NO_DIRECTION] if NO_DIRECTION in by_direction else [])
    return [{"direction": d, **_counts_dict(by_direction.get(d, [0] * width))} for d in directions]


def _rubric_spec() -> RubricSpec:
    spec = load_layout().sheet("rubric")
    assert isinstance(spec, RubricSpec)
    return spec


def rubric_scores(record: Mapping[str, Any] | None) -> dict[int, int]:
    return reduced(record)["rubric"]


def _rubric_scores_of(record: Mapping[str, Any]) -> dict[int, int]:
    out: dict[int, int] = {}
    for item in (record or {}).get("rubric") or []:
        ind = _int_in(item.get("indicator"), range(1, 10))
        score = _int_in(item.get("score"), range(3))
        if ind is not None and score is not None:
            out[ind] = score
    return out


def rubric_of(p: Programme, n_ind: int) -> tuple[dict[int, int], int | None, str]:
    """(sound scores, total when all ``n_ind`` are scored, level) of ``p``."""
    scores = rubric_scores(p.record)
    total = sum(scores.values()) if len(scores) == n_ind else None
    return scores, total, (load_layout().rubric_level(total) if total is not None else NOT_SCORED)


def rubric_row(p: Programme, scores: Mapping[int, int], total: int | None, level: str) -> dict:
    return {"programme_id": p.programme_id, "mentee_id": p.mentee_id, "mentor_id": p.mentor_id,
            "scored": len(scores), "total": total, "level": level}


def rubric_indicator_rows(sums: Mapping[int, tuple[int, int]]) -> list[dict]:
    """Indicator rows from {indicator: (sum of scores, count)}."""
    rows = []
    for n, crit, text in _rubric_spec().indicators:
        total, count = sums.get(n, (0, 0))
        rows.append({"indicator": n, "criterion": crit, "text": text,
                     "mean": _r2(total / count if count else None), "n": count})
    return rows


def rubric_level_rows(levels: Mapping[str, int]) -> list[dict]:
    rows = [{"level": lv["label"], "programmes": levels.get(lv["label"], 0)} for lv in _rubric_spec().levels]
    rows.append({"level": NOT_SCORED, "programmes": levels.get(NOT_SCORED, 0)})
    return rows


# ---------------------------------------------------------------- programmes

def programme_row(p: Programme, group_type: str | None) -> dict:
    """The «Программы» row of ``p`` (``group_type``: «пара»/«группа» of its pair or group)."""
    pp = p.passport
    return {
        "programme_id": p.programme_id, "mentee_id": p.mentee_id, "mentor_id": p.mentor_id,
        "group_type": group_type,
        "mentoring_form": choice(p.pair.get("mentoring_form"), "mentoring_forms"),
        "kind": choice(p.pair.get("kind"), "kinds"), "mode": choice(p.pair.get("mode"), "modes"),
        "main_direction": _text(pp.get("main_direction")),
        "start_date": _iso(p.start), "planned_end_date": _iso(p.planned_end),
        "actual_end_date": _iso(p.actual_end),
        "planned_months": months(p.start, p.planned_end), "real_months": months(p.start, p.actual_end),
        "status": p.status, "term_change": choice(pp.get("term_change"), "term_changes"),
        "ending_reason": choice(pp.get("ending_reason"), "ending_reasons"),
        "in_registry": p.in_registry, "copy_received": p.record is not None, "file": p.file,
    }


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None
