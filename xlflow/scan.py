"""Folder scanning for ``collect`` and ``merge``: every file found is accounted for.

:func:`scan_inputs` walks the given files and folders (recursively, in name
order) and classifies every file it meets: a *candidate* to read, *skipped*
with a reason (lock file, hidden, not a spreadsheet, xlflow's own output,
symlink leaving the folder, the same file twice...) or *unreadable*
(permission denied, vanished while scanning). Every entry carries a
registered problem code, so the command can report each file in Russian.

xlflow's own outputs are recognised by their paths (``output_paths``), by the
temporary prefix of :func:`xlflow.fileio.atomic_output`, and by the
``template_id`` on the hidden ``_xlflow`` sheet (read cheaply, with size caps,
without loading the workbook).
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from xlflow.problems import ERROR, WARNING, Problem, register
from xlflow.reading.safety import UNREADABLE as UNREADABLE_FILE
from xlflow.reading.safety import VANISHED

Purpose = Literal["collect", "merge"]
CANDIDATE = "candidate"
SKIPPED = "skipped"
UNREADABLE = "unreadable"

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")
CANDIDATE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "collect": SPREADSHEET_SUFFIXES,
    "merge": SPREADSHEET_SUFFIXES + (".json",),
}
# template ids of the summaries each command writes (never its inputs)
OWN_OUTPUT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "collect": ("xlflow-school-summary", "xlflow-municipal-summary"),
    "merge": ("xlflow-municipal-summary",),
}
OUTPUT_KIND_RU = {
    "xlflow-school-summary": "сводка школы",
    "xlflow-municipal-summary": "сводка муниципалитета",
}
TEMP_PREFIX = ".~xlflow-"
META_SHEET = "_xlflow"

SKIP_LOCK = register(
    "skipped-lock-file", WARNING,
    "Служебный файл блокировки Excel или LibreOffice (книга сейчас открыта): пропущен. Закройте "
    "книгу; если она уже закрыта, этот файл можно удалить.",
    "~$ or .~lock. file")
SKIP_HIDDEN = register(
    "skipped-hidden", WARNING,
    "Скрытый файл или папка: пропущен. Если его нужно учесть, сделайте его видимым или "
    "переименуйте без точки в начале имени.",
    "hidden file or folder")
SKIP_TEMP = register(
    "skipped-temporary", WARNING,
    "Временный файл xlflow, оставшийся после прерванной записи: пропущен, его можно удалить.",
    "atomic_output temporary file")
SKIP_NOT_SPREADSHEET = register(
    "skipped-not-spreadsheet", WARNING,
    "Файл не является книгой ({detail}): пропущен. Если в нём программа наставничества, "
    "сохраните его как «Книга Excel (.xlsx)».",
    "file extension is not a spreadsheet")
SKIP_OWN_OUTPUT = register(
    "skipped-own-output", WARNING,
    "Это результат работы xlflow ({what}), а не входной файл: пропущен.",
    "xlflow output in the input folder")
SKIP_SYMLINK_OUTSIDE = register(
    "skipped-symlink-outside", WARNING,
    "Ярлык (символическая ссылка) ведёт за пределы папки: пропущен. Если файл нужно учесть, "
    "скопируйте его в папку.",
    "symlink pointing outside the scanned folder")
SKIP_SYMLINK_DIR = register(
    "skipped-symlink-folder", WARNING,
    "Ярлык (символическая ссылка) на папку: не открывается, чтобы не учесть файлы дважды. "
    "Если файлы из той папки нужны, скопируйте их сюда.",
    "symlink to a directory")
SKIP_BROKEN_LINK = register(
    "skipped-broken-link", WARNING,
    "Ярлык (символическая ссылка) ведёт на несуществующий файл: пропущен.",
    "dangling symlink")
SKIP_DIR_LIKE_WORKBOOK = register(
    "skipped-folder-named-like-workbook", WARNING,
    "Это папка с именем книги, а не файл: сама она не читается, файлы внутри неё проверены "
    "отдельно.",
    "directory whose name ends with a spreadsheet extension")
SKIP_DUPLICATE = register(
    "skipped-duplicate-file", WARNING,
    "Тот же файл, что и «{other}» (совпадает содержимое): учтён один раз.",
    "same inode or same content as an earlier file")
SKIP_SPECIAL = register(
    "skipped-special-file", WARNING,
    "Это не обычный файл (устройство, канал или сокет): пропущен.",
    "fifo, socket or device")
UNREADABLE_FOLDER = register(
    "folder-unreadable", ERROR,
    "Нет прав на чтение папки, файлы в ней не проверены. Попросите владельца открыть доступ или "
    "скопируйте файлы в свою папку и повторите.",
    "permission denied on a directory")
INPUT_MISSING = register(
    "input-not-found", ERROR,
    "Файл или папка не найдены. Проверьте путь.",
    "an input path given by name does not exist")


@dataclass(slots=True)  # a folder of 10,000 files holds 10,000 of them at once
class ScanEntry:
    path: str  # the path to open
    name: str  # shown to the user: relative to the scanned folder, or as given
    status: str = CANDIDATE  # candidate | skipped | unreadable
    code: str | None = None
    params: dict[str, Any] | None = None  # set by skip(); None, not an empty dict each, for a candidate
    explicit: bool = False  # named directly, not found inside a folder
    size: int = 0
    template_id: str | None = None
    duplicate_of: str | None = None
    inode: int = 0  # device and inode as one int, from the scan's stat (0: not known)
    tail: bytes | None = None  # digest of the last KB, read when the file is opened to classify it

    def problem(self) -> Problem | None:
        if self.code is None:
            return None
        return Problem(self.code, file=self.name, params=dict(self.params or {}))

    def skip(self, code: str, status: str = SKIPPED, **params: Any) -> "ScanEntry":
        self.status, self.code, self.params = status, code, params
        return self


@dataclass
class ScanResult:
    entries: list[ScanEntry]

    @property
    def candidates(self) -> list[ScanEntry]:
        return [e for e in self.entries if e.status == CANDIDATE]

    @property
    def skipped(self) -> list[ScanEntry]:
        return [e for e in self.entries if e.status == SKIPPED]

    @property
    def unreadable(self) -> list[ScanEntry]:
        return [e for e in self.entries if e.status == UNREADABLE]

    def problems(self) -> list[Problem]:
        return [p for p in (e.problem() for e in self.entries) if p is not None]


def scan_inputs(paths: Iterable[str | os.PathLike], *, purpose: Purpose = "collect",
                output_paths: Iterable[str | os.PathLike] = (), templates: bool = True) -> ScanResult:
    """Classify every file under ``paths`` (files or folders, recursively).

    ``templates=False`` leaves out the one costly check (a few ms a file):
    workbooks whose ``_xlflow`` sheet names one of the command's own outputs
    stay candidates, so the caller must check them (:func:`own_output_problem`)
    and treat a duplicate of such a file as one too."""
    if purpose not in CANDIDATE_SUFFIXES:
        raise ValueError(f"unknown purpose {purpose!r}")
    outputs = {_identity_key(p) for p in output_paths}
    outputs.discard(None)
    entries: list[ScanEntry] = []
    for given in paths:
        entries.extend(_scan_one(os.fspath(given), purpose))
    for e in entries:
        if e.status == CANDIDATE:
            _classify_candidate(e, purpose, outputs, templates)
    _mark_duplicates(entries)
    return ScanResult(entries)


def own_output_problem(path: str, name: str, purpose: Purpose = "collect") -> Problem | None:
    """The ``skipped-own-output`` problem when ``path`` is a workbook the
    command itself writes (by its ``_xlflow`` sheet), else None."""
    template_id = read_template_id(path)
    if template_id not in OWN_OUTPUT_TEMPLATES[purpose]:
        return None
    return Problem(SKIP_OWN_OUTPUT, file=name, params={"what": OUTPUT_KIND_RU.get(template_id, template_id)})


_INO_MASK = (1 << 64) - 1
_TAIL = 1024


# ---------------------------------------------------------------- walking
def _scan_one(given: str, purpose: Purpose) -> Iterator[ScanEntry]:
    try:
        st = os.stat(given)
    except FileNotFoundError:
        yield ScanEntry(given, given, explicit=True).skip(INPUT_MISSING, UNREADABLE)
        return
    except PermissionError:
        yield ScanEntry(given, given, explicit=True).skip(UNREADABLE_FILE, UNREADABLE)
        return
    if stat.S_ISDIR(st.st_mode):
        root = os.path.realpath(given)
        yield from _walk(given, root, "")
        return
    entry = ScanEntry(given, given, explicit=True, size=st.st_size, inode=_inode(st))
    yield _check_file_entry(entry, st)


def _walk(folder: str, root: str, rel: str) -> Iterator[ScanEntry]:
    """``rel``: the folder's name shown, relative to the scanned one with "/" ("" for itself)."""
    try:
        with os.scandir(_long(folder)) as it:
            items = sorted(it, key=lambda d: d.name, reverse=True)
    except FileNotFoundError:
        yield ScanEntry(folder, rel or folder).skip(VANISHED)
        return
    except PermissionError:
        yield ScanEntry(folder, rel or folder).skip(UNREADABLE_FOLDER, UNREADABLE)
        return
    while items:  # each entry let go once used: they and the ScanEntry made of them are not all kept
        d = items.pop()
        path = os.path.join(folder, d.name)
        yield from _walk_item(d, path, root, f"{rel}/{d.name}" if rel else d.name)


