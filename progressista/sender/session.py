"""The sender thread's HTTP session: requests' environment settings read once per URL, and a wall-clock deadline.

requests' ``timeout`` bounds each socket operation, not the request: a server
that drips its answer one byte at a time, each within the timeout, holds a
plain session for as long as it likes, and with it every bar of the process.
:class:`Session` makes ``timeout`` a bound on reading the whole answer
(status line, headers and body), counted from the start of the request.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Session"]

# The deadline (time.monotonic()) of the request this thread is making; read when its answer starts.
_request = threading.local()


class Session(requests.Session):
    """A ``requests.Session`` with a deadline per request, reading its environment once per URL.

    The deadline: ``timeout`` seconds after a request starts, reading its
    answer fails with ``requests.ReadTimeout`` (or, while streaming the body,
    urllib3's ``ReadTimeoutError``), however the server paces its bytes.
    Connecting and sending keep their own per-operation ``timeout``.

    The environment: requests consults it on each request (proxy variables,
    ``REQUESTS_CA_BUNDLE``, ``~/.netrc``). Those scans and file checks are
    system calls, and each one lets the reporting program's busy thread take
    the GIL back, which is what posting costs the job. The same settings are
    used, read at the first post to each URL.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # the environment is applied by request() below
        self._environment: dict[str, tuple[dict[str, str], str | None, Any]] = {}
        for prefix in ("http://", "https://"):
            self.mount(prefix, _DeadlineAdapter())

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        key = url.decode() if isinstance(url, bytes) else url
        found = self._environment.get(key)
        if found is None:
            environ = os.environ
            found = self._environment[key] = (
                requests.utils.get_environ_proxies(key),
                environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE"),
                requests.utils.get_netrc_auth(key),
            )
        proxies, ca_bundle, netrc_auth = found
        if kwargs.get("proxies") is None and proxies:
            kwargs["proxies"] = dict(proxies)
        if kwargs.get("verify") is None and ca_bundle:
            kwargs["verify"] = ca_bundle
        if kwargs.get("auth") is None and netrc_auth is not None and self.auth is None:
            kwargs["auth"] = netrc_auth
        return super().request(method, url, *args, **kwargs)


class _DeadlineReads(io.RawIOBase):
    """A socket's reads, each allowed only the time left before ``deadline``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._reads = sock.makefile("rb", buffering=0)  # counts as the socket's reader, as http.client's own does
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer took longer than the request's timeout")
        timeout = self._sock.gettimeout()
        self._sock.settimeout(left if timeout is None else min(timeout, left))
        try:
            return self._reads.readinto(buffer)
        finally:
            self._sock.settimeout(timeout)  # sending the next request keeps the pool's timeout

    def close(self) -> None:
        self._reads.close()
        super().close()


class _DeadlineSocket:
    """What http.client's response asks of its socket (``makefile``), with the deadline on every read."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReads(self._sock, self._deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        deadline: float | None = getattr(_request, "deadline", None)
        super().__init__(sock if deadline is None else _DeadlineSocket(sock, deadline), *args, **kwargs)  # type: ignore[arg-type]


class _Connection(HTTPConnection):
    response_class = _DeadlineResponse


class _TLSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _Pool, "https": _TLSPool}


class _DeadlineAdapter(HTTPAdapter):
    """An adapter whose connections read each answer under the request's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools have connection classes of their own
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        seconds = _seconds(timeout)
        _request.deadline = None if seconds is None else time.monotonic() + seconds
        try:
            return super().send(request, stream, timeout, verify, cert, proxies)
        finally:
            _request.deadline = None


def _seconds(timeout: Any) -> float | None:
    """The whole time a requests ``timeout`` allows: a number, or connect + read of a pair (``None``: unbounded)."""
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    if any(not isinstance(part, (int, float)) for part in parts):
        return None
    return float(sum(parts))
