"""The sender's rules (progressista.sender.rules), tested directly: no thread, no clock, no server."""

from __future__ import annotations

import math

import pytest

from progressista.sender.routes import Route
from progressista.sender.rules import (
    DONE,
    DROP,
    EARLY_SPACING,
    FIRST_BACKOFF,
    MAX_BACKOFF,
    RETRY,
    SPLIT,
    URGENT_GAP,
    Entry,
    RouteState,
    backoff,
    chunks,
    due_hooks,
    merge,
    outcome,
    put,
    requeue,
    retry_after,
    shed,
    take_due,
)

ROUTE = Route("http://h/progress", (), 2.0, 0.25, lambda *request: None)


def entry(status: str = "update", seq: int | None = None, size: int = 512, **fields: object) -> Entry:
    event = {"status": status, **fields}
    if seq is not None:
        event["seq"] = seq
    return Entry(event, urgent=status != "update", size=size)


def statuses(pending: dict[str, Entry]) -> dict[str, object]:
    return {task_id: e.event["status"] for task_id, e in pending.items()}


# -- merge: latest state wins, but a start or a final status is never lost to an update ------


def test_the_latest_update_wins() -> None:
    old, new = entry(seq=1, n=1), entry(seq=2, n=2)
    assert merge(old, new) is new
    unnumbered = entry(n=3)  # events without a seq (raw sender users): the later one wins
    assert merge(new, unnumbered) is unnumbered


@pytest.mark.parametrize("final", ["close", "error"])
def test_a_pending_final_is_not_replaced_by_an_update(final: str) -> None:
    old = entry(final, seq=1)
    assert merge(old, entry(seq=2)) is old
    assert merge(old, entry("start", seq=1)) is not old  # a new start reopens, as on the server
    assert merge(entry(seq=9), entry(final, seq=3)).event["status"] == final  # a final is never refused for its seq


def test_an_older_update_loses_to_the_pending_newer_one() -> None:
    # A heartbeat is built on the sender thread: it may arrive after a newer state.
    newer = entry(seq=5, n=7)
    assert merge(newer, entry(seq=4, n=6)) is newer
    assert merge(newer, entry(seq=5, n=8)).event["n"] == 8  # the same seq: the later one wins


def test_a_pending_start_is_not_lost_to_an_update() -> None:
    update = Entry({"status": "update", "seq": 2, "n": 3})
    kept = merge(entry("start", seq=1, n=0), update)
    assert kept.event == {"status": "start", "seq": 2, "n": 3}
    assert kept.urgent  # it goes out promptly, as the start would have
    assert merge(entry("start", seq=1), entry("close", seq=2)).event["status"] == "close"


# -- put: coalescing into the pending entries, in the order tasks last reported ---------------


def test_put_keeps_one_entry_per_task_ordered_by_last_report() -> None:
    pending: dict[str, Entry] = {}
    for task_id, n in (("a", 1), ("b", 1), ("c", 1), ("a", 2)):
        assert list(put(pending, task_id, entry(n=n), limit=10)) == []
    assert list(pending) == ["b", "c", "a"]  # a reported last
    assert pending["a"].event["n"] == 2


def test_put_sheds_past_the_limit_and_only_when_a_task_is_added() -> None:
    pending: dict[str, Entry] = {}
    put(pending, "a", entry("close"), limit=2)
    put(pending, "b", entry(), limit=2)
    assert list(put(pending, "b", entry(n=5), limit=2)) == []  # a newer state of a pending task adds nothing
    assert list(put(pending, "c", entry(), limit=2)) == ["b"]
    assert statuses(pending) == {"a": "close", "c": "update"}
    assert list(put(pending, "d", entry("error"), limit=2)) == ["c"]  # a final is kept over a plain state
    assert list(put(pending, "e", entry(), limit=2)) == ["e"]  # all else is final: the newcomer goes


# -- shed: what goes when too many tasks are pending -----------------------------------------


def test_shed_drops_the_task_that_reported_longest_ago() -> None:
    pending: dict[str, Entry] = {}
    for task_id in ("busy", "quiet", "newer"):
        put(pending, task_id, entry(), limit=10)
    put(pending, "busy", entry(n=9), limit=10)  # first to arrive, but it reported again since
    assert shed(pending, 2) == ["quiet"]
    assert list(pending) == ["newer", "busy"]


