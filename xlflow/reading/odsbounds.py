"""Bounds of an ODS ``content.xml`` for the safety pre-check.

Kept apart from :mod:`xlflow.reading.safety`, which feeds it the inflated
bytes of ``content.xml`` (DOCTYPE/ENTITY declarations are refused before any
byte reaches the XML parser here).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET  # entities are refused before any byte is fed
from typing import Any

from xlflow.errors import ReadError
from xlflow.reading.safety import NOT_A_WORKBOOK


class OdsBounds:
    """Bounds of an ODS ``content.xml``: rows and columns repeated by
    ``number-rows-repeated``/``number-columns-repeated`` count only when the
    repeated cell holds something (LibreOffice writes huge empty repeats)."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.row = 0  # rows before the current one
        self.row_rep = 1
        self.col = 0
        self.max_row = self.max_col = 0
        self.table: str | None = None

    def feed(self, piece: bytes) -> None:
        try:
            self.parser.feed(piece)
            self._drain()
        except ReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - malformed XML: parsers reject it too
            raise ReadError(NOT_A_WORKBOOK, file=self.owner.file, reason="файл повреждён") from exc

    def close(self) -> None:
        try:
            self.parser.close()
            self._drain()
        except ReadError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ReadError(NOT_A_WORKBOOK, file=self.owner.file, reason="файл повреждён") from exc

    def _drain(self) -> None:
        for event, elem in self.parser.read_events():
            tag = elem.tag.rsplit("}", 1)[-1]
            if event == "start":
                self._start(tag, elem)
            elif tag in ("table-row", "table-cell", "covered-table-cell", "table"):
                self._end(tag, elem)
                elem.clear()

    def _start(self, tag: str, elem) -> None:
        if tag == "table":
            self.row = 0
            self.table = next((v for k, v in elem.attrib.items() if k.endswith("}name")), None)
        elif tag == "table-row":
            self.row_rep = _ods_repeat(elem, "number-rows-repeated")
            self.col = 0

    def _end(self, tag: str, elem) -> None:
        if tag == "table-row":
            self.row += self.row_rep
        elif tag in ("table-cell", "covered-table-cell"):
            rep = _ods_repeat(elem, "number-columns-repeated")
            if _ods_cell_has_value(elem):
                last_row = self.row + self.row_rep
                last_col = self.col + rep
                self.owner._check_extent(last_row, last_col, declared=False, sheet=self.table)
            self.col += rep


def _ods_repeat(elem, name: str) -> int:
    for key, value in elem.attrib.items():
        if key.endswith("}" + name):
            try:
                return max(int(value), 1)
            except ValueError:
                return 1
    return 1


def _ods_cell_has_value(elem) -> bool:
    if len(elem):
        return True
    return any(k.endswith("}value-type") or k.endswith("}formula") for k in elem.attrib)
