"""JSON Schemas of the records xlflow reads and writes, shipped as ``xlflow.schemas``."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """Return the parsed schema file ``name`` (for example ``"programme.schema.json"``)."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)
