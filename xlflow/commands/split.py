"""`xlflow split`: the school workbook -> one copy per pair and per mentee of a group."""
from __future__ import annotations

from pathlib import Path

import click

from xlflow.errors import XlflowError


class Failure(click.ClickException):
    """A failed call (unreadable or unsplittable workbook, bad option): exit code 2."""

    exit_code = 2


@click.command(name="split")
@click.argument("school", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=int, default=None,
              help="Сколько процессов использовать (по умолчанию — все ядра, если копий больше четырёх).")
@click.option("--force", is_flag=True, help="Перезаписать копии с такими же именами в папке.")
def command(school: Path, outdir: Path, jobs: int | None, force: bool) -> None:
    """Разделить книгу школы SCHOOL.xlsx на копии для каждой пары и каждого наставляемого группы в папку OUTDIR.

    Книга школы не изменяется. В каждой копии заполнены и защищены данные
    организации, код программы, наставник, наставляемые и строка пары/группы.
    """
    from xlflow.writing.split import split_school_workbook

    try:
        paths = split_school_workbook(school, outdir, jobs=jobs, overwrite=force)
    except XlflowError as exc:
        raise Failure(exc.message) from exc
    except OSError as exc:
        raise Failure(f"Не удалось записать копии в {outdir}: {exc.strerror or exc}.") from exc
    for path in paths:
        click.echo(f"  {path.name}")
    click.echo(f"Создано копий: {len(paths)}, папка: {outdir}")
