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
