"""``new_workbook(zip_level=...)``: the parts are deflated at that level (the
school summary uses 1, fast), the content is the same, and xlsxwriter's own
zip class is left as it was."""
from __future__ import annotations

import zipfile

import xlsxwriter.workbook

from xlflow.writing.xlsx import new_workbook


def _write(path, level):
    wb = new_workbook(path, zip_level=level, constant_memory=True)  # docProps/core.xml: the time it was made
    ws = wb.add_worksheet("Данные")
    for r in range(2000):
        ws.write_row(r, 0, [f"Строка {r} текст повторяется", r, r * 0.5])
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist() if i.filename != "docProps/core.xml"}, z.getinfo("xl/worksheets/sheet1.xml").compress_size


def test_zip_level_changes_only_the_compression(tmp_path):
    fast, fast_size = _write(tmp_path / "1.xlsx", 1)
    small, small_size = _write(tmp_path / "9.xlsx", 9)
    plain, plain_size = _write(tmp_path / "d.xlsx", None)
    assert fast == small == plain
    assert fast_size > plain_size >= small_size
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
