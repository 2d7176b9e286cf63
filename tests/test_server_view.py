"""The broadcaster's view of the tasks: its group rows are exactly what GET /groups computes."""

from __future__ import annotations

import random

import pytest

from progressista.protocol.groups import aggregate, groups
from progressista.server.store import Change
from progressista.server.view import TaskView


def task(status="update", n=1, total=10, unit="it", rate=None, at=0.0):
    return {"status": status, "n": n, "total": total, "unit": unit, "rate": rate, "updated_at": at}


def test_reset_computes_every_group_and_reports_no_change():
    tasks = {"a:1": task(), "a:2": task(n=5), "b:1": task(status="close"), "plain": task()}
    view = TaskView()
    view.reset(tasks)
    assert view.rows_for(view.tasks) == groups(tasks)
    assert view.take_changes() == ({}, [])


def test_only_touched_groups_are_sent_and_only_when_their_row_changed():
    view = TaskView()
    view.reset({"a:1": task(), "b:1": task()})
    view.apply(Change(tasks={"a:1": task(n=2)}))
    rows, gone = view.take_changes()
    assert rows == {"a": aggregate([task(n=2)])} and gone == []
    view.apply(Change(tasks={"a:1": task(n=2)}))  # the same state again: touched, but the row is the same
    assert view.take_changes() == ({}, [])
    view.apply(Change(tasks={"plain": task(n=3)}))  # in no group
    assert view.take_changes() == ({}, [])


def test_a_run_tasks_change_is_its_groups_head_in_the_next_delta():
    run = {**task(n=0, total=None), "desc": "python job.py", "meta": {"kind": "run"}}
    view = TaskView()
    view.reset({"a:1": task(status="close"), "a:run": run})
    assert view.rows_for(view.tasks)["a"]["run"]["status"] == "update"
    ended = {**run, "status": "error", "meta": {"kind": "run", "exit_code": 1, "error": "OSError: disk full"}}
    view.apply(Change(tasks={"a:run": ended}))
    rows, _ = view.take_changes()
    assert rows == groups(view.tasks)
    assert (rows["a"]["status"], rows["a"]["run"]["exit"], rows["a"]["run"]["reason"]) == (
        "error",
        "exit 1",
        "OSError: disk full",
    )
    assert rows["a"]["members"] == 1  # the bars; the run is the head


def test_an_emptied_group_is_reported_once_and_a_group_seen_by_nobody_not_at_all():
    view = TaskView()
    view.reset({"a:1": task(), "a:2": task()})
    view.apply(Change(removed=["a:1", "missing"]))
    assert view.take_changes() == ({"a": aggregate([task()])}, [])
    view.apply(Change(removed=["a:2"]))
    assert view.take_changes() == ({}, ["a"])
    assert view.take_changes() == ({}, [])
    view.apply(Change(tasks={"brief:1": task()}))
    view.apply(Change(removed=["brief:1"]))  # born and gone between two broadcasts
    assert view.take_changes() == ({}, [])
    assert view.rows_for(view.tasks) == {}


def test_a_snapshot_computes_touched_groups_and_the_next_delta_still_carries_them():
    view = TaskView()
    view.reset({})
    view.apply(Change(tasks={"new:1": task(n=4)}))
    assert view.rows_for(view.tasks) == {"new": aggregate([task(n=4)])}
    assert view.take_changes() == ({"new": aggregate([task(n=4)])}, [])  # for dashboards connected before


def test_a_snapshot_newer_than_the_view_gets_its_own_rows():
    """A shared store's snapshot can hold changes pub/sub has not brought yet: its rows follow its tasks."""
    view = TaskView()
    view.reset({"a:1": task(n=1), "b:1": task()})
    snapshot = {"a:1": task(n=5), "b:1": view.tasks["b:1"], "c:1": task(n=2)}
    rows = view.rows_for(snapshot)
    assert rows == groups(snapshot)
    assert rows["b"] is view.rows_for(view.tasks)["b"]  # the same members: the view's row, not computed again


