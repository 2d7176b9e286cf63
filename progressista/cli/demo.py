"""``progressista demo``: a minute of realistic bars showing every state, to try the dashboards."""

from __future__ import annotations

from typing import Annotated

import typer

from .errors import fail

__all__ = ["demo"]


def demo(
    duration: Annotated[
        float, typer.Option(min=1, max=3600, help="Seconds the demo runs; every event happens at its share of it.")
    ] = 60.0,
    workers: Annotated[int, typer.Option(min=1, max=20, help="Training bars that run the whole time.")] = 3,
    url: Annotated[
        str | None, typer.Option(help="Server URL: base, /progress or ws:// (env PROGRESSISTA_SERVER_URL)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token (env PROGRESSISTA_API_TOKEN)")] = None,
) -> None:
    """Run two realistic runs for a minute: bars that finish, fail with a reason, go stale, get lost, and a group.

    The stale and lost bars turn so once the server's windows have passed
    (PROGRESSISTA_STALE_SECONDS, PROGRESSISTA_LOST_SECONDS): start the server with
    `progressista serve --stale-seconds 10 --lost-seconds 20` to see both within the minute.
    """
    from progressista.demo import run_demo
    from progressista.protocol.urls import server_urls

    if url is not None:
        try:
            server_urls(url)
        except ValueError as exc:
            fail(str(exc), 2)
    raise typer.Exit(run_demo(duration=duration, workers=workers, server_url=url, token=token))
