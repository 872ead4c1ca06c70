"""Regenerate xlflow/validation/_programme_check.py from schemas/programme.schema.json.

    python tools/gen_validator.py          # write the module
    python tools/gen_validator.py --check  # exit 1 if it is out of date

The module is fastjsonschema's generated code of the schema (see
xlflow.validation.schema.check_code); importing it spares every process the
~100 ms compile. tests/test_validation_generated.py fails while it is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

from xlflow.fileio import write_text_atomic
from xlflow.validation.schema import check_code

TARGET = Path(__file__).resolve().parent.parent / "xlflow" / "validation" / "_programme_check.py"


def main(argv: list[str]) -> int:
    code = check_code()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if "--check" in argv:
        if current != code:
            print(f"{TARGET} is out of date: run python tools/gen_validator.py", file=sys.stderr)
            return 1
        return 0
    if current != code:
        write_text_atomic(TARGET, code)
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
