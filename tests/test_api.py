from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests
from badserver import OK_BODY, BadServer, endless_body, ok
from support import LiveServer, free_socket

from progressista.api import MAX_RESPONSE_BYTES, ApiError, ProgressistaApi, post_events


def test_post_list_and_delete(server: LiveServer) -> None:
    with ProgressistaApi(server.url + "/progress") as api:
        assert api.post_events({"task_id": "a/1", "n": 1, "total": 3})["accepted"] == 1
        api.post_events([{"task_id": "b", "status": "close"}, {"task_id": "c", "n": 2}])
        assert set(api.tasks()) == {"a/1", "b", "c"}
        assert set(api.tasks(status="active")) == {"a/1", "c"}
        assert api.health()["tasks"] == 3
        assert api.delete_task("a/1") == ["a/1"]
        assert api.delete_tasks(status="completed") == ["b"]
        assert api.delete_tasks(all=True) == ["c"]
        assert api.tasks(older_than=0) == {}


def test_errors_are_one_line_with_the_status(server: LiveServer) -> None:
    with ProgressistaApi(server.url) as api:
        with pytest.raises(ApiError, match="HTTP 404") as missing:
            api.delete_task("nope")
        assert missing.value.status_code == 404
        with pytest.raises(ApiError, match=r"HTTP 422: .*n") as bad:
            api.post_events({"task_id": "x", "n": "three"})
        assert "\n" not in str(bad.value)


def test_token_from_argument_or_url(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="t0ken")
    with ProgressistaApi(server.url) as api, pytest.raises(ApiError, match="401"):
        api.tasks()
    with ProgressistaApi(server.url, token="t0ken") as api:
        assert api.tasks() == {}
    with ProgressistaApi(server.url + "/static/index.html?token=t0ken") as api:
        assert api.tasks() == {}


def test_unreachable_server() -> None:
    with free_socket() as sock:  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        with (
            ProgressistaApi(f"http://127.0.0.1:{port}", timeout=1) as api,
            pytest.raises(ApiError, match="cannot reach"),
        ):
            api.health()


def test_delete_ids_removes_any_id_even_dot_dot(server):
    from progressista.api import ProgressistaApi

    server.post([{"task_id": ".."}, {"task_id": "a/b"}, {"task_id": "keep"}])
    with ProgressistaApi(server.url) as api:
        assert sorted(api.delete_ids(["..", "a/b", "..", "missing"])) == ["..", "a/b"]
        assert api.delete_ids([]) == []
    assert set(server.tasks()) == {"keep"}


def test_post_events_reads_a_capped_part_of_an_endless_body() -> None:
    with BadServer(endless_body) as bad, requests.Session() as session:
        answers: list[requests.Response] = []
        posts = (post_events(session, bad.url, [], {}, 2.0) for _ in "ab")
        thread = threading.Thread(target=lambda: answers.extend(posts))
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "post_events is still reading an endless body"
        assert [(r.status_code, len(r.content)) for r in answers] == [(200, MAX_RESPONSE_BYTES)] * 2
        assert bad.connections == 2  # a body cut short closes its connection; it is not reused
    with BadServer(ok) as good, requests.Session() as session:  # the negative control: a whole answer, kept alive
        assert [post_events(session, good.url, [], {}, 2.0).content for _ in "ab"] == [OK_BODY] * 2
        assert good.connections == 1
