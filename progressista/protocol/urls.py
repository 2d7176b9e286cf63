"""Turn whatever URL a user gives into the server's endpoints. Pure, standard library.

Users paste the dashboard address, the ``/progress`` endpoint or a WebSocket URL
interchangeably; every command that talks to a server accepts all of them:

>>> urls = server_urls("wss://progress.example.com/ws?token=s3cret")
>>> urls.base, urls.progress, urls.ws, urls.token
('https://progress.example.com', 'https://progress.example.com/progress', 'wss://progress.example.com/ws', 's3cret')
>>> server_urls("localhost:8000").progress
'http://localhost:8000/progress'
>>> server_urls("http://proxy/progressista/progress/").base
'http://proxy/progressista'
>>> [server_urls(f"http://h:8000/{page}").base for page in ("groups", "docs", "openapi.json", "alerts?x=1")]
['http://h:8000', 'http://h:8000', 'http://h:8000', 'http://h:8000']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit, urlunsplit

__all__ = ["ServerUrls", "progress_url", "server_urls"]

# scheme given -> (HTTP scheme, WebSocket scheme)
_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss"), "ws": ("http", "ws"), "wss": ("https", "wss")}

# The server's own pages (API, docs, one task, dashboard files): a URL ending with one names the server.
_ENDPOINT = re.compile(
    r"/(?:progress|ws|groups|health|metrics|alerts|history|redoc|openapi\.json"
    r"|docs(?:/oauth2-redirect)?|tasks(?:/[^/]+)?|static(?:/.*)?)$"
)


@dataclass(frozen=True)
class ServerUrls:
    """The endpoints of one server, derived from any URL that points at it."""

    base: str
    """``http(s)://host[:port][/prefix]``, no trailing slash."""
    progress: str
    """Where events are POSTed."""
    ws: str
    """The WebSocket feed (``ws://`` or ``wss://``)."""
    tasks: str
    """``GET``/``DELETE`` task listing."""
    token: str | None = None
    """A ``?token=`` the URL carried (dashboard links do), else ``None``."""


def server_urls(url: str) -> ServerUrls:
    """Normalise a base URL, a ``.../progress`` URL, a ``ws(s)://.../ws`` URL or any other page of the server.

    Pages: the API's (``/tasks``, ``/tasks/ID``, ``/groups``, ``/health``, ``/metrics``,
    ``/alerts``, ``/history``), the docs (``/docs``, ``/redoc``, ``/openapi.json``)
    and the dashboard's files (``/static/…``); whatever is before them is a path prefix.

    A missing scheme means ``http``. Query strings and fragments are dropped,
    except that a ``token`` parameter is kept in :attr:`ServerUrls.token`.
    Raises ``ValueError`` for an empty URL, another scheme or a missing host.
    """
    text = url.strip()
    if not text:
        raise ValueError("empty server URL")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} in {url!r}; use http, https, ws or wss")
    if not parts.netloc or not parts.hostname:
        raise ValueError(f"no host in server URL {url!r}")
    http_scheme, ws_scheme = _SCHEMES[scheme]
    path = _ENDPOINT.sub("", parts.path.rstrip("/"), count=1).rstrip("/")
    tokens = parse_qs(parts.query).get("token")
    base = urlunsplit((http_scheme, parts.netloc, path, "", ""))
    return ServerUrls(
        base=base,
        progress=base + "/progress",
        ws=urlunsplit((ws_scheme, parts.netloc, path + "/ws", "", "")),
        tasks=base + "/tasks",
        token=tokens[-1] if tokens else None,
    )


@lru_cache(maxsize=64)
def progress_url(url: str) -> str:
    """The ``/progress`` endpoint for ``url`` (cached: every new bar asks)."""
    return server_urls(url).progress
