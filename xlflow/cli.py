"""Command line: a thin layer over the library.

Subcommands live in ``xlflow/commands/<name>.py`` and are imported only when
used, so ``xlflow validate`` does not pay for pandas or the summary writer.
Library errors (:class:`xlflow.errors.XlflowError`) become ``click.ClickException``
with exit code 2 inside the commands.
"""
from __future__ import annotations

import importlib

import click

from xlflow import __version__

# name -> (module, short help shown by ``xlflow --help`` without importing it)
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("xlflow.commands.new", "Создать пустую книгу программы наставничества."),
    "split": ("xlflow.commands.split", "Разделить книгу школы на копии для каждой пары/наставляемого."),
    "dump": ("xlflow.commands.dump", "Вывести записи заполненной книги в JSON."),
    "validate": ("xlflow.commands.validate", "Проверить заполненные книги и показать ошибки по ячейкам."),
    "sample": ("xlflow.commands.sample", "Создать заполненные примеры книг (вымышленные данные)."),
    "demo": ("xlflow.commands.demo", "Показать весь путь на встроенном примере."),
    "collect": ("xlflow.commands.collect", "Свести заполненные копии школы в сводную книгу."),
    "merge": ("xlflow.commands.merge", "Объединить сводки школ в муниципальную книгу."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Команды"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlflow")
def cli() -> None:
    """xlflow: персонализированные программы наставничества педагогов в Excel.

    Создаёт книги программ, проверяет заполненные копии и сводит статистику
    по школе (collect) и по муниципалитету (merge).
    """


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