def test_members_are_aggregated_in_id_order_whatever_the_order_they_came_in(monkeypatch):
    # Float sums depend on the order; GET /groups sums in id order.
    seen = []

    def recording(members):
        seen.append([member["task_id"] for member in members])
        return aggregate(members)

    monkeypatch.setattr("progressista.protocol.groups.aggregate", recording)  # what summarise sums with
    view = TaskView()
    view.reset({})
    for i in (3, 0, 4, 1, 2):
        view.apply(Change(tasks={f"g:{i}": {**task(rate=0.1 * i), "task_id": f"g:{i}"}}))
    view.apply(Change(removed=["g:4"]))
    view.apply(Change(tasks={"g:4": {**task(rate=0.4), "task_id": "g:4"}}))
    rows, _ = view.take_changes()
    assert seen == [["g:0", "g:1", "g:2", "g:3", "g:4"]]
    assert rows == groups(view.tasks)


def test_a_broadcast_computes_rows_within_its_budget_oldest_touched_first():
    view = TaskView(budget=10)
    view.reset({f"{prefix}:{i}": task() for prefix in "abcde" for i in range(4)})  # five groups of four
    order = []
    for n in range(2, 7):
        view.apply(Change(tasks={f"{prefix}:0": task(n=n) for prefix in "edcba"}))  # all five, every time
        rows, _ = view.take_changes()
        order.append("".join(rows))
    # 10 members per broadcast: three groups (12), then two (credit 8), ...; never one group twice in a row.
    assert order == ["cde", "ab", "cde", "ab", "cde"]
    while view.waiting:
        view.take_changes()
    assert view.rows_for(view.tasks) == groups(view.tasks)


def test_a_group_larger_than_the_budget_goes_whole_then_waits_its_turns():
    view = TaskView(budget=100)
    view.reset({f"big:{i:03d}": task() for i in range(250)})
    sent = []
    for n in range(2, 10):
        view.apply(Change(tasks={"big:000": task(n=n)}))
        rows, _ = view.take_changes()
        sent.append(rows["big"]["n"] if rows else None)
        assert view.waiting == (not rows)
    assert sent == [251, None, 253, None, None, 256, None, 258]  # 250 members on 100 a broadcast: 2.5 apart
    view.apply(Change(tasks={"big:000": task(n=10)}))
    assert [view.take_changes()[0] for _ in range(2)] == [{}, {}]
    assert view.take_changes()[0]["big"]["n"] == 259  # no further change needed for the last one
    assert not view.waiting


def random_change(rng, ids, store):
    change = Change()
    for task_id in rng.sample(ids, rng.randint(1, 4)):
        if rng.random() < 0.3:
            store.pop(task_id, None)
            change.removed.append(task_id)
        else:
            store[task_id] = change.tasks[task_id] = task(
                status=rng.choice(["start", "update", "stale", "lost", "close", "error"]),
                n=rng.choice([0, 1, 2.5, 7]),
                total=rng.choice([None, 10, 4.0]),
                unit=rng.choice(["it", "B"]),
                rate=rng.choice([None, 0.5, 2.0]),
                at=rng.random(),
            )
    return change


@pytest.mark.parametrize("seed", range(5))
def test_a_dashboard_following_snapshot_and_deltas_always_has_the_rows_get_groups_gives(seed):
    """A dashboard connects now and then: its snapshot, then every delta; a change may come in between."""
    rng = random.Random(seed)
    ids = [f"{prefix}:{i}" for prefix in ("a", "b", "solo") for i in range(3 if prefix != "solo" else 1)] + ["x"]
    store = {}
    view = TaskView(budget=rng.choice([1, 3, 1000]))
    view.reset(store)
    dashboard = view.rows_for(store)
    for _ in range(300):
        view.apply(random_change(rng, ids, store))
        connected = rng.random() < 0.1
        if connected:
            dashboard = view.rows_for(dict(store))
            view.apply(random_change(rng, ids, store))  # between its snapshot and its first delta
        rows, gone = view.take_changes()
        dashboard.update(rows)
        for prefix in gone:
            assert connected or prefix in dashboard, prefix  # a first delta may name one gone before
            dashboard.pop(prefix, None)
        while view.waiting:  # the budget let some wait: the next broadcasts bring them
            rows, gone = view.take_changes()
            dashboard.update(rows)
            for prefix in gone:
                del dashboard[prefix]
        assert dashboard == groups(store)
