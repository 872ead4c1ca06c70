"""`xlflow new`: write an empty programme workbook for a school."""
from __future__ import annotations

from pathlib import Path

import click

from xlflow.errors import XlflowError


class Failure(click.ClickException):
    """A failed call (bad option, unwritable output): exit code 2."""

    exit_code = 2


@click.command(name="new")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--school", "school", required=True, help="Полное название образовательной организации.")
@click.option("--school-code", "school_code", required=True,
              help="Код организации (по нему объединяются сводки), например 0401.")
@click.option("--municipality", default="", help="Муниципалитет (округ, район).")
@click.option("--year", "year", required=True, help="Учебный год, например 2025/2026.")
@click.option("--direction", "directions", multiple=True,
              help="Своё направление профессиональной деятельности (можно повторять).")
@click.option("--rows", "rows", multiple=True, metavar="ТАБЛИЦА=ЧИСЛО",
              help="Сколько строк предложить в таблице: mentors, mentees, pairs, roadmap, reflection "
                   "(можно повторять), например --rows roadmap=40.")
@click.option("--force", is_flag=True, help="Перезаписать существующий файл.")
def command(out: Path, school: str, school_code: str, municipality: str, year: str,
            directions: tuple[str, ...], rows: tuple[str, ...], force: bool) -> None:
    """Создать пустую книгу программы наставничества OUT.xlsx."""
    from xlflow.writing.programme import (
        WorkbookOptions, normalize_academic_year, parse_rows_option, write_programme_workbook,
    )

    try:
        if out.suffix.lower() != ".xlsx":
            raise XlflowError(f"Имя файла должно оканчиваться на .xlsx, указано: {out.name}.")
        if out.exists() and not force:
            raise XlflowError(f"Файл {out} уже существует. Укажите другое имя или добавьте --force.")
        options = WorkbookOptions(
            school_name=school.strip(), school_code=school_code.strip(),
            academic_year=normalize_academic_year(year), municipality=municipality.strip(),
            extra_directions=tuple(d.strip() for d in directions if d.strip()),
            rows=parse_rows_option(rows),
        )
        path = write_programme_workbook(out, options)
    except XlflowError as exc:
        raise Failure(exc.message) from exc
    except OSError as exc:
        raise Failure(f"Не удалось записать {out}: {exc.strerror or exc}.") from exc
    click.echo(f"Книга программы записана: {path}")
