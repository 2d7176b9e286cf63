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
    "token_refusal",
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


def token_refusal(token: str | None, how: str) -> str:
    """The one line for a missing or refused token; ``how`` says how the server said it (``HTTP 401``).

    >>> token_refusal(None, "HTTP 401")
    'the server needs a token (HTTP 401); pass --token or set PROGRESSISTA_API_TOKEN'
    >>> token_refusal("wrong", "HTTP 401")
    'the server refused the token (HTTP 401); check --token or PROGRESSISTA_API_TOKEN'
    """
    if token:
        return f"the server refused the token ({how}); check --token or {ENV_API_TOKEN}"
    return f"the server needs a token ({how}); pass --token or set {ENV_API_TOKEN}"


def api_failure(exc: ApiError, token: str | None) -> NoReturn:
    """Exit with one line that says what to do, and the matching exit code.

    The wording is the CLI's for each failure: ``cannot reach URL (why)``
    (:class:`~progressista.api.ApiError` writes it), :func:`token_refusal`,
    ``{what the role may not do} (HTTP 403); …``, ``not found (HTTP 404): …``.
    """
    if exc.status_code is None:
        fail(str(exc), EXIT_UNREACHABLE)
    if exc.status_code == 403:  # a token of another role: the server names the one needed
        fail(f"{exc.detail or 'forbidden'} (HTTP 403); pass --token with a token that may", EXIT_UNAUTHORIZED)
    if exc.status_code == 401:
        fail(token_refusal(token, f"HTTP {exc.status_code}"), EXIT_UNAUTHORIZED)
    if exc.status_code == 404:
        fail(f"not found (HTTP 404): {exc.detail or exc}", EXIT_NOT_FOUND)
    fail(str(exc), EXIT_FAILED)