def test_shed_drops_finals_last_and_the_oldest_of_them_first() -> None:
    pending = {"f1": entry("close"), "u1": entry(), "f2": entry("error"), "s1": entry("start"), "f3": entry("close")}
    assert shed(pending, 5) == []
    assert shed(pending, 1) == ["u1", "s1", "f1", "f2"]
    assert list(pending) == ["f3"]


# -- requeue: failed entries come back, older than anything pending --------------------------


def test_requeue_puts_failed_entries_first_and_merges_newer_states() -> None:
    failed = [("a", entry(seq=1, n=1)), ("b", entry("close", seq=4)), ("c", entry("start", seq=1))]
    pending = {"d": entry(), "b": entry(seq=5, n=9), "c": entry(seq=2, n=2)}
    merged, dropped = requeue(pending, failed, limit=10)
    assert dropped == []
    assert list(merged) == ["a", "d", "b", "c"]  # a failed, and nothing newer: first
    assert merged["b"].event["status"] == "close"  # the failed close survives the later update
    assert (merged["c"].event["status"], merged["c"].event["n"]) == ("start", 2)  # the start carries the news


def test_requeue_sheds_past_the_limit() -> None:
    merged, dropped = requeue({"new": entry()}, [("old", entry()), ("done", entry("close"))], limit=2)
    assert dropped == ["old"]
    assert list(merged) == ["done", "new"]


# -- RouteState: when a route may post next -------------------------------------------------


def test_a_fresh_route_posts_at_once() -> None:
    state = RouteState()
    assert state.due(0.25, urgent=False) == state.due(0.25, urgent=True) == -math.inf


def test_updates_wait_for_the_interval_and_urgent_events_for_the_gap() -> None:
    state = RouteState()
    state.last_post = 100.0
    assert state.due(0.25, urgent=False) == 100.25
    assert state.due(60.0, urgent=True) == 100.0 + URGENT_GAP
    assert state.due(0.01, urgent=True) == 100.01  # never later than an update would go


def test_early_posts_are_spaced() -> None:
    state = RouteState()
    state.last_post = 100.0
    state.took(100.1, interval=60.0)  # taken before the interval passed: an early post
    assert state.last_early == 100.1
    state.last_post = 100.1
    assert state.due(60.0, urgent=True) == 100.1 + EARLY_SPACING
    assert state.due(0.1, urgent=True) == pytest.approx(100.2)  # the spacing is the interval when shorter
    state.took(200.0, interval=60.0)  # the interval had passed: not early
    assert state.last_early == 100.1


# -- take_due: what goes out now, and when to look again -------------------------------------


def taken(batches: list[tuple[Route, list[tuple[str, Entry]]]]) -> list[list[str]]:
    return [[task_id for task_id, _ in items] for _, items in batches]


def test_a_fresh_route_posts_what_is_pending_at_once() -> None:
    pending = {ROUTE: {"a": entry(), "b": entry("start")}}
    batches, wake_at = take_due(pending, {}, now=100.0, draining=False)
    assert taken(batches) == [["a", "b"]] and wake_at == math.inf
    assert pending == {ROUTE: {}}  # taken out; an empty route goes at the next look
    take_due(pending, {}, now=100.0, draining=False)
    assert pending == {}


def test_updates_wait_out_the_interval_but_an_urgent_event_takes_them_along() -> None:
    state = RouteState()
    state.last_post = 100.0
    pending = {ROUTE: {"a": entry()}}
    batches, wake_at = take_due(pending, {ROUTE: state}, now=100.1, draining=False)
    assert batches == [] and wake_at == 100.25
    pending[ROUTE]["b"] = entry("close")
    batches, _ = take_due(pending, {ROUTE: state}, now=100.1, draining=False)
    assert taken(batches) == [["a", "b"]]  # an early post, carrying the update too
    assert state.last_early == 100.1


