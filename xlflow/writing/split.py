"""`xlflow split`: one programme workbook per pair, and per mentee of a group.

The curator's school workbook lists the people (banks) and the pairs/groups
(one row per mentee). Each copy is a ``programme`` workbook for one row: its
banks hold only its people (the mentor and all mentees of the group, so a group
copy carries the group's common part), its pairs sheet the rows of its pair or
group, its passport the school identity and the programme code. Those prefilled
cells are locked; everything the pair fills in stays open.

The planning works on plain records (:func:`plan_copies`) so it is testable
without files; :func:`split_school_workbook` reads, plans and writes.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from xlflow.errors import XlflowError
from xlflow.fileio import refuse_overwriting_inputs
from xlflow.layout import load_layout
from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

IDENTITY_KEYS = ("school_name", "school_code", "municipality", "academic_year")
MAX_NAME = 120  # characters of a file name, extension included
POOL_THRESHOLD = 4  # more copies than this are written by a process pool
MAX_CHUNK = 4
_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


@dataclass(frozen=True)
class CopyPlan:
    """One programme copy: where it goes and what it holds."""

    file_name: str
    options: WorkbookOptions
    records: dict


def short_name(full_name: Any, fallback: str) -> str:
    """«Иванова Анна Андреевна» -> «Иванова А.А.»; the code when there is no name."""
    parts = str(full_name or "").split()
    if not parts:
        return fallback
    return parts[0] + (" " + "".join(p[0].upper() + "." for p in parts[1:3]) if len(parts) > 1 else "")


def safe_file_name(stem: str, taken: set[str], ext: str = ".xlsx") -> str:
    """A file name legal on Windows, macOS and Linux, at most MAX_NAME characters,
    unique (case-insensitively) among ``taken``; adds it to ``taken``."""
    clean = " ".join(_ILLEGAL.sub("_", stem).split()).strip(" .") or "копия"
    if clean.split(".")[0].upper() in _RESERVED:
        clean = "_" + clean
    n = 1
    while True:
        suffix = f" ({n})" if n > 1 else ""
        room = MAX_NAME - len(ext) - len(suffix)
        name = clean[:room].rstrip(" .") + suffix + ext
        if name.casefold() not in taken:
            taken.add(name.casefold())
            return name
        n += 1


def _by_id(rows: Sequence[Mapping[str, Any]], what: str, problems: list[str]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        key = str(row.get("id", "")).strip()
        if not key:
            continue
        if key in out:
            problems.append(f"Код {what} «{key}» встречается в банке дважды: сделайте коды уникальными.")
        out[key] = row
    return out


def _groups(pairs: Sequence[Mapping[str, Any]], problems: list[str]) -> dict[str, list[Mapping[str, Any]]]:
    """Pair rows grouped by group code, in order of first appearance; checks each row's codes."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for n, row in enumerate(pairs, start=1):
        missing = [label for key, label in (("group_id", "код пары/группы"), ("mentor_id", "код наставника"),
                                            ("mentee_id", "код наставляемого")) if not str(row.get(key) or "").strip()]
        if missing:
            problems.append(f"В {n}-й заполненной строке листа пар не указан {', '.join(missing)}.")
            continue
        groups.setdefault(str(row["group_id"]).strip(), []).append(row)
    return groups


def _check_group(gid: str, rows: list[Mapping[str, Any]], mentors: Mapping[str, Any],
                 mentees: Mapping[str, Any], problems: list[str]) -> None:
    mentor_ids = {str(r["mentor_id"]).strip() for r in rows}
    if len(mentor_ids) > 1:
        problems.append(f"У группы «{gid}» разные наставники ({', '.join(sorted(mentor_ids))}): "
                        "у пары или группы должен быть один наставник.")
    for mid in sorted(mentor_ids - set(mentors)):
        problems.append(f"Наставник «{mid}» (пара/группа «{gid}») не найден в банке наставников: "
                        "добавьте его в банк или исправьте код.")
    seen: set[str] = set()
    for r in rows:
        mid = str(r["mentee_id"]).strip()
        if mid not in mentees:
            problems.append(f"Наставляемый «{mid}» (пара/группа «{gid}») не найден в банке наставляемых: "
                            "добавьте его в банк или исправьте код.")
        if mid in seen:
            problems.append(f"Наставляемый «{mid}» указан в паре/группе «{gid}» дважды: удалите лишнюю строку.")
        seen.add(mid)


def _identity(data: Mapping[str, Any]) -> dict[str, str]:
    meta, passport = data.get("meta") or {}, data.get("passport") or {}
    out = {}
    for key in IDENTITY_KEYS:
        value = meta.get(key) or passport.get(key) or ""
        out[key] = str(value).strip()
    return out


def plan_copies(data: Mapping[str, Any]) -> list[CopyPlan]:
    """Plan the copies of a school workbook's records; XlflowError (listing every
    reason) when splitting is impossible."""
    problems: list[str] = []
    kind = (data.get("meta") or {}).get("workbook_kind")
    if kind == "programme":
        raise XlflowError("Это уже копия программы одной пары (книга, созданная командой split). "
                          "Разделить можно только книгу школы с банками и списком пар.", code="split-not-school")
    mentors = _by_id(data.get("mentors") or [], "наставника", problems)
    mentees = _by_id(data.get("mentees") or [], "наставляемого", problems)
    groups = _groups(data.get("pairs") or [], problems)
    if not groups and not problems:
        raise XlflowError("На листе «Пары и группы» нет ни одной пары или группы. Заполните его "
                          "(код пары/группы, наставник, наставляемый) и повторите.", code="split-no-pairs")
    for gid, rows in groups.items():
        _check_group(gid, rows, mentors, mentees, problems)
    identity = _identity(data)
    if not identity["school_code"]:
        problems.append("Не указан код организации (лист «Паспорт программы»): без него копии не объединить.")
    if problems:
        raise XlflowError("Книгу школы нельзя разделить на копии:\n" + "\n".join(f"• {p}" for p in problems),
                          code="split-impossible")
    return _build_plans(data, identity, groups, mentors, mentees)


