"""``progressista history``: what ran, how long it took, and how long it usually takes.

Asks the running server (``GET /history``), which keeps the finished runs (see
README "History"); the durations are written by :mod:`progressista.protocol.format`,
as the dashboards write them.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from progressista.protocol.format import format_amount, format_duration, format_rate
from progressista.protocol.text import shown_id, shown_text

from .remote import EXIT_CODES_HELP, TokenOption, UrlOption, api_failure, resolve_server

__all__ = ["history"]


def _when(at: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(at or 0)))


def _run_line(run: dict[str, Any]) -> str:
    amount = format_amount(run.get("n"), run.get("total"), run.get("unit") or "it")
    why = f"  {shown_text(str(run['error']))}" if run.get("error") else ""
    return (
        f"{_when(run.get('ended_at'))}  {str(run.get('status')):<5}  {format_duration(run.get('duration')):>8}  "
        f"{amount:<16} {shown_id(str(run.get('task_id')))}{why}"
    )


def _usual_line(key: str, usual: dict[str, Any]) -> str:
    rate = format_rate(usual.get("rate"))
    runs = usual.get("runs", 0)
    return (
        f"{shown_id(key)}: usually {format_duration(usual.get('duration'))}"
        + (f" at {rate}" if rate else "")
        + f" (median of the last {runs} successful run{'s' if runs != 1 else ''})"
    )


def history(
    key: Annotated[str | None, typer.Argument(help="Runs of this key (a task's name across runs)")] = None,
    group: Annotated[str | None, typer.Option(help="Runs of this group (a run id)")] = None,
    status: Annotated[str | None, typer.Option(help="close, error, lost (comma separated)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many runs, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Finished runs, newest first, and how long each key usually takes."""
    from progressista.api import ApiError, ProgressistaApi

    url, token = resolve_server(url, token)
    with ProgressistaApi(url, token) as api:
        try:
            answer = api.history(key, group, status, limit)
        except ApiError as exc:
            api_failure(exc, token)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer.get("enabled", True):
        typer.echo(
            "No history: the server keeps none (give it PROGRESSISTA_STORAGE_PATH or PROGRESSISTA_HISTORY_PATH)."
        )
        return
    runs = answer["runs"]
    if not runs:
        typer.echo("No runs recorded yet.")
        return
    for run in runs:
        typer.echo(_run_line(run))
    for name, usual in answer.get("usual", {}).items():
        typer.echo(_usual_line(name, usual))


history.__doc__ = f"{history.__doc__}\n\n{EXIT_CODES_HELP}"
