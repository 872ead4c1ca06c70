"""`xlflow dump FILE`: print the records of a filled workbook as JSON."""
from __future__ import annotations

import json

import click

from xlflow.errors import XlflowError


@click.command(name="dump")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--engine", type=click.Choice(["calamine", "openpyxl"]), default="calamine",
              show_default=True, help="Чем читать книгу: calamine (быстро) или openpyxl (для сверки).")
@click.option("--indent", type=click.IntRange(0, 8), default=2, show_default=True,
              help="Отступ в JSON (0 — одна строка).")
def command(file: str, engine: str, indent: int) -> None:
    """Вывести записи заполненной книги FILE в JSON.

    Предупреждения о чтении (объединённые ячейки, ошибки формул, лишние
    столбцы) выводятся отдельно, в поток ошибок.
    """
    from xlflow.reading.programme import read_programme

    try:
        parsed = read_programme(file, engine=engine)
    except XlflowError as exc:
        error = click.ClickException(f"Не удалось прочитать файл «{file}». {exc.message}")
        error.exit_code = 2
        raise error from exc
    for p in parsed.problems:
        where = p.where()
        click.echo(f"Внимание: {where}: {p.message}" if where else f"Внимание: {p.message}", err=True)
    click.echo(json.dumps(parsed.data, ensure_ascii=False, indent=indent or None))
