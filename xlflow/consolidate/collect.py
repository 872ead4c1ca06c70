"""`xlflow collect`: consolidate a school's filled copies into one summary.

Flow: scan the folder (every file accounted for) -> read and validate each
candidate in worker processes, keeping only compact *facts* per file
(:class:`FileFacts`) -> consolidate in the parent (registry, duplicates,
school-wide rules) -> figures (:mod:`~xlflow.consolidate.school_stats`) ->
the summary workbook (:mod:`~xlflow.consolidate.school_writer`) and its
machine-readable copy (:mod:`~xlflow.consolidate.export`).

:func:`collect` runs that flow with memory that stays flat as the folder
grows (:mod:`~xlflow.consolidate.collect_stream`): each file's facts go to a
temporary sqlite store as they arrive, the figures are computed one programme
at a time (:mod:`~xlflow.consolidate.school_stream`) and the long tables are
streamed from disk into the workbook, the JSON and the CSV copies. The
in-memory :func:`consolidate` + :func:`build_payload` below are the reference
it is tested against (same payload, same files).

File statuses (``files`` table): ``accepted`` (read, no problem);
``accepted_with_problems`` (read, with validation or school-wide problems; its
records are still used, each unsound value is left out of the figures);
``duplicate`` (same records as the counted file: counted once);
``superseded`` (another version of the same copy counts instead);
``rejected`` (unreadable, not an xlflow programme workbook, other template or
version, other school code, a copy that names no pair); ``skipped`` (Excel
and LibreOffice lock files, hidden files and folders, non-spreadsheets,
xlflow's own outputs).

The registry is the curator's school workbook (``workbook_kind`` ``school``).
Copies are identified by ``meta.programme_id`` and ``meta.mentee_id`` (else
the passport's programme code and the copy's single pair row).

Duplicate rule: byte-identical files are found by the folder scan (the first
in name order counts, the others are ``duplicate``). Files with the same
identity (programme code + mentee code for copies; the school code for
registries) are versions of one submission, ranked by (1) more roadmap
activities marked «выполнено», then (2) the later latest date entered («Дата
выполнения», «Фактическая дата завершения»), then (3) the later file
modification time, then (4) the file path last in alphabetical order. The
first in rank counts. A version whose records equal the counted one
(ignoring ``meta.created``, ``meta.xlflow_version`` and ``computed``) is a
``duplicate`` (warning ``collect-duplicate-copy``); a different one is
``superseded`` and both files are named in a ``collect-conflicting-copies``
warning that says which one counts and why.
"""
from __future__ import annotations

import datetime as dt
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from xlflow import __version__
from xlflow.consolidate import school_stats as stats
from xlflow.consolidate.export import SCHEMA_VERSION, SCHOOL_TEMPLATE_ID, summary_layout
from xlflow.errors import XlflowError
from xlflow.layout import TableSpec, load_layout
from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.consolidate.facts import (  # noqa: F401 - statuses and FileFacts re-exported for callers and tests
    ACCEPTED, DUPLICATE, FILE_STATUSES, PAIR_KEYS_COMPARED, REJECTED, SKIPPED, SUPERSEDED, WITH_PROBLEMS,
    FileFacts)
from xlflow.consolidate.intake import ProgressFn, iter_facts

OTHER_SCHOOL = register(
    "collect-other-school", ERROR,
    "Копия относится к другой школе (код «{found}», а в реестре куратора — «{expected}»). "
    "Уберите файл из папки школы или исправьте код организации в паспорте.",
    "a copy with another school code")
NO_IDENTITY = register(
    "collect-copy-without-pair", ERROR,
    "Не удалось понять, к какой паре или группе относится копия: нет кода программы и наставляемого. "
    "Возьмите копию, выданную куратором (xlflow split), и перенесите в неё данные.",
    "a programme copy names no pair/mentee")
