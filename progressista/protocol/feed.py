"""The ``/ws`` feed: its messages, its close codes and how a client reconnects.

One reader for every client (``watch``, ``wait``, and any future one), so they
agree on what a message means and when to retry. The browser dashboard follows
the same rules (``static/js/feed.js`` cites this module).

Messages (delta mode, ``/ws?mode=delta``)::

    {"type": "snapshot", "tasks": {id: task}, "groups": {prefix: aggregate}}
    {"type": "delta", "tasks": {id: task}, "removed": [id], "groups": {prefix: aggregate}, "groups_removed": [prefix]}

``groups`` is additive: the server computes every group row (see
:mod:`.groups`), so dashboards draw the rows instead of computing them. The
default mode sends ``{"tasks": {...}}``, the whole state, as documented for
custom UIs.

>>> parse_feed_message('{"type": "delta", "tasks": {}, "removed": ["a"]}')
FeedUpdate(tasks={}, removed=['a'], groups=None, groups_removed=[])
>>> parse_feed_message('{"tasks": {"a": {}}}').removed is None  # a snapshot replaces everything
True
>>> closing(1013, "").at_once, closing(1008, "missing or wrong token").token, closing(1008, "origin not allowed").token
(True, True, False)
>>> closing(1013, REASON_THROTTLED).at_once  # reconnects after a backoff
False
"""

from __future__ import annotations

import json
import random
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

from .roles import REFUSAL_START

__all__ = [
    "MESSAGE_TOO_BIG",
    "NORMAL_CLOSURE",
    "POLICY_VIOLATION",
    "REASON_BAD_TOKEN",
    "REASON_ORIGIN",
    "REASON_RESYNC",
    "REASON_THROTTLED",
    "REASON_TOO_BIG",
    "REASON_TOO_MANY",
    "REASON_TOO_SLOW",
    "SERVICE_RESTART",
    "TRY_AGAIN_LATER",
    "Backoff",
    "Closing",
    "FeedUpdate",
    "closing",
    "describe_error",
    "parse_feed_message",
]

#: The client or the server is done with the connection.
NORMAL_CLOSURE = 1000
#: Refused: a missing or wrong token, an origin the server does not allow, a bad ``?mode=``,
#: a client sending messages too often. Do not retry.
POLICY_VIOLATION = 1008
#: The client sent a message larger than the server reads (dashboards need send none).
MESSAGE_TOO_BIG = 1009
#: The server lost its store's change feed (Redis restarted): reconnect for a fresh snapshot.
SERVICE_RESTART = 1012
#: The server dropped a client that fell behind: reconnect at once, the fresh snapshot resyncs.
#: With :data:`REASON_THROTTLED`: its address sent too many wrong tokens; reconnect after a backoff.
TRY_AGAIN_LATER = 1013

#: The reasons the server gives with those codes.
REASON_BAD_TOKEN = "missing or wrong token"
REASON_ORIGIN = "origin not allowed"
REASON_TOO_SLOW = "too slow; reconnect"
REASON_RESYNC = "resync; reconnect"
REASON_THROTTLED = "too many wrong tokens; retry later"
REASON_TOO_BIG = "message too big"
REASON_TOO_MANY = "too many messages"


@dataclass(frozen=True)
class FeedUpdate:
    """One ``/ws`` message: task states, the ids removed (``None``: a full snapshot), and group rows.

    ``groups`` is ``None`` when the server sent none (the default mode, or an
    older server); with a snapshot it holds every group, with a delta the
    groups that changed, and ``groups_removed`` the prefixes that have no
    member any more.
    """

    tasks: dict[str, Any]
    removed: list[str] | None
    groups: dict[str, Any] | None = None
    groups_removed: list[str] = field(default_factory=list)


