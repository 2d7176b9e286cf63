"""A small synchronous client for the server's REST API, built on ``requests``.

Used by the CLI (``tasks ls``/``tasks rm``), the terminal dashboard and scripts;
the bars' background sender posts through :func:`post_events`. Every request
has a timeout.

>>> with ProgressistaApi("http://localhost:8000", token="s3cret") as api:  # doctest: +SKIP
...     api.post_events({"task_id": "job-1", "n": 3, "total": 10})
...     tasks = api.tasks(status="active")
...     api.delete_tasks(status="completed")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from .config import DEFAULT_REQUEST_TIMEOUT, auth_headers
from .protocol.feed import describe_error
from .protocol.urls import server_urls

__all__ = ["ApiError", "ProgressistaApi", "post_events"]


class ApiError(Exception):
    """A request failed; the message is one line, fit for a CLI error."""

    def __init__(self, message: str, status_code: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
        """The server's own words (its ``detail``), when it answered."""


#: What every POST and DELETE says it sends; the server refuses other types (415), as a cross-site form has.
JSON_CONTENT = {"Content-Type": "application/json"}

#: The most of an answer's body :func:`post_events` reads: the sender needs its status and a line for the log.
MAX_RESPONSE_BYTES = 64 * 1024


def post_events(
    session: requests.Session,
    url: str,
    payload: Sequence[Mapping[str, Any]],
    headers: Mapping[str, str],
    timeout: float,
) -> requests.Response:
    """POST a batch of events as one JSON array; returns the response, raises on network errors.

    Reads at most :data:`MAX_RESPONSE_BYTES` of the answer's body, as sent (it
    asks for no compression and decodes none): a longer body is cut there and
    its connection closed, and a body that fails or times out midway is left
    empty, so a misbehaving server cannot fill the job's memory. With the
    sender's :class:`~progressista.sender.session.Session`, ``timeout`` also
    bounds the time the whole answer takes. Redirects are not followed: a
    redirected POST would lose its body, so a wrong URL shows as a 3xx in the
    logs instead.
    """
    response = session.post(
        url,
        json=list(payload),
        headers={"Accept-Encoding": "identity", **headers},
        timeout=timeout,
        allow_redirects=False,
        stream=True,
    )
    _read_at_most(response, MAX_RESPONSE_BYTES)
    return response


def _read_at_most(response: requests.Response, limit: int) -> None:
    """Read up to ``limit`` bytes of a streamed body into ``response.content``, then let the connection go.

    A body read to its end leaves the connection to the pool, for the next
    request; one cut short (too long, failed, timed out) closes it.
    """
    try:
        body = response.raw.read(limit + 1, decode_content=False)
        complete = len(body) <= limit
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError):
        body, complete = b"", False
    response._content = body[:limit]
    response._content_consumed = complete  # type: ignore[attr-defined]  # False: close() drops the connection
    response.close()
    response._content_consumed = True  # type: ignore[attr-defined]


