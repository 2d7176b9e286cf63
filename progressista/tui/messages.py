"""What the feed and the REST workers tell the app: small dataclass Messages.

The feed (:mod:`progressista.tui.feed`) posts the connection ones and the task
data; thread workers post :class:`Access` (what the token may do), :class:`Alerts` (what ``GET /alerts`` said), and
:class:`Removed` and :class:`RequestFailed` after a discard. Nothing here touches the network or the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

__all__ = [
    "Access",
    "Alerts",
    "Connected",
    "Connecting",
    "Delta",
    "Disconnected",
    "Removed",
    "RequestFailed",
    "Snapshot",
    "Unauthorized",
]


@dataclass(eq=False)
class Connecting(Message):
    """A connection attempt started (``attempt`` counts failures since the last success)."""

    attempt: int


@dataclass(eq=False)
class Connected(Message):
    """The WebSocket is open; a snapshot follows."""


@dataclass(eq=False)
class Snapshot(Message):
    """Every task the server has: replaces what the app knew (a reconnect resyncs).

    ``groups``: every group row, as the server computed them (``None``: it sent none, an older server).
    """

    tasks: dict[str, Any]
    groups: dict[str, Any] | None = None


@dataclass(eq=False)
class Delta(Message):
    """Tasks that changed since the last message, and ids that went away.

    ``groups``: the group rows that changed (``None``: the server sends none); ``groups_removed``: the
    prefixes left without a member.
    """

    tasks: dict[str, Any]
    removed: list[str] = field(default_factory=list)
    groups: dict[str, Any] | None = None
    groups_removed: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Disconnected(Message):
    """The connection failed or closed; the feed retries in ``retry_in`` seconds."""

    reason: str
    retry_in: float
    attempt: int


@dataclass(eq=False)
class Unauthorized(Message):
    """The server refused the token (close code 1008 or HTTP 401/403): no retry until asked."""

    reason: str


@dataclass(eq=False)
class Access(Message):
    """What ``GET /access`` says the token may do: ``can`` holds ``ingest``, ``read``, ``admin``."""

    role: str
    can: frozenset[str]


@dataclass(eq=False)
class Alerts(Message):
    """What ``GET /alerts`` said: the recent alert records, newest first.

    ``rules`` is ``None`` for a server without ``/alerts`` (404, older than alerts) or a token that may not
    read them; ``records`` is ``None`` when the ask failed (what was known stays); ``pending`` counts the
    alerts the server is still sending (each gets its record once sent).
    """

    records: list[dict[str, Any]] | None
    rules: int | None
    pending: int = 0


@dataclass(eq=False)
class Removed(Message):
    """A discard or bulk clear went through; ``removed`` are the ids the server dropped."""

    what: str
    removed: list[str]


@dataclass(eq=False)
class RequestFailed(Message):
    """A REST call failed; ``message`` is one line for a notification."""

    action: str
    message: str
