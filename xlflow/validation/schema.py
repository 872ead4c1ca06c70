"""JSON Schema checks of the records, mapped back to cells.

One Draft 2020-12 validator with a date FormatChecker is built per process
(:func:`programme_validator`, cached) and reused for every file. All errors
come from ``iter_errors``; each becomes a :class:`Problem` with a stable code
and a Russian message naming the field (the header the user sees) and saying
what to do.

Fast path: most files are clean, and ``iter_errors`` walks ~8,000 schema nodes
per record (~6 ms). A fastjsonschema check compiled once from the same schema
(~0.2 ms) answers "is this record valid?" first; only a record it rejects goes
through ``iter_errors`` for the full, cell-mapped list. The two agree on
validity (tested on clean and faulty sample records).

The fast check's Python code is generated once (:func:`check_code`, by
``python tools/gen_validator.py``) into :mod:`xlflow.validation._programme_check`
and imported, instead of being compiled in every process (~100 ms). A test
fails when that module is out of date; should it ever be stale at run time
(its schema digest differs), the check is compiled from the schema as before.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import fastjsonschema

from xlflow.layout import Layout, load_layout
from xlflow.problems import ERROR, Problem, register
from xlflow.schemas import load_schema
from xlflow.validation.locate import CellLocator
from xlflow.validation.messages import (
    field_label, format_value, list_choices, quote_list,
)

if TYPE_CHECKING:  # jsonschema is imported only when a record fails the fast check
    import jsonschema
    from jsonschema import Draft202012Validator

SCHEMA_FILE = "programme.schema.json"

REQUIRED_MISSING = register(
    "required-missing", ERROR, "Заполните обязательное поле «{field}».",
    "a required cell is empty")
BAD_DATE = register(
    "bad-date", ERROR,
    "Не удалось прочитать дату «{value}». Введите дату в формате ДД.ММ.ГГГГ, например 01.09.2025.",
    "a date cell holds something that is not a date")
NOT_A_NUMBER = register(
    "not-a-number", ERROR,
    "В поле «{field}» должно быть число, а указано «{value}». Введите число цифрами, например 5 или 2,5.",
    "a number cell holds text")
NOT_IN_LIST = register(
    "not-in-list", ERROR,
    "Значение «{value}» не из списка. Выберите из выпадающего списка: {choices}.",
    "a choice cell holds a value outside its list")
BAD_YES_NO = register(
    "bad-yes-no", ERROR,
    "В поле «{field}» нужно выбрать «да» или «нет», а указано «{value}».",
    "a yes/no cell holds something else")
BAD_LEVEL = register(
    "bad-level", ERROR,
    "Интенсивность «{value}» не подходит. Выберите из списка число от 0 до 3: {help}.",
    "a diagnostics intensity outside 0-3")
BAD_SCORE = register(
    "bad-score", ERROR,
    "Балл «{value}» не подходит. Выберите из списка 0, 1 или 2: {help}.",
    "a rubric score outside 0/1/2")
TOO_LONG = register(
    "value-too-long", ERROR,
    "Значение в поле «{field}» слишком длинное ({length} символов, можно не больше {limit}). Сократите его.",
    "a text longer than allowed")
BAD_TEMPLATE = register(
    "wrong-template", ERROR,
    "Книга создана не по шаблону xlflow (шаблон «{value}»). Создайте книгу командой «xlflow new» и перенесите в неё данные.",
    "meta.template_id is not xlflow-programme")
BAD_METADATA = register(
    "bad-metadata", ERROR,
    "Служебные сведения книги (скрытый лист, поле «{key}») повреждены. Возьмите исходную копию книги у куратора или создайте её заново командой «xlflow new».",
    "the hidden metadata sheet is damaged")
BAD_VALUE = register(
    "bad-value", ERROR,
    "Значение «{value}» в поле «{field}» не подходит: {detail}. Исправьте его по подсказке к ячейке.",
    "any other schema violation")

# Which error to keep when one cell breaks several keywords (lower = kept).
_RANK = {"format": 0, "type": 1, "enum": 2, "const": 2, "required": 3, "minLength": 4}

_DETAIL = {
    "minimum": "значение меньше допустимого ({limit})",
    "maximum": "значение больше допустимого ({limit})",
    "exclusiveMinimum": "значение должно быть больше {limit}",
    "exclusiveMaximum": "значение должно быть меньше {limit}",
    "additionalProperties": "такого поля нет в шаблоне",
    "minItems": "список не должен быть пустым",
}


@lru_cache(maxsize=None)
def programme_validator() -> Draft202012Validator:
    """The compiled validator of ``programme.schema.json`` (built once per process)."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = load_schema(SCHEMA_FILE)
    return Draft202012Validator(schema, format_checker=FormatChecker(formats=("date",)))


@lru_cache(maxsize=2048)
def _is_iso_date(value: str) -> bool:
    """The same test as jsonschema's "date" format: a real calendar date
    (cached: copies repeat the dates of one school year)."""
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


