import pytest

from progressista.protocol.statuses import FILTERS, TASK_STATUSES, expand_status_filter


def test_every_status_is_its_own_filter():
    for status in TASK_STATUSES:
        assert expand_status_filter(status) == {status}


def test_groups_and_comma_lists():
    assert expand_status_filter("active") == {"start", "update"}
    assert expand_status_filter("completed") == {"close", "error"}
    assert expand_status_filter("completed, stale") == {"close", "error", "stale"}
    assert expand_status_filter(["active", "error"]) == {"start", "update", "error"}


def test_unknown_name_is_named_in_the_error():
    with pytest.raises(ValueError, match="'finished'"):
        expand_status_filter("close,finished")


def test_filters_cover_statuses_and_groups():
    assert set(FILTERS) == {*TASK_STATUSES, "active", "attention", "completed"}
    assert expand_status_filter("attention") == {"stale", "lost"}


def test_feed_messages_of_both_modes_are_read():
    from progressista.protocol.feed import FeedUpdate, parse_feed_message

    assert parse_feed_message('{"type": "snapshot", "tasks": {"a": {"n": 1}}}') == FeedUpdate({"a": {"n": 1}}, None)
    assert parse_feed_message('{"tasks": {}}') == FeedUpdate({}, None)  # default mode: whole state
    assert parse_feed_message(b'{"type": "delta", "tasks": {}, "removed": ["a", 5]}') == FeedUpdate({}, ["a"])
    assert parse_feed_message('{"type": "delta", "tasks": {}}') == FeedUpdate({}, [])
    for junk in ("not json", "[]", '{"tasks": []}', '"x"'):
        assert parse_feed_message(junk) is None