DUPLICATE_COPY = register(
    "collect-duplicate-copy", WARNING,
    "Эта копия совпадает с файлом «{other}» и учтена один раз. Удалите лишний файл из папки.",
    "identical copy submitted twice")
CONFLICTING_COPIES = register(
    "collect-conflicting-copies", WARNING,
    "Файлы «{counted}» и «{other}» — разные версии одной программы ({key}). В сводке учтён «{counted}» "
    "({why}). Оставьте в папке одну правильную версию.",
    "two different versions of the same copy")
MISSING_COPY = register(
    "collect-missing-copy", WARNING,
    "Копия программы {programme} (наставляемый «{mentee}») не сдана: её нет в папке. Получите "
    "заполненную копию у наставника или наставляемого.",
    "a registry pair whose copy never came back")
UNLISTED_COPY = register(
    "collect-unlisted-copy", WARNING,
    "Пары или группы {programme} с наставляемым «{mentee}» нет в реестре куратора (лист «Пары и группы» "
    "книги школы). Добавьте её в реестр или уберите копию из папки. Данные копии учтены в сводке.",
    "a copy for a pair the registry does not list")
COPY_DIFFERS = register(
    "collect-copy-differs", WARNING,
    "В копии в столбце «{column}» указано «{value}», а в реестре куратора — «{registry}». В сводке "
    "учтены данные реестра; исправьте копию или реестр, чтобы они совпадали.",
    "a copy's pair row differs from the registry row")
NOT_IN_BANK = register(
    "collect-person-not-in-bank", ERROR,
    "{role} с кодом «{value}» нет в банке книги куратора. Добавьте его в банк школы или исправьте код.",
    "a pair's person missing from the curator's banks")
MENTOR_OVERLOAD = register(
    "collect-mentor-overload", ERROR,
    "По всем файлам школы наставник «{value}» ведёт одновременно {count} программ(ы) ({groups}; "
    "например, на {day}). Наставник может вести не больше 4 программ сразу: измените сроки или "
    "передайте программу другому наставнику.",
    "a mentor in more than 4 programmes at once across all files")
MENTEE_OVERLOAD = register(
    "collect-mentee-overload", ERROR,
    "По всем файлам школы наставляемый «{value}» участвует одновременно в {count} программах "
    "({groups}; например, на {day}). Наставляемый может участвовать не больше чем в 2 программах "
    "сразу: измените сроки или состав пар.",
    "a mentee in more than 2 programmes at once across all files")
NO_REGISTRY = register(
    "collect-no-registry", WARNING,
    "В папке нет книги куратора (книги школы с банками и списком пар). Сводка построена только по "
    "копиям программ; несданные копии найти нельзя. Положите книгу школы в папку.",
    "no school workbook in the folder")


# ---------------------------------------------------------------- consolidation

@dataclass
class Consolidation:
    files: list[FileFacts]
    data: stats.SchoolData
    problems: list[Problem]  # school-wide problems (file-level ones stay on FileFacts)
    registry: FileFacts | None
    duplicate_of: dict[str, str] = field(default_factory=dict)  # file name -> counted file name


def _latest_entered(record: dict | None) -> str:
    rec = record or {}
    dates = [stats.reduced(rec)["latest_done"], (rec.get("passport") or {}).get("actual_end_date")]
    return max((d for d in dates if stats.parse_date(d)), default="")


def rank(f: FileFacts) -> tuple:
    """Higher wins: done activities, latest date entered, modification time, path."""
    done = stats.reduced(f.record)["roadmap_done"] if f.record is not None else 0
    return (done, _latest_entered(f.record), f.mtime, f.name)


def _why(winner: FileFacts, other: FileFacts) -> str:
    return why_ranked(rank(winner), rank(other))


def why_ranked(a: tuple, b: tuple) -> str:
    """Why the version ranked ``a`` counts rather than the one ranked ``b`` (see :func:`rank`)."""
    if a[0] != b[0]:
        return f"в нём больше выполненных мероприятий: {a[0]} против {b[0]}"
    if a[1] != b[1]:
        return f"в нём более поздняя внесённая дата: {_ru(a[1])}"
    if a[2] != b[2]:
        return "он изменён позже"
    return "его имя последнее по алфавиту"


