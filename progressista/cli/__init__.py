"""The ``progressista`` command. Each command imports its heavy parts lazily."""

from __future__ import annotations

import typer

from .alerts import alerts_app
from .demo import demo
from .exec import CONTEXT_SETTINGS as EXEC_CONTEXT
from .exec import exec_command
from .flags import plain_flags
from .history import history
from .pipe import pipe
from .run import CONTEXT_SETTINGS as RUN_CONTEXT
from .run import run
from .serve import serve
from .tasks import tasks_app
from .tokens import tokens_app
from .wait import wait
from .watch import watch

__all__ = ["app", "main"]

plain_flags()  # before any help is drawn: `--json`, not `--json <bool>`

app = typer.Typer(
    name="progressista",
    help="Remote progress bars: serve the dashboard, run scripts with remote tqdm, manage tasks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command(context_settings=RUN_CONTEXT)(run)
app.command("exec", context_settings=EXEC_CONTEXT)(exec_command)
app.command()(pipe)
app.command()(demo)
app.command()(watch)
app.command()(wait)
app.command()(history)
app.add_typer(tasks_app, name="tasks")
app.add_typer(tokens_app, name="tokens")
app.add_typer(alerts_app, name="alerts")


def _version(value: bool) -> None:
    if value:
        from progressista import __version__

        typer.echo(f"progressista {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Remote progress bars: serve the dashboard, run scripts with remote tqdm, manage tasks."""


def main() -> None:
    """Console-script entry point."""
    app()
