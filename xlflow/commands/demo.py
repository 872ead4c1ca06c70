"""`xlflow demo`: the whole path on bundled sample data."""
from __future__ import annotations

from pathlib import Path

import click

from xlflow.errors import XlflowError


class Failure(click.ClickException):
    """A failed call (bad option, unwritable output): exit code 2."""

    exit_code = 2


@click.command(name="demo")
@click.option("--out", "out", default="xlflow-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Папка для файлов демонстрации.")
@click.option("--jobs", type=int, default=None, help="Сколько процессов использовать (по умолчанию — по числу ядер).")
def command(out: Path, jobs: int | None) -> None:
    """Показать весь путь на вымышленных данных: new, sample, split, validate, collect, merge."""
    from xlflow.demo import run_demo

    if jobs is not None and jobs < 1:
        raise Failure("Число процессов (--jobs) должно быть не меньше 1.")
    try:
        result = run_demo(out, jobs=jobs)
    except XlflowError as exc:
        raise Failure(exc.message) from exc
    except OSError as exc:
        raise Failure(f"Не удалось записать файлы в {out}: {exc.strerror or exc}.") from exc
    click.echo(result.text())