def _shown(value: Any) -> str:
    """A cell value as the user typed it (ISO dates as ДД.ММ.ГГГГ)."""
    return _ru(value) if isinstance(value, str) and stats.parse_date(value) else str(value)


def _ru(iso: str) -> str:
    d = stats.parse_date(iso)
    return d.strftime("%d.%m.%Y") if d else iso


def resolve_versions(group: list[FileFacts], key_text: str, duplicate_of: dict[str, str]) -> FileFacts:
    """Pick the counted file among files with one identity; mark the others."""
    winner = max(group, key=rank)
    for f in group:
        if f is winner:
            continue
        duplicate_of[f.name] = winner.name
        f.problems = []  # a file that does not count is not checked further
        if f.fingerprint == winner.fingerprint:
            f.status = DUPLICATE
            f.problems.append(Problem(DUPLICATE_COPY, file=f.name, params={"other": winner.name}))
        else:
            f.status = SUPERSEDED
            params = {"counted": winner.name, "other": f.name, "key": key_text, "why": _why(winner, f)}
            f.problems.append(Problem(CONFLICTING_COPIES, file=f.name, params=params))
            winner.problems.append(Problem(CONFLICTING_COPIES, file=winner.name, params=params))
    return winner


def _copy_identity(f: FileFacts) -> tuple[str, str] | None:
    rec = f.record or {}
    pid = f.meta.get("programme_id") or (rec.get("passport") or {}).get("programme_id")
    mid = f.meta.get("mentee_id")
    pairs = rec.get("pairs") or []
    if not pid and len(pairs) == 1:
        pid = pairs[0].get("group_id")
    if not mid:
        rows = [r for r in pairs if not pid or r.get("group_id") == pid]
        if len(rows) == 1:
            mid = rows[0].get("mentee_id")
    if isinstance(pid, str) and isinstance(mid, str) and pid.strip() and mid.strip():
        return pid.strip(), mid.strip()
    return None


def _pair_row(record: dict | None, key: tuple[str, str]) -> tuple[int, dict] | None:
    """(index, row) of the copy's own pair row for ``key`` in its records."""
    for i, row in enumerate((record or {}).get("pairs") or []):
        if (str(row.get("group_id", "")).strip(), str(row.get("mentee_id", "")).strip()) == key:
            return i, row
    return None


