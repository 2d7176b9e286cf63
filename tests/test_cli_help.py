"""Every command's ``--help``: flags show no ``<bool>`` placeholder, options that take a value still show one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from progressista.cli import app


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of the root and of every command and subcommand below it (Typer may vendor its own Click)."""
    yield path
    if isinstance(getattr(group, "commands", None), dict):
        for name, command in group.commands.items():
            yield from commands(command, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


def test_every_command_is_listed():
    assert {("serve",), ("wait",), ("tasks", "ls"), ("tasks", "rm"), ("tokens", "new"), ("alerts", "ls")} <= set(ALL)


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "progressista")
def test_help_shows_no_bool_placeholder(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output, result.output
    assert "--help" in result.output


def test_options_that_take_a_value_keep_their_placeholder():
    """The negative control: the fix hides the type of flags only."""
    out = CliRunner().invoke(app, ["tasks", "ls", "--help"], env={"COLUMNS": "200"}).output
    assert "<float range>" in out and "STATUS" in out and "URL" in out
    line = next(line for line in out.splitlines() if "--json" in line)
    assert "Print" in line and "<" not in line.split("Print")[0]
