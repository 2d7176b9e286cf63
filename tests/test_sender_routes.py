"""Routes (progressista.sender.routes): interned, so the sender keys its pending events by them cheaply."""

from __future__ import annotations

from typing import Any

import requests

from progressista.api import post_events
from progressista.sender import Route, route


def test_equal_settings_give_the_same_route() -> None:
    a = route("http://h/progress", {"b": "2", "a": "1"}, 2.0, 0.25, post_events)
    assert route("http://h/progress", {"a": "1", "b": "2"}, 2.0, 0.25, post_events) is a  # header order is no setting
    assert isinstance(a, Route) and a.headers == (("a", "1"), ("b", "2"))


def test_any_other_setting_gives_another_route() -> None:
    a = route("http://h/progress", {"a": "1"}, 2.0, 0.25, post_events)
    others = [
        route("http://other/progress", {"a": "1"}, 2.0, 0.25, post_events),
        route("http://h/progress", {"a": "2"}, 2.0, 0.25, post_events),
        route("http://h/progress", {}, 2.0, 0.25, post_events),
        route("http://h/progress", {"a": "1"}, 3.0, 0.25, post_events),
        route("http://h/progress", {"a": "1"}, 2.0, 0.5, post_events),
        route("http://h/progress", {"a": "1"}, 2.0, 0.25, lambda *request: None),
    ]
    assert all(other is not a for other in others)
    assert len({id(other) for other in others}) == len(others)


def test_the_table_is_bounded_and_keeps_the_routes_in_use() -> None:
    from progressista.sender import routes

    hot = route("http://h/progress", {"job": "hot"}, 2.0, 0.25, post_events)
    for i in range(routes.MAX_ROUTES * 3):  # a bar per job, each with its own token
        route("http://h/progress", {"Authorization": f"Bearer {i}"}, 2.0, 0.25, post_events)
        if i % 100 == 0:
            assert route("http://h/progress", {"job": "hot"}, 2.0, 0.25, post_events) is hot  # a job still running
    assert len(routes._routes) == routes.MAX_ROUTES
    assert route("http://h/progress", {"job": "hot"}, 2.0, 0.25, post_events) is hot


def test_a_forgotten_route_still_posts_beside_its_successor() -> None:
    from progressista.sender import routes
    from progressista.sender.worker import Sender

    posted: list[tuple[str, list[str]]] = []

    def post(
        session: requests.Session, url: str, payload: list[dict[str, Any]], headers: dict[str, str], timeout: float
    ) -> requests.Response:
        posted.append((headers["job"], sorted(event["task_id"] for event in payload)))
        response = requests.Response()
        response.status_code = 200
        return response

    # A long push interval: nothing is due before the flush, which then posts one batch per route.
    old = route("http://h/progress", {"job": "j"}, 2.0, 60.0, post)
    for i in range(routes.MAX_ROUTES):
        route("http://h/progress", {"job": str(i)}, 2.0, 60.0, post)
    new = route("http://h/progress", {"job": "j"}, 2.0, 60.0, post)
    assert new is not old  # forgotten: an equal new one
    sender = Sender()
    try:
        sender.submit(old, "a", {"task_id": "a"})
        sender.submit(new, "b", {"task_id": "b"})
        sender.submit(new, "c", {"task_id": "c"})
        assert sender.flush(5)
    finally:
        sender.close()
    assert sorted(posted) == [("j", ["a"]), ("j", ["b", "c"])]  # both delivered; each route one batch


def test_the_sender_forgets_idle_route_states() -> None:
    """A process that keeps making bars with new header values keeps a bounded state table (issue 21, item 7)."""
    from progressista.sender.rules import MAX_ROUTE_STATES
    from progressista.sender.worker import Sender

    posted: list[str] = []

    def post(
        session: requests.Session, url: str, payload: list[dict[str, Any]], headers: dict[str, str], timeout: float
    ) -> requests.Response:
        posted.extend(event["task_id"] for event in payload)
        response = requests.Response()
        response.status_code = 200
        return response

    sender = Sender()
    try:
        for i in range(MAX_ROUTE_STATES * 3):  # a job a token, each posting once
            job = route("http://h/progress", {"Authorization": f"Bearer {i}"}, 2.0, 0.0, post)
            sender.submit(job, f"t{i}", {"task_id": f"t{i}"})
            if i % 500 == 0:
                assert sender.flush(5)
        assert sender.flush(5)
        assert len(posted) == MAX_ROUTE_STATES * 3  # every event went
        assert len(sender._states) <= MAX_ROUTE_STATES + 1
    finally:
        sender.close()