class _Consolidator:
    def __init__(self, files: list[FileFacts]) -> None:
        self.files = files
        self.problems: list[Problem] = []
        self.duplicate_of: dict[str, str] = {}
        self.registry: FileFacts | None = None
        self.school_code: str | None = None

    def readable(self, kind: str) -> list[FileFacts]:
        return [f for f in self.files if f.status is None and f.kind == kind]

    def choose_registry(self) -> None:
        schools = self.readable("school")
        by_code: dict[str, list[FileFacts]] = defaultdict(list)
        for f in schools:
            by_code[f.school_code or ""].append(f)
        if not by_code:
            return
        # the school with most programme copies wins when several schools' registries lie here
        copies = Counter(f.school_code or "" for f in self.readable("programme"))
        code = max(by_code, key=lambda c: (copies[c], len(by_code[c]), c))
        self.registry = resolve_versions(by_code[code], f"книга школы {code or '—'}", self.duplicate_of)
        self.school_code = code or None
        for other_code, group in by_code.items():
            if other_code != code:
                for f in group:
                    self.reject_other_school(f)

    def reject_other_school(self, f: FileFacts) -> None:
        f.status = REJECTED
        f.problems = [Problem(OTHER_SCHOOL, file=f.name,
                              params={"found": f.school_code or "—", "expected": self.school_code or "—"})]

    def choose_school_without_registry(self) -> None:
        codes = Counter(f.school_code for f in self.readable("programme") if f.school_code)
        if codes:
            self.school_code = max(codes, key=lambda c: (codes[c], c))
        self.problems.append(Problem(NO_REGISTRY))

    def copies(self) -> dict[tuple[str, str], FileFacts]:
        groups: dict[tuple[str, str], list[FileFacts]] = defaultdict(list)
        for f in self.readable("programme"):
            if self.school_code and f.school_code and f.school_code != self.school_code:
                self.reject_other_school(f)
                continue
            key = _copy_identity(f)
            if key is None:
                f.status = REJECTED
                f.problems.append(Problem(NO_IDENTITY, file=f.name))
                continue
            groups[key].append(f)
        return {key: resolve_versions(g, f"{key[0]}, {key[1]}", self.duplicate_of) for key, g in groups.items()}

    def banks(self, copies: dict) -> tuple[dict, dict]:
        mentors: dict[str, dict] = {}
        mentees: dict[str, dict] = {}
        sources = ([self.registry] if self.registry else []) + list(copies.values())
        for f in sources:
            for bank, table in ((mentors, "mentors"), (mentees, "mentees")):
                for person in (f.record or {}).get(table) or []:
                    pid = person.get("id")
                    if isinstance(pid, str) and pid.strip() and pid.strip() not in bank:
                        bank[pid.strip()] = person
        return mentors, mentees

    def programmes(self, copies: dict[tuple[str, str], FileFacts]) -> list[stats.Programme]:
        out: list[stats.Programme] = []
        listed: set[tuple[str, str]] = set()
        if self.registry is not None:
            for i, row in enumerate((self.registry.record or {}).get("pairs") or []):
                key = (str(row.get("group_id", "")).strip(), str(row.get("mentee_id", "")).strip())
                if not all(key) or key in listed:
                    continue
                listed.add(key)
                copy = copies.get(key)
                out.append(stats.Programme(key[0], key[1], row, copy.record if copy else None, True,
                                           copy.name if copy else None))
                if copy is None:
                    self.problems.append(self.at_registry_row(MISSING_COPY, i, "mentee_id",
                                                              programme=key[0], mentee=key[1]))
        for key, copy in sorted(copies.items()):
            if key in listed:
                continue
            found = _pair_row(copy.record, key)
            row = found[1] if found else {"group_id": key[0], "mentee_id": key[1]}
            out.append(stats.Programme(key[0], key[1], row, copy.record, False, copy.name))
            if self.registry is not None:
                sheet, cell = copy.pair_cells.get((found[0], "group_id"), (None, None)) if found else (None, None)
                copy.problems.append(Problem(UNLISTED_COPY, file=copy.name, sheet=sheet, cell=cell,
                                             params={"programme": key[0], "mentee": key[1]}))
        return out

    def at_registry_row(self, code: str, row: int, key: str, **params: Any) -> Problem:
        reg = self.registry
        assert reg is not None
        sheet, cell = reg.pair_cells.get((row, key), (None, None))
        return Problem(code, file=reg.name, sheet=sheet, cell=cell, params=params)

    def check_pair_rows(self, copies: dict[tuple[str, str], FileFacts]) -> None:
        """A copy's own pair row should say what the registry says."""
        if self.registry is None:
            return
        listed = {}
        for row in (self.registry.record or {}).get("pairs") or []:
            listed.setdefault((str(row.get("group_id", "")).strip(), str(row.get("mentee_id", "")).strip()), row)
        spec = load_layout().sheet("pairs")
        assert isinstance(spec, TableSpec)
        headers = {c.key: c.header for c in spec.columns}
        for key, copy in copies.items():
            found, reg_row = _pair_row(copy.record, key), listed.get(key)
            if found is None or reg_row is None:
                continue
            i, row = found
            for col in PAIR_KEYS_COMPARED:
                mine, theirs = row.get(col), reg_row.get(col)
                if mine is not None and theirs is not None and mine != theirs:
                    sheet, cell = copy.pair_cells.get((i, col), (None, None))
                    copy.problems.append(Problem(COPY_DIFFERS, file=copy.name, sheet=sheet, cell=cell, params={
                        "column": headers[col], "value": _shown(mine), "registry": _shown(theirs)}))

    def check_banks(self, copies: dict[tuple[str, str], FileFacts]) -> None:
        """The people of each copy's pair rows must be in the curator's banks."""
        if self.registry is None:
            return
        rec = self.registry.record or {}
        banks = {"mentor_id": {str(p.get("id", "")).strip() for p in rec.get("mentors") or []},
                 "mentee_id": {str(p.get("id", "")).strip() for p in rec.get("mentees") or []}}
        roles = {"mentor_id": "Наставника", "mentee_id": "Наставляемого"}
        for copy in copies.values():
            for i, row in enumerate((copy.record or {}).get("pairs") or []):
                for key, known in banks.items():
                    value = row.get(key)
                    if isinstance(value, str) and value.strip() and value.strip() not in known:
                        sheet, cell = copy.pair_cells.get((i, key), (None, None))
                        copy.problems.append(Problem(NOT_IN_BANK, file=copy.name, sheet=sheet, cell=cell,
                                                     params={"role": roles[key], "value": value.strip()}))

    def check_load(self, data: stats.SchoolData, copies: dict[tuple[str, str], FileFacts]) -> None:
        for row in stats.load_table(data):
            if not row["over_limit"]:
                continue
            mentor = row["role"] == stats.ROLE_MENTOR
            code = MENTOR_OVERLOAD if mentor else MENTEE_OVERLOAD
            params = {"value": row["person_id"], "count": row["max_concurrent"],
                      "groups": row["programme_ids"], "day": _ru(row["peak_date"] or "")}
            self.problems.append(self.locate_person(data, "mentor_id" if mentor else "mentee_id",
                                                    row["person_id"], code, params, copies))

    def locate_person(self, data: stats.SchoolData, key: str, person: str, code: str, params: dict,
                      copies: dict[tuple[str, str], FileFacts]) -> Problem:
        if self.registry is not None:
            for i, row in enumerate((self.registry.record or {}).get("pairs") or []):
                if str(row.get(key, "")).strip() == person:
                    return self.at_registry_row(code, i, key, **params)
        for (pid, mid), copy in sorted(copies.items()):
            found = _pair_row(copy.record, (pid, mid))
            if found and str(found[1].get(key, "")).strip() == person:
                sheet, cell = copy.pair_cells.get((found[0], key), (None, None))
                return Problem(code, file=copy.name, sheet=sheet, cell=cell, params=params)
        return Problem(code, params=params)

    def run(self) -> Consolidation:
        self.choose_registry()
        if self.registry is None:
            self.choose_school_without_registry()
        copies = self.copies()
        mentors, mentees = self.banks(copies)
        data = stats.SchoolData(self.school_identity(copies), self.directions(copies), mentors, mentees,
                                self.programmes(copies))
        self.check_pair_rows(copies)
        self.check_banks(copies)
        self.check_load(data, copies)
        for f in self.files:
            if f.status is None:
                f.status = WITH_PROBLEMS if f.problems else ACCEPTED
        by_name = {f.name: f for f in self.files}
        for p in self.problems:
            owner = by_name.get(p.file or "")
            if owner is not None and owner.status == ACCEPTED:
                owner.status = WITH_PROBLEMS
        return Consolidation(self.files, data, self.problems, self.registry, self.duplicate_of)

    def school_identity(self, copies: dict) -> dict:
        source = self.registry or next(iter(sorted(copies.values(), key=lambda f: f.name)), None)
        meta = source.meta if source else {}
        passport = ((source.record or {}).get("passport") or {}) if source else {}
        ident = {k: meta.get(k) or passport.get(k) for k in ("school_name", "municipality", "academic_year")}
        return {"code": self.school_code, "name": ident["school_name"], "municipality": ident["municipality"],
                "academic_year": ident["academic_year"]}

    def directions(self, copies: dict) -> list[str]:
        source = self.registry or next(iter(sorted(copies.values(), key=lambda f: f.name)), None)
        dirs = (source.meta.get("directions") if source else None) or load_layout().directions()
        return [d for d in dirs if isinstance(d, str)]


