"""``progressista tasks ls`` and ``progressista tasks rm``: list and remove a server's tasks.

Thin commands: parse, call :class:`~progressista.api.ProgressistaApi`, render. Task ids
are printed as :func:`~progressista.protocol.text.shown_id` shows them (an id
holding ESC or a right-to-left override cannot drive or fool the terminal);
``--json`` escapes every non-ASCII character anyway.
The API client (and with it ``requests``) and the table load inside the commands,
so ``progressista --help`` and the other commands do not pay for them (Typer
loads Rich itself, to print help).
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from progressista.protocol.statuses import FILTERS
from progressista.protocol.text import shown_id

from .errors import fail
from .remote import (
    EXIT_CODES_HELP,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    TokenOption,
    UrlOption,
    api_failure,
    check_status,
    resolve_server,
)

if TYPE_CHECKING:
    from progressista.api import ProgressistaApi

__all__ = ["tasks_app"]

tasks_app = typer.Typer(
    name="tasks",
    help=f"List and remove the tasks of a running server.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

STATUS_HELP = "Comma separated: " + ", ".join(
    f"{name} ({','.join(sorted(statuses))})" if len(statuses) > 1 else name for name, statuses in FILTERS.items()
)
StatusOption = Annotated[str | None, typer.Option("--status", metavar="STATUS", help=STATUS_HELP, show_default=False)]

#: How many ids the confirmation prompt lists before "… and N more".
PREVIEW = 10


def _interactive() -> bool:
    """Whether a person can answer a prompt (the tests replace this)."""
    return sys.stdin.isatty()


def _api(url: str, token: str | None) -> ProgressistaApi:
    from progressista.api import ProgressistaApi

    return ProgressistaApi(url, token)


@tasks_app.command("ls")
def ls(
    status: StatusOption = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"tasks": {...}} as JSON, no colours.')] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes with --watch.")] = 2.0,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List tasks, most recently updated first."""
    from progressista.api import ApiError

    check_status(status)
    url, token = resolve_server(url, token)
    with _api(url, token) as api:
        try:
            if watch:
                _watch(api, status, interval, as_json)
            elif as_json:
                typer.echo(json.dumps({"tasks": api.tasks(status)}, indent=2))
            else:
                _print_table(api, status)
        except ApiError as exc:
            api_failure(exc, token)


def _print_table(api: ProgressistaApi, status: str | None) -> None:
    from rich.console import Console

    tasks = api.tasks(status)
    console = Console()
    if not tasks:
        console.print(f"No {_kind(status)}tasks.", markup=False, highlight=False)
        return
    console.print(_table(tasks, api, status, console.width))


def _table(tasks: dict[str, dict[str, Any]], api: ProgressistaApi, status: str | None, width: int) -> Any:
    from .task_table import task_table

    title = f"{len(tasks)} {_kind(status)}{'task' if len(tasks) == 1 else 'tasks'} on {api.urls.base}"
    return task_table(tasks, time.time(), title=title, width=width)


def _kind(status: str | None) -> str:
    """The ``--status`` filter as words before "task": ``"active or attention "``, ``""`` without one.

    >>> _kind(" active,attention "), _kind("close"), _kind(None)
    ('active or attention ', 'close ', '')
    """
    names = [name.strip() for name in (status or "").split(",") if name.strip()]
    return " or ".join(dict.fromkeys(names)) + " " if names else ""


def _watch(api: ProgressistaApi, status: str | None, interval: float, as_json: bool) -> None:
    """Re-list every ``interval`` seconds until Ctrl-C: a live table on a terminal, else one listing per refresh.

    A server that goes away is reported and retried; a refused token ends it.
    """
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from progressista.api import ApiError

    console = Console()

    def frame() -> Any:
        try:
            tasks = api.tasks(status)
        except ApiError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                raise
            return Text(f"{exc}; retrying every {interval:g}s", "yellow")
        if as_json:
            return json.dumps({"tasks": tasks}, separators=(",", ":"))
        return _table(tasks, api, status, console.width) if tasks else Text("No tasks yet; waiting.", "dim")

    try:
        if console.is_terminal and not as_json:
            with Live(frame(), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(frame(), refresh=True)
        else:  # piped, or --json: one listing (one JSON line) per refresh
            while True:
                shown = frame()
                if isinstance(shown, str):
                    typer.echo(shown)
                elif isinstance(shown, Text) and as_json:
                    typer.echo(shown.plain, err=True)
                else:
                    console.print(shown)
                sys.stdout.flush()
                time.sleep(interval)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a watch ends: not an error


@tasks_app.command("rm")
def rm(
    task_ids: Annotated[list[str] | None, typer.Argument(metavar="TASK_ID", help="Ids of the tasks to remove.")] = None,
    status: StatusOption = None,
    older_than: Annotated[
        float | None,
        typer.Option("--older-than", min=0, metavar="SECONDS", help="Only tasks idle longer than this."),
    ] = None,
    all_tasks: Annotated[bool, typer.Option("--all", help="Remove every task.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Remove tasks: by id, by --status and/or --older-than, or --all.

    Bulk removals ask first when run on a terminal, unless --yes.
    """
    from progressista.api import ApiError

    check_status(status)
    bulk = status is not None or older_than is not None
    if task_ids and (bulk or all_tasks):
        _usage("give task ids, or --status/--older-than, or --all; not several of them")
    if all_tasks and bulk:
        _usage("--all removes every task; leave out --status and --older-than, or drop --all")
    if not task_ids and not bulk and not all_tasks:
        _usage("nothing to remove: give task ids, --status and/or --older-than, or --all")
    url, token = resolve_server(url, token)
    with _api(url, token) as api:
        try:
            if task_ids:
                _remove_ids(api, task_ids)
            else:
                _remove_matching(api, status, older_than, all_tasks, yes)
        except ApiError as exc:
            api_failure(exc, token)


def _usage(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


def _remove_ids(api: ProgressistaApi, task_ids: list[str]) -> None:
    removed = api.delete_ids(task_ids)
    _report(removed)
    gone = set(removed)
    missing = [task_id for task_id in dict.fromkeys(task_ids) if task_id not in gone]
    for task_id in missing:
        typer.echo(f"Error: no task '{shown_id(task_id)}'", err=True)
    if missing:
        raise typer.Exit(EXIT_NOT_FOUND)


def _remove_matching(
    api: ProgressistaApi, status: str | None, older_than: float | None, all_tasks: bool, yes: bool
) -> None:
    if not yes and _interactive():
        matching = api.tasks(status, older_than)
        if not matching:
            typer.echo("No matching tasks; nothing removed.")
            return
        ids = list(matching)
        typer.echo("\n".join(f"  {shown_id(task_id)}" for task_id in ids[:PREVIEW]))
        if len(ids) > PREVIEW:
            typer.echo(f"  … and {len(ids) - PREVIEW} more")
        noun = "task" if len(ids) == 1 else "tasks"
        if not typer.confirm(f"Remove {'all ' if all_tasks else ''}{len(ids)} {noun}?", default=False):
            typer.echo("Aborted; nothing removed.", err=True)
            raise typer.Exit(1)
    removed = api.delete_tasks(status, older_than, all=all_tasks)
    if not removed:
        typer.echo("No matching tasks; nothing removed.")
        return
    _report(removed)


def _report(removed: list[str]) -> None:
    if removed:
        noun = "task" if len(removed) == 1 else "tasks"
        typer.echo(f"Removed {len(removed)} {noun}:")
        typer.echo("\n".join(f"  {shown_id(task_id)}" for task_id in removed))
