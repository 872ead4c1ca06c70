"""Stable pseudonyms for people in the municipal workbook.

A pseudonym is ``Н-`` followed by the first 8 hex digits of
HMAC-SHA256(secret, school code + person id): the same person and secret give
the same pseudonym in every run, different schools never collide by accident on
equal person codes, and without the office's secret the name cannot be
recovered (nor checked by trying candidate codes).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from xlflow.errors import XlflowError

SECRET_ENV = "XLFLOW_SECRET"
PREFIX = "Н-"
DIGITS = 8
MIN_SECRET_LENGTH = 8


def pseudonym(secret: bytes, school_code: str, person_id: str, prefix: str = PREFIX) -> str:
    """``Н-3f9a1c2b``: stable, not reversible without ``secret``."""
    if not secret:
        raise XlflowError("Секрет для псевдонимов пуст. Укажите файл с секретом (--secret-file).",
                          code="secret-missing")
    message = f"{school_code.strip()}\x1f{person_id.strip()}".encode("utf-8")
    digest = hmac.new(secret, message, hashlib.sha256).hexdigest()
    return prefix + digest[:DIGITS]


def pseudonymizer(secret: bytes):
    """Return ``f(school_code, person_id) -> pseudonym`` bound to ``secret``."""
    def f(school_code: str, person_id: str) -> str:
        return pseudonym(secret, school_code, person_id)
    return f


def load_secret(secret_file: str | os.PathLike | None = None,
                environ: dict | None = None) -> bytes:
    """The office's secret: the content of ``secret_file`` (surrounding blanks
    and the final newline removed), else the ``XLFLOW_SECRET`` variable.

    Raises :class:`XlflowError` with a Russian explanation when there is none
    or it is too short to protect the names."""
    env = os.environ if environ is None else environ
    if secret_file is not None:
        path = Path(secret_file)
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise XlflowError(
                f"Не удалось прочитать файл с секретом {path}: {exc.strerror or exc}. "
                "Проверьте путь в параметре --secret-file.", code="secret-missing") from exc
        where = f"в файле {path}"
    else:
        secret = env.get(SECRET_ENV, "").strip().encode("utf-8")
        where = f"в переменной окружения {SECRET_ENV}"
    if not secret:
        raise XlflowError(
            "Для --pseudonymize нужен секрет управления образования: укажите файл "
            f"--secret-file СЕКРЕТ.txt или переменную окружения {SECRET_ENV}. "
            "Храните секрет в тайне и используйте один и тот же секрет каждый год, "
            "чтобы псевдонимы совпадали.", code="secret-missing")
    if len(secret) < MIN_SECRET_LENGTH:
        raise XlflowError(
            f"Секрет {where} слишком короткий ({len(secret)} симв.): по нему можно подобрать "
            f"псевдонимы. Используйте не меньше {MIN_SECRET_LENGTH} символов, лучше 20 и больше.",
            code="secret-too-short")
    return secret
