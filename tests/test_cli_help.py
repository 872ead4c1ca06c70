"""Every command has help, and the CLI lists them all."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from xlflow.cli import COMMANDS, cli


def test_group_help_lists_every_command():
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert name in res.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_its_own_help(name):
    res = CliRunner().invoke(cli, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output
    assert len(res.output.splitlines()) > 3


def test_unknown_command_exits_2():
    res = CliRunner().invoke(cli, ["no-such-command"])
    assert res.exit_code == 2
