"""Every check end to end on real workbooks: the writer puts the records in a
file, the reader reads it back, validation reports the code at the right
sheet and cell. The untouched base workbooks are the passing cases."""
from __future__ import annotations

import datetime as dt

import pytest

from test_validation_rules import MENTEE, PAIR_ROW, school_record
from test_validation_schema import programme_record
from xlflow.writing.programme import WorkbookOptions, write_programme_workbook
from xlflow.validation.validate import validate_file, validate_files

TODAY = dt.date(2025, 12, 1)


def write(path, records) -> str:
    meta = records["meta"]
    options = WorkbookOptions(school_name=meta["school_name"], school_code=meta["school_code"],
                              academic_year=meta["academic_year"], workbook_kind=meta["workbook_kind"],
                              programme_id=meta.get("programme_id"), mentee_id=meta.get("mentee_id"))
    write_programme_workbook(path, options, records)
    return str(path)


def _set(path: tuple, value):
    def mutate(data):
        holder = data
        for key in path[:-1]:
            holder = holder[key]
        if value is KeyError:
            del holder[path[-1]]
        else:
            holder[path[-1]] = value
    return mutate


def _add_pairs(*rows):
    def mutate(data):
        data["pairs"].extend(dict(r) for r in rows)
    return mutate


def _overload_mentor(data):
    for k in range(4):
        data["mentees"].append({**MENTEE, "id": f"У-1{k}", "full_name": f"Наставляемая Номер{k}"})
        data["pairs"].append({**PAIR_ROW, "group_id": f"П-1{k}", "mentee_id": f"У-1{k}"})


def _finish(data):
    data["passport"].update(status="завершена", actual_end_date="2025-11-30",
                            ending_reason="план мероприятий выполнен в полном объёме")


def _stop_without_reason(data):
    data["passport"].update(status="прекращена досрочно", actual_end_date="2025-11-30")


P, S = "programme", "school"
PAIRS, BANK_M, BANK_T, ROAD, PASS = ("Пары и группы", "Банк наставников", "Банк наставляемых",
                                     "Дорожная карта", "Паспорт программы")
