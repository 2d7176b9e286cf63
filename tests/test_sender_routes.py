"""Routes (progressista.sender.routes): interned, so the sender keys its pending events by them cheaply."""

from __future__ import annotations

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
