"""The one-line warnings a process prints when its bars will not show, and the check that finds out early.

A refused token, a wrong URL or a server that is down would otherwise fail
silently: the job runs, no bar ever appears, and nothing says why. So the first
time it happens in a process, one line goes to stderr, never a traceback:

>>> print(refused_line("http://host:8000/progress", 401, token_sent=True))  # doctest: +NORMALIZE_WHITESPACE
progressista: http://host:8000 refused the token (HTTP 401); bars will not show:
set PROGRESSISTA_API_TOKEN or pass --token
>>> print(unreachable_line("http://host:8000/progress", "connection refused"))
progressista: cannot reach http://host:8000 (connection refused); bars will show once it is up

Each kind of line (:data:`REFUSED`, :data:`NOT_FOUND`, :data:`UNREACHABLE`) is
said once per process (:func:`say`); the unreachable line only when a process
posts its first batch, so later outages stay silent. ``PROGRESSISTA_QUIET=1``
silences them all. ``progressista run``, ``exec`` and ``demo`` call
:func:`check_server` before starting the program (an authenticated post of no
events, which changes nothing) and print the same line; what they have said
is passed to the program's child processes in ``PROGRESSISTA_SAID``, so a
fan-out of workers does not repeat it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping

from .config import ENV_QUIET, ENV_SAID
from .protocol.urls import server_urls

__all__ = [
    "KINDS",
    "NOT_FOUND",
    "REFUSED",
    "UNREACHABLE",
    "check_server",
    "connection_reason",
    "line_for_status",
    "not_found_line",
    "quiet",
    "refused_line",
    "say",
    "unreachable_line",
]

REFUSED = "refused"
NOT_FOUND = "not-found"
UNREACHABLE = "unreachable"
KINDS = (REFUSED, NOT_FOUND, UNREACHABLE)

_said: set[str] = set()
_lock = threading.Lock()


def _base(url: str) -> str:
    try:
        return server_urls(url).base
    except ValueError:
        return url


def refused_line(url: str, status: int, token_sent: bool) -> str:
    """What to say when the server answers 401/403 to a post."""
    if status == 403:
        return (
            f"progressista: {_base(url)} does not let this token report progress (HTTP 403); bars will not show: "
            "use an ingest or admin token"
        )
    what = "refused the token" if token_sent else "requires a token"
    return (
        f"progressista: {_base(url)} {what} (HTTP {status}); bars will not show: "
        "set PROGRESSISTA_API_TOKEN or pass --token"
    )


def not_found_line(url: str, status: int) -> str:
    """What to say when the URL answers, but not as a Progressista server (404, 405)."""
    return (
        f"progressista: {url} answered HTTP {status}; bars will not show: "
        "is PROGRESSISTA_SERVER_URL (or --url) the address of a Progressista server?"
    )


def unreachable_line(url: str, reason: str) -> str:
    """What to say when the server cannot be reached at all."""
    return f"progressista: cannot reach {_base(url)} ({reason}); bars will show once it is up"


def line_for_status(url: str, status: int, token_sent: bool) -> tuple[str, str] | None:
    """The notice a post answered with ``status`` deserves, as ``(kind, line)``; ``None`` when it needs none.

    >>> line_for_status("http://h/progress", 200, True) is None, line_for_status("http://h/progress", 503, True)
    (True, None)
    >>> line_for_status("http://h/progress", 404, True)[0]
    'not-found'
    """
    if status in (401, 403):
        return REFUSED, refused_line(url, status, token_sent)
    if status in (404, 405):
        return NOT_FOUND, not_found_line(url, status)
    return None


def connection_reason(exc: BaseException) -> str:
    """A few words for why a connection failed, from a ``requests``/``OSError`` exception.

    >>> connection_reason(ConnectionRefusedError(111, "Connection refused"))
    'connection refused'
    """
    text = f"{type(exc).__name__} {exc}".lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("failed to resolve", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("ssl", "TLS error"),
        ("unreachable", "network unreachable"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__


def quiet(environ: Mapping[str, str] | None = None) -> bool:
    """Is ``PROGRESSISTA_QUIET`` set to a true value?"""
    value = (os.environ if environ is None else environ).get(ENV_QUIET, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def said_before(kind: str, environ: Mapping[str, str] | None = None) -> bool:
    """Was ``kind`` said in this process, or by the ``run``/``exec`` that started it?"""
    inherited = (os.environ if environ is None else environ).get(ENV_SAID, "")
    return kind in _said or kind in inherited.split(",")


def say(kind: str, line: str, tell_children: bool = False) -> bool:
    """Print ``line`` to stderr if no line of ``kind`` was said in this process (and not quiet); True if printed.

    ``tell_children`` records it in ``PROGRESSISTA_SAID`` for the processes
    started from here on (``run`` and ``exec`` do that; a plain job's
    environment is left alone).
    """
    with _lock:
        if said_before(kind) or quiet():
            return False
        _said.add(kind)
    if tell_children:
        kinds = [k for k in os.environ.get(ENV_SAID, "").split(",") if k]
        os.environ[ENV_SAID] = ",".join([*kinds, kind])
    try:
        _write_line(line)
    except Exception:  # a closed or broken stderr: nothing can be said, and the job must go on
        return False
    return True


def _write_line(line: str) -> None:
    """``line`` on stderr, on a line of its own: tqdm's bars drawn there are cleared first, then redrawn."""
    stream = sys.stderr
    if stream is None:
        return
    tqdm_std = sys.modules.get("tqdm.std")
    if tqdm_std is None:
        stream.write(line + "\n")
        stream.flush()
        return
    with tqdm_std.tqdm.external_write_mode(file=stream):
        stream.write(line + "\n")
        stream.flush()


def check_server(url: str, headers: Mapping[str, str], timeout: float) -> tuple[str, str] | None:
    """Post an empty batch to ``url`` (a ``/progress`` URL) as the bars will; the notice it deserves, if any.

    An empty batch is authenticated like any post and changes nothing on the
    server. Returns ``(kind, line)`` or ``None`` when the bars will show.
    """
    import requests

    try:
        response = requests.post(url, json=[], headers=dict(headers), timeout=timeout, allow_redirects=False)
    except (requests.RequestException, OSError) as exc:
        return UNREACHABLE, unreachable_line(url, connection_reason(exc))
    token_sent = any(name.lower() == "authorization" for name in headers)
    return line_for_status(url, response.status_code, token_sent)
