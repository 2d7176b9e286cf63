"""What the commands that talk to a running server share: ``--url``/``--token``, exit codes, API errors.

Exit codes (also in ``progressista tasks --help``): 0 done, 1 the server answered
with an error, 2 bad usage (e.g. an unknown ``--status``), 3 server unreachable,
4 token missing or refused (HTTP 401/403), 5 no such task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from progressista.config import ENV_API_TOKEN, ENV_SERVER_URL, ClientConfig
from progressista.protocol.statuses import expand_status_filter
from progressista.protocol.urls import server_urls

from .errors import fail

if TYPE_CHECKING:
    from progressista.api import ApiError

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_UNAUTHORIZED",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "EXIT_CODES_HELP",
    "TokenOption",
    "UrlOption",
    "api_failure",
    "check_status",
    "resolve_server",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_UNAUTHORIZED = 4
EXIT_NOT_FOUND = 5
EXIT_CODES_HELP = (
    "Exit codes: 0 done, 1 the server answered with an error, 2 bad usage, "
    "3 server unreachable, 4 token missing or refused, 5 no such task."
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help=f"Server: base URL, /progress URL or ws(s):// URL (env {ENV_SERVER_URL}, default http://localhost:8000)",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", metavar="TOKEN", help=f"API token (env {ENV_API_TOKEN})", show_default=False),
]


def resolve_server(url: str | None, token: str | None) -> tuple[str, str | None]:
    """The server URL and token to use: the options, else a ``?token=`` in the URL, else the environment."""
    config = ClientConfig.from_env()
    chosen = url.strip() if url and url.strip() else config.server_url
    try:
        urls = server_urls(chosen)
    except ValueError as exc:
        fail(f"--url: {exc}", EXIT_USAGE)
    return chosen, token or urls.token or config.api_token


def check_status(status: str | None) -> str | None:
    """Validate a ``--status`` filter here, so a typo is a usage error, not a server round trip."""
    if status is None:
        return None
    try:
        if not expand_status_filter(status):
            raise ValueError("empty status filter")
    except ValueError as exc:
        fail(f"--status: {exc}", EXIT_USAGE)
    return status


def api_failure(exc: ApiError, token: str | None) -> NoReturn:
    """Exit with one line that says what to do, and the matching exit code."""
    if exc.status_code is None:
        fail(str(exc), EXIT_UNREACHABLE)
    if exc.status_code == 403:  # a token of another role: the server names the one needed
        fail(f"{exc.detail} (HTTP 403); pass --token with a token that may", EXIT_UNAUTHORIZED)
    if exc.status_code == 401:
        if token:
            fail(
                f"the server refused the token (HTTP {exc.status_code}); check --token or {ENV_API_TOKEN}",
                EXIT_UNAUTHORIZED,
            )
        fail(
            f"the server needs a token (HTTP {exc.status_code}); pass --token or set {ENV_API_TOKEN}", EXIT_UNAUTHORIZED
        )
    if exc.status_code == 404:
        fail(str(exc), EXIT_NOT_FOUND)
    fail(str(exc), EXIT_FAILED)
