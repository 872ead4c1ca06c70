"""The pre-check reads the central directory of an in-memory zip itself
(:mod:`xlflow.reading.zipdir`); whatever it accepts must read exactly as
:mod:`zipfile` reads it, and anything unusual goes to :mod:`zipfile`, so
every zip that zipfile refuses is still refused."""
from __future__ import annotations

import io
import random
import struct
import zipfile

import pytest

import hostile
from xlflow.errors import ReadError
from xlflow.reading import safety, zipdir
from xlflow.reading.safety import check
from xlflow.reading.zipdir import from_zipfile, read_directory


def _zipfile_reads(data: bytes) -> list[zipdir.Member] | Exception:
    try:
        return from_zipfile(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any refusal counts
        return exc


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> bytes:
    return hostile.valid_xlsx(tmp_path_factory.mktemp("zipdir") / "base.xlsx", sheets=3, rows=8).read_bytes()


def test_ordinary_workbook_reads_as_zipfile_reads_it(base):
    members = read_directory(base)
    assert members is not None and len(members) > 5
    assert members == _zipfile_reads(base)
    assert [m.filename for m in members] == zipfile.ZipFile(io.BytesIO(base)).namelist()


def _mutations(base: bytes, seed: int, n: int):
    """Copies with bytes changed in the central directory and end record."""
    rng = random.Random(seed)
    cd = base.rindex(b"PK\x01\x02")
    first = base.index(b"PK\x01\x02")
    for _ in range(n):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(min(first, cd), len(data))
            data[at] = rng.choice([0, 1, 0x7F, 0xFF, rng.randrange(256), data[at] ^ 0x20])
        yield bytes(data)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damaged_directories_read_as_zipfile_reads_them_or_go_to_zipfile(base, seed):
    taken = 0
    for data in _mutations(base, seed, 400):
        try:
            ours = read_directory(data)
        except ValueError:  # a name that is not UTF-8 though flagged so: zipfile refuses it too
            assert isinstance(_zipfile_reads(data), ValueError)
            continue
        if ours is None:
            continue  # zipfile decides
        taken += 1
        assert ours == _zipfile_reads(data)
    assert taken > 100  # most changes (sizes, CRCs, names) keep the ordinary layout


@pytest.mark.parametrize("cut", [1, 21, 22, 23, 60, 300, 2000])
def test_truncated_zip_is_refused(base, cut, tmp_path):
    data = base[:-cut]
    assert read_directory(data) is None
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data)
    with pytest.raises(ReadError) as info:
        check(path)
    assert info.value.code == "not-a-workbook"


def _with_comment(base: bytes, comment: bytes) -> bytes:
    return base[:-2] + struct.pack("<H", len(comment)) + comment


def test_unusual_layouts_go_to_zipfile(base):
    prepended = b"\x00" * 100 + base
    assert read_directory(prepended) is None
    assert isinstance(_zipfile_reads(prepended), list)  # zipfile shifts the offsets
    commented = _with_comment(base, b"made by hand")
    assert read_directory(commented) is None
    assert _zipfile_reads(commented) == read_directory(base)
    empty = b"PK\x05\x06" + b"\x00" * 18
    assert read_directory(empty) == [] == _zipfile_reads(empty)
    assert read_directory(b"") is None


def _patch_first_entry(base: bytes, *, name: bytes | None = None, extra: bytes = b"", entry: int = 0) -> bytes:
    """``base`` with a central directory entry's name or extra field replaced (the first by default)."""
    at = base.index(b"PK\x01\x02")
    for _ in range(entry):
        at = base.index(b"PK\x01\x02", at + 1)
    name_len, extra_len, comment_len = struct.unpack_from("<3H", base, at + 28)
    old_name = base[at + 46:at + 46 + name_len]
    new_name = old_name if name is None else name
    entry = bytearray(base[at:at + 46])
    struct.pack_into("<2H", entry, 28, len(new_name), len(extra))
    rest_at = at + 46 + name_len + extra_len
    grown = len(new_name) + len(extra) - name_len - extra_len
    data = bytearray(base[:at] + bytes(entry) + new_name + extra + base[rest_at:])
    end = len(data) - 22
    size_cd = struct.unpack_from("<I", data, end + 12)[0]
    struct.pack_into("<I", data, end + 12, size_cd + grown)
    return bytes(data)


def test_extra_fields(base):
    timestamp = struct.pack("<HHB4s", 0x5455, 5, 1, b"\x00\x00\x00\x00")
    plain = _patch_first_entry(base, extra=timestamp)
    assert read_directory(plain) == _zipfile_reads(plain)
    zip64 = _patch_first_entry(base, extra=struct.pack("<HHQ", 0x0001, 8, 123))
    assert read_directory(zip64) is None  # zipfile reads the sizes from it
    broken = _patch_first_entry(base, extra=struct.pack("<HH", 0x5455, 40))
    assert read_directory(broken) is None
    assert isinstance(_zipfile_reads(broken), zipfile.BadZipFile)


def test_names_with_nul_or_cp437_bytes(base):
    first = read_directory(base)[0].filename.encode()
    nul = _patch_first_entry(base, name=first + b"\x00.evil")
    assert read_directory(nul) is None
    assert _zipfile_reads(nul)[0].filename == first.decode()  # zipfile cuts the name at the NUL
    cp437 = _patch_first_entry(base, name=b"\x8e\x99.xml")
    assert read_directory(cp437) == _zipfile_reads(cp437)
    assert read_directory(cp437)[0].filename == "ÄÖ.xml"


def test_refusals_are_the_same_either_way(base, tmp_path, monkeypatch):
    """Each damaged file gets the same answer with and without the struct reader."""
    outcomes = []
    for reader in (read_directory, lambda data: None):
        monkeypatch.setattr(safety, "read_directory", reader)
        got = []
        for i, data in enumerate(_mutations(base, 9, 60)):
            path = tmp_path / f"m{i}.xlsx"
            path.write_bytes(data)
            try:
                got.append(("ok", check(path).entries))
            except ReadError as err:
                got.append((err.code, dict(err.params)))
        outcomes.append(got)
    assert outcomes[0] == outcomes[1]
    assert any(o[0] != "ok" for o in outcomes[0]) and any(o[0] == "ok" for o in outcomes[0])


def test_member_without_a_name_is_read_not_crashed(base, tmp_path):
    """``ZipInfo.is_dir`` raised IndexError for an empty name (a crash, not a problem)."""
    path = tmp_path / "noname.xlsx"
    path.write_bytes(_patch_first_entry(base, name=b"", entry=1))
    checked = check(path)
    assert checked.entries[1][0] == ""


def test_hostile_files_are_refused_alike_from_memory_and_from_disk(tmp_path, monkeypatch):
    """Files read into memory go through the struct reader and slices; larger
    ones through zipfile and reads: the same codes either way."""
    cases = hostile.build_all(tmp_path)
    in_memory = {}
    for name, (path, _) in cases.items():
        try:
            in_memory[name] = check(path).kind
        except ReadError as err:
            in_memory[name] = err.code
    monkeypatch.setattr(safety, "_IN_MEMORY", 100)
    for name, (path, code) in cases.items():
        with pytest.raises(ReadError) as info:
            check(path)
        assert info.value.code == in_memory[name] == code, name
