"""The pre-check's scans are spelled for speed (sets as bitmaps, memchr
loops); each must find exactly what its plain spelling finds."""
from __future__ import annotations

import random
import re

import pytest

from xlflow.errors import ReadError
from xlflow.reading import safety

# bytes that matter to the scans, and a few that do not
ALPHABET = [b"<c", b"<c ", b' r="', b"r", b"r=", b"r ", b"r\t", b" ", b"\n", b'"', b"'", b"=", b">", b"/>",
            b"/", b"A", b"B", b"Z", b"AB", b"a", b"1", b"7", b"0", b"123456", b"99999", b" s=\"1\"",
            b' t="str"', b' t="s"', b"<v>1</v></c>", b"<row", b":", b"x", b"\xd0\xb0", b"\x00", b"!"]


def _random_sheets(seed: int, count: int):
    """Runs of cell tags, mostly well formed, with random bytes between and inside."""
    rng = random.Random(seed)
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.6:
                parts += [b'<c r="', rng.choice([b"A", b"Z", b"AB", b"a", b""]),
                          rng.choice([b"1", b"99999", b"123456", b"", b"0"]), b'"']
            parts += [rng.choice(ALPHABET) for _ in range(rng.randint(0, 6))]
            parts.append(rng.choice([b">", b"/>", b""]))
        yield b"".join(parts)


def _plain_odd_cells(digits: int) -> re.Pattern:
    return re.compile(rb'<c(?! r="[A-Z][0-9]{1,%d}"[^>r]*+(?:r(?![\s=])[^>r]*+)*+>)[\s/>]' % (digits - 1))


@pytest.mark.parametrize("digits", [2, 6, 7])
def test_odd_cells_finds_what_the_negated_set_finds(digits):
    fast, plain = safety._odd_cells(digits), _plain_odd_cells(digits)
    found = 0
    for data in _random_sheets(digits, 20000):
        for end in (len(data), len(data) // 2):
            spans = [m.span() for m in fast.finditer(data, 0, end)]
            assert spans == [m.span() for m in plain.finditer(data, 0, end)], data
            found += bool(spans)
    assert 1000 < found < 39000  # both outcomes are exercised


def test_attribute_set_is_every_byte_but_gt_and_r():
    allowed = re.compile(safety._NOT_GT_R)
    assert [b for b in range(256) if not allowed.fullmatch(bytes([b]))] == [ord(">"), ord("r")]


NAME_BITS = ["xl", "/", "..", ".", ":", "C:", "\\", "\x00", "\n", "a", "sheet1.xml", "[Content_Types].xml", "é"]


def _check_names_one_by_one(names) -> bool:
    try:
        for name in names:
            safety._check_member_name(name, "f.xlsx")
    except ReadError:  # a refusal
        return True
    return False


def test_names_checked_together_miss_no_unsafe_name():
    rng = random.Random(3)
    unsafe = 0
    for _ in range(20000):
        names = {"".join(rng.choice(NAME_BITS) for _ in range(rng.randint(1, 5)))
                 for _ in range(rng.randint(1, 4))}
        if _check_names_one_by_one(names):
            unsafe += 1
            assert safety._maybe_unsafe_names(names), names
    assert unsafe > 1000


def test_small_member_first_read_is_the_streamed_one():
    # _small_member reads min(max(size, 64), size left) bytes: the first read
    # of _inflate_deflate only while a remembered member fits in _CHUNK
    assert safety._MEMO_IN <= safety._CHUNK
