"""``new_workbook(zip_level=...)``: the parts are deflated at that level (the
school summary uses 1, fast), the content is the same, and xlsxwriter's own
zip class is left as it was."""
from __future__ import annotations

import threading
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


def test_zip_class_restored_when_two_threads_store_at_once(tmp_path, monkeypatch):
    """A stores; B starts storing meanwhile and ends after A. Without one store
    at a time, B would keep A's swapped class as the one to restore, and leave
    the module swapped."""
    entered = {name: threading.Event() for name in "AB"}
    go = {name: threading.Event() for name in "AB"}
    seen = {}

    def store(self):  # xlsxwriter's own storing, held until the test lets it go on
        name = self.filename[-6]
        seen[name] = xlsxwriter.workbook.ZipFile
        entered[name].set()
        assert go[name].wait(10)

    monkeypatch.setattr(xlsxwriter.Workbook, "_store_workbook", store)
    books = {name: new_workbook(tmp_path / f"{name}.xlsx", zip_level=1) for name in "AB"}
    threads = {name: threading.Thread(target=books[name]._store_workbook) for name in "AB"}
    threads["A"].start()
    assert entered["A"].wait(10)
    threads["B"].start()
    entered["B"].wait(0.3)  # time for B to start storing, if it may before A ends
    go["A"].set()
    threads["A"].join(10)
    assert entered["B"].wait(10)
    go["B"].set()
    threads["B"].join(10)
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    assert all(got.func is zipfile.ZipFile and got.keywords == {"compresslevel": 1} for got in seen.values())
