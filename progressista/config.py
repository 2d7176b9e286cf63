"""Client settings from ``PROGRESSISTA_*`` environment variables. Standard library only.

Explicit arguments always win; these are the defaults behind them::

    export PROGRESSISTA_SERVER_URL=https://progress.example.com   # or .../progress
    export PROGRESSISTA_PUSH_INTERVAL=0.5
    export PROGRESSISTA_REQUEST_TIMEOUT=2
    export PROGRESSISTA_API_TOKEN=s3cret
    export PROGRESSISTA_HEARTBEAT_INTERVAL=15

>>> ClientConfig.from_env({"PROGRESSISTA_PUSH_INTERVAL": "0.5"}).push_interval
0.5

A malformed value is ignored (with a debug log): progress reporting must never
break the job it reports on.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_PUSH_INTERVAL",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_SERVER_URL",
    "ENV_API_TOKEN",
    "ENV_HEARTBEAT_INTERVAL",
    "ENV_PUSH_INTERVAL",
    "ENV_REQUEST_TIMEOUT",
    "ENV_SERVER_URL",
    "ClientConfig",
    "auth_headers",
]

log = logging.getLogger("progressista")

ENV_SERVER_URL = "PROGRESSISTA_SERVER_URL"
ENV_PUSH_INTERVAL = "PROGRESSISTA_PUSH_INTERVAL"
ENV_REQUEST_TIMEOUT = "PROGRESSISTA_REQUEST_TIMEOUT"
ENV_API_TOKEN = "PROGRESSISTA_API_TOKEN"
ENV_HEARTBEAT_INTERVAL = "PROGRESSISTA_HEARTBEAT_INTERVAL"

DEFAULT_SERVER_URL = "http://localhost:8000/progress"
DEFAULT_PUSH_INTERVAL = 0.25
DEFAULT_REQUEST_TIMEOUT = 2.0
DEFAULT_HEARTBEAT_INTERVAL = 15.0


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
        )


def _seconds(env: Mapping[str, str], name: str, default: float, allow_zero: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and (value > 0 or (allow_zero and value == 0)):
        return value
    log.debug("ignoring %s=%r: not a valid number of seconds; using %s", name, raw, default)
    return default


def auth_headers(token: str | None) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``, or ``{}`` without a token."""
    return {"Authorization": f"Bearer {token}"} if token else {}