def _build_plans(data: Mapping[str, Any], identity: dict[str, str], groups: dict[str, list[Mapping[str, Any]]],
                 mentors: Mapping[str, Any], mentees: Mapping[str, Any]) -> list[CopyPlan]:
    layout = load_layout()
    directions = list((data.get("meta") or {}).get("directions") or layout.directions())
    standard = set(layout.lists["directions"])
    extra = tuple(d for d in directions if d not in standard)
    passport_common = {k: v for k, v in (data.get("passport") or {}).items() if k not in IDENTITY_KEYS}
    taken: set[str] = set()
    plans = []
    for gid, rows in groups.items():
        mentor_id = str(rows[0]["mentor_id"]).strip()
        mentor = dict(mentors[mentor_id])
        group_mentees = [dict(mentees[str(r["mentee_id"]).strip()]) for r in rows]
        for row in rows:
            mentee_id = str(row["mentee_id"]).strip()
            passport = {**passport_common, **{k: v for k, v in identity.items() if v}, "programme_id": gid}
            records = {"meta": {"directions": directions}, "passport": passport, "mentors": [mentor],
                       "mentees": group_mentees, "pairs": [dict(r) for r in rows]}
            options = WorkbookOptions(
                school_name=identity["school_name"], school_code=identity["school_code"],
                academic_year=identity["academic_year"], municipality=identity["municipality"],
                extra_directions=extra, workbook_kind="programme", programme_id=gid, mentee_id=mentee_id,
                rows={"mentors": 1, "mentees": len(group_mentees), "pairs": len(rows)})
            stem = (f"{gid} {short_name(mentor.get('full_name'), mentor_id)} — "
                    f"{short_name(mentees[mentee_id].get('full_name'), mentee_id)}")
            plans.append(CopyPlan(safe_file_name(stem, taken), options, records))
    return plans


def _write_copy(job: tuple[str, WorkbookOptions, dict]) -> str:
    path, options, records = job
    return str(write_programme_workbook(path, options, records, lock_prefilled=True))


def _blocking_read_problems(parsed: Any) -> list[str]:
    """Reading errors on the sheets split relies on (banks and pairs)."""
    layout = load_layout()
    needed = {layout.sheet(k).name for k in ("mentors", "mentees", "pairs")}
    out = []
    for p in parsed.problems:
        if p.is_error and (p.sheet in needed or p.params.get("sheet_name") in needed):
            where = p.where()
            out.append(f"{where}: {p.message}" if where else p.message)
    return out


def split_school_workbook(school_path: str | os.PathLike, outdir: str | os.PathLike, *,
                          jobs: int | None = None, overwrite: bool = False) -> list[Path]:
    """Write one locked-identity programme copy per pair row of the school
    workbook into ``outdir`` (created); returns the paths in pair order.

    The school workbook is only read. Existing files are not replaced unless
    ``overwrite`` (a teacher's filled copy must not be lost by a second split)."""
    from xlflow.reading.programme import read_programme

    if jobs is not None and jobs < 1:
        raise XlflowError("Число процессов (--jobs) должно быть не меньше 1.", code="bad-jobs")
    parsed = read_programme(school_path)
    blocking = _blocking_read_problems(parsed)
    if blocking:
        raise XlflowError("Книгу школы нельзя разделить: не удалось прочитать банки или пары.\n"
                          + "\n".join(f"• {b}" for b in blocking), code="split-impossible")
    plans = plan_copies(parsed.data)
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise XlflowError(f"{out} — это файл, а нужна папка для копий.", code="split-outdir")
    targets = [out / plan.file_name for plan in plans]
    _check_targets(targets, school_path, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    work = [(str(t), p.options, p.records) for t, p in zip(targets, plans)]
    workers = _workers(jobs, len(work))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_write_copy, work, chunksize=_chunk_size(len(work), workers)))
    else:
        for job in work:
            _write_copy(job)
    return targets


def _check_targets(targets: Iterable[Path], school_path: str | os.PathLike, overwrite: bool) -> None:
    existing = [t for t in targets if t.exists()]
    for t in existing:
        refuse_overwriting_inputs(t, [school_path])
    if existing and not overwrite:
        names = "\n".join(f"• {t.name}" for t in existing[:10])
        more = f"\n… и ещё {len(existing) - 10}" if len(existing) > 10 else ""
        raise XlflowError(f"В папке {existing[0].parent} уже есть копии с такими именами:\n{names}{more}\n"
                          "Они могли быть уже заполнены. Укажите другую папку или добавьте --force, "
                          "чтобы перезаписать их.", code="split-exists")


def _chunk_size(n: int, workers: int) -> int:
    """Copies sent to a worker at a time: small, so that no worker idles at the end
    while another still writes a long chunk (a copy takes ~30 ms)."""
    return max(1, min(MAX_CHUNK, n // (workers * 4)))


def _workers(jobs: int | None, n: int) -> int:
    if n <= POOL_THRESHOLD:
        return 1
    return max(1, min(jobs or os.cpu_count() or 1, n))
