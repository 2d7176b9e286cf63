"""``progressista demo``: realistic bars, to try the dashboards."""

from __future__ import annotations

from typing import Annotated

import typer

from .errors import fail

__all__ = ["demo"]


def demo(
    bars: Annotated[int, typer.Option(min=0, max=50, help="How many bars run at once.")] = 2,
    total: Annotated[int, typer.Option(min=1, help="Steps per bar.")] = 20,
    delay: Annotated[float, typer.Option(min=0, help="Average seconds per step.")] = 0.1,
    stale: Annotated[bool, typer.Option("--stale", help="Add a bar that stops reporting halfway.")] = False,
    url: Annotated[
        str | None, typer.Option(help="Server URL: base, /progress or ws:// (env PROGRESSISTA_SERVER_URL)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token (env PROGRESSISTA_API_TOKEN)")] = None,
) -> None:
    """Post realistic progress bars (rate, postfix, meta) so the dashboards can be tried."""
    from progressista.demo import run_demo
    from progressista.protocol.urls import server_urls

    if url is not None:
        try:
            server_urls(url)
        except ValueError as exc:
            fail(str(exc), 2)
    raise typer.Exit(run_demo(bars=bars, total=total, delay=delay, stale=stale, server_url=url, token=token))
