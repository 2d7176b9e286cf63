"""Bearer-token checks for REST routes and the WebSocket.

Tokens come from an ``Authorization: Bearer <token>`` header or a ``?token=``
query parameter (browsers cannot set headers on a WebSocket). An address that
keeps sending wrong tokens is throttled (:mod:`.throttle`).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import math
import re
import time
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import Depends, HTTPException, Request, status
from starlette.requests import HTTPConnection

from .throttle import Throttle

__all__ = ["RequireToken", "TokenRedactingFilter", "presented_token", "refused", "require_token", "token_ok"]


def presented_token(conn: HTTPConnection) -> str | None:
    """The token a request or WebSocket carries, if any.

    Header values arrive decoded as Latin-1; a client that sent a non-ASCII
    token as UTF-8 (as ``?token=`` carries it) gets it read back as UTF-8.
    """
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            value = value.strip()
            if not value.isascii():
                with contextlib.suppress(UnicodeError):
                    value = value.encode("latin-1").decode("utf-8")
            return value
    return conn.query_params.get("token")


def token_ok(presented: str | None, accepted: list[str]) -> bool:
    """Constant-time check of ``presented`` against every accepted token.

    Compares UTF-8 bytes: ``hmac.compare_digest`` raises on non-ASCII ``str``.
    Every token is compared, so timing does not tell which one nearly matched.
    """
    if not accepted:
        return True
    if presented is None:
        return False
    given = presented.encode("utf-8", "surrogatepass")
    ok = False
    for token in accepted:
        ok |= hmac.compare_digest(given, token.encode("utf-8"))
    return ok


def refused(conn: HTTPConnection) -> float | None:
    """Check the token of a request or WebSocket, throttling addresses that keep failing.

    ``None``: accepted (or no token is configured). ``0.0``: missing or wrong,
    counted against the client's address. Above 0: the address is throttled
    (see :mod:`.throttle`) and the token was not checked; retry in that many seconds.
    """
    accepted = conn.app.state.tokens
    if not accepted:
        return None
    throttle: Throttle = conn.app.state.throttle
    address = conn.client.host if conn.client else ""
    now = time.monotonic()
    wait = throttle.wait(address, now)
    if wait > 0:
        return wait
    if token_ok(presented_token(conn), accepted):
        return None
    throttle.failed(address, now)
    return 0.0


async def require_token(request: Request) -> None:
    """Raise 401 unless the request carries an accepted token (or none is configured); 429 while throttled."""
    wait = refused(request)
    if wait is None:
        return
    if wait > 0:
        seconds = math.ceil(wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many wrong tokens from this address: retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong token: send 'Authorization: Bearer <token>' or '?token=<token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


#: Route dependency: 401 unless the request carries an accepted token.
RequireToken = Annotated[None, Depends(require_token)]

# One name=value pair of a query string inside a log line.
_QUERY_PAIR = re.compile(r"([?&])([^=&#\s\"']+)=([^&#\s\"']*)")


class TokenRedactingFilter(logging.Filter):
    """Blank ``?token=`` values in log lines (uvicorn logs paths with their query).

    Redacts inside ``args`` rather than formatting the message, because
    uvicorn's access formatter unpacks the original args tuple. A name that
    percent-decodes to ``token`` (``%74oken``) is a token too: the server accepts it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, str) and "=" in a else a for a in record.args)
        return True


def _hide_token(pair: re.Match[str]) -> str:
    if pair[2] == "token" or unquote_plus(pair[2]) == "token":
        return f"{pair[1]}{pair[2]}=***"
    return pair[0]


def _redact(text: str) -> str:
    return _QUERY_PAIR.sub(_hide_token, text) if "?" in text else text
