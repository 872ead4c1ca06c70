"""`xlflow collect`: consolidate a school's filled copies into one summary.

Flow: scan the folder (every file accounted for) -> read and validate each
candidate in worker processes, keeping only compact *facts* per file
(:class:`FileFacts`) -> consolidate in the parent (registry, duplicates,
school-wide rules) -> figures (:mod:`~xlflow.consolidate.school_stats`) ->
the summary workbook (:mod:`~xlflow.consolidate.school_writer`) and its
machine-readable copy (:mod:`~xlflow.consolidate.export`).

:func:`collect` runs that flow with memory that stays flat as the folder
grows: the consolidation is :class:`~xlflow.consolidate.collect_stream.StreamCollect`
(each file's facts go to a temporary sqlite store as they arrive), the figures
are computed one programme at a time (:mod:`~xlflow.consolidate.school_stream`)
and the long tables are streamed from disk into the workbook, the JSON and the
CSV copies. This module holds the call itself, the problem codes of the
school-wide rules and the small helpers of those rules (identity and rank of a
copy, how a value and a problem are shown).

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
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from xlflow import __version__
from xlflow.consolidate import school_stats as stats
from xlflow.consolidate.export import SCHEMA_VERSION, SCHOOL_TEMPLATE_ID, summary_layout
from xlflow.errors import XlflowError
from xlflow.problems import ERROR, WARNING, Problem, register

if TYPE_CHECKING:  # the readers are imported while the folder is scanned (collect)
    from xlflow.consolidate.facts import FileFacts
    from xlflow.consolidate.intake import ProgressFn

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


# ---------------------------------------------------------------- rule helpers

def _latest_entered(record: dict | None) -> str:
    rec = record or {}
    dates = [stats.reduced(rec)["latest_done"], (rec.get("passport") or {}).get("actual_end_date")]
    return max((d for d in dates if stats.parse_date(d)), default="")


def rank(f: FileFacts) -> tuple:
    """Higher wins: done activities, latest date entered, modification time, path."""
    done = stats.reduced(f.record)["roadmap_done"] if f.record is not None else 0
    return (done, _latest_entered(f.record), f.mtime, f.name)


def why_ranked(a: tuple, b: tuple) -> str:
    """Why the version ranked ``a`` counts rather than the one ranked ``b`` (see :func:`rank`)."""
    if a[0] != b[0]:
        return f"в нём больше выполненных мероприятий: {a[0]} против {b[0]}"
    if a[1] != b[1]:
        return f"в нём более поздняя внесённая дата: {ru_date(a[1])}"
    if a[2] != b[2]:
        return "он изменён позже"
    return "его имя последнее по алфавиту"


def shown(value: Any) -> str:
    """A cell value as the user typed it (ISO dates as ДД.ММ.ГГГГ)."""
    return ru_date(value) if isinstance(value, str) and stats.parse_date(value) else str(value)


def ru_date(iso: str) -> str:
    d = stats.parse_date(iso)
    return d.strftime("%d.%m.%Y") if d else iso


def copy_identity(f: FileFacts) -> tuple[str, str] | None:
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


def own_pair_row(record: dict | None, key: tuple[str, str]) -> tuple[int, dict] | None:
    """(index, row) of the copy's own pair row for ``key`` in its records."""
    for i, row in enumerate((record or {}).get("pairs") or []):
        if (str(row.get("group_id", "")).strip(), str(row.get("mentee_id", "")).strip()) == key:
            return i, row
    return None


# ---------------------------------------------------------------- payload

def problem_row(p: Problem) -> dict:
    return {"file": p.file, "severity": p.severity, "sheet": p.sheet, "cell": p.cell,
            "message": p.message, "code": p.code}


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
    folder, out = Path(folder), Path(out)
    outputs = check_call(folder, out)
    run, payload = _consolidated(folder, outputs, as_of or dt.date.today(), jobs, progress, on_scan)
    try:
        written = run.write(out, payload)
    except BaseException:
        run.close()
        raise
    return CollectOutcome(payload, run, written, run.exit_code())


def _consolidated(folder: Path, outputs: list[Path], as_of: dt.date, jobs: int | None, progress: ProgressFn | None,
                  on_scan: Callable[[int], None] | None) -> tuple[Any, dict]:
    """(run, payload) of :func:`~xlflow.consolidate.collect_stream.collect_stream`
    over the folder's facts. The scan starts first, in a child, while the
    parent imports the readers the workers need; the parent's own machinery
    (the spill, the consolidation) is imported once the workers read."""
    from xlflow.consolidate.scan_plan import Scan

    scan = Scan(folder, outputs)
    try:
        from xlflow.consolidate.intake import iter_facts

        facts = iter_facts(folder, outputs, as_of, jobs=jobs, progress=progress, on_scan=on_scan, scan=scan)
        first = next(facts, None)
    except BaseException:
        scan.stop()  # when the reading never started
        raise
    try:
        from xlflow.consolidate.collect_stream import collect_stream

        return collect_stream(itertools.chain(() if first is None else (first,), facts), as_of)
    finally:
        facts.close()  # the workers and the registry's side files go now, even on an error
