"""Declarative workbook layouts (JSON), shipped as ``xlflow.workbook_templates``.

``programme.json`` describes the programme workbook: sheets, tables, columns,
Russian header texts, value types, required flags and choice lists. The writer,
the reader and ``schemas/programme.schema.json`` all follow it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load_json(name: str) -> dict:
    """Return the parsed layout file ``name`` (for example ``"programme.json"``)."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)
