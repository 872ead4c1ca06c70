"""Reports of ``xlflow validate``: the shared Report rendering plus a per-file tally.

Text: one line per problem (severity, code, file, sheet, cell, message), then
the summary line of :meth:`Report.to_text`, then for several files how many
are clean and which could not be read. JSON: :meth:`Report.to_dict` plus
``by_file`` (readable, valid, errors, warnings for each file)."""
from __future__ import annotations

import json
from typing import Any

from xlflow.problems import Report


def file_tally(report: Report) -> list[dict[str, Any]]:
    out = []
    for name in report.files:
        mine = [p for p in report.problems if p.file == name]
        errors = sum(1 for p in mine if p.is_error)
        readable = name not in report.unreadable
        out.append({"file": name, "readable": readable, "valid": readable and errors == 0,
                    "errors": errors, "warnings": len(mine) - errors})
    return out


def render_text(report: Report) -> str:
    lines = [report.to_text()]
    tally = file_tally(report)
    if len(tally) > 1:
        clean = sum(1 for t in tally if t["valid"])
        lines.append(f"Файлов без ошибок: {clean} из {len(tally)}.")
    unreadable = [t["file"] for t in tally if not t["readable"]]
    if unreadable:
        lines.append("Не удалось прочитать: " + "; ".join(unreadable) + ".")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    data = report.to_dict()
    data["by_file"] = file_tally(report)
    return json.dumps(data, ensure_ascii=False, indent=2)
