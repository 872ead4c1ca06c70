"""The pre-check refuses every hostile or broken file with its code, cheaply.

Documented bounds (README «Security and limits»): each refusal takes less
than PRECHECK_SECONDS and allocates less than PRECHECK_PEAK_MB of Python
memory; the worst case (a 2 GiB bomb with lying headers) keeps the whole
process under WORST_CASE_RSS_MB.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

import hostile
from xlflow.errors import ReadError
from xlflow.problems import Problem, Report, code_info
from xlflow.reading.safety import (DEFAULT_LIMITS, Limits, cfb_stream_names, kind_problems, precheck,
                                   problem_from_error)

PRECHECK_SECONDS = 2.0
PRECHECK_PEAK_MB = 64
WORST_CASE_RSS_MB = 200


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return hostile.build_all(tmp_path_factory.mktemp("hostile"))


CASE_NAMES = [
    "empty", "random", "csv", "html", "docx", "word_ole", "foreign_zip", "truncated", "xls", "encrypted",
    "xlsb", "billion_laughs", "xxe", "xxe_utf16", "unknown_encoding", "zip_bomb", "zip_bomb_lying",
    "overlapping_bomb", "lying_compressed_size", "many_entries", "dotdot", "absolute", "far_cell",
    "huge_dimension", "wide_sparse", "implicit_columns", "ods_repeated", "overflow_row", "long_column",
    "duplicate_ref", "shared_strings_count",
]


def test_catalogue_is_complete(cases):
    assert sorted(cases) == sorted(CASE_NAMES)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_hostile_file_refused_with_code_bounded(cases, case):
    path, code = cases[case]
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ReadError) as info:
            precheck(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = info.value
    assert err.code == code
    assert err.file == str(path)
    assert elapsed < PRECHECK_SECONDS
    assert peak < PRECHECK_PEAK_MB * 1024 * 1024
    # the rendered problem names the file and says what to do, in Russian
    problem = problem_from_error(err)
    report = Report()
    report.add(problem)
    text = report.to_text()
    assert path.name in text
    assert code in text
    assert "{" not in err.message
    assert any(word in err.message for word in ("сохраните", "Сохраните", "скопируйте", "Скопируйте", "Удалите", "удалите"))


def test_messages_are_specific(cases):
    def message(case):
        with pytest.raises(ReadError) as info:
            precheck(cases[case][0])
        return info.value.message

    assert "пустой" in message("empty")
    assert "CSV" in message("csv")
    assert "Word" in message("docx")
    assert "Word" in message("word_ole")
    assert "повреждён" in message("truncated")
    assert "«Книга Excel (.xlsx)»" in message("xls")
    assert "пароль" in message("encrypted")
    assert "sharedStrings" in message("xxe")
    assert "../../evil.xml" in message("dotdot")
    assert "1048576" in message("far_cell") and "16384" in message("far_cell")
    assert "объявленный" in message("huge_dimension")


def test_lying_headers_are_caught_by_bytes_actually_inflated(cases):
    # the central directory says 1 KB: only streaming inflation sees the bomb
    import zipfile

    path = cases["zip_bomb_lying"][0]
    with zipfile.ZipFile(path) as zf:
        declared = {i.filename: i.file_size for i in zf.infolist()}
    assert declared["xl/worksheets/sheet9.xml"] == 1024
    with pytest.raises(ReadError) as info:
        precheck(path)
    assert "сжата в" in info.value.message


def test_worst_case_rss_is_bounded(cases):
    """A 2 GiB bomb with lying headers, in a fresh interpreter: max RSS."""
    path = cases["zip_bomb_lying"][0]
    # VmHWM is this interpreter's own peak; ru_maxrss may carry the peak of the
    # forking pytest process across exec (Linux keeps it), which says nothing here
    code = ("import json, resource, sys, time\n"
            "from xlflow.reading.safety import precheck\n"
            "from xlflow.errors import ReadError\n"
            "def peak_kb():\n"
            "    try:\n"
            "        for line in open('/proc/self/status'):\n"
            "            if line.startswith('VmHWM:'):\n"
            "                return int(line.split()[1])\n"
            "    except OSError:\n"
            "        pass\n"
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "base = peak_kb()\n"
            "t = time.perf_counter()\n"
            "try:\n    precheck(sys.argv[1])\nexcept ReadError as e:\n    code = e.code\n"
            "print(json.dumps({'code': code, 'seconds': time.perf_counter() - t, 'base_kb': base,"
            " 'max_kb': peak_kb()}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["code"] == "zip-bomb"
    assert got["max_kb"] / 1024 < WORST_CASE_RSS_MB
    assert (got["max_kb"] - got["base_kb"]) / 1024 < 64
    assert got["seconds"] < PRECHECK_SECONDS


# ---------------------------------------------------------------- files that pass
def test_ordinary_workbook_passes(tmp_path):
    path = hostile.valid_xlsx(tmp_path / "Программа Иванова.xlsx", sheets=9, rows=60, cols=14)
    assert precheck(path) == "xlsx"
    assert kind_problems("xlsx", str(path)) == []


def test_programme_workbook_passes(tmp_path):
    from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

    path = tmp_path / "programme.xlsx"
    write_programme_workbook(path, WorkbookOptions(school_name="Школа № 1", school_code="S001",
                                                   academic_year="2025/2026"))
    assert precheck(path) == "xlsx"


def test_wide_sheet_within_limits_passes(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    ok = hostile.replace_in_sheet(base, tmp_path / "wide_ok.xlsx", b"</sheetData>",
                                  b'<row r="200"><c r="AZ200"><v>1</v></c></row></sheetData>')
    assert precheck(ok) == "xlsx"


def test_macro_workbook_read_with_warning(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    path = hostile.xlsm(base, tmp_path / "macros.xlsm")
    assert precheck(path) == "xlsm"
    (warning,) = kind_problems("xlsm", str(path))
    assert warning.code == "macro-workbook" and not warning.is_error
    assert "макросы никогда не запускаются" in warning.message


def test_libreoffice_files(tmp_path, lo_convert):
    """LibreOffice's own .xlsx and .ods pass (its trailing repeated empty
    rows and columns are not data); its .xls is legacy-xls."""
    base = hostile.valid_xlsx(tmp_path / "книга.xlsx", sheets=2)
    (ods,) = lo_convert([base], "ods", tmp_path / "ods")
    assert precheck(ods) == "ods"
    (xls,) = lo_convert([base], "xls", tmp_path / "xls")
    with pytest.raises(ReadError) as info:
        precheck(xls)
    assert info.value.code == "legacy-xls"
    assert {"workbook"} <= {n.lower() for n in cfb_stream_names(open(xls, "rb"), os.path.getsize(xls))}


def test_ods_with_trailing_empty_repeats_passes(tmp_path):
    path = tmp_path / "lo.ods"
    hostile.ods_repeated(path, rows=1, cols=3)
    assert precheck(path) == "ods"
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet>'
               '<table:table table:name="Лист1"><table:table-row>'
               '<table:table-cell office:value-type="float" office:value="1"/>'
               '<table:table-cell table:number-columns-repeated="16383"/></table:table-row>'
               '<table:table-row table:number-rows-repeated="1048575"><table:table-cell '
               'table:number-columns-repeated="16384"/></table:table-row>'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    assert precheck(path) == "ods"


# ---------------------------------------------------------------- limits
def test_limits_from_environment():
    limits = Limits.from_env({"XLFLOW_MAX_ROWS": "500", "XLFLOW_MAX_FILE_BYTES": "1000"})
    assert limits.max_rows == 500 and limits.max_file_bytes == 1000
    assert limits.max_cols == DEFAULT_LIMITS.max_cols
    assert Limits.from_env({"XLFLOW_MAX_ROWS": "много", "XLFLOW_MAX_COLS": "-1"}) == Limits()


def test_file_size_limit(tmp_path):
    path = hostile.valid_xlsx(tmp_path / "big.xlsx")
    with pytest.raises(ReadError) as info:
        precheck(path, Limits(max_file_bytes=1000))
    assert info.value.code == "file-too-large"


def test_row_limit_is_configurable(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx", rows=30)
    assert precheck(base, Limits(max_rows=30)) == "xlsx"
    with pytest.raises(ReadError) as info:
        precheck(base, Limits(max_rows=29))
    assert info.value.code == "sheet-too-large"


def test_every_safety_code_is_registered():
    for code in ("not-a-workbook", "legacy-xls", "encrypted-workbook", "macro-workbook", "ods", "xml-entities",
                 "zip-bomb", "too-many-entries", "unsafe-member-name", "sheet-too-large", "file-too-large",
                 "binary-workbook"):
        info = code_info(code)
        assert info.template and info.title
        Problem(code)  # constructible


def test_missing_unreadable_and_directory(tmp_path, monkeypatch):
    folder = tmp_path / "папка.xlsx"
    folder.mkdir()
    with pytest.raises(ReadError) as info:
        precheck(folder)
    assert info.value.code == "not-a-workbook" and "папка" in info.value.message
    with pytest.raises(ReadError) as info:
        precheck(tmp_path / "исчез.xlsx")
    assert info.value.code == "file-vanished"

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("xlflow.reading.safety.open", denied, raising=False)
    with pytest.raises(ReadError) as info:
        precheck(hostile.valid_xlsx(tmp_path / "закрыт.xlsx"))
    assert info.value.code == "file-unreadable"


def test_sheet_too_large_names_the_sheet(cases):
    for case in ("far_cell", "ods_repeated"):
        with pytest.raises(ReadError) as info:
            precheck(cases[case][0])
        assert info.value.params["sheet"] == "Лист1"
        assert info.value.message.startswith("Лист «Лист1» слишком большой")


def test_reversed_dimension_is_read_both_ways(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    path = hostile.huge_dimension(base, tmp_path / "dimension.xlsx")
    reversed_ = hostile.replace_in_sheet(path, tmp_path / "reversed.xlsx", b'ref="A1:XFD1048576"',
                                         b'ref="XFD1048576:A1"')
    with pytest.raises(ReadError) as info:
        precheck(reversed_)
    assert info.value.code == "sheet-too-large"


def test_unsupported_zip_version_is_a_broken_file(tmp_path):
    base = hostile.valid_xlsx(tmp_path / "base.xlsx")
    data = bytearray(base.read_bytes())
    at = data.index(b"PK\x01\x02")
    data[at + 6] = 120  # "version needed to extract" 12.0: zipfile raises NotImplementedError
    bad = tmp_path / "version.xlsx"
    bad.write_bytes(bytes(data))
    with pytest.raises(ReadError) as info:
        precheck(bad)
    assert info.value.code == "not-a-workbook"
