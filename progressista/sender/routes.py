"""Routes: where and how events are posted, the unit the sender batches by.

Equal settings give the same :class:`Route` object (interned), so the sender
keys its pending entries by it cheaply:

>>> from progressista.api import post_events
>>> a = route("http://h/progress", {"b": "2", "a": "1"}, 2.0, 0.25, post_events)
>>> a is route("http://h/progress", {"a": "1", "b": "2"}, 2.0, 0.25, post_events)
True
>>> a
Route('http://h/progress', timeout=2.0, interval=0.25)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["PostFunction", "Route", "route"]

#: How a batch is posted: ``post(session, url, payload, headers, timeout)``, as ``RemoteTqdm._post``
#: and its overrides; returns the response (or ``None`` when it handled the batch itself).
PostFunction = Callable[[requests.Session, str, list[dict[str, Any]], dict[str, str], float], Any]


@dataclass(eq=False, repr=False, slots=True)  # compared and hashed by identity: routes are interned
class Route:
    """Where and how events are posted; the unit of batching. Interned by :func:`route`."""

    url: str
    headers: tuple[tuple[str, str], ...]
    timeout: float
    interval: float
    post: PostFunction

    def __repr__(self) -> str:
        return f"Route({self.url!r}, timeout={self.timeout}, interval={self.interval})"


_routes: dict[tuple[Any, ...], Route] = {}
_lock = threading.Lock()


def route(url: str, headers: Mapping[str, str], timeout: float, interval: float, post: PostFunction) -> Route:
    """The route for these settings; equal settings give the same object (cheap to hash)."""
    key = (url, tuple(sorted(headers.items())), timeout, interval, post)
    found = _routes.get(key)
    if found is None:
        with _lock:
            found = _routes.setdefault(key, Route(url, key[1], timeout, interval, post))
    return found


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's may have been held by a thread that does not exist here


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
