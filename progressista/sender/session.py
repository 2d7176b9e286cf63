"""The sender thread's HTTP session: requests' environment settings, read once per URL."""

from __future__ import annotations

import os
from typing import Any

import requests

__all__ = ["Session"]


class Session(requests.Session):
    """A ``requests.Session`` that reads its environment once per URL, not on every request.

    requests consults the environment on each request (proxy variables,
    ``REQUESTS_CA_BUNDLE``, ``~/.netrc``). Those scans and file checks are system
    calls, and each one lets the reporting program's busy thread take the GIL
    back, which is what posting costs the job. The same settings are used, read
    at the first post to each URL.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # the environment is applied by request() below
        self._environment: dict[str, tuple[dict[str, str], str | None, Any]] = {}

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
