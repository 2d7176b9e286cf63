"""``progressista exec -- CMD ARGS...``: any program as one run, every Python process below it reporting."""

from __future__ import annotations

from typing import Annotated

import typer

from .errors import fail
from .run import PushEveryOption, RunIdOption, RunTaskOption, TokenOption, UrlOption, client_environment

__all__ = ["CONTEXT_SETTINGS", "exec_command"]

#: Everything after ``--`` (or after the command's name) belongs to the command, options included.
CONTEXT_SETTINGS = {"allow_interspersed_args": False}


def exec_command(
    command: Annotated[list[str] | None, typer.Argument(metavar="-- CMD [ARGS...]", help="The program to run.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    push_every: PushEveryOption = None,
    run_id: RunIdOption = None,
    run_task: RunTaskOption = True,
) -> None:
    """Run any program (a shell script, a binary, a launcher) as one run.

    progressista exec -- sh -c 'python3 prep.py && python3 train.py'

    stdin, stdout and stderr are the program's, its exit code is returned and
    signals sent here are passed on to it. Every Python process below it reports
    its tqdm bars into the group RUN_ID, and the command itself is the task
    RUN_ID:run, so `progressista wait --group RUN_ID` waits for it.
    """
    args = list(command or [])
    if args[:1] == ["--"]:
        args.pop(0)
    if not args:
        fail("give a command to run: progressista exec -- CMD [ARGS...]", 2)
    client_environment(url, token, push_every)

    from progressista.execute import CannotStart, execute

    try:
        code = execute(args, run_id=run_id, run_task=run_task)
    except CannotStart as exc:
        fail(str(exc), exc.code)
    raise typer.Exit(code)