CASES = [
    # schema
    ("bad-date", P, _set(("pairs", 0, "start_date"), "32.13.2025"), PAIRS, "I4"),
    ("not-a-number", P, _set(("mentees", 0, "experience_years"), "два года"), BANK_T, "E4"),
    ("not-in-list", P, _set(("pairs", 0, "mode"), "заочный"), PAIRS, "H4"),
    ("required-missing", P, _set(("pairs", 0, "kind"), KeyError), PAIRS, "G4"),
    ("bad-yes-no", P, _set(("pairs", 0, "participants_consent"), "может быть"), PAIRS, "M4"),
    ("bad-level", P, _set(("diagnostics", 0, "level"), 7), "Диагностика", "H8"),
    ("bad-score", P, _set(("rubric", 0, "score"), 3), "Рубрика", "D4"),
    # people
    ("duplicate-id", S, _set(("mentees", 2, "id"), "У-002"), BANK_T, "A6"),
    ("consent-missing", S, _set(("mentors", 1, "consent"), False), BANK_M, "I5"),
    ("young-specialist-experience", S, _set(("mentees", 1, "experience_years"), 7), BANK_T, "E5"),
    ("bad-experience", S, _set(("mentors", 0, "experience_years"), 95), BANK_M, "E4"),
    ("unknown-mentor", S, _set(("pairs", 0, "mentor_id"), "Н-999"), PAIRS, "C4"),
    ("unknown-mentee", S, _set(("pairs", 0, "mentee_id"), "У-404"), PAIRS, "D4"),
    ("same-person", S, _set(("mentees", 0, "full_name"), "Берёзкина Алла Петровна"), PAIRS, "D4"),
    ("pair-size", S, _add_pairs({**PAIR_ROW, "mentee_id": "У-003"}), PAIRS, "B7"),
    ("group-too-small", S, lambda d: d["pairs"].pop(), PAIRS, "B5"),
    ("group-inconsistent", S, _set(("pairs", 2, "mode"), "онлайн"), PAIRS, "H6"),
    ("duplicate-pair-row", S, lambda d: d["pairs"].append(dict(d["pairs"][2])), PAIRS, "D7"),
    ("participants-consent-missing", S, _set(("pairs", 0, "participants_consent"), False), PAIRS, "M4"),
    ("mentor-overload", S, _overload_mentor, PAIRS, "C10"),
    ("mentee-overload", S, _add_pairs({**PAIR_ROW, "group_id": "П-02", "mentor_id": "Н-002"},
                                      {**PAIR_ROW, "group_id": "П-03", "mentor_id": "Н-002"}), PAIRS, "D8"),
    # dates
    ("programme-too-short", P, _set(("pairs", 0, "planned_end_date"), "2025-10-31"), PAIRS, "J4"),
    ("programme-too-long", P, _set(("pairs", 0, "planned_end_date"), "2026-12-31"), PAIRS, "J4"),
    ("programme-length-unusual", S, _set(("pairs", 0, "planned_end_date"), "2025-10-31"), PAIRS, "J4"),
    ("dates-order", P, _set(("pairs", 0, "planned_end_date"), "2025-08-01"), PAIRS, "J4"),
    ("end-before-start", P, _set(("passport", "actual_end_date"), "2025-08-01"), PASS, "B21"),
    ("order-after-start", P, _set(("pairs", 0, "order_date"), "2025-11-15"), PAIRS, "L4"),
    ("date-in-future", P, _set(("mentors", 0, "consent_date"), "2025-12-24"), BANK_M, "J4"),
    ("date-outside-programme", P, _set(("roadmap", 0, "due_date"), "2026-07-01"), ROAD, "E5"),
    ("implausible-date", P, _set(("mentees", 0, "consent_date"), "1925-08-25"), BANK_T, "I4"),
    # programme
    ("done-date-missing", P, _set(("roadmap", 0, "done_date"), KeyError), ROAD, "L5"),
    ("done-date-not-done", P, _set(("roadmap", 0, "completion"), "не выполнено"), ROAD, "L5"),
    ("unknown-direction", P, _set(("passport", "main_direction"), "Астрология"), PASS, "B8"),
    ("ending-incomplete", P, _stop_without_reason, PASS, "B22"),
    ("end-date-without-status", P, _set(("passport", "actual_end_date"), "2025-11-20"), PASS, "B21"),
    ("no-pairs", P, _set(("pairs",), []), PAIRS, None),
    ("rubric-incomplete", P, _finish, "Рубрика", None),
    ("final-diagnostics-missing", P, _finish, "Диагностика", None),
    ("copy-mismatch", P, _set(("meta", "mentee_id"), "У-999"), PAIRS, "A4"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("validation_files")
    out = {"programme": write(folder / "программа.xlsx", programme_record()),
           "school": write(folder / "школа.xlsx", school_record())}
    for code, base, mutate, _, _ in CASES:
        data = programme_record() if base == P else school_record()
        mutate(data)
        out[code] = write(folder / f"{code}.xlsx", data)
    return out


@pytest.mark.parametrize("base", [P, S])
def test_base_workbooks_pass(files, base):
    result = validate_file(files[base], today=TODAY)
    assert result.readable and result.problems == []


@pytest.mark.parametrize("code,base,mutate,sheet,cell", CASES, ids=[c[0] for c in CASES])
def test_failing_workbook(files, code, base, mutate, sheet, cell):
    result = validate_file(files[code], today=TODAY)
    found = [p for p in result.problems if p.code == code]
    assert [(p.sheet, p.cell) for p in found] == [(sheet, cell)], \
        [(p.code, p.sheet, p.cell, p.message) for p in result.problems]
    problem = found[0]
    assert problem.file == files[code]
    assert any("а" <= ch <= "я" for ch in problem.message.lower())


def test_one_broken_file_does_not_stop_the_others(files, tmp_path):
    broken = tmp_path / "сломанный.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    report = validate_files([files["school"], str(broken), files["bad-date"]], today=TODAY)
    assert report.unreadable == {str(broken)}
    assert report.exit_code() == 2
    assert [p.file for p in report.problems if p.file == str(broken)] == [str(broken)]
    assert any(p.code == "bad-date" and p.file == files["bad-date"] for p in report.problems)
    assert report.files == [files["school"], str(broken), files["bad-date"]]


def _found(path) -> set[tuple]:
    return {(p.code, p.sheet, p.cell) for p in validate_file(path, today=TODAY).problems}


RESAVED = ["school", "bad-date", "not-a-number", "bad-level"]  # LibreOffice: ~2-3 s per file


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_resaved_by_libreoffice_validates_the_same(files, lo_convert, tmp_path, fmt):
    sources = [files[key] for key in RESAVED]
    converted = lo_convert(sources, fmt, tmp_path)
    for source, copy in zip(sources, converted):
        assert _found(copy) == _found(source), source


def test_unexpected_reader_failure_is_reported_not_raised(files, monkeypatch):
    import xlflow.reading.programme as reader

    def explode(path, **_):
        raise RuntimeError("сбой")

    monkeypatch.setattr(reader, "read_programme", explode)
    report = validate_files([files["school"]], today=TODAY)
    assert report.unreadable == {files["school"]} and report.exit_code() == 2
    [problem] = report.problems
    assert problem.code == "read-unexpected" and "RuntimeError: сбой" in problem.message


def test_a_file_that_kills_the_reader_costs_only_its_own_result(files, monkeypatch, tmp_path):
    import os

    import xlflow.reading.programme as reader

    real = reader.read_programme
    crash = tmp_path / "авария.xlsx"
    crash.write_bytes(b"x")

    def read(path, **kwargs):
        if str(path) == str(crash):
            os.abort()  # what a Rust panic in the parser does to the process
        return real(path, **kwargs)

    monkeypatch.setattr(reader, "read_programme", read)
    report = validate_files([files["bad-date"], str(crash), files["school"]], today=TODAY)
    assert report.unreadable == {str(crash)}
    assert [p.code for p in report.problems if p.file == str(crash)] == ["worker-crashed"]
    assert [p.code for p in report.problems if p.file == files["bad-date"]] == ["bad-date"]
    assert report.files == [files["bad-date"], str(crash), files["school"]]


def test_every_rule_code_has_a_failing_workbook():
    from xlflow.problems import all_codes
    from xlflow.validation.rules import RULE_MODULES

    registered = {c.code for c in all_codes()}
    rule_codes = {v for m in RULE_MODULES for k, v in vars(m).items()
                  if k.isupper() and isinstance(v, str) and v in registered}
    assert len(rule_codes) > 25
    assert rule_codes <= {c[0] for c in CASES}
