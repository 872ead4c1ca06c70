"""Rules about people: the banks of mentors and mentees and who is paired with whom."""
from __future__ import annotations

from typing import Iterator

from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.validation.context import GROUP, PAIR, RuleContext, as_number, norm_key
from xlflow.validation.messages import format_value
from xlflow.validation.registry import rule

BANKS = ("mentors", "mentees")
YOUNG_SPECIALIST = "молодой специалист (стаж 0–3 года)"
YOUNG_MAX_YEARS = 3
MAX_EXPERIENCE = 60

DUPLICATE_ID = register(
    "duplicate-id", ERROR,
    "Код «{value}» уже есть в строке {first_row} этого листа. У каждого человека должен быть свой код: исправьте один из них.",
    "two people of a bank share an id")
CONSENT_MISSING = register(
    "consent-missing", ERROR,
    "Нет согласия на обработку персональных данных ({name}). Без согласия человек не может участвовать в программе: получите письменное согласие и выберите «да».",
    "a person of a bank has no consent recorded")
YOUNG_EXPERIENCE = register(
    "young-specialist-experience", ERROR,
    "Стаж {value} лет не подходит для категории «молодой специалист (стаж 0–3 года)». Проверьте стаж или выберите другую категорию.",
    "a young specialist with more than 3 years of experience")
BAD_EXPERIENCE = register(
    "bad-experience", ERROR,
    "Стаж «{value}» лет невозможен. Введите число лет от 0 до 60, например 2 или 0,5.",
    "negative or absurd experience")
UNKNOWN_MENTOR = register(
    "unknown-mentor", ERROR,
    "Наставника с кодом «{value}» нет на листе «Банк наставников». Добавьте его в банк или исправьте код.",
    "a pair names a mentor missing from the bank")
UNKNOWN_MENTEE = register(
    "unknown-mentee", ERROR,
    "Наставляемого с кодом «{value}» нет на листе «Банк наставляемых». Добавьте его в банк или исправьте код.",
    "a pair names a mentee missing from the bank")
SAME_PERSON = register(
    "same-person", ERROR,
    "Наставник и наставляемый в этой строке — один и тот же человек ({name}). Укажите разных людей.",
    "mentor and mentee of a pair are the same person")
PAIR_SIZE = register(
    "pair-size", ERROR,
    "У пары «{group}» {count} строк(и) с наставляемыми, а в паре наставляемый один. Если наставляемых несколько, выберите тип «группа»; иначе дайте каждой паре свой код.",
    "a pair with more than one mentee")
GROUP_TOO_SMALL = register(
    "group-too-small", ERROR,
    "В группе «{group}» только один наставляемый, а в группе их должно быть два или больше. Добавьте строки с тем же кодом группы или выберите тип «пара».",
    "a group with a single mentee")
GROUP_INCONSISTENT = register(
    "group-inconsistent", ERROR,
    "В поле «{field}» здесь «{value}», а в строке {first_row} той же пары/группы «{group}» — «{expected}». У всех строк одной пары/группы это поле должно совпадать.",
    "rows of one group disagree on mentor, type, form or dates")
DUPLICATE_PAIR_ROW = register(
    "duplicate-pair-row", ERROR,
    "Наставляемый «{value}» уже записан в пару/группу «{group}» в строке {first_row}. Удалите повторную строку.",
    "the same mentee twice in one group")
PARTICIPANTS_CONSENT = register(
    "participants-consent-missing", WARNING,
    "Отмечено, что письменного согласия участников пары/группы «{group}» нет. Пару закрепляют приказом только с согласия участников: получите согласие и выберите «да».",
    "a pair without the participants' written consent")

# Fields that must be equal on every row of one pair/group.
GROUP_FIELDS = ("group_type", "mentor_id", "mentoring_form", "kind", "mode",
                "start_date", "planned_end_date", "order_number", "order_date")


def _row_number(ctx: RuleContext, table: str, index: int) -> str:
    cell = ctx.locator.position((table, index))[1]
    digits = "".join(ch for ch in cell or "" if ch.isdigit())
    return digits or str(index + 1)


