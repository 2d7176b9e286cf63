"""Bearer-token checks for REST routes and the WebSocket, by role.

Each token has a role (:mod:`progressista.protocol.roles`): a route asks for a
permission and answers 401 to a missing or unknown token, 403 (naming the role
needed) to a token of another role. Tokens come from an ``Authorization: Bearer <token>`` header or a ``?token=``
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
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import Depends, HTTPException, Request, status
from starlette.requests import HTTPConnection

from progressista.protocol.roles import Grant, Permission, Role, allows, digest, refusal

from .throttle import Throttle

__all__ = [
    "AnyRole",
    "Refused",
    "RequireAdmin",
    "RequireRead",
    "TokenRedactingFilter",
    "presented_token",
    "require",
    "requirement",
    "role_of",
    "role_of_token",
]


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


def role_of_token(presented: str | None, grants: list[Grant]) -> Role | None:
    """The role ``presented`` is granted, or ``None``; with no grants at all the API is open (``admin``).

    Compares SHA-256 digests in constant time against every grant, so timing
    tells neither which token nearly matched nor whether it was kept hashed.
    """
    if not grants:
        return "admin"
    if presented is None:
        return None
    given = digest(presented)
    found: Role | None = None
    for grant in grants:
        if hmac.compare_digest(given, grant.digest):
            found = grant.role
    return found


class Refused(Exception):
    """A missing or unknown token (``retry_after == 0``), or an address throttled for that many seconds."""

    def __init__(self, retry_after: float = 0.0) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def role_of(conn: HTTPConnection) -> Role:
    """The role of the token a request or WebSocket carries (``admin`` when no token is configured).

    Raises :class:`Refused` for a missing or unknown token, counted against the
    client's address; once the address is throttled (see :mod:`.throttle`) the
    token is not checked at all.
    """
    grants: list[Grant] = conn.app.state.grants
    if not grants:
        return "admin"
    throttle: Throttle = conn.app.state.throttle
    address = conn.client.host if conn.client else ""
    now = time.monotonic()
    wait = throttle.wait(address, now)
    if wait > 0:
        raise Refused(wait)
    role = role_of_token(presented_token(conn), grants)
    if role is None:
        throttle.failed(address, now)
        raise Refused()
    return role


def _unauthorized(refused: Refused) -> HTTPException:
    if refused.retry_after > 0:
        seconds = math.ceil(refused.retry_after)
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many wrong tokens from this address: retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong token: send 'Authorization: Bearer <token>' or '?token=<token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require(request: Request, permission: Permission, action: str) -> Role:
    """The request's role, if it has ``permission``: else 401 (no or unknown token), 429 (throttled)
    or 403 naming the role ``action`` needs."""
    try:
        role = role_of(request)
    except Refused as refused:
        raise _unauthorized(refused) from None
    if not allows(role, permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal(role, permission, action))
    return role


def requirement(permission: Permission, action: str) -> Callable[[Request], Awaitable[Role]]:
    """A route dependency calling :func:`require` (``async``: no thread hop)."""

    async def requirement(request: Request) -> Role:
        return require(request, permission, action)

    return requirement


async def _any_role(request: Request) -> Role:
    try:
        return role_of(request)
    except Refused as refused:
        raise _unauthorized(refused) from None


#: Route dependencies: the request's role, after 401/403/429 unless the token may read, delete, or is any token.
RequireRead = Annotated[Role, Depends(requirement("read", "reading tasks"))]
RequireAdmin = Annotated[Role, Depends(requirement("admin", "deleting"))]
AnyRole = Annotated[Role, Depends(_any_role)]

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
