"""`xlflow dump FILE`: print the records of a filled workbook as JSON."""
from __future__ import annotations

import json
from typing import IO, Any

import click

from xlflow.errors import XlflowError

_SEVERITY = {"error": "ошибка", "warning": "предупреждение"}


class ReadFailure(click.ClickException):
    """An unreadable file: Russian message, exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Ошибка: {self.format_message()}", err=True, file=file)


@click.command(name="dump")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--engine", type=click.Choice(["calamine", "openpyxl"]), default="calamine",
              show_default=True, help="Чем читать книгу: calamine (быстро) или openpyxl (для сверки).")
@click.option("--indent", type=click.IntRange(0, 8), default=2, show_default=True,
              help="Отступ в JSON (0 — одна строка).")
def command(file: str, engine: str, indent: int) -> None:
    """Вывести записи заполненной книги FILE в JSON.

    Замечания о чтении (объединённые ячейки, ошибки формул, лишние столбцы)
    выводятся отдельно, в поток ошибок; полную проверку делает xlflow validate.
    """
    from xlflow.reading.programme import read_programme

    try:
        parsed = read_programme(file, engine=engine)
    except XlflowError as exc:
        raise ReadFailure(f"не удалось прочитать файл «{file}». {exc.message}") from exc
    for p in parsed.problems:
        where = p.where()
        prefix = f"[{_SEVERITY.get(p.severity, p.severity)}] {p.code}"
        click.echo(f"{prefix}: {where}: {p.message}" if where else f"{prefix}: {p.message}", err=True)
    click.echo(json.dumps(parsed.data, ensure_ascii=False, indent=indent or None))
