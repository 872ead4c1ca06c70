"""`xlflow split` (not built yet: being written in this session)."""
import click


@click.command(name="split")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("команда ещё не готова")