def test_held_entries_and_routes_in_backoff_wait() -> None:
    state = RouteState()
    held = Entry({"status": "close"}, urgent=True, ready_at=101.0, held=True)
    pending = {ROUTE: {"held": held, "now": entry()}}
    batches, wake_at = take_due(pending, {ROUTE: state}, now=100.0, draining=False)
    assert taken(batches) == [["now"]] and wake_at == 101.0
    state.retry_at = 105.0
    assert take_due(pending, {ROUTE: state}, now=102.0, draining=False) == ([], 105.0)
    assert taken(take_due(pending, {ROUTE: state}, now=105.0, draining=False)[0]) == [["held"]]


def test_a_flush_takes_everything_but_from_routes_that_failed_during_it() -> None:
    state, failed = RouteState(), RouteState()
    state.retry_at, state.last_post = 200.0, 100.0
    failed.drain_failed = True
    other = Route("http://other/progress", (), 2.0, 0.25, lambda *request: None)
    held = Entry({"status": "close"}, urgent=True, ready_at=150.0, held=True)
    pending = {ROUTE: {"a": entry(), "held": held}, other: {"b": entry()}}
    batches, _ = take_due(pending, {ROUTE: state, other: failed}, now=100.0, draining=True)
    assert taken(batches) == [["a", "held"]]
    assert list(pending) == [other]


# -- due_hooks: periodic hooks on the sender thread -----------------------------------------


def test_hooks_run_one_interval_after_they_are_first_seen_then_every_interval() -> None:
    def tick() -> None: ...

    def never() -> None: ...

    periodic = [(tick, lambda: 5.0), (never, lambda: 0.0)]
    next_run: dict[object, float] = {}
    assert due_hooks(periodic, next_run, now=100.0) == ([], 105.0)  # scheduled, not run
    assert due_hooks(periodic, next_run, now=104.0) == ([], 105.0)
    assert due_hooks(periodic, next_run, now=105.5) == ([tick], 110.5)
    assert next_run[never] == math.inf


# -- backoff and Retry-After ------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [
        FIRST_BACKOFF,
        2 * FIRST_BACKOFF,
        4 * FIRST_BACKOFF,
        8 * FIRST_BACKOFF,
    ]
    assert backoff(7) == backoff(100) == backoff(10**6) == MAX_BACKOFF  # a long outage neither overflows nor grows
    assert backoff(0) == backoff(1)


def test_backoff_jitter_and_retry_after() -> None:
    assert backoff(1, jitter=1.2) == pytest.approx(1.2 * FIRST_BACKOFF)
    assert backoff(100, jitter=0.8) == pytest.approx(0.8 * MAX_BACKOFF)
    assert backoff(1, retry_after=5.0) == 5.0  # the server asked for longer: it wins
    assert backoff(3, retry_after=0.1) == 4 * FIRST_BACKOFF  # shorter: the backoff stands
    assert backoff(1, retry_after=3600.0) == MAX_BACKOFF  # but no server makes a client wait an hour


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("0", 0.0),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("-1", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds


# -- outcome: what an answer means for the events posted ------------------------------------


@pytest.mark.parametrize(
    ("status", "count", "expected"),
    [
        (200, 5, DONE),
        (204, 1, DONE),
        (408, 5, RETRY),
        (429, 5, RETRY),
        (500, 1, RETRY),
        (503, 5, RETRY),
        (413, 5, SPLIT),
        (422, 2, SPLIT),
        (422, 1, DROP),
        (413, 1, DROP),
        (401, 5, DROP),
        (403, 5, DROP),
        (404, 5, DROP),
        (307, 5, DROP),
    ],
)
def test_outcome(status: int, count: int, expected: str) -> None:
    assert outcome(status, count) == expected


# -- chunks: batches cut by estimated size ---------------------------------------------------


def test_chunks_cut_by_size_in_order() -> None:
    items = [(f"t{i}", entry(size=size)) for i, size in enumerate([100, 100, 100, 1000, 10, 10])]
    cut = chunks(items, 250)
    assert [[task_id for task_id, _ in chunk] for chunk in cut] == [["t0", "t1"], ["t2"], ["t3"], ["t4", "t5"]]
    assert [item for chunk in cut for item in chunk] == items
    assert chunks([], 250) == []
