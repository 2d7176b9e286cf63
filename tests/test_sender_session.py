"""The sender's session: ``timeout`` bounds the whole answer, so a dripping server cannot hold the sender."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from badserver import OK_BODY, BadServer, drip_body, drip_headers, dripping, ok
from support import wait_until

from progressista.api import post_events
from progressista.sender import Sender, route
from progressista.sender.session import Session

EVENTS = [{"task_id": "t", "n": 1}]


def blocked_after(seconds: float, call: Callable[[], Any]) -> bool:
    """Run ``call`` on a daemon thread: is it still running after ``seconds``?"""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive()


def test_a_body_dripped_past_the_timeout_is_cut_at_the_timeout() -> None:
    with BadServer(drip_body) as bad, Session() as session:
        started = time.monotonic()
        response = post_events(session, bad.url, EVENTS, {}, 0.5)
        took = time.monotonic() - started
        assert response.status_code == 200 and response.content == b""  # the status counts; the cut body is dropped
        assert took < 2.0, took
        # The negative control: a plain session reads on, each byte well within its timeout.
        with requests.Session() as plain:
            assert blocked_after(3.0, lambda: post_events(plain, bad.url, EVENTS, {}, 0.5))


def test_headers_dripped_past_the_timeout_are_a_read_timeout() -> None:
    with BadServer(drip_headers) as bad, Session() as session:
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            post_events(session, bad.url, EVENTS, {}, 0.5)
        assert time.monotonic() - started < 2.0
        with requests.Session() as plain:
            assert blocked_after(3.0, lambda: post_events(plain, bad.url, EVENTS, {}, 0.5))


def test_a_slow_answer_within_the_timeout_is_read_whole_and_the_connection_kept() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(OK_BODY)
    with BadServer(dripping(head, OK_BODY, every=0.01)) as slow, Session() as session:
        for _ in range(2):
            assert post_events(session, slow.url, EVENTS, {}, 5.0).content == OK_BODY
        assert (slow.requests, slow.connections) == (2, 1)
    with BadServer(ok) as good, Session() as session:  # the socket's own timeout is restored between requests
        for _ in range(3):
            assert post_events(session, good.url, EVENTS, {}, 0.5).json() == {"accepted": 1, "applied": 1}
        assert good.connections == 1


def test_the_sender_keeps_trying_while_a_server_drips() -> None:
    sender = Sender()  # its own, not the process's
    try:
        with BadServer(drip_headers) as bad:
            sender.submit(route(bad.url, {}, 0.3, 0.05, post_events), "t", dict(EVENTS[0]), urgent=True)
            # Each post times out in 0.3 s and is retried after its backoff (0.5 s, then 1 s…): not stuck on the first.
            wait_until(lambda: sender.stats["failures"] >= 3, timeout=15, what="three timed-out posts")
            assert bad.requests >= 3 and sender.pending_count() == 1  # the event waits for a server that answers
    finally:
        sender.close()


def test_a_timeout_pair_bounds_connect_plus_read() -> None:
    with BadServer(drip_headers) as bad, Session() as session:
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            session.post(bad.url, json=EVENTS, timeout=(0.2, 0.3), stream=True)
        assert time.monotonic() - started < 2.0