def consolidate(files: list[FileFacts]) -> Consolidation:
    """Registry, duplicates and school-wide rules over the facts of all files."""
    return _Consolidator(files).run()


# ---------------------------------------------------------------- payload

def _file_row(f: FileFacts, duplicate_of: dict[str, str], problems: list[Problem]) -> dict:
    errors = sum(1 for p in problems if p.is_error)
    reason = f.reason
    if reason is None and f.status in (REJECTED, DUPLICATE, SUPERSEDED):
        first = next((p for p in problems if p.is_error), problems[0] if problems else None)
        reason = first.message if first else None
    return {
        "file": f.name, "status": f.status, "kind": f.kind if f.status != SKIPPED else None,
        "programme_id": f.meta.get("programme_id") if f.kind == "programme" else None,
        "mentee_id": f.meta.get("mentee_id") if f.kind == "programme" else None,
        "errors": errors, "warnings": len(problems) - errors, "reason": reason,
        "duplicate_of": duplicate_of.get(f.name),
    }


def _problem_row(p: Problem) -> dict:
    return {"file": p.file, "severity": p.severity, "sheet": p.sheet, "cell": p.cell,
            "message": p.message, "code": p.code}


def all_problems(result: Consolidation) -> list[Problem]:
    out = [p for f in result.files for p in f.problems] + list(result.problems)
    return sorted(out, key=Problem.sort_key)


