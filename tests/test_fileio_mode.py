"""Outputs get ordinary file permissions, not mkstemp's private 0600."""
from __future__ import annotations

import os
import stat

from xlflow.fileio import atomic_output


def test_atomic_output_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "Сводка.xlsx"
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"data")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_non_durable_output_is_still_atomic(tmp_path):
    target = tmp_path / "copy.xlsx"
    target.write_bytes(b"old")
    try:
        with atomic_output(target, durable=False) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    except RuntimeError:
        pass
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["copy.xlsx"]
    with atomic_output(target, durable=False) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
