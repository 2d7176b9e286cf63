import pytest

from progressista.events import FILTERS, TASK_STATUSES, expand_status_filter


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