def _bank(ctx: RuleContext, table: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for _, row in ctx.rows(table):
        key = norm_key(row.get("id"))
        if key and key not in found:
            found[key] = row
    return found


def _banks(ctx: RuleContext) -> tuple[dict[str, dict], dict[str, dict]]:
    """(mentors, mentees) by normalised id, first row of each id (shared by the pair rules)."""
    return _bank(ctx, "mentors"), _bank(ctx, "mentees")


@rule
def duplicate_ids(ctx: RuleContext) -> Iterator[Problem]:
    for table in BANKS:
        seen: dict[str, int] = {}
        for i, row in ctx.rows(table):
            key = norm_key(row.get("id"))
            if not key:
                continue
            if key in seen:
                yield ctx.problem(DUPLICATE_ID, (table, i, "id"), value=format_value(row["id"]),
                                  first_row=_row_number(ctx, table, seen[key]))
            else:
                seen[key] = i


@rule
def consent_recorded(ctx: RuleContext) -> Iterator[Problem]:
    for table in BANKS:
        for i, row in ctx.rows(table):
            if row.get("consent") is True:
                continue
            if "consent" in row and not isinstance(row["consent"], bool):
                continue  # not yes/no at all: the schema check reports it
            name = ctx.text(row, "full_name") or ctx.text(row, "id") or "не указано ФИО"
            yield ctx.problem(CONSENT_MISSING, (table, i, "consent"), name=" ".join(name.split()))


@rule
def experience_plausible(ctx: RuleContext) -> Iterator[Problem]:
    for table in BANKS:
        for i, row in ctx.rows(table):
            years = as_number(row.get("experience_years"))
            if years is None:
                continue
            path = (table, i, "experience_years")
            if years < 0 or years > MAX_EXPERIENCE:
                yield ctx.problem(BAD_EXPERIENCE, path, value=format_value(row["experience_years"]))
            elif table == "mentees" and row.get("category") == YOUNG_SPECIALIST and years > YOUNG_MAX_YEARS:
                yield ctx.problem(YOUNG_EXPERIENCE, path, value=format_value(row["experience_years"]))


@rule
def pair_people_exist(ctx: RuleContext) -> Iterator[Problem]:
    mentors, mentees = ctx.shared(_banks)
    for i, row in ctx.rows("pairs"):
        mentor_key, mentee_key = norm_key(row.get("mentor_id")), norm_key(row.get("mentee_id"))
        if mentor_key and mentor_key not in mentors:
            yield ctx.problem(UNKNOWN_MENTOR, ("pairs", i, "mentor_id"), value=format_value(row["mentor_id"]))
        if mentee_key and mentee_key not in mentees:
            yield ctx.problem(UNKNOWN_MENTEE, ("pairs", i, "mentee_id"), value=format_value(row["mentee_id"]))


@rule
def pair_people_differ(ctx: RuleContext) -> Iterator[Problem]:
    mentors, mentees = ctx.shared(_banks)
    for i, row in ctx.rows("pairs"):
        mentor_key, mentee_key = norm_key(row.get("mentor_id")), norm_key(row.get("mentee_id"))
        if not mentor_key or not mentee_key:
            continue
        mentor_name = norm_key(mentors.get(mentor_key, {}).get("full_name"))
        mentee_name = norm_key(mentees.get(mentee_key, {}).get("full_name"))
        if mentor_key == mentee_key or (mentor_name and mentor_name == mentee_name):
            shown = mentees.get(mentee_key, {}).get("full_name") or row["mentee_id"]
            yield ctx.problem(SAME_PERSON, ("pairs", i, "mentee_id"), name=format_value(shown))
    ctx.forget(_banks)  # the last rule that reads the banks: a registry's 13,000 people


def _groups(ctx: RuleContext) -> dict[str, list[tuple[int, dict]]]:
    groups: dict[str, list[tuple[int, dict]]] = {}
    for i, row in ctx.rows("pairs"):
        key = norm_key(row.get("group_id"))
        if key:
            groups.setdefault(key, []).append((i, row))
    return groups


@rule
def group_composition(ctx: RuleContext) -> Iterator[Problem]:
    for members in ctx.shared(_groups).values():
        first_index, first = members[0]
        kind = first.get("group_type")
        group = format_value(first["group_id"])
        if kind == PAIR and len(members) > 1:
            for i, _ in members[1:]:
                yield ctx.problem(PAIR_SIZE, ("pairs", i, "group_type"), group=group, count=len(members))
        elif kind == GROUP and len(members) == 1:
            yield ctx.problem(GROUP_TOO_SMALL, ("pairs", first_index, "group_type"), group=group)


@rule
def group_rows_consistent(ctx: RuleContext) -> Iterator[Problem]:
    for members in ctx.shared(_groups).values():
        first_index, first = members[0]
        for i, row in members[1:]:
            for key in GROUP_FIELDS:
                if key in row and key in first and norm_key(str(row[key])) != norm_key(str(first[key])):
                    yield ctx.problem(GROUP_INCONSISTENT, ("pairs", i, key), value=format_value(row[key]),
                                      expected=format_value(first[key]), group=format_value(first["group_id"]),
                                      first_row=_row_number(ctx, "pairs", first_index))


@rule
def mentee_once_per_group(ctx: RuleContext) -> Iterator[Problem]:
    for members in ctx.shared(_groups).values():
        seen: dict[str, int] = {}
        for i, row in members:
            key = norm_key(row.get("mentee_id"))
            if not key:
                continue
            if key in seen:
                yield ctx.problem(DUPLICATE_PAIR_ROW, ("pairs", i, "mentee_id"), value=format_value(row["mentee_id"]),
                                  group=format_value(row["group_id"]),
                                  first_row=_row_number(ctx, "pairs", seen[key]))
            else:
                seen[key] = i


@rule
def participants_consent(ctx: RuleContext) -> Iterator[Problem]:
    for members in ctx.shared(_groups).values():
        for i, row in members:
            if row.get("participants_consent") is False:
                yield ctx.problem(PARTICIPANTS_CONSENT, ("pairs", i, "participants_consent"),
                                  group=format_value(row["group_id"]))
                break
    ctx.forget(_groups)  # the last rule that reads the groups
