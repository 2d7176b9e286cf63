"""``CMD | progressista pipe [--desc D] [--total N] [--bytes | --update | --update-to] | CMD2``: a pipe that reports."""

from __future__ import annotations

from typing import Annotated

import typer

from .errors import fail
from .run import PushEveryOption, TokenOption, UrlOption, client_environment

__all__ = ["pipe"]


def pipe(
    desc: Annotated[str | None, typer.Option("--desc", help="The task's description.", show_default=False)] = None,
    total: Annotated[
        float | None,
        typer.Option(
            "--total",
            min=0,
            help="The expected final count (of lines, bytes, or what the numbers add up to).",
            show_default=False,
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="The count's unit (default: it; B with --bytes).", show_default=False)
    ] = None,
    count_bytes: Annotated[bool, typer.Option("--bytes", help="Count bytes, not lines.")] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Each input line is a number added to the count; not copied.")
    ] = False,
    update_to: Annotated[
        bool, typer.Option("--update-to", help="Each input line is the count so far; not copied.")
    ] = False,
    task_id: Annotated[
        str | None,
        typer.Option(
            "--task-id", metavar="ID", help="The task's id (default: RUN_ID:pipe-HOST-TIME-PID-1).", show_default=False
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    push_every: PushEveryOption = None,
) -> None:
    """Copy stdin to stdout unchanged, reporting the flow as one task (the options of `python -m tqdm`).

    pg_dump db | progressista pipe --bytes --desc "Dumping db" | gzip > db.gz

    Counts lines, or bytes with --bytes; with --update or --update-to every input
    line is a number (an increment, or the count so far) and is not copied. The
    end of the input closes the task; a reader that goes away (| head -1) or a
    signal ends it as error, and the process dies of SIGPIPE or that signal.
    """
    from progressista.pipe import BYTES, LINES, UPDATE, UPDATE_TO
    from progressista.pipe import pipe as copy_and_report

    chosen = [mode for mode, given in ((BYTES, count_bytes), (UPDATE, update), (UPDATE_TO, update_to)) if given]
    if len(chosen) > 1:
        fail("give only one of --bytes, --update, --update-to", 2)
    client_environment(url, token, push_every)

    if total is not None and total.is_integer():
        total = int(total)  # --total 1000 is 1000, not 1000.0
    mode = chosen[0] if chosen else LINES
    raise typer.Exit(copy_and_report(mode, desc=desc, total=total, unit=unit, task_id=task_id))
