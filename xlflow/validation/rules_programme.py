"""Rules about the programme itself: passport, status, roadmap, directions, rubric."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterator

from xlflow.layout import FormSpec
from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.validation.context import RuleContext, norm_key
from xlflow.validation.messages import format_value, quote_list
from xlflow.validation.registry import rule
from xlflow.validation.schema import REQUIRED_MISSING

# Passport fields a programme copy must have besides the layout's required ones.
PROGRAMME_FIELDS = ("problem", "goal", "tasks", "desired_image", "status")
ENDED = ("завершена", "прекращена досрочно")
RUNNING = ("планируется", "реализуется")
DONE_MARKS = ("выполнено", "выполнено частично")
NOT_DONE_MARKS = ("запланировано", "не выполнено")

ENDING_INCOMPLETE = register(
    "ending-incomplete", ERROR,
    "У программы статус «{status}», но не заполнено поле «{field}». Заполните его.",
    "an ended programme without its end date or reason")
END_WITHOUT_STATUS = register(
    "end-date-without-status", WARNING,
    "Указана фактическая дата завершения, но статус программы — «{status}». Выберите статус «завершена» или «прекращена досрочно» либо удалите дату.",
    "an actual end date on a running programme")
DONE_DATE_MISSING = register(
    "done-date-missing", ERROR,
    "Мероприятие «{topic}» отмечено как «{mark}», но не указана дата выполнения. Укажите её в поле «Дата выполнения» (ДД.ММ.ГГГГ).",
    "a done roadmap item without its date")
DONE_DATE_NOT_DONE = register(
    "done-date-not-done", WARNING,
    "Указана дата выполнения, но отметка о выполнении — «{mark}». Выберите «выполнено» или «выполнено частично» либо удалите дату.",
    "a roadmap date of completion without a done mark")
UNKNOWN_DIRECTION = register(
    "unknown-direction", ERROR,
    "Направления «{value}» нет в списке направлений этой книги. Выберите из выпадающего списка: {choices}.",
    "a direction outside meta.directions")
NO_PAIRS = register(
    "no-pairs", ERROR,
    "В копии программы нет ни одной строки на листе «Пары и группы». Возьмите копию, подготовленную куратором, или заполните строку своей пары.",
    "a programme copy without its pair row")
COPY_MISMATCH = register(
    "copy-mismatch", ERROR,
    "Это копия программы «{programme}» для наставляемого «{mentee}», но на листе «Пары и группы» нет такой строки. Верните строку пары/группы, подготовленную куратором, или возьмите у куратора правильную копию.",
    "a programme copy whose pair rows are not its own programme")
FINAL_DIAGNOSTICS_MISSING = register(
    "final-diagnostics-missing", WARNING,
    "Программа завершена, но итоговая диагностика не заполнена. Заполните строки «итоговая» на листе «Диагностика»: по ним видно, как изменились дефициты.",
    "an ended programme without the final diagnostics")
RUBRIC_INCOMPLETE = register(
    "rubric-incomplete", WARNING,
    "Программа завершена, но не оценены показатели: {numbers}. Поставьте каждому показателю балл 0, 1 или 2.",
    "an ended programme with unscored rubric indicators")


def _passport_required(ctx: RuleContext) -> list[str]:
    spec = ctx.layout.sheet("passport")
    assert isinstance(spec, FormSpec)
    keys = [f.key for f in spec.fields if f.required]
    if ctx.kind == "programme":
        keys += [k for k in PROGRAMME_FIELDS if k not in keys]
    return keys


@rule
def passport_filled(ctx: RuleContext) -> Iterator[Problem]:
    passport = ctx.passport
    for key in _passport_required(ctx):
        if key not in passport or (isinstance(passport[key], str) and not passport[key].strip()):
            yield ctx.problem(REQUIRED_MISSING, ("passport", key))


@rule
def ending_documented(ctx: RuleContext) -> Iterator[Problem]:
    passport = ctx.passport
    status = passport.get("status")
    if status in ENDED:
        for key in ("actual_end_date", "ending_reason"):
            if key not in passport:
                yield ctx.problem(ENDING_INCOMPLETE, ("passport", key), status=status)
    elif status in RUNNING and "actual_end_date" in passport:
        yield ctx.problem(END_WITHOUT_STATUS, ("passport", "actual_end_date"), status=status)


@rule
def roadmap_done_dates(ctx: RuleContext) -> Iterator[Problem]:
    for i, row in ctx.rows("roadmap"):
        mark = row.get("completion")
        if mark in DONE_MARKS and "done_date" not in row:
            topic = format_value(row.get("topic") or "без названия")
            yield ctx.problem(DONE_DATE_MISSING, ("roadmap", i, "done_date"), mark=mark, topic=topic)
        elif "done_date" in row and (mark in NOT_DONE_MARKS or "completion" not in row):
            yield ctx.problem(DONE_DATE_NOT_DONE, ("roadmap", i, "done_date"),
                              mark=mark if isinstance(mark, str) else "не выбрана")


def _direction_paths(ctx: RuleContext) -> Iterator[tuple[tuple, object]]:
    if "main_direction" in ctx.passport:
        yield ("passport", "main_direction"), ctx.passport["main_direction"]
    for table in ("diagnostics", "roadmap", "reflection"):
        for i, row in ctx.rows(table):
            if "direction" in row:
                yield (table, i, "direction"), row["direction"]


@lru_cache(maxsize=64)
def _direction_keys(allowed: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """The directions as typed and normalised (the same lists recur file after file)."""
    return frozenset(allowed), frozenset(norm_key(d) for d in allowed)


@rule
def directions_known(ctx: RuleContext) -> Iterator[Problem]:
    allowed = ctx.directions
    exact, known = _direction_keys(tuple(allowed))
    for path, value in _direction_paths(ctx):
        if isinstance(value, str) and value not in exact and norm_key(value) not in known:
            yield ctx.problem(UNKNOWN_DIRECTION, path, value=format_value(value), choices=quote_list(allowed))


@rule
def programme_has_pair(ctx: RuleContext) -> Iterator[Problem]:
    if ctx.kind == "programme" and not list(ctx.rows("pairs")):
        yield ctx.problem(NO_PAIRS, ("pairs",))


@rule
def rubric_complete(ctx: RuleContext) -> Iterator[Problem]:
    if ctx.passport.get("status") != "завершена":
        return
    scored = {row.get("indicator") for _, row in ctx.rows("rubric")
              if isinstance(row.get("score"), int) and isinstance(row.get("indicator"), (int, float))}
    count = len(_indicators(ctx))
    missing = [n for n in range(1, count + 1) if n not in scored]
    if missing:
        yield ctx.problem(RUBRIC_INCOMPLETE, ("rubric",), numbers=", ".join(str(n) for n in missing))


def _indicators(ctx: RuleContext) -> list:
    spec = ctx.layout.sheet("rubric")
    return [ind for crit in spec.raw["criteria"] for ind in crit["indicators"]]


@rule
def copy_matches_its_programme(ctx: RuleContext) -> Iterator[Problem]:
    meta = ctx.section("meta")
    programme, mentee = meta.get("programme_id"), meta.get("mentee_id")
    rows = list(ctx.rows("pairs"))
    if ctx.kind != "programme" or not rows or not isinstance(programme, str) or not isinstance(mentee, str):
        return
    own = [(i, r) for i, r in rows if norm_key(r.get("group_id")) == norm_key(programme)]
    if not own or all(norm_key(r.get("mentee_id")) != norm_key(mentee) for _, r in own):
        index = own[0][0] if own else rows[0][0]
        yield ctx.problem(COPY_MISMATCH, ("pairs", index, "group_id"), programme=format_value(programme),
                          mentee=format_value(mentee))


@rule
def final_diagnostics(ctx: RuleContext) -> Iterator[Problem]:
    if ctx.passport.get("status") != "завершена":
        return
    if not any(row.get("stage") == "final" for _, row in ctx.rows("diagnostics")):
        yield ctx.problem(FINAL_DIAGNOSTICS_MISSING, ("diagnostics",))
