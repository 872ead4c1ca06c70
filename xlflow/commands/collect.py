"""`xlflow collect` (not built yet: being written in this session)."""
import click


@click.command(name="collect")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("команда ещё не готова")
