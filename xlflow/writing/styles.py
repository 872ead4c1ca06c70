"""Cell formats of the programme workbook, created once per workbook.

xlsxwriter formats are objects owned by one workbook; creating them per cell
is slow and bloats ``styles.xml``. :class:`Styles` builds every format the
writer needs up front and hands them out by name.

Colour code (explained on the instructions sheet):
* pale yellow — a cell to fill in (unlocked);
* grey — filled in advance and protected (``lock_prefilled``);
* blue — headers and labels (protected).
"""
from __future__ import annotations

from functools import partial
from typing import Any

from xlsxwriter.format import Format

DATE_FORMAT = "dd.mm.yyyy"

INPUT_FILL = "#FFF8DC"
LOCKED_FILL = "#E7E6E6"
HEADER_FILL = "#DDEBF7"
BORDER_COLOUR = "#A6A6A6"

# value kind of an input cell -> extra format properties
_VALUE_KINDS: dict[str, dict[str, Any]] = {
    "text": {},
    "wrap": {"text_wrap": True},
    "date": {"num_format": DATE_FORMAT, "align": "center"},
    "number": {"num_format": "General", "align": "center"},
    "center": {"align": "center"},
}

# column type of programme.json -> value kind
TYPE_KIND = {
    "text": "text",
    "long_text": "wrap",
    "id": "center",
    "integer": "number",
    "number": "number",
    "date": "date",
    "choice": "wrap",
    "yesno": "center",
}

# Diagnostics: one fill per intensity 1..3; red shades for deficits, green for strengths.
DEFICIT_SHADES = {1: ("#FCE4D6", "#000000"), 2: ("#F4B084", "#000000"), 3: ("#C00000", "#FFFFFF")}
STRENGTH_SHADES = {1: ("#E2EFDA", "#000000"), 2: ("#A9D08E", "#000000"), 3: ("#548235", "#FFFFFF")}

# Roadmap completion marks (list values of programme.json "completion_marks").
MARK_COLOURS = {
    "запланировано": ("#DDEBF7", "#000000"),
    "выполнено": ("#A9D08E", "#000000"),
    "выполнено частично": ("#FFE699", "#000000"),
    "перенесено": ("#F4B084", "#000000"),
    "не выполнено": ("#C00000", "#FFFFFF"),
}

# Rubric levels (list values of programme.json "rubric_levels").
LEVEL_COLOURS = {
    "оптимальный": ("#A9D08E", "#000000"),
    "допустимый": ("#FFE699", "#000000"),
    "недопустимый": ("#F4B084", "#000000"),
}


class SharedFormat(Format):
    """A format copied from a per-process template (see :func:`add_format`).

    xlsxwriter computes the font, border and alignment keys of every format of
    every workbook from ~40 attributes (colours through their ``repr``), and
    again when it numbers fonts and borders; a copy answers with the keys
    computed once for its template. Copies are never changed after
    :func:`add_format` (``Styles`` only hands them out). The fill key is left
    to xlsxwriter: it swaps fill colours of cell formats before asking for it."""

    _keys: dict[str, str]

    def _get_font_key(self) -> str:
        return self._keys["font"]

    def _get_border_key(self) -> str:
        return self._keys["border"]

    def _get_alignment_key(self) -> str:
        return self._keys["alignment"]


# Formats built once per process, copied into each workbook (frozen properties -> format).
_TEMPLATES: dict[tuple, SharedFormat] = {}


def _template(properties: dict[str, Any]) -> SharedFormat:
    key = tuple(properties.items())
    template = _TEMPLATES.get(key)
    if template is None:
        plain = Format(properties, {}, {})
        template = SharedFormat.__new__(SharedFormat)
        template.__dict__.update(plain.__dict__)
        template._keys = {"font": plain._get_font_key(), "border": plain._get_border_key(),
                          "alignment": plain._get_alignment_key()}
        template._format_key = plain._get_format_key()
        _TEMPLATES[key] = template
    return template