def parse_feed_message(raw: str | bytes) -> FeedUpdate | None:
    """Read a ``/ws`` message (either mode); ``None`` for anything that is not one."""
    try:
        message: Any = json.loads(raw)
    except ValueError:
        return None
    tasks = message.get("tasks") if isinstance(message, dict) else None
    if not isinstance(tasks, dict):
        return None
    found = message.get("groups")
    groups = {key: row for key, row in found.items() if isinstance(row, dict)} if isinstance(found, dict) else None
    if message.get("type") != "delta":  # "snapshot", or a default-mode message: the whole state
        return FeedUpdate(tasks, None, groups)
    return FeedUpdate(tasks, _strings(message.get("removed")), groups, _strings(message.get("groups_removed")))


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Closing:
    """What a client does after the server closed the feed."""

    reason: str
    """One line for the person watching."""
    refused: bool = False
    """The token (or origin) was refused: wait to be told, do not retry."""
    at_once: bool = False
    """Reconnect without a backoff."""
    token: bool = False
    """Refused for the token (missing, wrong, or of a role that may not read), not for the origin or
    the mode: the fix is another token."""


def closing(code: int | None, reason: str) -> Closing:
    """How a client reads a close frame (``code`` ``None``: the connection ended without one)."""
    if code == POLICY_VIOLATION:
        why = f"the server refused the connection: {reason or 'policy violation'}"
        return Closing(why, refused=True, token=reason == REASON_BAD_TOKEN or reason.startswith(REFUSAL_START))
    if code == TRY_AGAIN_LATER and reason == REASON_THROTTLED:
        return Closing("the server is throttling this address after too many wrong tokens; retrying")
    if code == TRY_AGAIN_LATER:
        return Closing("the server dropped this client for falling behind; resyncing", at_once=True)
    if code == SERVICE_RESTART:
        return Closing("the server asked for a resync", at_once=True)
    if code is None:
        return Closing("connection closed (no close frame)")
    return Closing(f"connection closed ({code}{' ' + reason if reason else ''})")


def describe_error(exc: BaseException) -> str:
    """A failed connection as the words a person can act on, for ``cannot reach {url} ({words})``.

    The cause is looked for down the chain of exceptions, so a library's wrapper
    (``requests``' ``ConnectionError`` around urllib3's around the socket's) reads
    as the socket's own error:

    >>> describe_error(ConnectionRefusedError(111, "Connection refused"))
    'connection refused: is the server running?'
    >>> wrapped = OSError("Max retries exceeded"); wrapped.__cause__ = TimeoutError()
    >>> describe_error(wrapped)
    'no answer in time'
    >>> import asyncio; describe_error(asyncio.TimeoutError())  # its own class on Python 3.10
    'no answer in time'
    """
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused: is the server running?"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host: {cause.strerror}"
        if isinstance(cause, _timeout_errors()):
            return "no answer in time"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _timeout_errors() -> tuple[type[BaseException], ...]:
    """``TimeoutError``, and asyncio's own on Python 3.10 (one class from 3.11).

    Looked up, not imported: a job's client reports errors too, and importing
    asyncio would add about 15 ms to ``from progressista import RemoteTqdm``.
    An asyncio timeout can only be raised once asyncio is loaded.
    """
    asyncio = sys.modules.get("asyncio")
    return (TimeoutError,) if asyncio is None else (TimeoutError, asyncio.TimeoutError)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, then what it wraps: ``__cause__``/``__context__`` and urllib3's ``reason``, a few levels deep."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 16:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        for inner in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(inner, BaseException):
                todo.append(inner)
    return found


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``attempt`` (1, 2, …): ``first * factor**(attempt-1)``, capped, ±jitter.

    >>> steady = Backoff(jitter=0)
    >>> steady.delay(1), steady.delay(3), steady.delay(10), steady.delay(5000)
    (0.5, 2.0, 10.0, 10.0)
    """

    first: float = 0.5
    factor: float = 2.0
    limit: float = 10.0
    jitter: float = 0.1

    def delay(self, attempt: int) -> float:
        # The exponent is capped: a server down for hours must not overflow the float.
        base = min(self.limit, self.first * self.factor ** min(max(0, attempt - 1), 64))
        # Jitter spreads the reconnects of many clients after a server restart.
        return base * (1 + random.uniform(-self.jitter, self.jitter))
