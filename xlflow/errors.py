"""Exceptions of the library. The CLI turns them into ``click.ClickException``."""
from __future__ import annotations


class XlflowError(Exception):
    """A user-facing failure of a whole call (bad option, unwritable output...).

    ``message`` is Russian and says what to do. Problems *inside* a file are not
    exceptions: they are :class:`xlflow.problems.Problem` records in a Report.
    """

    def __init__(self, message: str, code: str = "xlflow-error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ReadError(XlflowError):
    """A file could not be read at all (not a workbook, broken zip, hostile...).

    ``code`` is a registered problem code; ``params`` fill its template."""

    def __init__(self, code: str, file: str | None = None, **params: object) -> None:
        from xlflow.problems import code_info

        self.file = file
        self.params = dict(params)
        info = code_info(code)
        text = info.template.format(**self.params) if self.params else info.template
        super().__init__(text, code)
