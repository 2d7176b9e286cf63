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
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["MAX_ROUTES", "PostFunction", "Route", "route"]

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


#: The most routes kept interned; past it the least recently asked for is forgotten.
MAX_ROUTES = 1024

# Least recently asked for first. A process that keeps making bars with new header
# values (a token per job, say) would otherwise grow this forever.
_routes: OrderedDict[tuple[Any, ...], Route] = OrderedDict()
_lock = threading.Lock()


def route(url: str, headers: Mapping[str, str], timeout: float, interval: float, post: PostFunction) -> Route:
    """The route for these settings; equal settings give the same object (cheap to hash).

    At most :data:`MAX_ROUTES` are kept. A forgotten route still works for the
    bars holding it; a new bar with the same settings gets a new object, so
    the two post in separate batches until those bars end (correct, a little
    less batching). Only the least recently asked for is forgotten, so the routes
    of a running job, asked for by each of its new bars, keep batching together.
    """
    key = (url, tuple(sorted(headers.items())), timeout, interval, post)
    with _lock:
        found = _routes.get(key)
        if found is None:
            found = _routes[key] = Route(url, key[1], timeout, interval, post)
            if len(_routes) > MAX_ROUTES:
                _routes.popitem(last=False)
        else:
            _routes.move_to_end(key)
    return found


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's may have been held by a thread that does not exist here


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
