"""protocol.task: the one finiteness check and the one list of progress fields."""

from __future__ import annotations

import enum
import sys

import pytest

from progressista.protocol.task import BOOKKEEPING, EVENT_FIELDS, PROGRESS_FIELDS, TASK_DEFAULTS, finite


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (-7, -7),
        (2.5, 2.5),
        (Level.HIGH, 3),
        (sys.float_info.max, sys.float_info.max),
        (float("nan"), None),
        (float("inf"), None),
        (-float("inf"), None),
        (10**400, None),
        (-(10**400), None),
        (True, None),
        (None, None),
        ("3", None),
        ([1], None),
    ],
)
def test_finite(value: object, expected: object) -> None:
    assert finite(value) == expected


def test_progress_fields_are_the_event_fields_that_are_not_bookkeeping() -> None:
    assert set(PROGRESS_FIELDS) | BOOKKEEPING | {"task_id", "status"} == set(EVENT_FIELDS)
    assert not set(PROGRESS_FIELDS) & BOOKKEEPING
    assert {"n", "total", "desc", "postfix", "meta"} <= set(PROGRESS_FIELDS)
    assert set(TASK_DEFAULTS) == set(EVENT_FIELDS) - {"task_id", "status"}
