"""`xlflow validate FILE...`: check filled workbooks and report problems by cell."""
from __future__ import annotations

import sys

import click

from xlflow.errors import XlflowError


class CallError(click.ClickException):
    """A wrong call (bad option, output over an input): exit code 2."""

    exit_code = 2


@click.command(name="validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...", type=click.Path(exists=True, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Вид отчёта: text — для людей, json — для программ.")
@click.option("--annotate", "annotate", type=click.Path(path_type=str), default=None, metavar="OUT",
              help="Записать копию книги с выделенными ошибочными ячейками, примечаниями и листом «Ошибки». "
                   "Для нескольких файлов укажите папку.")
def command(files: tuple[str, ...], fmt: str, annotate: str | None) -> None:
    """Проверить заполненные книги FILE... (или папки с ними) и показать ошибки по ячейкам.

    Код выхода: 0 — ошибок нет (предупреждения допустимы), 1 — найдены ошибки,
    2 — файл не удалось прочитать или команда вызвана неверно.
    """
    from xlflow.validation.render import render_json, render_text
    from xlflow.validation.validate import expand_inputs, validate_files_detailed

    try:
        inputs = expand_inputs(files)
        targets = _targets(inputs, annotate)
    except XlflowError as exc:
        raise CallError(exc.message) from exc
    report, results = validate_files_detailed(inputs)
    click.echo(render_json(report) if fmt == "json" else render_text(report))
    if targets:
        _annotate(results, targets)
    sys.exit(report.exit_code())


def _targets(inputs: list[str], annotate: str | None) -> dict:
    if annotate is None:
        return {}
    from xlflow.validation.annotate import annotation_targets

    return annotation_targets(inputs, annotate)


def _annotate(results: list, targets: dict) -> None:
    from xlflow.validation.annotate import annotate_workbook

    for result in results:
        target = targets.get(result.path)
        if target is None:
            continue
        if not result.readable:
            click.echo(f"Файл «{result.path}» не прочитан, пометки не сделаны.", err=True)
            continue
        try:
            annotate_workbook(result.path, result.problems, target)
        except XlflowError as exc:
            click.echo(f"Пометки для «{result.path}» не сделаны: {exc.message}", err=True)
            continue
        click.echo(f"Копия с пометками: {target}", err=True)