def _walk_item(d: os.DirEntry, path: str, root: str, name: str) -> Iterator[ScanEntry]:
    entry = ScanEntry(path, name)
    if d.name.startswith(TEMP_PREFIX):
        yield entry.skip(SKIP_TEMP)
        return
    if _is_lock_name(d.name):
        yield entry.skip(SKIP_LOCK)
        return
    try:
        is_link = d.is_symlink()
        is_dir = d.is_dir(follow_symlinks=False)
    except OSError:
        yield entry.skip(VANISHED)
        return
    if d.name.startswith(".") or _hidden_attr(d):
        yield entry.skip(SKIP_HIDDEN)
        return
    if is_link:
        yield from _link_entry(entry, path, root)
        return
    if is_dir:
        if d.name.lower().endswith(SPREADSHEET_SUFFIXES):
            yield ScanEntry(path, name + "/").skip(SKIP_DIR_LIKE_WORKBOOK)
        yield from _walk(path, root, name)
        return
    yield _stat_file_entry(entry)


def _link_entry(entry: ScanEntry, path: str, root: str) -> Iterator[ScanEntry]:
    target = os.path.realpath(path)
    if not os.path.exists(target):
        yield entry.skip(SKIP_BROKEN_LINK)
        return
    if not _inside(target, root):
        yield entry.skip(SKIP_SYMLINK_OUTSIDE)
        return
    if os.path.isdir(target):
        yield entry.skip(SKIP_SYMLINK_DIR)
        return
    yield _stat_file_entry(entry)