GENERATED_HEADER = '''"""Fast validity check of programme.schema.json: fastjsonschema's generated code.

Generated by ``python tools/gen_validator.py`` (:func:`xlflow.validation.schema.check_code`);
do not edit. Regenerate whenever the schema changes (a test fails until you do).
"""
# flake8: noqa
SCHEMA_SHA256 = "{digest}"

'''


def fast_schema() -> dict:
    """The schema as fastjsonschema compiles it. fastjsonschema knows drafts
    4-7; the schema uses only keywords that mean the same there, so it is
    compiled as draft 7, and ``const`` becomes the one-value ``enum`` it means
    (fastjsonschema's short exceptions cannot word ``const``)."""
    schema = _const_as_enum(load_schema(SCHEMA_FILE))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return schema


def _const_as_enum(node: Any) -> Any:
    if isinstance(node, list):
        return [_const_as_enum(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _const_as_enum(v) for k, v in node.items()}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


FAST_FORMATS = {"date": _is_iso_date}


def schema_digest() -> str:
    """sha256 of ``programme.schema.json`` as shipped."""
    data = resources.files("xlflow.schemas").joinpath(SCHEMA_FILE).read_bytes()
    return hashlib.sha256(data).hexdigest()


_RAISE_LINE = re.compile(r"^( +)raise JsonSchemaValueException\(.*\)$", re.MULTILINE)


def check_code() -> str:
    """Source of :mod:`xlflow.validation._programme_check` for the current schema."""
    code = fastjsonschema.compile_to_code(fast_schema(), formats=FAST_FORMATS, detailed_exceptions=False)
    found = re.search(r"^def (\w+)\(", code, re.MULTILINE)
    assert found, "fastjsonschema generated no validation function"
    # Only validity is used: messages go, so the module compiles faster
    # wherever no bytecode cache is written.
    code = _RAISE_LINE.sub(r'\1raise JsonSchemaValueException("invalid")', code)
    return (GENERATED_HEADER.format(digest=schema_digest()) + code.rstrip("\n")
            + f"\n\n\nvalidate = {found.group(1)}\n")


@lru_cache(maxsize=None)
def fast_check() -> Callable[[Any], Any]:
    """fastjsonschema's check of the same schema (raises JsonSchemaException):
    the generated module when it matches the schema, else compiled now."""
    try:
        from xlflow.validation import _programme_check as generated
    except ImportError:
        generated = None
    if generated is not None and getattr(generated, "SCHEMA_SHA256", None) == schema_digest():
        return functools.partial(generated.validate, custom_formats=FAST_FORMATS)
    return fastjsonschema.compile(fast_schema(), formats=FAST_FORMATS, detailed_exceptions=False)


def is_schema_valid(data: Any) -> bool:
    try:
        fast_check()(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


# A record with every part empty (valid): a part of a record is checked alone
# by putting it into this one (the root schema ties no parts together).
EMPTY_RECORD = {
    "meta": {"template_id": "xlflow-programme", "template_version": 1, "workbook_kind": "school",
             "directions": ["-"]},
    "passport": {}, "mentors": [], "mentees": [], "pairs": [], "diagnostics": [], "roadmap": [],
    "rubric": [], "reflection": [], "computed": {},
}
_ROOT_KEYWORDS = frozenset({"$schema", "$id", "title", "description", "type", "additionalProperties",
                            "required", "properties"})
_ANNOTATIONS = frozenset({"title", "description", "$comment"})


def schema_errors(data: Any) -> Iterator[jsonschema.ValidationError]:
    """``iter_errors(data)``, same errors in the same order, walking only the
    parts (top-level sections, then table rows) the fast check rejects:
    ``iter_errors`` of a whole record costs ~4 ms, of one row ~0.05 ms."""
    validator = programme_validator()
    schema = validator.schema
    if not _root_sound(data, schema):
        yield from validator.iter_errors(data)
        return
    # Root type, required and additionalProperties hold: only "properties"
    # yields errors, part by part in schema order.
    for key, sub in schema["properties"].items():
        if key in data and not _part_valid(key, data[key]):
            yield from _part_errors(validator, key, sub, data[key])


def _root_sound(data: Any, schema: Mapping) -> bool:
    if not isinstance(data, dict) or not _ROOT_KEYWORDS.issuperset(schema):
        return False
    if schema.get("additionalProperties") is not False or schema.get("type") != "object":
        return False
    return set(schema.get("required", ())) <= data.keys() <= schema["properties"].keys()


def _part_valid(key: str, value: Any) -> bool:
    return is_schema_valid({**EMPTY_RECORD, key: value})


def _part_errors(validator: Draft202012Validator, key: str, sub: Mapping,
                 value: Any) -> Iterator[jsonschema.ValidationError]:
    items = sub.get("items")
    plain_table = (sub.get("type") == "array" and isinstance(items, dict) and isinstance(value, list)
                   and _ANNOTATIONS.issuperset(set(sub) - {"type", "items"}))
    if not plain_table:
        yield from validator.descend(value, sub, path=key, schema_path=key)
        return
    # A list under {"type": "array", "items": ...}: only "items" yields errors, row by row.
    for i, row in enumerate(value):
        if _part_valid(key, [row]):
            continue
        for error in validator.descend(row, items, path=i, schema_path="items"):
            error.path.appendleft(key)
            yield error


def schema_problems(data: Any, locator: CellLocator, file: str | None = None,
                    layout: Layout | None = None) -> list[Problem]:
    """Every schema violation of ``data`` as a Problem at its cell, one per cell."""
    if is_schema_valid(data):
        return []
    layout = layout or load_layout()
    best: dict[tuple, tuple[int, int, Problem]] = {}
    for order, (path, kind, problem) in enumerate(_problems(data, locator, file, layout)):
        rank = _RANK.get(kind, 5)
        key = (problem.sheet, problem.cell) if problem.cell else path
        old = best.get(key)
        if old is None or (rank, order) < old[:2]:
            best[key] = (rank, order, problem)
    return [entry[2] for entry in sorted(best.values(), key=lambda e: e[1])]


def _problems(data: Any, locator: CellLocator, file: str | None,
              layout: Layout) -> Iterator[tuple[tuple, str, Problem]]:
    for error in schema_errors(data):
        for path, code, params in _describe(error, data, layout):
            if path is None:
                continue
            sheet, cell = locator.position(path)
            yield path, str(error.validator), Problem(code, file=file, sheet=sheet, cell=cell,
                                                      params=params)


def _describe(error: jsonschema.ValidationError, data: Any,
              layout: Layout) -> Iterator[tuple[tuple | None, str, dict]]:
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "required":
        yield from _required(error, data, layout, path)
        return
    if path and path[0] == "meta":
        yield _meta(error, path)
        return
    if not path:
        yield (("meta", "template_id"), BAD_METADATA, {"key": "структура книги"})
        return
    field = field_label(layout, data, path)
    value = format_value(error.instance)
    params = {"field": field, "value": value, "path": ".".join(str(p) for p in path)}
    yield (path, *_code_for(error, data, layout, path, params))


def _code_for(error: jsonschema.ValidationError, data: Any, layout: Layout,
              path: tuple, params: dict) -> tuple[str, dict]:
    kind = error.validator
    special = _special_cell(path)
    if kind == "format":
        return BAD_DATE, params
    if special == "level" and kind in ("type", "enum"):
        return BAD_LEVEL, {**params, "help": layout.raw["list_help"]["intensity"]}
    if special == "score" and kind in ("type", "enum"):
        return BAD_SCORE, {**params, "help": layout.raw["list_help"]["rubric_scores"]}
    if kind == "type":
        return _type_code(error, params)
    if kind == "enum":
        choices = list_choices(layout, data, path) or list(error.validator_value)
        return NOT_IN_LIST, {**params, "choices": quote_list(choices)}
    if kind == "minLength":
        return REQUIRED_MISSING, params
    if kind == "maxLength":
        length = len(error.instance) if isinstance(error.instance, str) else 0
        return TOO_LONG, {**params, "length": length, "limit": error.validator_value}
    template = _DETAIL.get(str(kind), "значение не соответствует шаблону")
    return BAD_VALUE, {**params, "detail": template.format(limit=error.validator_value)}


def _type_code(error: jsonschema.ValidationError, params: dict) -> tuple[str, dict]:
    expected = error.validator_value
    expected = set(expected) if isinstance(expected, list) else {expected}
    if expected & {"number", "integer"}:
        return NOT_A_NUMBER, params
    if "boolean" in expected:
        return BAD_YES_NO, params
    if "string" in expected:
        return BAD_VALUE, {**params, "detail": "здесь нужен текст"}
    return BAD_VALUE, {**params, "detail": "неверный вид данных"}


def _special_cell(path: tuple) -> str | None:
    if len(path) == 3 and path[0] == "diagnostics" and path[2] == "level":
        return "level"
    if len(path) == 3 and path[0] == "rubric" and path[2] == "score":
        return "score"
    return None


def _required(error: jsonschema.ValidationError, data: Any, layout: Layout,
              path: tuple) -> Iterator[tuple[tuple | None, str, dict]]:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    for name in error.validator_value:
        if name in instance:
            continue
        full = path + (name,)
        if not path or path[0] == "meta":
            yield (("meta", name), BAD_METADATA, {"key": name})
        elif path[0] in ("mentors", "mentees") and name == "consent":
            continue  # the consent rule reports it with the person's name
        else:
            yield (full, REQUIRED_MISSING, {"field": field_label(layout, data, full),
                                            "path": ".".join(str(p) for p in full)})


def _meta(error: jsonschema.ValidationError, path: tuple) -> tuple[tuple, str, dict]:
    if path == ("meta", "template_id"):
        return (path, BAD_TEMPLATE, {"value": format_value(error.instance)})
    return (path, BAD_METADATA, {"key": ".".join(str(p) for p in path[1:])})
