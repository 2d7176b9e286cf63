"""Pure task logic: merge, lifecycle decisions, filters, eviction."""

from progressista.protocol.task import TASK_DEFAULTS
from progressista.server.tasks import (
    Decisions,
    Lifecycle,
    count_by_status,
    evictions,
    matches,
    merge,
    new_task_limit,
    sweep,
    with_status,
)


def task(**fields):
    base = {**TASK_DEFAULTS, "task_id": "t", "status": "update", "created_at": 0.0, "updated_at": 0.0, "seen_at": 0.0}
    return {**base, **fields}


def changed(old, event, now=1.0):
    """The new task when the event changed its state; fails otherwise."""
    merged = merge(old, event, now)
    assert merged is not None and merged.changed, merged
    return merged.task


class TestMerge:
    def test_a_new_task_gets_defaults_and_server_times(self):
        new = changed(None, {"task_id": "t", "n": 3}, now=10.0)
        assert new == {
            **TASK_DEFAULTS,
            "task_id": "t",
            "n": 3,
            "status": "update",
            "created_at": 10.0,
            "updated_at": 10.0,
            "seen_at": 10.0,
        }

    def test_missing_fields_keep_their_value(self):
        old = task(desc="Loading", total=100, n=10, meta={"job": "a"})
        new = changed(old, {"task_id": "t", "n": 20}, now=5.0)
        assert (new["desc"], new["total"], new["n"], new["meta"]) == ("Loading", 100, 20, {"job": "a"})
        assert new["updated_at"] == new["seen_at"] == 5.0 and new["created_at"] == 0.0

    def test_explicit_null_clears_a_value(self):
        assert changed(task(total=100), {"task_id": "t", "total": None})["total"] is None

    def test_merge_does_not_mutate_the_old_task(self):
        old = task(n=1)
        merge(old, {"task_id": "t", "n": 2}, now=1.0)
        assert old["n"] == 1

    def test_close_and_error_are_final(self):
        for final in ("close", "error"):
            assert merge(task(status=final), {"task_id": "t", "status": "update", "n": 99}, now=1.0) is None
            assert merge(task(status=final), {"task_id": "t", "n": 99}, now=1.0) is None

    def test_a_new_start_reopens_a_final_task_as_a_new_run(self):
        old = task(status="close", n=100, created_at=0.0, seq=50)
        new = changed(old, {"task_id": "t", "status": "start", "n": 0, "seq": 0}, now=7.0)
        assert (new["status"], new["n"], new["seq"], new["created_at"]) == ("start", 0, 0, 7.0)

    def test_lower_seq_is_ignored_so_bars_never_move_backwards(self):
        old = task(n=50, seq=10)
        assert merge(old, {"task_id": "t", "n": 40, "seq": 9}, now=1.0) is None
        new = changed(old, {"task_id": "t", "n": 60, "seq": 11})
        assert new["n"] == 60 and new["seq"] == 11

    def test_a_start_always_applies_even_with_a_lower_seq(self):
        assert changed(task(n=50, seq=10), {"task_id": "t", "status": "start", "n": 0, "seq": 0})["n"] == 0

    def test_progress_revives_a_stale_or_lost_task(self):
        for status in ("stale", "lost"):
            new = changed(task(status=status, n=1), {"task_id": "t", "status": "update", "n": 2}, now=3.0)
            assert new["status"] == "update" and new["updated_at"] == 3.0

    def test_a_heartbeat_only_moves_seen_at(self):
        old = task(n=5, desc="x", timestamp=1.0, seq=1)
        merged = merge(old, {"task_id": "t", "status": "update", "n": 5, "timestamp": 2.0, "seq": 2}, now=9.0)
        assert merged is not None and not merged.changed
        assert merged.task == {**old, "timestamp": 2.0, "seq": 2, "seen_at": 9.0}

    def test_elapsed_and_rate_alone_are_not_progress(self):
        old = task(n=5, elapsed=10.0, rate=0.5)
        merged = merge(old, {"task_id": "t", "n": 5, "elapsed": 70.0, "rate": 0.1}, now=9.0)
        assert merged is not None and not merged.changed
        assert (merged.task["elapsed"], merged.task["rate"], merged.task["updated_at"]) == (70.0, 0.1, 0.0)

    def test_a_heartbeat_keeps_a_stale_task_stale(self):
        merged = merge(task(status="stale", n=5), {"task_id": "t", "status": "update", "n": 5}, now=9.0)
        assert merged is not None and not merged.changed
        assert merged.task["status"] == "stale" and merged.task["seen_at"] == 9.0

    def test_a_heartbeat_revives_a_lost_task_without_moving_updated_at(self):
        new = changed(task(status="lost", n=5, updated_at=2.0), {"task_id": "t", "status": "update", "n": 5}, now=9.0)
        assert (new["status"], new["updated_at"], new["seen_at"]) == ("update", 2.0, 9.0)

    def test_an_update_alone_does_not_demote_start(self):
        merged = merge(task(status="start"), {"task_id": "t", "status": "update"}, now=2.0)
        assert merged is not None and merged.task["status"] == "start"

    def test_close_of_an_unknown_task_creates_it_closed(self):
        assert changed(None, {"task_id": "t", "status": "close", "n": 10, "total": 10})["status"] == "close"


