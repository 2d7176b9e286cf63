"""``progressista alerts test`` and ``progressista alerts ls``: try the server's alert targets, list its alerts.

The rules live in the server's alerts file (``PROGRESSISTA_ALERTS_FILE``); these
commands ask the running server, so they see what it loaded and reach the
targets from where it runs.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from progressista.protocol.alerts import OUTCOME_SENT
from progressista.protocol.text import shown_id, shown_text

from .remote import EXIT_CODES_HELP, TokenOption, UrlOption, api_failure, resolve_server

__all__ = ["alerts_app"]

#: ``alerts test``: a target failed (the others: :mod:`.remote`'s codes).
EXIT_TARGET_FAILED = 1

alerts_app = typer.Typer(
    name="alerts",
    help=f"Try the server's alert targets and list the alerts it sent.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _target_lines(record: dict[str, Any]) -> list[str]:
    return [
        f"{shown_text(str(record.get('rule', '')))}: {target.get('target')} {shown_text(str(target.get('outcome')))}"
        for target in record.get("targets", [])
    ]


@alerts_app.command("test")
def test(url: UrlOption = None, token: TokenOption = None) -> None:
    """Send a test notification to every target of every rule; one line per target. Exit 0 only if all took it."""
    from progressista.api import ApiError, ProgressistaApi

    url, token = resolve_server(url, token)
    with ProgressistaApi(url, token) as api:
        try:
            answer = api.test_alerts()
        except ApiError as exc:
            api_failure(exc, token)
    failed = 0
    for record in answer["alerts"]:
        for line in _target_lines(record):
            typer.echo(line)
        failed += sum(1 for target in record.get("targets", []) if target.get("outcome") != OUTCOME_SENT)
    if failed:
        raise typer.Exit(EXIT_TARGET_FAILED)


@alerts_app.command("ls")
def ls(
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many alerts, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"alerts": [...]} as JSON.')] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List the recent alerts, newest first: when, the state and subject, the rule, each target's outcome."""
    from progressista.api import ApiError, ProgressistaApi

    url, token = resolve_server(url, token)
    with ProgressistaApi(url, token) as api:
        try:
            answer = api.alerts(limit)
        except ApiError as exc:
            api_failure(exc, token)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer["alerts"]:
        typer.echo("No alerts yet." if answer.get("rules") else "No alerts: the server has no alert rules.")
        return
    for record in answer["alerts"]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record.get("at", 0))))
        subject = shown_id(str(record.get("subject", "")))
        outcomes = ", ".join(
            f"{target.get('target')} {shown_text(str(target.get('outcome')))}" for target in record.get("targets", [])
        )
        typer.echo(
            f"{when}  {record.get('state')}: {subject}  (rule {shown_text(str(record.get('rule')))})  {outcomes}"
        )