def add_format(workbook: Any, properties: dict[str, Any]) -> Any:
    """``workbook.add_format(properties)``, but a copy of a format built once per process.

    What ``Workbook.add_format`` does (workbook defaults updated by the
    properties, a ``Format`` bound to the workbook's index tables, appended to its
    formats) without running the ~80 attribute assignments and setters of
    ``Format.__init__`` and the key computations again for every workbook;
    ``tests/test_writer.py`` checks that ``styles.xml`` is byte for byte the same."""
    template = _template({**workbook.default_format_properties, **properties})
    fmt = SharedFormat.__new__(SharedFormat)
    fmt.__dict__.update(template.__dict__)
    fmt.xf_format_indices = workbook.xf_format_indices
    fmt.dxf_format_indices = workbook.dxf_format_indices
    workbook.formats.append(fmt)
    return fmt


class Styles:
    """All formats of one workbook; ``cell(kind, locked)`` for table cells."""

    def __init__(self, workbook: Any) -> None:
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        self._wb = workbook
        add = partial(add_format, workbook)
        self.title = add({**base, "bold": True, "font_size": 14, "valign": "vcenter"})
        self.hint = add({**base, "italic": True, "font_color": "#595959"})
        self.hint_wrap = add({**base, "italic": True, "font_color": "#595959", "text_wrap": True})
        self.text = add({**base, "text_wrap": True})
        self.bold = add({**base, "bold": True, "text_wrap": True})
        self.header = add({**base, "bold": True, "text_wrap": True, "valign": "vcenter",
                           "align": "center", "bg_color": HEADER_FILL, "border": 1,
                           "border_color": BORDER_COLOUR})
        self.label = add({**base, "bold": True, "text_wrap": True, "bg_color": HEADER_FILL,
                          "border": 1, "border_color": BORDER_COLOUR})
        self.label_center = add({**base, "bold": True, "text_wrap": True, "bg_color": HEADER_FILL,
                                 "border": 1, "border_color": BORDER_COLOUR, "align": "center"})
        self.percent = add({**base, "bold": True, "num_format": "0%", "align": "center",
                            "border": 1, "border_color": BORDER_COLOUR})
        self.formula = add({**base, "bold": True, "align": "center", "border": 1,
                            "border_color": BORDER_COLOUR})
        self.formula_text = add({**base, "italic": True, "font_color": "#595959"})
        self.meta = add({"locked": True})
        self._cells: dict[tuple[str, bool], Any] = {}
        for kind, props in _VALUE_KINDS.items():
            for locked in (False, True):
                fill = LOCKED_FILL if locked else INPUT_FILL
                self._cells[(kind, locked)] = add({
                    **base, **props, "locked": locked, "bg_color": fill,
                    "border": 1, "border_color": BORDER_COLOUR,
                })
        self.deficit = {v: self._fill(bg, fg) for v, (bg, fg) in DEFICIT_SHADES.items()}
        self.strength = {v: self._fill(bg, fg) for v, (bg, fg) in STRENGTH_SHADES.items()}
        self.marks = {m: self._fill(bg, fg) for m, (bg, fg) in MARK_COLOURS.items()}
        self.levels = {m: self._fill(bg, fg) for m, (bg, fg) in LEVEL_COLOURS.items()}
        self.overdue = add({"bg_color": "#FCE4D6", "font_color": "#C00000", "bold": True})

    def _fill(self, bg: str, fg: str) -> Any:
        """A conditional format (dxf): fill and font colour only."""
        return add_format(self._wb, {"bg_color": bg, "font_color": fg})

    def cell(self, kind: str, locked: bool = False) -> Any:
        return self._cells[(kind, locked)]

    def for_type(self, col_type: str, locked: bool = False) -> Any:
        return self._cells[(TYPE_KIND.get(col_type, "text"), locked)]
