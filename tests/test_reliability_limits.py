"""Limits under hostile input (issue 23), memory and Redis, against a real uvicorn on loopback.

- The cap lockout: tasks that go lost are evicted (after completed ones) to make
  room, and one request may not create more than a share of the cap (413).
- Number extremes: an integer past the float range, or any number not finite as
  a float64, is a 422 naming the field, changes nothing and logs no traceback;
  ``seq`` and ``pid`` are bounded by 2**53 - 1; no aggregate answers Infinity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support import LiveServer, wait_until
from websockets.sync.client import connect

from progressista.protocol.task import MAX_SEQ

BACKENDS = ["memory", "redis"]


@pytest.fixture(params=BACKENDS)
def start(request, start_server):
    """``start(**settings)``: a server on the parametrised store."""
    extra = request.getfixturevalue("redis_settings") if request.param == "redis" else {}
    return lambda **settings: start_server(**{**extra, **settings})


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """Errors the server logs meanwhile (uvicorn's "Exception in ASGI application" among them)."""
    handler = Collect()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "progressista")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def post_raw(server: LiveServer, body: str) -> Any:
    return server.http.post(
        server.url + "/progress", data=body.encode(), headers={"Content-Type": "application/json"}, timeout=10
    )


def strict_json(text: str) -> Any:
    """JSON as a browser reads it: Infinity and NaN are not JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"the server answered {name}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------- the cap


def test_lost_tasks_make_room_for_new_ones(start):
    """Found by the adversarial pass: new ids filled the cap, went lost, and every new task got 429 for a day."""
    server = start(max_tasks=200, lost_seconds=0.3, cleanup_interval=0.05)
    for part in range(2):  # a request may create 100 of the 200 (new_task_limit)
        assert server.post([{"task_id": f"junk-{part}-{k}"} for k in range(100)]).status_code == 200
    wait_until(lambda: {t["status"] for t in server.tasks().values()} == {"lost"}, what="the junk to go lost")
    response = server.post({"task_id": "real", "status": "start"})
    assert response.status_code == 200, response.text
    tasks = server.tasks()
    assert len(tasks) == 200 and tasks["real"]["status"] == "start"


def test_without_lost_tasks_a_full_cap_still_refuses_new_ones(start):
    """The negative control: open tasks are never evicted, so the cap answers 429 naming itself."""
    server = start(max_tasks=200, lost_seconds=0)
    for part in range(2):
        assert server.post([{"task_id": f"busy-{part}-{k}"} for k in range(100)]).status_code == 200
    response = server.post({"task_id": "one-more"})
    assert response.status_code == 429 and "max_tasks=200" in response.json()["detail"]


def test_one_request_cannot_take_more_than_a_tenth_of_the_cap(start):
    server = start()  # max_tasks 10,000: a request may create 1,000 tasks
    with server_errors() as errors:
        response = server.post([{"task_id": f"new-{k}"} for k in range(1001)])
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "body: one request may create at most 1000 new tasks (a tenth of max_tasks=10000, at least 100); "
            "send the new task ids in smaller batches"
        )
        assert server.tasks() == {}  # changes nothing
        assert server.post([{"task_id": f"new-{k}"} for k in range(1000)]).status_code == 200
        assert server.post({"task_id": "one-more"}).status_code == 200  # and the server goes on
    assert errors == []


# ---------------------------------------------------------------- numbers

HUGE = [str(2**1024), str(-(2**1024)), str(10**400), "1e309", "-1e400", "1" * 5000]


@pytest.mark.parametrize("field", ["n", "total", "timestamp", "elapsed", "rate"])
def test_numbers_past_the_float_range_are_422_naming_the_field(start, field):
    """Found by the adversarial pass: n = 2**1024 gave a 500 and a 68-line traceback."""
    server = start()
    server.post({"task_id": "kept", "n": 1})
    before = server.tasks()
    with server_errors() as errors:
        for value in HUGE:
            response = post_raw(server, f'{{"task_id": "kept", "{field}": {value}}}')
            assert response.status_code == 422, (value, response.text)
            detail = response.json()["detail"]
            if len(value) < 4000:
                assert detail.startswith(f"{field}: must be a finite number"), detail
            else:  # past what a JSON parser reads at all: where it stopped
                assert detail.startswith("body: Invalid JSON: number out of range at line 1"), detail
        assert server.tasks() == before
        assert post_raw(server, f'{{"task_id": "kept", "{field}": 1.7976931348623157e308}}').status_code == 200
    assert errors == []


@pytest.mark.parametrize("field", ["seq", "pid"])
def test_seq_and_pid_are_bounded_where_both_stores_compare_exactly(start, field):
    """Found by the adversarial pass: the Redis store compared seq as doubles, the memory store as ints."""
    server = start()
    with server_errors() as errors:
        for value in (MAX_SEQ + 1, 2**1024, -1):
            response = server.post({"task_id": "t", field: value})
            assert response.status_code == 422 and response.json()["detail"].startswith(f"{field}: "), response.text
        assert server.tasks() == {}
        assert server.post({"task_id": "t", field: MAX_SEQ}).status_code == 200  # the bound itself is fine
    assert errors == []


def test_groups_and_the_feed_never_answer_infinity(start):
    """Found by the adversarial pass: members near the float limit made ``GET /groups`` answer Infinity."""
    server = start()
    near = 1.7976931348623157e308
    events = [{"task_id": f"run:{k}", "n": near, "total": near, "rate": near} for k in range(2)]
    events += [{"task_id": f"ints:{k}", "n": 0, "total": 2**1023, "rate": 1.0} for k in range(2)]
    assert server.post(events).status_code == 200
    response = server.http.get(server.url + "/groups", timeout=5)
    groups = strict_json(response.text)["groups"]
    assert (groups["run"]["n"], groups["run"]["rate"], groups["run"]["progress"]) == (None, None, 1.0)
    assert (groups["ints"]["total"], groups["ints"]["eta"]) == (None, None)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        snapshot = strict_json(str(ws.recv(timeout=5)))
    assert snapshot["groups"] == groups
