"""Sample data: the generator (pure) and the sample workbooks (files)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from click.testing import CliRunner

from xlflow.cli import cli
from xlflow.layout import FormSpec, TableSpec, load_layout
from xlflow.schemas import load_schema
from xlflow.writing.sample import MISTAKE_KINDS, generate_school, write_municipality_samples, write_samples
from xlflow.writing.sample_fill import add_months

LAYOUT = load_layout()
SCHEMA = load_schema("programme.schema.json")
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def clean():
    return generate_school(11, n_copies=80)


@pytest.fixture(scope="module")
def faulty():
    return generate_school(11, n_copies=80, error_rate=0.3)


def all_records(school):
    return [school.registry] + [c.records for c in school.copies]


def schema_errors(records):
    return list(VALIDATOR.iter_errors(records))


# ------------------------------------------------------------------ generator

def test_same_seed_same_school_other_seed_other_school():
    a = generate_school(5, n_copies=30, error_rate=0.2)
    b = generate_school(5, n_copies=30, error_rate=0.2)
    c = generate_school(6, n_copies=30, error_rate=0.2)
    assert a.registry == b.registry
    assert [x.records for x in a.copies] == [x.records for x in b.copies]
    assert a.mistakes == b.mistakes
    assert [x.records for x in a.copies] != [x.records for x in c.copies]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
def test_copies_add_up_to_count(n):
    school = generate_school(n, n_copies=n)
    assert len(school.copies) == n
    assert sum(len(p.mentee_ids) for p in school.programmes) == n
    assert len({c.name for c in school.copies}) == n


def test_n_programmes_counts_pairs_and_groups():
    school = generate_school(3, n_programmes=25)
    assert len(school.programmes) == 25
    assert len(school.copies) == sum(len(p.mentee_ids) for p in school.programmes)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        generate_school(1, n_copies=3, n_programmes=3)
    with pytest.raises(ValueError):
        generate_school(1, n_copies=0)
    with pytest.raises(ValueError):
        generate_school(1, n_copies=3, error_rate=1.5)
    with pytest.raises(ValueError):
        generate_school(1, n_copies=3, as_of=dt.date(2025, 10, 1))


def test_clean_school_validates_against_schema(clean):
    for records in all_records(clean):
        assert schema_errors(records) == []
    assert clean.mistakes == []


def test_copies_are_programme_copies_of_their_pair(clean):
    registry_rows = {(r["group_id"], r["mentee_id"]): r for r in clean.registry["pairs"]}
    assert clean.registry["meta"]["workbook_kind"] == "school"
    for c in clean.copies:
        meta = c.records["meta"]
        assert meta["workbook_kind"] == "programme"
        assert (meta["programme_id"], meta["mentee_id"]) == (c.group_id, c.mentee_id)
        assert c.records["passport"]["programme_id"] == c.group_id
        assert {r["mentee_id"] for r in c.records["pairs"]} == {m["id"] for m in c.records["mentees"]}
        assert [m["id"] for m in c.records["mentors"]] == [c.mentor_id]
        for row in c.records["pairs"]:
            assert row == registry_rows[(row["group_id"], row["mentee_id"])]


def _choice_values(records):
    """(list name, value) of every choice cell in the records."""
    for spec in LAYOUT.sheets:
        if isinstance(spec, TableSpec):
            for row in records[spec.key]:
                for col in spec.columns:
                    if col.list and col.type == "choice" and col.key in row:
                        yield col.list, row[col.key]
        elif isinstance(spec, FormSpec):
            for field in spec.fields:
                if field.list and field.key in records["passport"]:
                    yield field.list, records["passport"][field.key]
    for item in records["diagnostics"]:
        yield "directions", item["direction"]
        if "level" in item:
            yield "intensity", item["level"]
    for item in records["rubric"]:
        yield "rubric_scores", item["score"]


def test_only_layout_list_values(clean):
    seen = defaultdict(set)
    for records in all_records(clean):
        for list_name, value in _choice_values(records):
            assert value in LAYOUT.choices(list_name), (list_name, value)
            seen[list_name].add(value)
    # varied: several values of the main classifications are used
    for list_name in ("kinds", "modes", "mentoring_forms", "statuses", "completion_marks", "mentee_categories"):
        assert len(seen[list_name]) >= 3, list_name


def test_domain_limits_hold_on_clean_data(clean):
    pairs = clean.registry["pairs"]
    by_mentor, by_mentee, by_group = defaultdict(set), defaultdict(set), defaultdict(list)
    for row in pairs:
        by_mentor[row["mentor_id"]].add(row["group_id"])
        by_mentee[row["mentee_id"]].add(row["group_id"])
        by_group[row["group_id"]].append(row)
    assert max(len(g) for g in by_mentor.values()) <= 4
    assert Counter(len(g) for g in by_mentor.values()).most_common(1)[0][0] in (1, 2, 3)
    assert max(len(g) for g in by_mentee.values()) <= 2
    for gid, rows in by_group.items():
        kinds = {r["group_type"] for r in rows}
        assert kinds == ({"группа"} if len(rows) > 1 else {"пара"}), gid
        assert len({r["mentor_id"] for r in rows}) == 1
    assert any(len(rows) >= 2 for rows in by_group.values())
    for m in clean.registry["mentees"]:
        assert m["consent"] is True
        if m["category"].startswith("молодой специалист"):
            assert 0 <= m["experience_years"] <= 3
    assert all(m["consent"] is True for m in clean.registry["mentors"])


def test_programme_terms(clean):
    for prog in clean.programmes:
        start, end = prog.start, prog.planned_end
        assert start < end
        if prog.term_change == "нет":
            assert add_months(start, 3) <= end + dt.timedelta(days=1)
            assert end <= add_months(start, 12)
        if prog.status in ("завершена", "прекращена досрочно"):
            assert prog.actual_end is not None and start <= prog.actual_end <= clean.as_of
            assert prog.ending_reason in LAYOUT.choices("ending_reasons")


def test_roadmaps_and_rubrics_are_realistic(clean):
    levels = Counter()
    for c in clean.copies:
        items = c.records["roadmap"]
        assert 5 <= len(items) <= 25
        start = dt.date.fromisoformat(c.records["pairs"][0]["start_date"])
        end = dt.date.fromisoformat(c.records["pairs"][0]["planned_end_date"])
        for it in items:
            assert start <= dt.date.fromisoformat(it["due_date"]) <= end
            if it.get("completion") == "выполнено":
                assert start <= dt.date.fromisoformat(it["done_date"]) <= clean.as_of
        if c.records["rubric"]:
            assert [r["indicator"] for r in c.records["rubric"]] == list(range(1, 10))
            levels[c.records["computed"]["rubric_level"]] += 1
    assert set(levels) == {"оптимальный", "допустимый", "недопустимый"}


def test_deficits_mostly_decrease_at_the_end(clean):
    lower = higher = 0
    for c in clean.copies:
        entry = {d["direction"]: d["level"] for d in c.records["diagnostics"]
                 if d["stage"] == "entry" and d["aspect"] == "deficit"}
        for d in c.records["diagnostics"]:
            if d["stage"] == "final" and d["aspect"] == "deficit":
                lower += d["level"] < entry[d["direction"]]
                higher += d["level"] > entry[d["direction"]]
    assert lower > 5 * higher and lower > 20


def test_mistakes_share_and_record(faulty, clean):
    faulty_copies = faulty.faulty_copies
    assert len(faulty_copies) == round(0.3 * 80)
    assert all(1 <= len(c.mistakes) <= 3 for c in faulty_copies)
    assert len({m.kind for m in faulty.mistakes}) >= 7
    assert set(m.kind for m in faulty.mistakes) <= set(MISTAKE_KINDS)
    # the copies without mistakes are the clean school's copies, unchanged
    for a, b in zip(faulty.copies, clean.copies):
        if not a.mistakes:
            assert a.records == b.records


def _schema_paths(records):
    return {tuple(e.absolute_path) for e in schema_errors(records)}


def test_schema_mistakes_are_found_at_their_path(faulty):
    for c in faulty.faulty_copies:
        paths = _schema_paths(c.records)
        for m in c.mistakes:
            if m.detected_by != "schema":
                continue
            where = m.path[:-1] if m.kind == "missing-required" else m.path
            assert where in paths, (m, paths)


def test_rule_mistakes_are_there(faulty):
    for c in faulty.faulty_copies:
        r = c.records
        for m in c.mistakes:
            if m.kind == "done-without-date":
                item = r["roadmap"][m.path[1]]
                assert item["completion"] == "выполнено" and "done_date" not in item
            elif m.kind == "young-specialist-experience":
                mentee = r["mentees"][m.path[1]]
                assert mentee["category"].startswith("молодой") and mentee["experience_years"] == 7
            elif m.kind == "no-consent":
                assert r[m.path[0]][m.path[1]]["consent"] is False
            elif m.kind == "programme-too-long":
                row = r["pairs"][m.path[1]]
                start = dt.date.fromisoformat(row["start_date"])
                assert dt.date.fromisoformat(row["planned_end_date"]) > add_months(start, 12)
                assert r["passport"]["term_change"] == "нет"
            elif m.kind == "unknown-mentee":
                assert r["pairs"][m.path[1]]["mentee_id"] not in {x["id"] for x in r["mentees"]}


def test_every_mistake_is_reported_by_validation(faulty):
    from xlflow.validation.locate import layout_cells
    from xlflow.validation.validate import validate_records

    expected_code = {
        "date-as-text": "bad-date", "experience-as-text": "not-a-number", "list-typo": "not-in-list",
        "missing-required": "required-missing", "rubric-score-3": "bad-score",
        "done-without-date": "done-date-missing", "young-specialist-experience": "young-specialist-experience",
        "no-consent": "consent-missing", "programme-too-long": "programme-too-long",
        "unknown-mentee": "unknown-mentee",
    }
    for c in faulty.copies:
        problems = validate_records(c.records, layout_cells(c.records, LAYOUT), today=faulty.as_of)
        errors = {p.code for p in problems if p.is_error}
        if not c.mistakes:
            assert errors == set(), (c.name, errors)
        for m in c.mistakes:
            assert expected_code[m.kind] in errors, (c.name, m, errors)


# --------------------------------------------------------------------- files

def _comparable(records):
    meta = {k: v for k, v in records["meta"].items() if k not in ("xlflow_version", "created")}
    return {**records, "meta": meta}


def test_sample_copies_dump_to_the_records_they_were_generated_from(tmp_path):
    from xlflow.reading.programme import read_programme

    result = write_samples(tmp_path, 6, seed=21, error_rate=0.5, jobs=1)
    assert sorted(tmp_path.iterdir()) == sorted(result.files)
    assert len(result.school.faulty_copies) == 3
    parsed = read_programme(result.registry_path)
    assert _comparable(parsed.data) == _comparable(result.school.registry)
    for c, path in zip(result.school.copies, result.copy_paths):
        assert path.name == f"{c.name}.xlsx"
        parsed = read_programme(path)
        assert _comparable(parsed.data) == _comparable(c.records), path.name
        assert parsed.problems == []


def test_copies_lock_their_identity_and_people(tmp_path):
    import openpyxl

    result = write_samples(tmp_path, 1, seed=2, jobs=1)
    wb = openpyxl.load_workbook(result.copy_paths[0])
    passport = wb["Паспорт программы"]
    code_row = LAYOUT.sheet("passport").row_of("school_code")
    goal_row = LAYOUT.sheet("passport").row_of("goal")
    assert passport[f"B{code_row}"].protection.locked
    assert not passport[f"B{goal_row}"].protection.locked
    assert wb["Банк наставников"]["B4"].protection.locked
    assert not wb["Дорожная карта"]["A5"].protection.locked


def test_process_pool_writes_the_same_files(tmp_path):
    from xlflow.reading.programme import read_programme

    serial = write_samples(tmp_path / "serial", 10, seed=8, jobs=1)
    pooled = write_samples(tmp_path / "pool", 10, seed=8, jobs=2)
    assert pooled.jobs == 2
    assert [p.name for p in pooled.files] == [p.name for p in serial.files]
    for a, b in zip(serial.files, pooled.files):
        assert _comparable(read_programme(a).data) == _comparable(read_programme(b).data)


def test_municipality_samples_have_distinct_schools(tmp_path):
    result = write_municipality_samples(tmp_path, 3, 2, seed=4, jobs=1)
    codes = [s.school.school_code for s in result.schools]
    assert codes == ["ОО-001", "ОО-002", "ОО-003"]
    assert len({s.school.school_name for s in result.schools}) == 3
    assert len({s.school.municipality for s in result.schools}) == 1
    for s in result.schools:
        assert s.out_dir == tmp_path / s.school.school_code
        assert sorted(s.out_dir.iterdir()) == sorted(s.files)
        assert len(s.copy_paths) == 2


# ----------------------------------------------------------------------- CLI

def test_cli_sample_writes_count_plus_one_files(tmp_path):
    out = tmp_path / "примеры"
    res = CliRunner().invoke(cli, ["sample", "--count", "3", "--out", str(out), "--seed", "4",
                                   "--errors", "0.34", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    files = sorted(out.iterdir())
    assert len(files) == 4 and all(f.suffix == ".xlsx" for f in files)
    assert "Книга школы" in res.output and "копий: 3" in res.output
    assert "с ошибками: 1" in res.output


def test_cli_sample_several_schools(tmp_path):
    res = CliRunner().invoke(cli, ["sample", "--count", "2", "--out", str(tmp_path), "--schools", "2",
                                   "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ОО-001", "ОО-002"]
    assert all(len(list(d.iterdir())) == 3 for d in tmp_path.iterdir())


def test_cli_sample_refuses_bad_options(tmp_path):
    res = CliRunner().invoke(cli, ["sample", "--count", "2", "--out", str(tmp_path), "--errors", "2"])
    assert res.exit_code == 2
    assert "от 0 до 1" in res.output
    assert list(tmp_path.iterdir()) == []


def test_activity_rules_use_layout_values_and_cover_every_topic():
    from xlflow.writing import fakedata

    lists = ("activity_kinds", "event_forms", "participation_forms", "reporting_forms")
    for rule in fakedata.ACTIVITY_RULES:
        for list_name, values in zip(lists, rule[1:]):
            assert values and set(values) <= set(LAYOUT.choices(list_name)), (list_name, values)
    assert set(fakedata.DIRECTION_TEXTS) == set(LAYOUT.choices("directions"))
    default = fakedata.ACTIVITY_RULES[-1][1:]
    topics = [t for texts in fakedata.DIRECTION_TEXTS.values() for t in texts["topics"]]
    assert sum(fakedata.activity_rule(t) != default for t in topics) == len(topics)


def test_feminine_surnames():
    from xlflow.writing.fakedata import feminine_surname

    assert [feminine_surname(s) for s in ("Берёзкин", "Зорянский", "Луговой", "Заречный", "Липовецкий",
                                          "Ручейков", "Журавлёв")] == [
        "Берёзкина", "Зорянская", "Луговая", "Заречная", "Липовецкая", "Ручейкова", "Журавлёва"]


def test_cli_sample_warns_about_other_workbooks_in_the_folder(tmp_path):
    (tmp_path / "старая копия.xlsx").write_bytes(b"")
    res = CliRunner().invoke(cli, ["sample", "--count", "1", "--out", str(tmp_path), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert "другие книги (1)" in res.output and "старая копия.xlsx" in res.output


def test_group_copies_share_the_programme_part(clean):
    shared = ("programme_id", "main_direction", "meeting_schedule", "conditions", "status", "term_change",
              "group_common_part", "actual_end_date", "ending_reason")
    groups = defaultdict(list)
    for c in clean.copies:
        if c.group_type == "группа":
            groups[c.group_id].append(c.records["passport"])
    assert groups
    for passports in groups.values():
        for key in shared:
            assert len({p.get(key) for p in passports}) == 1, key
        assert len({p["problem"] + p["desired_image"] for p in passports}) > 1 or len(passports) == 1


@pytest.mark.parametrize("text, rate", [("0.2", 0.2), ("0,25", 0.25), ("20%", 0.2), (" 1 ", 1.0), ("0", 0.0)])
def test_error_rate_option_accepts_russian_decimals_and_percent(text, rate):
    from xlflow.commands.sample import parse_rate

    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["много", "1.5", "-0.1", "150%", ""])
def test_error_rate_option_refuses_nonsense(text):
    from xlflow.commands.sample import parse_rate
    from xlflow.errors import XlflowError

    with pytest.raises(XlflowError):
        parse_rate(text)


@pytest.mark.parametrize("year, as_of", [("2024/2025", dt.date(2025, 3, 1)), ("2023/2024", dt.date(2024, 2, 1)),
                                         ("2025/2026", dt.date(2026, 8, 31))])
def test_other_school_year_and_collection_day(year, as_of):
    from xlflow.validation.locate import layout_cells
    from xlflow.validation.validate import validate_records

    school = generate_school(9, n_copies=60, academic_year=year, as_of=as_of)
    assert school.as_of == as_of
    first = dt.date(int(year[:4]), 9, 1).isoformat()
    for c in school.copies:
        assert schema_errors(c.records) == []
        problems = validate_records(c.records, layout_cells(c.records, LAYOUT), today=as_of)
        assert [p.code for p in problems if p.is_error] == [], c.name
        for it in c.records["roadmap"]:
            if "done_date" in it:
                assert first <= it["done_date"] <= as_of.isoformat()
    for prog in school.programmes:
        assert prog.start.isoformat() >= first
        if prog.actual_end:
            assert prog.actual_end <= as_of


def test_a_failed_write_in_a_worker_is_raised(tmp_path):
    from xlflow.writing.sample_files import StreamWriter, school_tasks

    school = generate_school(1, n_copies=3)
    tasks, _, _ = school_tasks(school, tmp_path)
    blocker = tmp_path / "файл"
    blocker.write_text("x", encoding="utf-8")
    bad = type(tasks[1])(str(blocker / "копия.xlsx"), tasks[1].options, tasks[1].records, True)
    with pytest.raises(OSError):
        with StreamWriter(2, batch=1) as writer:
            for task in (tasks[0], bad, tasks[2]):
                writer.add(task)


def test_records_can_be_dropped_once_written(tmp_path):
    from xlflow.reading.programme import read_programme

    kept = generate_school(3, n_copies=10)
    result = write_samples(tmp_path, 10, seed=3, jobs=2, keep_records=False)
    assert all(c.records == {} for c in result.school.copies)
    assert [c.name for c in result.school.copies] == [c.name for c in kept.copies]
    parsed = read_programme(result.copy_paths[-1])
    assert _comparable(parsed.data) == _comparable(kept.copies[-1].records)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 12), rate=st.floats(0, 1),
       as_of_day=st.integers(0, 211))
def test_any_seed_gives_valid_clean_copies_and_the_promised_mistakes(seed, n, rate, as_of_day):
    from xlflow.validation.locate import layout_cells
    from xlflow.validation.validate import validate_records

    as_of = dt.date(2026, 2, 1) + dt.timedelta(days=as_of_day)  # 01.02.2026 .. 31.08.2026
    school = generate_school(seed, n_copies=n, error_rate=rate, as_of=as_of)
    assert len(school.copies) == n
    assert len(school.faulty_copies) == round(rate * n)
    assert schema_errors(school.registry) == []
    for c in school.copies:
        if c.mistakes:
            assert 1 <= len(c.mistakes) <= 3
            continue
        assert schema_errors(c.records) == []
        problems = validate_records(c.records, layout_cells(c.records, LAYOUT), today=as_of)
        assert [p.code for p in problems if p.is_error] == []