class ProgressistaApi:
    """The REST API of one server. ``url`` may be any form :func:`~progressista.protocol.urls.server_urls` accepts.

    A ``?token=`` in the URL is used when no ``token`` is given.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.urls = server_urls(url)
        self.timeout = timeout
        self.headers = auth_headers(token or self.urls.token)
        self._own_session = session is None
        self.session = session or requests.Session()

    def __enter__(self) -> ProgressistaApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def post_events(self, events: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Send one event or a list of them: ``{"accepted": N, "applied": N}``."""
        body = [events] if isinstance(events, Mapping) else list(events)
        return self._request("POST", self.urls.progress, json=body)

    def tasks(self, status: str | None = None, older_than: float | None = None) -> dict[str, dict[str, Any]]:
        """``{task_id: task}``, optionally filtered (``status="active,stale"``, idle ``older_than`` seconds)."""
        tasks: dict[str, dict[str, Any]] = self._request("GET", self.urls.tasks, params=_filters(status, older_than))[
            "tasks"
        ]
        return tasks

    def delete_task(self, task_id: str) -> list[str]:
        """Remove one task; :class:`ApiError` with status 404 when there is none."""
        url = f"{self.urls.tasks}/{quote(task_id, safe='')}"
        removed: list[str] = self._request("DELETE", url)["removed"]
        return removed

    def delete_ids(self, task_ids: Iterable[str]) -> list[str]:
        """Remove these tasks (each once) through ``DELETE /tasks?task_id=…``; returns the ids removed.

        Unlike :meth:`delete_task`, this works for every id, ``.`` and ``..``
        included, which a URL path cannot carry; ids already gone are skipped.
        """
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            return []
        removed: list[str] = self._request("DELETE", self.urls.tasks, params={"task_id": ids})["removed"]
        return removed

    def delete_tasks(self, status: str | None = None, older_than: float | None = None, all: bool = False) -> list[str]:
        """Remove the matching tasks (every task only with ``all=True``); returns their ids."""
        params = _filters(status, older_than)
        if all:
            params["all"] = "true"
        removed: list[str] = self._request("DELETE", self.urls.tasks, params=params)["removed"]
        return removed

    def access(self) -> dict[str, Any]:
        """What this token may do: ``{"role": "read", "can": ["read"], "tokens": True}``.

        ``can`` holds ``ingest``, ``read`` and ``admin`` (deleting) as granted; an
        open server answers ``admin``. A server older than roles has no
        ``/access``: :class:`ApiError` with status 404.
        """
        return self._request("GET", self.urls.base + "/access")

    def alerts(self, limit: int = 50) -> dict[str, Any]:
        """``{"alerts": [...], "rules": N, "pending": N}``: the recent alerts, newest first."""
        return self._request("GET", self.urls.base + "/alerts", params={"limit": str(limit)})

    def test_alerts(self, timeout: float = 60.0) -> dict[str, Any]:
        """Have the server send a test notification to every target; one record a rule, with the outcomes.

        Waits up to ``timeout`` seconds: the server gives each target its own try and timeout.
        """
        return self._request("POST", self.urls.base + "/alerts/test", timeout=timeout)

    def history(
        self, key: str | None = None, group: str | None = None, status: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """``{"runs": [...], "usual": {key: {"duration", "rate", "runs"}}, "enabled": bool}``, newest first."""
        params = {name: value for name, value in (("key", key), ("group", group), ("status", status)) if value}
        return self._request("GET", self.urls.base + "/history", params={**params, "limit": str(limit)})

    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "tasks": N, "active": N, "by_status": {...}}``."""
        return self._request("GET", self.urls.base + "/health")

    def _request(self, method: str, url: str, timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        # The server refuses a POST or DELETE not declared JSON (415), bodiless or not: forms on other sites send none.
        headers = self.headers if method == "GET" else {**self.headers, **JSON_CONTENT}
        wait = self.timeout if timeout is None else timeout
        try:
            response = self.session.request(method, url, headers=headers, timeout=wait, **kwargs)
        except requests.Timeout:
            raise ApiError(f"cannot reach {self.urls.base} (no answer within {wait:g} s)") from None
        except requests.RequestException as exc:
            raise ApiError(f"cannot reach {self.urls.base} ({describe_error(exc)})") from None
        if response.status_code >= 400:
            detail = _detail(response)
            raise ApiError(f"{method} {url}: HTTP {response.status_code}: {detail}", response.status_code, detail)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise ApiError(f"{method} {url}: the answer is not JSON; is this a Progressista server?") from None
        return body


def _filters(status: str | None, older_than: float | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if status:
        params["status"] = status
    if older_than is not None:
        params["older_than"] = repr(float(older_than))
    return params


def _detail(response: requests.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail else (response.text.strip() or response.reason or "")
    return " ".join(text.split())[:300]