def build_payload(result: Consolidation, as_of: dt.date, created: dt.datetime | None = None) -> dict:
    """The summary payload (shape: ``schemas/school_summary.schema.json``)."""
    figures, tables = stats.compute(result.data, as_of)
    problems = all_problems(result)
    by_file: dict[str | None, list[Problem]] = defaultdict(list)
    for p in problems:
        by_file[p.file].append(p)
    files = [_file_row(f, result.duplicate_of, by_file.get(f.name, [])) for f in result.files]
    counts = Counter(f.status for f in result.files)
    figures["files"] = {"total": len(result.files), **{s: counts.get(s, 0) for s in FILE_STATUSES}}
    figures["problems"] = {"errors": sum(1 for p in problems if p.is_error),
                           "warnings": sum(1 for p in problems if not p.is_error)}
    tables["files"] = files
    tables["problems"] = [_problem_row(p) for p in problems]
    return payload_of(result.data.school, result.data.directions, figures, tables, as_of, created)


def payload_of(school: dict, directions: list[str], figures: dict, tables: dict, as_of: dt.date,
               created: dt.datetime | None = None) -> dict:
    """The payload around its figures and tables (tables in the layout's order)."""
    created = created or dt.datetime.now(dt.timezone.utc)
    layout_tables = summary_layout()["tables"]
    return {
        "schema_version": SCHEMA_VERSION, "template_id": SCHOOL_TEMPLATE_ID, "xlflow_version": __version__,
        "created": created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "as_of": as_of.isoformat(), "school": school, "directions": directions,
        "limits": {"mentor": stats.MENTOR_LIMIT, "mentee": stats.MENTEE_LIMIT},
        "figures": figures, "tables": {name: tables[name] for name in layout_tables},
    }


def exit_code(result: Consolidation) -> int:
    """0 when every file was accepted and nothing is wrong school-wide, else 1."""
    if result.problems:
        return 1
    return 0 if all(f.status in (ACCEPTED, SKIPPED) for f in result.files) else 1


# ---------------------------------------------------------------- the whole call



