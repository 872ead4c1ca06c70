"""`xlflow collect DIR --out SUMMARY.xlsx`: the curator's school summary."""
from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any, Iterator

import click

from xlflow.errors import XlflowError

class Failure(click.ClickException):
    """A wrong call (exit code 2)."""

    exit_code = 2


STATUS_RU = {
    "accepted": "принято", "accepted_with_problems": "принято с замечаниями", "duplicate": "повторов",
    "superseded": "заменено другой версией", "rejected": "отклонено", "skipped": "пропущено",
}


def _progress_bar(stack: ExitStack, enabled: bool) -> tuple[Any, Any]:
    """(on_scan, progress) callbacks drawing a click progress bar on stderr."""
    if not enabled:
        return None, None
    state: dict[str, Any] = {}

    def on_scan(n: int) -> None:
        state["bar"] = stack.enter_context(click.progressbar(
            length=n, label="Чтение файлов", file=sys.stderr, show_pos=True))

    def progress(_facts: Any) -> None:
        if "bar" in state:
            state["bar"].update(1)

    return on_scan, progress


def _text_report(outcome: Any) -> Iterator[str]:
    """The terminal report, line by line (problems are read one at a time)."""
    figs = outcome.payload["figures"]
    files = figs["files"]
    yield from [f"Сводка: {outcome.outputs[0]}",
             f"Машиночитаемая копия: {outcome.outputs[1]} и таблицы CSV рядом с ней.",
             "Файлов: {} ({}).".format(files["total"], ", ".join(
                 f"{STATUS_RU[k]}: {files[k]}" for k in STATUS_RU if files.get(k))),
             f"Пар: {figs['pairs']}, групп: {figs['groups']}, программ: {figs['programmes']}, "
             f"наставников: {figs['mentors']}, наставляемых: {figs['mentees']}; "
             f"копий не сдано: {figs['copies_missing']}."]
    for p in outcome.payload["tables"]["problems"]:
        where = ", ".join(x for x in (p["file"] and f"файл {p['file']}", p["sheet"] and f"лист «{p['sheet']}»",
                                      p["cell"] and f"ячейка {p['cell']}") if x) or "школа в целом"
        kind = "ошибка" if p["severity"] == "error" else "предупреждение"
        yield f"[{kind}] {p['code']}: {where}: {p['message']}"
    yield f"Ошибок: {figs['problems']['errors']}, предупреждений: {figs['problems']['warnings']}."


def _json_report(outcome: Any) -> Iterator[str]:
    """The report as one JSON object, in pieces (the files and problems tables are streamed)."""
    from xlflow.consolidate.export import iter_json

    p = outcome.payload
    return iter_json({"exit_code": outcome.exit_code, "outputs": [str(x) for x in outcome.outputs],
                      "school": p["school"], "as_of": p["as_of"], "figures": p["figures"],
                      "files": p["tables"]["files"], "problems": p["tables"]["problems"]}, indent=2)


def _echo(outcome: Any, fmt: str) -> None:
    if fmt == "json":
        for piece in _json_report(outcome):
            click.echo(piece, nl=False)
        click.echo()
    else:
        for line in _text_report(outcome):
            click.echo(line)


@click.command(name="collect")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Сводная книга школы (.xlsx); рядом появятся .json и таблицы .csv.")
@click.option("--as-of", "as_of", default=None, metavar="ДАТА",
              help="Дата, на которую считаются просроченные мероприятия (ДД.ММ.ГГГГ или ГГГГ-ММ-ДД; по умолчанию сегодня).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Сколько файлов читать параллельно (по умолчанию — по числу ядер).")
@click.option("--quiet", is_flag=True, help="Без индикатора хода работы.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Формат отчёта в терминале.")
def command(folder: str, out: str, as_of: str | None, jobs: int | None, quiet: bool, fmt: str) -> None:
    """Свести заполненные копии программ из папки FOLDER в сводную книгу школы.

    Код выхода: 0 — все файлы приняты без замечаний; 1 — есть отклонённые файлы
    или замечания; 2 — неверный вызов.
    """
    from xlflow.consolidate.collect import collect, parse_as_of

    try:
        date = parse_as_of(as_of)
    except XlflowError as exc:
        raise click.BadParameter(exc.message, param_hint="--as-of") from exc
    show = not quiet and sys.stderr.isatty()
    with ExitStack() as stack:
        on_scan, progress = _progress_bar(stack, show)
        try:
            outcome = collect(folder, out, as_of=date, jobs=jobs, progress=progress, on_scan=on_scan)
        except XlflowError as exc:
            raise Failure(exc.message) from exc
        except OSError as exc:
            raise Failure(f"Не удалось записать сводку {out}: {exc.strerror or exc}.") from exc
    try:
        _echo(outcome, fmt)
    finally:
        outcome.close()
    sys.exit(outcome.exit_code)
