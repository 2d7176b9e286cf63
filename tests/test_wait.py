"""progressista.wait: the decisions of `progressista wait`, from task maps (pure, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from progressista.wait import DONE, FAILED, PENDING, Target, Tracker, decide, summary, timeout_summary


def tasks(**statuses: str) -> dict[str, dict[str, Any]]:
    """``tasks(a="close")`` -> ``{"a": {"status": "close"}}``; ``__`` in a name stands for ``:``."""
    return {name.replace("__", ":"): {"status": status} for name, status in statuses.items()}


IDS = Target(task_ids=("a", "b"))
GROUP = Target(groups=("run",))
GROUP_R = Target(groups=("r",))


@pytest.mark.parametrize(
    ("seen", "target", "outcome"),
    [
        (tasks(a="close", b="close"), IDS, DONE),
        (tasks(a="close", b="update"), IDS, PENDING),
        (tasks(a="close", b="stale"), IDS, PENDING),  # stale is alive: wait on
        (tasks(a="close", b="start"), IDS, PENDING),
        (tasks(a="close"), IDS, PENDING),  # b not seen yet
        (tasks(a="update", b="error"), IDS, FAILED),  # fails at once, a still running
        (tasks(a="lost", b="close"), IDS, FAILED),
        (tasks(a="close", b="close", c="error"), IDS, DONE),  # c is not waited for
        (tasks(run__1="close", run__2="close", other__1="update", run="update"), GROUP, DONE),
        (tasks(run__1="close", run__2="update"), GROUP, PENDING),
        (tasks(run__1="close", run__2="error"), GROUP, FAILED),
        ({}, GROUP, PENDING),  # an empty group waits for members
        (tasks(runner__1="update", run__1="close"), GROUP, DONE),  # a prefix, not a startswith
        (tasks(run__1="close", a="update", b="close"), Target(("a", "b"), ("run",)), PENDING),
        (tasks(run__1="close", a="close", b="close"), Target(("a", "b"), ("run",)), DONE),
        (tasks(run__1="close", run__2="close"), Target(groups=("run",), min_tasks=3), PENDING),
        (tasks(run__1="close", run__2="close", run__3="close"), Target(groups=("run",), min_tasks=3), DONE),
        (tasks(a="close", b="mystery"), IDS, PENDING),  # an unknown status is not an ending
    ],
)
def test_decide(seen: dict[str, dict[str, Any]], target: Target, outcome: str) -> None:
    assert decide(seen, target).outcome == outcome


def test_the_verdict_counts_and_orders_failures_by_time() -> None:
    seen = {
        "run:a": {"status": "close"},
        "run:b": {"status": "update"},
        "run:c": {"status": "error", "updated_at": 20.0, "meta": {"signal": "SIGTERM"}},
        "run:d": {"status": "lost", "updated_at": 10.0},
    }
    verdict = decide(seen, GROUP)
    assert (verdict.matched, verdict.closed, verdict.open) == (4, 1, ("run:b",))
    assert verdict.failed == (("run:d", "lost", None, None), ("run:c", "error", "SIGTERM", None))


def test_removed_tasks_keep_an_ending_and_lose_an_open_state() -> None:
    tracker = Tracker(Target(task_ids=("a",), groups=("run",)))
    tracker.snapshot(tasks(a="update", run__1="close", run__2="update", other="update"))
    assert set(tracker.tasks) == {"a", "run:1", "run:2"}  # only matching tasks are kept
    tracker.delta({}, removed=["run:1", "run:2", "a"])
    assert set(tracker.tasks) == {"run:1"}  # the closed one still counts
    verdict = tracker.verdict()
    assert verdict.outcome == PENDING and verdict.missing == ("a",)  # an explicit id is waited for again
    tracker.delta(tasks(a="close"), removed=[])  # its bar came back (next update or heartbeat), then closed
    assert tracker.verdict().outcome == DONE


def test_a_discarded_group_member_no_longer_holds_the_group() -> None:
    tracker = Tracker(GROUP)
    tracker.snapshot(tasks(run__1="close", run__stuck="stale"))
    assert tracker.verdict().outcome == PENDING
    tracker.delta({}, removed=["run:stuck"])
    assert tracker.verdict().outcome == DONE


def test_a_new_snapshot_counts_as_removing_what_it_lacks() -> None:
    tracker = Tracker(GROUP)
    tracker.snapshot(tasks(run__1="close", run__2="update"))
    tracker.snapshot(tasks(run__3="update"))  # a server restarted with an empty memory, say
    assert set(tracker.tasks) == {"run:1", "run:3"}


def test_junk_in_messages_is_ignored() -> None:
    tracker = Tracker(IDS)
    tracker.delta({"a": "not a task"}, removed=["never-seen"])
    assert tracker.tasks == {}


def test_summaries() -> None:
    done = decide(tasks(a="close", b="close", c="close"), Target(("a", "b", "c")))
    assert summary(done, 12.44) == "3 tasks closed in 12.4 s"
    assert summary(decide(tasks(a="close"), Target(("a",))), 0.04) == "1 task closed in 0.0 s"
    failed = decide({"run-42:rank-3": {"status": "error"}}, Target(groups=("run-42",)))
    assert summary(failed, 1) == "run-42:rank-3 ended error"
    several = decide(
        {"r:1": {"status": "lost", "updated_at": 1}, "r:2": {"status": "error", "updated_at": 2}},
        Target(groups=("r",)),
    )
    assert summary(several, 1) == "r:1 is lost (no contact); 1 more failed"
    signalled = decide({"r:1": {"status": "error", "meta": {"signal": "SIGTERM"}}}, Target(groups=("r",)))
    assert summary(signalled, 1) == "r:1 ended error (SIGTERM)"


def test_the_summary_says_why_a_task_failed() -> None:
    def line(**task: Any) -> str:
        return summary(decide({"etl:load": task}, Target(groups=("etl",))), 1)

    assert line(status="error", meta={"error": "KeyError: 'id'"}) == "etl:load ended error: KeyError: 'id'"
    # The exception is the reason; a signal is said only when there is nothing else (as on the cards).
    assert line(status="error", meta={"error": "KeyboardInterrupt", "signal": "SIGINT"}) == (
        "etl:load ended error: KeyboardInterrupt"
    )
    assert line(status="error", meta={"error": "ValueError: a\nb"}) == "etl:load ended error: ValueError: a b"
    # Negative controls: no reason, no colon; a lost task's leftover meta is no reason.
    assert line(status="error", meta={}) == "etl:load ended error"
    assert line(status="error", meta={"error": ""}) == "etl:load ended error"
    assert line(status="lost", meta={"error": "old news"}) == "etl:load is lost (no contact)"


def test_a_group_is_not_done_while_its_run_task_is_open() -> None:
    """``progressista run job.py & progressista wait --group RUN``: closed bars and a pause are not the end."""
    run = {"status": "update", "desc": "python job.py", "meta": {"kind": "run"}}
    bars = {"r:a": {"status": "close"}, "r:b": {"status": "close"}}
    pausing = decide({**bars, "r:run": run}, GROUP_R)
    assert (pausing.outcome, pausing.open) == (PENDING, ("r:run",))
    assert decide(bars, GROUP_R).outcome == DONE  # negative control: without the run task, those bars are done
    ended = decide({**bars, "r:run": {**run, "status": "close", "meta": {"kind": "run", "exit_code": 0}}}, GROUP_R)
    assert ended.outcome == DONE and ended.closed == 3
    failed = {**run, "status": "error", "meta": {"kind": "run", "exit_code": 1, "error": "RuntimeError: boom at 40"}}
    verdict = decide({**bars, "r:run": failed}, GROUP_R)
    assert verdict.outcome == FAILED
    assert summary(verdict, 1) == "r:run ended error: RuntimeError: boom at 40"


def test_timeout_summaries() -> None:
    five = Target(groups=("g",))
    verdict = decide(tasks(g__1="close", g__2="close", g__3="close", g__4="update", g__5="stale"), five)
    assert timeout_summary(verdict, 30, five) == "timed out after 30 s: 2 of 5 tasks still open"
    ids = Target(("a", "b", "c"))
    assert timeout_summary(decide(tasks(a="update", b="close"), ids), 2.5, ids) == (
        "timed out after 2.5 s: 2 of 3 tasks still open (1 not seen yet)"
    )
    one = Target(("x",))
    assert timeout_summary(decide({}, one), 1, one) == "timed out after 1 s: 1 of 1 task not seen yet"
    assert timeout_summary(decide({}, five), 30, five) == "timed out after 30 s: no task in group 'g' yet"
    two = Target(groups=("a", "b"))
    assert timeout_summary(decide({}, two), 30, two) == "timed out after 30 s: no task in groups 'a', 'b' yet"
    more = Target(groups=("g",), min_tasks=4)
    assert timeout_summary(decide(tasks(g__1="close"), more), 3, more) == (
        "timed out after 3 s: 1 task closed, fewer than the 4 expected"
    )