@dataclass
class CollectOutcome:
    """What a collect run gave. The payload's long tables are read from the
    run's temporary store: :meth:`close` it when done (else it goes when the
    outcome is garbage collected)."""

    payload: dict
    result: Any  # the run (:class:`xlflow.consolidate.collect_stream.StreamCollect`)
    outputs: list[Path]
    exit_code: int

    def close(self) -> None:
        self.result.close()


def parse_as_of(text: str | None, today: dt.date | None = None) -> dt.date:
    """``ДД.ММ.ГГГГ`` or ISO ``ГГГГ-ММ-ДД``; None -> today."""
    if text is None or not text.strip():
        return today or dt.date.today()
    text = text.strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise XlflowError(f"Не удалось прочитать дату «{text}». Укажите дату в формате ДД.ММ.ГГГГ, "
                      "например 31.05.2026.", code="bad-as-of")


def _is_own_summary(path: Path) -> bool:
    """A school summary xlflow wrote (told by its first rows or keys; the whole
    payload is read only for a workbook that keeps its text as shared strings)."""
    from xlflow.consolidate.export import read_school_summary, read_summary_head
    from xlflow.errors import ReadError

    head = read_summary_head(path)
    if head is not None:
        return head.get("template_id") == SCHOOL_TEMPLATE_ID and head.get("schema_version") == str(SCHEMA_VERSION)
    try:
        read_school_summary(path)
    except ReadError:
        return False
    return True


def _is_own_csv(path: Path, out: Path) -> bool:
    """A ``SUMMARY.<table>.csv`` xlflow wrote: its first line is the table's column keys
    (a user's own CSV of that name is never overwritten)."""
    table = path.name[len(out.stem) + 1:-len(".csv")]
    columns = [c["key"] for c in summary_layout()["tables"].get(table, {}).get("columns", [])]
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = fh.readline(4096).rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return False
    return bool(columns) and header == ",".join(columns)


def check_call(folder: Path, out: Path) -> list[Path]:
    """Refuse a wrong call; return the output paths (workbook first)."""
    from xlflow.consolidate.export import machine_paths

    if not folder.is_dir():
        raise XlflowError(f"Папка «{folder}» не найдена. Укажите папку с копиями программ.", code="no-folder")
    if out.suffix.lower() != ".xlsx":
        raise XlflowError(f"Сводка записывается в книгу .xlsx, а указано «{out.name}». "
                          "Укажите имя вида СВОДКА.xlsx.", code="bad-output")
    if out.is_dir():
        raise XlflowError(f"«{out}» — это папка. Укажите имя файла сводки, например СВОДКА.xlsx.",
                          code="bad-output")
    outputs = [out] + machine_paths(out, summary_layout()["tables"])
    for p in outputs:
        if p.exists() and not (_is_own_summary(p) if p.suffix.lower() != ".csv" else _is_own_csv(p, out)):
            raise XlflowError(f"Файл «{p}» уже существует и не является сводкой xlflow. Входные и чужие "
                              "файлы xlflow не перезаписывает: укажите другое имя для сводки.",
                              code="output-is-input")
    return outputs


def collect(folder: str | os.PathLike, out: str | os.PathLike, *, as_of: dt.date | None = None,
            jobs: int | None = None, progress: ProgressFn | None = None,
            on_scan: Callable[[int], None] | None = None) -> CollectOutcome:
    """Scan ``folder``, read every candidate, consolidate, write the summary
    workbook ``out`` and its machine-readable copy beside it."""
    from xlflow.consolidate.collect_stream import collect_stream

    folder, out = Path(folder), Path(out)
    outputs = check_call(folder, out)
    as_of = as_of or dt.date.today()
    facts = iter_facts(folder, outputs, as_of, jobs=jobs, progress=progress, on_scan=on_scan)
    run, payload = collect_stream(facts, as_of)
    try:
        written = run.write(out, payload)
    except BaseException:
        run.close()
        raise
    return CollectOutcome(payload, run, written, run.exit_code())