class TestSweep:
    policy = Lifecycle(stale_seconds=10, retention_seconds=100, max_task_age=1000, lost_seconds=50)

    def test_active_tasks_without_progress_go_stale(self):
        tasks = {
            "idle": task(seen_at=95.0),
            "busy": task(updated_at=95.0, seen_at=95.0),
            "new": task(status="start", seen_at=95.0),
        }
        assert sweep(tasks, now=100.0, policy=self.policy) == Decisions(stale=["idle", "new"])

    def test_open_tasks_without_contact_go_lost(self):
        tasks = {
            "silent": task(updated_at=0.0, seen_at=40.0),
            "stale": task(status="stale", seen_at=40.0),
            "beating": task(status="stale", seen_at=95.0),
            "done": task(status="close", updated_at=95.0),
        }
        assert sweep(tasks, now=100.0, policy=self.policy) == Decisions(lost=["silent", "stale"])

    def test_completed_tasks_are_purged_after_retention_and_lost_ones_too(self):
        tasks = {
            "old": task(status="close"),
            "err": task(status="error", updated_at=50.0),
            "gone": task(status="lost", seen_at=0.0),
            "recent-lost": task(status="lost", seen_at=50.0),
        }
        assert sweep(tasks, now=101.0, policy=self.policy) == Decisions(expired=["old", "gone"])

    def test_any_task_older_than_max_age_is_dropped(self):
        tasks = {
            "ancient": task(created_at=0.0, updated_at=1000.0, seen_at=1000.0),
            "young": task(created_at=500.0, updated_at=1000.0, seen_at=1000.0),
        }
        assert sweep(tasks, now=1001.0, policy=self.policy) == Decisions(expired=["ancient"])

    def test_zero_disables_stale_lost_and_max_age(self):
        tasks = {"t": task(created_at=0.0, updated_at=0.0)}
        assert not sweep(tasks, now=1e9, policy=Lifecycle(0, 100, 0, 0))

    def test_marks_keep_the_clocks(self):
        marked = with_status(task(updated_at=4.0, seen_at=5.0), "lost")
        assert (marked["status"], marked["updated_at"], marked["seen_at"]) == ("lost", 4.0, 5.0)
        assert Decisions(stale=["a"], lost=["b"]).marks() == {"a": "stale", "b": "lost"}


def test_matches_status_and_idle_time():
    t = task(status="close", updated_at=10.0)
    assert matches(t, None, None, now=11.0)
    assert matches(t, frozenset({"close", "error"}), None, now=11.0)
    assert not matches(t, frozenset({"update"}), None, now=11.0)
    assert matches(t, None, older_than=5, now=20.0)
    assert not matches(t, None, older_than=15, now=20.0)


class TestEvictions:
    def test_room_left_means_nothing_to_evict(self):
        assert evictions({"a": task()}, incoming=1, limit=2) == []

    def test_oldest_completed_go_first(self):
        tasks = {
            "active": task(updated_at=0.0),
            "new-close": task(status="close", updated_at=9.0),
            "old-error": task(status="error", updated_at=1.0),
            "mid-close": task(status="close", updated_at=5.0),
        }
        assert evictions(tasks, incoming=2, limit=4) == ["old-error", "mid-close"]

    def test_none_when_only_active_and_stale_tasks_remain(self):
        tasks = {"a": task(), "b": task(status="stale"), "c": task(status="close")}
        assert evictions(tasks, incoming=2, limit=3) is None

    def test_lost_tasks_go_after_completed_ones_longest_silent_first(self):
        """Found by the adversarial pass (issue 23): lost tasks were never evicted, so bars
        killed at once (or one POST of made-up ids) held the cap for the retention window."""
        tasks = {
            "active": task(updated_at=0.0, seen_at=0.0),
            "stale": task(status="stale", updated_at=0.0, seen_at=0.0),
            "lost-recent": task(status="lost", updated_at=0.0, seen_at=8.0),
            "lost-old": task(status="lost", updated_at=7.0, seen_at=2.0),  # by contact, not by change
            "close": task(status="close", updated_at=9.0, seen_at=9.0),
        }
        assert evictions(tasks, incoming=1, limit=5) == ["close"]  # completed first, even the newest
        assert evictions(tasks, incoming=2, limit=5) == ["close", "lost-old"]
        assert evictions(tasks, incoming=3, limit=5) == ["close", "lost-old", "lost-recent"]
        assert evictions(tasks, incoming=4, limit=5) is None  # never an active or stale task

    def test_ties_go_by_id_as_in_a_redis_sorted_set(self):
        tasks = {name: task(status="lost", seen_at=1.0) for name in ("b", "c", "a")}
        assert evictions(tasks, incoming=2, limit=3) == ["a", "b"]

    def test_tasks_the_request_names_are_kept(self):
        tasks = {"old": task(status="close", updated_at=1.0), "new": task(status="close", updated_at=2.0)}
        assert evictions(tasks, incoming=1, limit=2, keep={"old"}) == ["new"]
        assert evictions(tasks, incoming=1, limit=2, keep={"old", "new"}) is None
        lost = {"gone": task(status="lost"), "also": task(status="lost", seen_at=1.0)}
        assert evictions(lost, incoming=1, limit=2, keep={"gone"}) == ["also"]  # its event revives it


def test_one_request_may_create_a_tenth_of_the_cap_and_at_least_100():
    assert [new_task_limit(cap) for cap in (10_000, 2_000, 1_001, 1_000, 150, 100, 40, 1)] == [
        1_000,
        200,
        100,
        100,
        100,
        100,
        40,
        1,
    ]


def test_count_by_status():
    assert count_by_status([task(), task(), task(status="close")]) == {"update": 2, "close": 1}
