"""Where a bar posts: its arguments, else its class's defaults, else the ``PROGRESSISTA_*`` environment.

The answer is a :class:`~progressista.sender.Route` (URL, headers, timeout,
push interval, post function), the unit the sender batches by, plus the run id
that prefixes made-up task ids. Creating a bar must stay cheap, so the answer
is cached by the arguments and the raw environment values: a changed variable
is seen by the next bar, an unchanged one costs no parsing.

>>> from progressista.client import RemoteTqdm
>>> route, run_id = route_for(RemoteTqdm, {}, "localhost:8000", 0.5, None, {"Authorization": "Bearer s3cret"})
>>> route.url, route.interval, route.headers
('http://localhost:8000/progress', 0.5, (('Authorization', 'Bearer s3cret'),))
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, cast

from .. import sender as _sender
from ..config import (
    ENV_API_TOKEN,
    ENV_PUSH_INTERVAL,
    ENV_REQUEST_TIMEOUT,
    ENV_RUN_ID,
    ENV_SERVER_URL,
    ClientConfig,
    auth_headers,
)
from ..protocol.task import finite
from ..protocol.urls import progress_url

__all__ = ["route_for"]

log = logging.getLogger("progressista")

_routes: dict[tuple[Any, ...], tuple[Mapping[str, Any], _sender.Route, str | None]] = {}
_ENV_NAMES = (ENV_SERVER_URL, ENV_PUSH_INTERVAL, ENV_REQUEST_TIMEOUT, ENV_API_TOKEN, ENV_RUN_ID)
# os.environ.get() encodes and decodes on every call (about 1 us each); the raw
# mapping behind it answers in nanoseconds. Fall back where it is not a dict.
_ENV_DATA = getattr(os.environ, "_data", None)
_ENV_KEYS = (
    tuple(os.environ.encodekey(name) for name in _ENV_NAMES)
    if isinstance(_ENV_DATA, dict) and hasattr(os.environ, "encodekey")
    else None
)


# tuple(map(_ENV_GET, _ENV_LOOKUP)): the raw PROGRESSISTA_* values, as a cache key; map() over a C method
# runs no Python frame per value (this runs for every bar).
_ENV_GET: Any = cast(dict[Any, Any], _ENV_DATA).get if _ENV_KEYS is not None else os.environ.get
_ENV_LOOKUP: tuple[Any, ...] = _ENV_KEYS if _ENV_KEYS is not None else _ENV_NAMES


def _environment() -> tuple[Any, ...]:
    """The raw PROGRESSISTA_* values, as a cache key."""
    return tuple(map(_ENV_GET, _ENV_LOOKUP))


def route_for(
    bar_class: type[Any],
    defaults: Mapping[str, Any],
    server_url: str | None,
    push_every: float | None,
    request_timeout: float | None,
    headers: Mapping[str, str] | None,
) -> tuple[_sender.Route, str | None]:
    """Where a bar posts, from its arguments, its class's ``defaults`` and the environment; and the run id.

    The route posts with ``bar_class._post``. Invalid intervals fall back to the
    environment's (with a debug log). ``PROGRESSISTA_API_TOKEN`` adds an
    ``Authorization`` header unless one is given.
    """
    env = tuple(map(_ENV_GET, _ENV_LOOKUP))  # _environment(), inlined
    key = (
        bar_class,
        id(defaults),
        server_url,
        push_every,
        request_timeout,
        tuple(headers.items()) if headers else (),
        env,
    )
    cached = _routes.get(key)
    if cached is not None and cached[0] is defaults:
        return cached[1], cached[2]
    config = ClientConfig.from_env()
    url = progress_url(str(_pick(server_url, defaults.get("server_url"), config.server_url)))
    timeout = _seconds(_pick(request_timeout, defaults.get("request_timeout")), config.request_timeout, 0.001)
    interval = _seconds(_pick(push_every, defaults.get("push_every")), config.push_interval, 0.0)
    all_headers = {str(k): str(v) for k, v in {**(defaults.get("headers") or {}), **(headers or {})}.items()}
    if not any(name.lower() == "authorization" for name in all_headers):
        all_headers.update(auth_headers(config.api_token))
    route = _sender.route(url, all_headers, timeout, interval, bar_class._post)
    if len(_routes) > 256:
        _routes.clear()
    _routes[key] = (defaults, route, config.run_id)
    return route, config.run_id


def _pick(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _seconds(value: Any, default: float, minimum: float) -> float:
    if value is None:
        return default
    try:
        seconds = finite(float(value))
    except (TypeError, ValueError):
        seconds = None
    if seconds is not None and seconds >= minimum:
        return seconds
    log.debug("progressista: ignoring invalid interval %r; using %s", value, default)
    return default
