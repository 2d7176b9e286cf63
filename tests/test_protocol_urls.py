from __future__ import annotations

import pytest

from progressista.protocol.urls import ServerUrls, progress_url, server_urls


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://localhost:8000/progress", "http://localhost:8000"),
        ("http://localhost:8000/progress/", "http://localhost:8000"),
        ("localhost:8000", "http://localhost:8000"),
        ("  http://h:1/tasks?status=active  ", "http://h:1"),
        ("https://dash.example.com/progress", "https://dash.example.com"),
        ("ws://h:8000/ws", "http://h:8000"),
        ("wss://dash.example.com/ws", "https://dash.example.com"),
        ("WSS://dash.example.com/ws", "https://dash.example.com"),
        ("http://proxy/progressista/progress", "http://proxy/progressista"),
        ("http://proxy/progressista/ws", "http://proxy/progressista"),
        ("http://h/static/index.html?token=x", "http://h"),
        ("http://[::1]:8000/health", "http://[::1]:8000"),
        ("http://user:pw@h:8000/", "http://user:pw@h:8000"),
        # Any page of the server names it: the API list, the docs, one task, a dashboard file.
        ("http://host:8000/groups", "http://host:8000"),
        ("http://host:8000/docs", "http://host:8000"),
        ("http://host:8000/docs/oauth2-redirect", "http://host:8000"),
        ("http://host:8000/redoc", "http://host:8000"),
        ("http://host:8000/openapi.json", "http://host:8000"),
        ("http://host:8000/alerts?state=error", "http://host:8000"),
        ("http://host:8000/history?key=train", "http://host:8000"),
        ("http://host:8000/tasks/run-1%3Arank%2F0", "http://host:8000"),
        ("http://host:8000/static/", "http://host:8000"),
        ("http://host:8000/static/js/api.js", "http://host:8000"),
        ("http://proxy/progressista/groups/", "http://proxy/progressista"),
        ("http://proxy/progressista/docs#/default", "http://proxy/progressista"),
        ("http://proxy/progressista", "http://proxy/progressista"),  # a prefix that starts like an endpoint
        ("http://proxy/my-groups", "http://proxy/my-groups"),
    ],
)
def test_every_form_names_the_same_server(given: str, base: str) -> None:
    urls = server_urls(given)
    ws_scheme = "wss" if base.startswith("https") else "ws"
    assert urls == ServerUrls(
        base=base,
        progress=base + "/progress",
        ws=ws_scheme + base[base.index(":") :] + "/ws",
        tasks=base + "/tasks",
        token=urls.token,
    )


def test_a_token_in_the_query_is_kept_apart() -> None:
    urls = server_urls("wss://dash.example.com/ws?mode=delta&token=s%20cret")
    assert urls.token == "s cret"
    assert urls.ws == "wss://dash.example.com/ws"
    assert server_urls("http://h").token is None


@pytest.mark.parametrize(
    ("given", "message"),
    [("", "empty"), ("   ", "empty"), ("ftp://h/progress", "unsupported URL scheme"), ("http://", "no host")],
)
def test_bad_urls_are_refused_with_a_reason(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        server_urls(given)


def test_progress_url() -> None:
    assert progress_url("ws://h:1/ws") == "http://h:1/progress"