def _stat_file_entry(entry: ScanEntry) -> ScanEntry:
    try:
        st = os.stat(_long(entry.path))
    except FileNotFoundError:
        return entry.skip(VANISHED)
    except PermissionError:
        return entry.skip(UNREADABLE_FILE, UNREADABLE)
    entry.size, entry.inode = st.st_size, _inode(st)
    return _check_file_entry(entry, st)


def _check_file_entry(entry: ScanEntry, st: os.stat_result) -> ScanEntry:
    if not stat.S_ISREG(st.st_mode):
        return entry.skip(SKIP_SPECIAL)
    return entry


def _is_lock_name(name: str) -> bool:
    return name.startswith("~$") or name.startswith(".~lock.")


def _hidden_attr(d: os.DirEntry) -> bool:
    """The Windows «hidden» attribute (always False elsewhere)."""
    if os.name != "nt":
        return False  # no lstat per file for an attribute only Windows has
    try:
        attrs = getattr(d.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attrs & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


def _inside(target: str, root: str) -> bool:
    try:
        return os.path.commonpath([target, root]) == root
    except ValueError:  # different drives
        return False


def _suffix(name: str) -> str:
    """``Path(name).suffix.lower()`` without building a path object."""
    base = os.path.basename(name.replace("/", os.sep))
    i = base.rfind(".")
    return base[i:].lower() if 0 < i < len(base) - 1 else ""


def _long(path: str) -> str:
    """Windows: allow paths longer than 260 characters."""
    if os.name == "nt" and len(path) >= 240 and not path.startswith("\\\\?\\"):
        return "\\\\?\\" + os.path.abspath(path)
    return path


def _inode(st: os.stat_result) -> int:
    return st.st_dev << 64 | st.st_ino


def _identity_key(path: str | os.PathLike) -> tuple | str | None:
    p = os.fspath(path)
    try:
        st = os.stat(p)
        return (st.st_dev, st.st_ino)
    except OSError:
        return os.path.normcase(os.path.abspath(p))


# ---------------------------------------------------------------- classification
def _classify_candidate(e: ScanEntry, purpose: Purpose, outputs: set, templates: bool = True) -> None:
    key = (e.inode >> 64, e.inode & _INO_MASK) if e.inode else _identity_key(e.path)  # the scan's stat
    by_path = any(isinstance(k, str) for k in outputs)  # outputs not written yet
    if key in outputs or (by_path and os.path.normcase(os.path.abspath(e.path)) in outputs):
        e.skip(SKIP_OWN_OUTPUT, what="файл результата этой команды")
        return
    suffix = _suffix(e.name)
    if suffix in (".json", ".csv") and _own_machine_copy(e, purpose):
        return
    if not e.explicit and suffix not in CANDIDATE_SUFFIXES[purpose]:
        # a file named on the command line is always read (and so reported)
        e.skip(SKIP_NOT_SPREADSHEET, detail=_suffix_detail(suffix, purpose))
        return
    try:
        with open(_long(e.path), "rb") as fh:
            head = fh.read(8)
            e.size = os.fstat(fh.fileno()).st_size
            e.tail = _tail_digest(fh, e.size)
    except FileNotFoundError:
        e.skip(VANISHED)
        return
    except PermissionError:
        e.skip(UNREADABLE_FILE, UNREADABLE)
        return
    except OSError:
        e.skip(VANISHED)
        return
    if templates and head.startswith(b"PK\x03\x04"):
        e.template_id = read_template_id(e.path)
        if e.template_id in OWN_OUTPUT_TEMPLATES[purpose]:
            e.skip(SKIP_OWN_OUTPUT, what=OUTPUT_KIND_RU.get(e.template_id, e.template_id))


def _own_machine_copy(e: ScanEntry, purpose: Purpose) -> bool:
    """JSON and CSV copies written beside a summary (``S.json``, ``S.<table>.csv``)."""
    path = Path(e.path)
    if path.suffix.lower() == ".json":
        tid = read_json_template_id(path)
        if tid in OWN_OUTPUT_TEMPLATES[purpose]:
            e.template_id = tid
            e.skip(SKIP_OWN_OUTPUT, what=OUTPUT_KIND_RU.get(tid, tid) + ", копия JSON")
            return True
        return False
    stem = path.name[: -len(".csv")].rsplit(".", 1)[0]
    sibling = path.with_name(stem + ".json")
    if "." in path.name[: -len(".csv")] and sibling.is_file() and read_json_template_id(sibling) in OUTPUT_KIND_RU:
        e.skip(SKIP_OWN_OUTPUT, what="таблица CSV рядом со сводкой " + sibling.name)
        return True
    return False


_JSON_TEMPLATE = re.compile(rb'"template_id"\s*:\s*"([^"\\]{1,100})"')


def read_json_template_id(path: str | os.PathLike) -> str | None:
    """``template_id`` of an xlflow JSON summary, from its first megabyte."""
    try:
        with open(_long(os.fspath(path)), "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return None
    m = _JSON_TEMPLATE.search(head)
    return m.group(1).decode("utf-8", "replace") if m else None


def _suffix_detail(suffix: str, purpose: Purpose) -> str:
    if suffix == ".csv":
        return "таблица CSV" + (" (копия сводки: читается книга или файл .json)" if purpose == "merge" else "")
    if suffix == ".json":
        return "файл JSON"
    if not suffix:
        return "файл без расширения"
    return f"файл «{suffix}»"


def _mark_duplicates(entries: list[ScanEntry]) -> None:
    """The same file reached twice (hard link, symlink inside the folder,
    named and inside a folder) or a byte-identical copy counts once."""
    seen_inode: dict[int, ScanEntry] = {}  # by device and inode as one int (a tuple costs thrice as much)
    by_size: dict[int, list[ScanEntry]] = {}
    for e in entries:
        if e.status != CANDIDATE:
            continue
        if e.inode:  # the scan's own stat, and the size seen when the file was opened
            inode, size = e.inode, e.size
        else:
            try:
                st = os.stat(_long(e.path))
            except OSError:
                e.skip(VANISHED)
                continue
            inode, size = _inode(st), st.st_size
        first = seen_inode.get(inode)
        if first is not None:
            e.duplicate_of = first.name
            e.skip(SKIP_DUPLICATE, other=first.name)
            continue
        seen_inode[inode] = e
        by_size.setdefault(size, []).append(e)
    for group in by_size.values():
        if len(group) > 1:
            _dedupe_by_content(group)


def _dedupe_by_content(group: list[ScanEntry]) -> None:
    """Byte-identical files of one size: the first in name order counts. The
    last KB (a zip's central directory, with every part's CRC) tells most
    files apart cheaply; only files that share it are hashed whole."""
    by_tail: dict[bytes | None, list[ScanEntry]] = {}
    for e in group:
        by_tail.setdefault(e.tail if e.tail is not None else _tail(e.path), []).append(e)
    for tail, same in by_tail.items():
        if tail is None:
            for e in same:
                e.skip(VANISHED)
        elif len(same) > 1:
            _dedupe_by_hash(same)


def _tail(path: str) -> bytes | None:
    try:
        with open(_long(path), "rb") as fh:
            return _tail_digest(fh, os.fstat(fh.fileno()).st_size)
    except OSError:
        return None


def _tail_digest(fh: Any, size: int) -> bytes:
    """A digest of the last KB of the open file ``fh`` of ``size`` bytes (files
    with the same one are compared whole, by sha256)."""
    fh.seek(max(0, size - _TAIL))
    return hashlib.blake2b(fh.read(_TAIL), digest_size=16).digest()


def _dedupe_by_hash(group: list[ScanEntry]) -> None:
    seen: dict[str, ScanEntry] = {}
    for e in group:
        digest = _sha256(e.path)
        if digest is None:
            e.skip(VANISHED)
            continue
        first = seen.get(digest)
        if first is None:
            seen[digest] = e
        else:
            e.duplicate_of = first.name
            e.skip(SKIP_DUPLICATE, other=first.name)


def _sha256(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(_long(path), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


# ---------------------------------------------------------------- cheap metadata
_META_CAP = 4 * 1024 * 1024


def read_template_id(path: str | os.PathLike) -> str | None:
    """``template_id`` from the hidden ``_xlflow`` sheet, or None.

    Reads only workbook.xml, its relationships, the ``_xlflow`` sheet and the
    shared strings up to the needed index, each capped in size and parsed
    with defusedxml (DOCTYPE/entities refused): safe before the pre-check."""
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            return _template_id(zf)
    except Exception:  # noqa: BLE001 - any damage: no metadata; the reader reports it
        return None


def _template_id(zf: zipfile.ZipFile) -> str | None:
    sheet_part = _meta_sheet_part(zf)
    if sheet_part is None:
        return None
    cells = _sheet_cells(_read_capped(zf, sheet_part))
    strings = _SharedStrings(zf)
    for (row, col), value in sorted(cells.items())[:40]:
        if _cell_text(strings, value) == "template_id":
            # key | value rows (summaries, programme); a header row above values also works
            found = cells.get((row, col + 1)) or cells.get((row + 1, col))
            return None if found is None else _cell_text(strings, found)
    return None


def _cell_text(strings: "_SharedStrings", value: tuple[str, str]) -> str | None:
    kind, text = value
    if kind == "str":
        return text
    return strings.get(int(text)) if text.isdigit() else None


def _read_capped(zf: zipfile.ZipFile, name: str, cap: int = _META_CAP) -> bytes:
    with zf.open(name) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ValueError("metadata part too large")
    return data


def _parse(data: bytes):
    from defusedxml import ElementTree as DET

    return DET.fromstring(data, forbid_dtd=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _meta_sheet_part(zf: zipfile.ZipFile) -> str | None:
    wb = _parse(_read_capped(zf, "xl/workbook.xml"))
    rid = None
    for el in wb.iter():
        if _local(el.tag) == "sheet" and el.get("name") == META_SHEET:
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
    if rid is None:
        return None
    rels = _parse(_read_capped(zf, "xl/_rels/workbook.xml.rels"))
    for el in rels.iter():
        if _local(el.tag) == "Relationship" and el.get("Id") == rid:
            target = el.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _sheet_cells(data: bytes) -> dict[tuple[int, int], tuple[str, str]]:
    """{(row, col): ("str", text) | ("s", shared index)} of the first cells."""
    from xlflow.reading.safety import col_number

    cells: dict[tuple[int, int], tuple[str, str]] = {}
    for el in _parse(data).iter():
        if _local(el.tag) != "c" or len(cells) > 200:
            continue
        ref = el.get("r", "")
        letters = "".join(ch for ch in ref if ch.isalpha())
        digits = "".join(ch for ch in ref if ch.isdigit())
        if not letters or not digits:
            continue
        pos = (int(digits), col_number(letters.encode()))
        kind = el.get("t", "n")
        if kind == "s":
            v = next((c.text for c in el if _local(c.tag) == "v"), None)
            if v is not None:
                cells[pos] = ("s", v.strip())
        elif kind in ("inlineStr", "str"):
            text = "".join(t.text or "" for t in el.iter() if _local(t.tag) in ("t", "v"))
            cells[pos] = ("str", text)
    return cells


_SI = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")
_T = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?t(?:\s[^>]*)?>(.*?)</(?:[A-Za-z_][\w.-]*:)?t>", re.S)
_RPH = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?rPh\b.*?</(?:[A-Za-z_][\w.-]*:)?rPh>", re.S)


class _SharedStrings:
    """Shared strings looked up by index without parsing the whole table.

    The table is inflated once per file (capped) and the start of every
    ``<si>`` found with one regex pass in C; a lookup decodes only its own
    item. Entities are not expanded (only the five XML ones and character
    references are unescaped), so a hostile table cannot inflate here;
    iterparsing the table up to the wanted index cost ~5 ms a file."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.data = b""
        self.starts: list[int] | None = None

    def _load(self) -> list[int]:
        if self.starts is None:
            self.starts = []
            if "xl/sharedStrings.xml" in self.zf.namelist():
                self.data = _read_capped(self.zf, "xl/sharedStrings.xml", _META_CAP * 16)
                self.starts = [m.start() for m in _SI.finditer(self.data)]
        return self.starts

    def get(self, index: int) -> str | None:
        starts = self._load()
        if index >= len(starts):
            return None
        end = starts[index + 1] if index + 1 < len(starts) else len(self.data)
        item = _RPH.sub(b"", self.data[starts[index]:end])  # phonetic runs are not text
        text = b"".join(m.group(1) for m in _T.finditer(item)).decode("utf-8", "replace")
        return html.unescape(text)
