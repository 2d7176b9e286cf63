"""Client settings from ``PROGRESSISTA_*`` environment variables. Standard library only.

Explicit arguments always win; these are the defaults behind them::

    export PROGRESSISTA_SERVER_URL=https://progress.example.com   # or .../progress
    export PROGRESSISTA_PUSH_INTERVAL=0.5
    export PROGRESSISTA_REQUEST_TIMEOUT=2
    export PROGRESSISTA_API_TOKEN=s3cret
    export PROGRESSISTA_HEARTBEAT_INTERVAL=15
    export PROGRESSISTA_RUN_ID=nightly-42        # progressista run sets it for you
    export PROGRESSISTA_QUIET=1                  # no warning line about a refused token or a server down

>>> ClientConfig.from_env({"PROGRESSISTA_PUSH_INTERVAL": "0.5"}).push_interval
0.5
>>> ClientConfig.from_env({"PROGRESSISTA_RUN_ID": " job:42 "}).run_id
'job-42'

A malformed value is ignored (with a debug log): progress reporting must never
break the job it reports on.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from .protocol.task import finite

__all__ = [
    "CLIENT_OPTIONS",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_PUSH_INTERVAL",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_SERVER_URL",
    "ENV_API_TOKEN",
    "ENV_HEARTBEAT_INTERVAL",
    "ENV_PUSH_INTERVAL",
    "ENV_QUIET",
    "ENV_REQUEST_TIMEOUT",
    "ENV_RUN_ID",
    "ENV_RUN_TASK",
    "ENV_SAID",
    "ENV_SERVER_URL",
    "MAX_RUN_ID",
    "ClientConfig",
    "ClientOptions",
    "auth_headers",
    "check_options",
    "clean_run_id",
    "new_run_id",
]

log = logging.getLogger("progressista")

ENV_SERVER_URL = "PROGRESSISTA_SERVER_URL"
ENV_PUSH_INTERVAL = "PROGRESSISTA_PUSH_INTERVAL"
ENV_REQUEST_TIMEOUT = "PROGRESSISTA_REQUEST_TIMEOUT"
ENV_API_TOKEN = "PROGRESSISTA_API_TOKEN"
ENV_HEARTBEAT_INTERVAL = "PROGRESSISTA_HEARTBEAT_INTERVAL"
ENV_RUN_ID = "PROGRESSISTA_RUN_ID"
#: Set to 1: no one-line warnings on stderr about a refused token or an unreachable server.
ENV_QUIET = "PROGRESSISTA_QUIET"
#: The run task of the ``run``/``exec`` a process runs under: a nested run posts none of its own (internal).
ENV_RUN_TASK = "PROGRESSISTA_RUN_TASK"
#: The warnings a ``run``/``exec`` already printed, so its child processes do not repeat them (internal).
ENV_SAID = "PROGRESSISTA_SAID"

DEFAULT_SERVER_URL = "http://localhost:8000/progress"
DEFAULT_PUSH_INTERVAL = 0.25
DEFAULT_REQUEST_TIMEOUT = 2.0
DEFAULT_HEARTBEAT_INTERVAL = 15.0
#: Longest run id kept (task ids may be 256 characters; the run id is only their prefix).
MAX_RUN_ID = 64


@dataclass(frozen=True)
class ClientConfig:
    """What a client needs to reach the server."""

    server_url: str = DEFAULT_SERVER_URL
    """``PROGRESSISTA_SERVER_URL``: base URL, ``/progress`` URL or ``ws(s)://`` URL of the server."""
    push_interval: float = DEFAULT_PUSH_INTERVAL
    """``PROGRESSISTA_PUSH_INTERVAL``: minimum seconds between two posts of plain updates."""
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    """``PROGRESSISTA_REQUEST_TIMEOUT``: seconds before an HTTP request is given up; also bounds the exit flush."""
    api_token: str | None = None
    """``PROGRESSISTA_API_TOKEN``: sent as ``Authorization: Bearer <token>``."""
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    """``PROGRESSISTA_HEARTBEAT_INTERVAL``: seconds between re-sends of an open bar that shows no
    progress, so the server tells a slow job (``stale``) from a dead one (``lost``); 0 disables."""
    run_id: str | None = None
    """``PROGRESSISTA_RUN_ID``: the run this process belongs to. ``RemoteTqdm`` prefixes the ids it
    makes up with it (``"{run_id}:{host}-{process}-{n}"``), so a run's bars form one group;
    ``progressista run`` sets it for the program and its children unless it is set already."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientConfig:
        """Read the ``PROGRESSISTA_*`` variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        return cls(
            server_url=env.get(ENV_SERVER_URL, "").strip() or DEFAULT_SERVER_URL,
            push_interval=_seconds(env, ENV_PUSH_INTERVAL, DEFAULT_PUSH_INTERVAL, allow_zero=True),
            request_timeout=_seconds(env, ENV_REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, allow_zero=False),
            api_token=env.get(ENV_API_TOKEN, "").strip() or None,
            heartbeat_interval=_seconds(env, ENV_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_INTERVAL, allow_zero=True),
            run_id=clean_run_id(env.get(ENV_RUN_ID, "")),
        )


