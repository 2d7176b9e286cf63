"""``progressista run``: a script or module, with every tqdm bar reporting."""

from __future__ import annotations

from typing import Annotated

import typer

from .errors import fail

__all__ = [
    "CONTEXT_SETTINGS",
    "PushEveryOption",
    "RunIdOption",
    "RunTaskOption",
    "TokenOption",
    "UrlOption",
    "client_environment",
    "run",
]

#: Everything after the script (or after ``--``) belongs to the target, options included.
CONTEXT_SETTINGS = {"allow_interspersed_args": False}


#: The options ``run`` and ``exec`` share: where the run's processes report, and how the run is named.
UrlOption = Annotated[
    str | None, typer.Option("--url", help="Server URL: base, /progress or ws:// (env PROGRESSISTA_SERVER_URL)")
]
TokenOption = Annotated[str | None, typer.Option("--token", help="Bearer token (env PROGRESSISTA_API_TOKEN)")]
PushEveryOption = Annotated[
    float | None,
    typer.Option("--push-every", min=0, help="Seconds between posts of updates (env PROGRESSISTA_PUSH_INTERVAL)"),
]
RunIdOption = Annotated[
    str | None,
    typer.Option(
        "--run-id",
        metavar="ID",
        help="Group the bars of the program and of every Python process it starts under ID "
        "(env PROGRESSISTA_RUN_ID; default: its name, the time and a random suffix)",
        show_default=False,
    ),
]
RunTaskOption = Annotated[
    bool,
    typer.Option(
        "--run-task/--no-run-task",
        help="Post the program itself as the task RUN_ID:run, ending with its exit code and reason",
    ),
]


def run(
    target: Annotated[
        list[str] | None,
        typer.Argument(metavar="[SCRIPT] [-- ARGS...]", help="The script and its arguments (only arguments with -m)."),
    ] = None,
    module: Annotated[str | None, typer.Option("-m", "--module", help="Run a module, as python -m.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    push_every: PushEveryOption = None,
    run_id: RunIdOption = None,
    run_task: RunTaskOption = True,
) -> None:
    """Run a Python script or module with every tqdm bar reporting to the server.

    progressista run train.py -- --epochs 3
    progressista run -m package.module -- --flag

    Bars without a task_id are grouped under the run id, with the bars of every
    Python process the program starts, and the program itself is the group's task
    RUN_ID:run (ending with its exit code and, after an exception, its reason), so
    `progressista wait --group RUN_ID` waits for the program. Killed by SIGTERM,
    SIGHUP or Ctrl-C, the open bars end as error naming the signal, then the
    process dies of that signal.
    """
    args = list(target or [])
    if module is None:
        if not args:
            fail("give a script to run, or -m module", 2)
        script = args.pop(0)
    if args[:1] == ["--"]:
        args.pop(0)
    client_environment(url, token, push_every)

    from progressista.run import TargetOptions, run_module, run_path

    options: TargetOptions = {"run_id": run_id, "run_task": run_task, "end_at_exit": True, "reraise_signals": True}

    try:
        if module is None:
            code = run_path(script, args, **options)
        else:
            code = run_module(module, args, **options)
    except FileNotFoundError as exc:
        fail(str(exc), 2)
    except ModuleNotFoundError as exc:
        fail(str(exc), 1)
    raise typer.Exit(code)


def client_environment(url: str | None, token: str | None, push_every: float | None) -> None:
    """Put the options given in ``PROGRESSISTA_*``, which every process of the run reads; a bad URL is an error."""
    import os

    from progressista.config import ENV_API_TOKEN, ENV_PUSH_INTERVAL, ENV_SERVER_URL
    from progressista.protocol.urls import server_urls

    if url is not None:
        try:
            server_urls(url)
        except ValueError as exc:
            fail(str(exc), 2)
    for name, value in ((ENV_SERVER_URL, url), (ENV_API_TOKEN, token), (ENV_PUSH_INTERVAL, push_every)):
        if value is not None:
            os.environ[name] = str(value)
