"""`xlflow merge`: school summaries -> municipal workbook (thin CLI over
:func:`xlflow.consolidate.merge.merge_summaries`)."""
from __future__ import annotations

import json

import click


@click.command(name="merge")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Муниципальная книга (.xlsx); рядом пишутся .json и таблицы .csv.")
@click.option("--with-names", is_flag=True,
              help="Добавить лист «Наставники» с ФИО (персональные данные!).")
@click.option("--pseudonymize", is_flag=True,
              help="Добавить лист «Наставники» с псевдонимами вместо ФИО (нужен секрет).")
@click.option("--secret-file", type=click.Path(dir_okay=False),
              help="Файл с секретом для псевдонимов (иначе переменная XLFLOW_SECRET).")
@click.option("--quiet", "-q", is_flag=True, help="Не печатать замечания по файлам, только итог.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Вид отчёта.")
def command(inputs, out, with_names, pseudonymize, secret_file, quiet, fmt) -> None:
    """Объединить сводки школ (книги или .json из «xlflow collect», файлы или папки)
    в муниципальную книгу OUT.

    Коды выхода: 0 — все сводки приняты (заменённые старые копии допустимы),
    1 — есть отклонённые файлы, 2 — ошибка вызова."""
    from xlflow.consolidate.merge import merge_summaries
    from xlflow.consolidate.pseudonym import load_secret
    from xlflow.errors import XlflowError

    try:
        if secret_file and not pseudonymize:
            raise XlflowError("--secret-file нужен только вместе с --pseudonymize.", code="bad-call")
        secret = load_secret(secret_file) if pseudonymize else None
        result = merge_summaries(inputs, out, with_names=with_names, pseudonymize_secret=secret)
    except XlflowError as err:
        exc = click.ClickException(err.message)
        exc.exit_code = 2
        raise exc from err
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        if not quiet:
            for line in result.problem_lines():
                click.echo(line)
        click.echo(result.text())
    raise SystemExit(result.exit_code)