class ClientOptions(TypedDict, total=False):
    """The options every bar takes, as keyword arguments; unset ones default to :class:`ClientConfig`.

    :class:`~progressista.client.RemoteTqdm` takes them (and ``task_id``),
    :func:`progressista.patch.install` sets them for every patched bar, and
    :class:`~progressista.reporter.PhaseReporter` and :mod:`progressista.run` pass them on.
    """

    server_url: str | None
    """Base, ``/progress`` or ``ws(s)://`` URL of the server (``PROGRESSISTA_SERVER_URL``)."""
    push_every: float | None
    """Minimum seconds between posts of plain updates (``PROGRESSISTA_PUSH_INTERVAL``)."""
    request_timeout: float | None
    """HTTP timeout in seconds, also the bound on the exit flush (``PROGRESSISTA_REQUEST_TIMEOUT``)."""
    meta: Mapping[str, Any] | None
    """A JSON-able dict shown by the dashboards."""
    headers: Mapping[str, str] | None
    """Extra HTTP headers (``PROGRESSISTA_API_TOKEN`` adds ``Authorization`` unless one is given)."""


#: The names of the :class:`ClientOptions`.
CLIENT_OPTIONS = frozenset(ClientOptions.__annotations__)


def check_options(caller: str, options: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` naming what ``caller`` was given that is no client option.

    >>> check_options("install", {"task_id": "one id for every bar"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: install() got unknown options ['task_id']; accepted: ['headers', 'meta', ...]
    """
    unknown = set(options) - CLIENT_OPTIONS
    if unknown:
        raise TypeError(f"{caller}() got unknown options {sorted(unknown)}; accepted: {sorted(CLIENT_OPTIONS)}")


def _seconds(env: Mapping[str, str], name: str, default: float, allow_zero: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = finite(float(raw))
    except ValueError:
        value = None
    if value is not None and (value > 0 or (allow_zero and value == 0)):
        return value
    log.debug("ignoring %s=%r: not a valid number of seconds; using %s", name, raw, default)
    return default


def clean_run_id(raw: str | None) -> str | None:
    """A run id fit to prefix task ids, or ``None`` for an empty one.

    Surrounding blanks go, and a ``:`` becomes ``-``: a group is the part of a task
    id before its first ``:``, so a run id must not contain one.

    >>> clean_run_id(" job:42 "), clean_run_id("  ")
    ('job-42', None)
    """
    run_id = (raw or "").strip().replace(":", "-")[:MAX_RUN_ID]
    return run_id or None


def new_run_id(name: str = "run") -> str:
    """A fresh, readable run id: ``name``, the local date and time to the minute, and 4 random hex digits.

    >>> new_run_id("train.py")  # doctest: +SKIP
    'train-0605-1430-9f3a'

    Two runs of one name started in the same minute differ by the random digits (1 in 65,536).

    ``name`` is usually the script or module being run; a ``.py`` suffix is
    dropped and characters other than letters, digits, ``.``, ``_`` and ``-``
    become ``-``, so the id reads well in a URL, a shell and a dashboard.
    """
    stem = name.removesuffix(".py")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:32] or "run"
    return f"{stem}-{time.strftime('%m%d-%H%M')}-{secrets.token_hex(2)}"


def auth_headers(token: str | None) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``, or ``{}`` without a token."""
    return {"Authorization": f"Bearer {token}"} if token else {}
