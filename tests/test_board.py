"""progressista.board: the columns, groups, order and filter shared by `watch` and `tasks ls`; pure."""

import pytest

from progressista.board import Board, Item, matches, newest_first, parse_terms, search_text, seen_at
from progressista.protocol.groups import aggregate, groups


def test_seen_at_falls_back_to_updated_at():
    assert seen_at({"seen_at": 7.0, "updated_at": 5.0}) == 7.0
    assert seen_at({"updated_at": 5.0}) == 5.0


def test_filter_matches_every_term_anywhere():
    task = {
        "desc": "Training ResNet",
        "status": "error",
        "postfix": "loss=0.31",
        "host": "gpu-7",
        "meta": {"run": "r-42"},
    }
    text = search_text("exp:train", task)
    assert matches(text, parse_terms("resnet GPU-7"))
    assert matches(text, parse_terms("exp: r-42 loss"))
    assert matches(text, parse_terms("error"))
    assert not matches(text, parse_terms("resnet cpu"))
    assert matches(text, ())


def test_newest_first_breaks_ties_by_id():
    tasks = {"b": {"updated_at": 5}, "a": {"updated_at": 5}, "c": {"updated_at": 9}, "d": {}}
    assert newest_first(tasks) == ["c", "a", "b", "d"]


# ---------------------------------------------------------------- board


def task(status="update", updated=1.0, **fields):
    return {"status": status, "updated_at": updated, "n": 1, "total": 10, **fields}


def test_columns_put_each_status_in_its_column_newest_first():
    board = Board()
    board.replace(
        {
            "old": task(updated=1),
            "new": task("start", updated=3),
            "idle": task("stale"),
            "done": task("close", updated=2),
            "failed": task("error", updated=4),
        }
    )
    columns = board.columns()
    assert columns["active"].task_ids == ["new", "old"]
    assert columns["stale"].task_ids == ["idle"]
    assert columns["completed"].task_ids == ["failed", "done"]
    assert board.counts() == {"active": 2, "stale": 1, "completed": 2}


def test_prefixed_tasks_group_and_the_group_sorts_by_its_newest_member():
    board = Board()
    board.replace(
        {
            "etl:extract": task(updated=1),
            "etl:load": task(updated=5),
            "etl:report": task("close", updated=2),
            "solo:one": task(updated=3),
            "plain": task(updated=4),
        }
    )
    active = board.columns()["active"]
    assert active.items == (
        Item("group", "etl", size=2),
        Item("task", "etl:load", indent=1),
        Item("task", "etl:extract", indent=1),
        Item("task", "plain"),
        Item("group", "solo", size=1),
        Item("task", "solo:one", indent=1),  # alone, still a group (GET /groups)
    )
    assert active.members == {"etl": ("etl:load", "etl:extract"), "solo": ("solo:one",)}
    # A group with tasks in several columns has a row in each.
    completed = board.columns()["completed"]
    assert completed.items == (Item("group", "etl", size=1), Item("task", "etl:report", indent=1))
    assert completed.groups == ["etl"]


@pytest.mark.parametrize(
    ("task_id", "group"),
    [("etl:extract", "etl"), ("a:b:c", "a"), ("plain", None), (":leading", None), ("trailing:", None)],
)
def test_grouping_follows_group_of(task_id, group):
    board = Board()
    board.replace({task_id: task()})
    assert board.columns()["active"].groups == ([group] if group else [])
    assert list(board.groups()) == list(groups(board.tasks))


def test_folded_groups_hide_their_tasks_in_that_column_only():
    board = Board()
    board.replace({"etl:a": task(updated=2), "etl:b": task("close"), "x": task(updated=1)})
    columns = board.columns(collapsed=lambda column, prefix: column == "active" and prefix == "etl")
    assert columns["active"].items == (Item("group", "etl", size=1, collapsed=True), Item("task", "x"))
    assert columns["active"].task_ids == ["x"]
    assert columns["active"].members == {"etl": ("etl:a",)}  # what d on the row would remove
    assert columns["completed"].items == (Item("group", "etl", size=1), Item("task", "etl:b", indent=1))


def test_aggregates_are_those_of_groups_and_follow_every_change():
    board = Board()
    tasks = {
        "run:a": task(n=30, total=100, rate=2.5, updated=1),
        "run:b": task("lost", n=10, total=None, updated=2),
        "run:c": task("close", n=100, total=100, rate=1.25, updated=3),
        "mixed:rows": task(n=5, total=10, unit="rows"),
        "mixed:bytes": task("error", n=1.5, total=6.0, unit="B"),
        "plain": task(),
    }
    board.replace(tasks)
    assert board.groups() == groups(tasks)
    assert board.aggregate("run") == aggregate([tasks["run:a"], tasks["run:b"], tasks["run:c"]])
    assert board.aggregate("plain") is None and board.aggregate("nope") is None
    assert board.aggregate("mixed")["unit"] is None and board.aggregate("mixed")["status"] == "error"
    cached = board.aggregate("run")
    assert board.aggregate("run") is cached  # kept until a member changes
    board.apply({"mixed:rows": task(n=6, total=10, unit="rows")})
    assert board.aggregate("run") is cached
    board.apply({"run:a": task(n=31, total=100, rate=2.5), "run:d": task("stale")}, removed=["run:c"])
    assert board.aggregate("run") is not cached
    assert board.groups() == groups(board.tasks)
    assert board.members("run") == ["run:a", "run:b", "run:d"]
    board.apply({}, removed=["mixed:rows", "mixed:bytes"])
    assert "mixed" not in board.groups()
    board.replace({"new:one": task()})
    assert board.groups() == groups(board.tasks)


def test_filter_counts_show_of_total():
    board = Board()
    board.replace({"a": task(desc="alpha"), "b": task(desc="beta"), "c": task("close", desc="alpha done")})
    columns = board.columns(parse_terms("alpha"))
    assert columns["active"].task_ids == ["a"]
    assert columns["active"].count_label == "1 of 2"
    assert columns["completed"].count_label == "1"
    assert board.columns()["active"].count_label == "2"


def test_delta_updates_removes_and_refreshes_the_search_text():
    board = Board()
    board.replace({"a": task(desc="alpha"), "b": task()})
    assert board.columns(("alpha",))["active"].task_ids == ["a"]
    touched = board.apply({"a": task(desc="renamed", updated=9), "c": task("close")}, removed=["b", "unknown"])
    assert touched == {("task", "a"), ("task", "b"), ("task", "c")}
    assert set(board.tasks) == {"a", "c"}
    assert board.columns(("alpha",))["active"].task_ids == []
    assert board.columns(("renamed",))["active"].task_ids == ["a"]


def test_snapshot_replaces_everything_and_reports_what_changed():
    board = Board()
    board.replace({"keep": task(), "change": task(n=1), "gone": task(), "old:x": task()})
    changed = board.replace({"keep": task(), "change": task(n=2), "new": task(), "run:a": task()})
    # Every group row too: a snapshot may bring new server rows for any of them.
    assert changed == {
        ("task", "change"),
        ("task", "gone"),
        ("task", "new"),
        ("task", "old:x"),
        ("task", "run:a"),
        ("group", "old"),
        ("group", "run"),
    }
    assert set(board.tasks) == {"keep", "change", "new", "run:a"}


def test_board_ignores_malformed_entries():
    board = Board()
    board.replace({"ok": task(), "bad": "not a task"})
    board.apply({"worse": 3})
    assert set(board.tasks) == {"ok"}


def test_a_delta_touches_the_rows_of_the_groups_its_tasks_belong_to():
    board = Board()
    board.replace({"run:a": task(), "run:b": task(), "solo": task()})
    assert board.apply({"run:a": task(n=2)}) == {("task", "run:a"), ("group", "run")}
    assert board.apply({}, removed=["run:b", "solo"]) == {("task", "run:b"), ("group", "run"), ("task", "solo")}
    assert board.apply({}, removed=["run:a"]) == {("task", "run:a"), ("group", "run")}
    assert board.groups() == {}


# ---------------------------------------------------------------- the server's group rows


def served_row(n, **fields):
    """A row the server sent: marked, so a test tells it from one the board computed."""
    return {**aggregate([task(n=n)]), "served": True, **fields}


def test_the_servers_group_rows_are_used_as_they_come():
    board = Board()
    tasks = {"run:a": task(n=3), "run:b": task("close", n=10), "solo:x": task()}
    board.replace(tasks, groups={"run": served_row(13), "solo": served_row(1)})
    assert board.served
    assert board.aggregate("run")["served"] and board.aggregate("solo")["served"]
    assert board.groups() == {"run": served_row(13), "solo": served_row(1)}
    # A delta brings the rows that changed; the others stay.
    touched = board.apply({"run:a": task(n=4)}, groups={"run": served_row(14)})
    assert touched == {("task", "run:a"), ("group", "run")}
    assert board.aggregate("run") == served_row(14) and board.aggregate("solo") == served_row(1)
    # A group whose last member went: its row goes.
    touched = board.apply({}, removed=["solo:x"], groups={}, groups_removed=["solo"])
    assert ("group", "solo") in touched
    assert board.aggregate("solo") is None and set(board.groups()) == {"run"}


def test_a_group_the_server_left_out_is_computed_so_every_prefix_with_a_member_has_a_row():
    board = Board()
    tasks = {"run:a": task(n=3), "lone:x": task(n=7)}
    board.replace(tasks, groups={"run": served_row(3), "ghost": served_row(1)})
    assert board.aggregate("lone") == aggregate([tasks["lone:x"]])
    assert "served" not in board.aggregate("lone")
    assert set(board.groups()) == {"run", "lone"}  # a row the server sent for no known member is not shown
    assert board.aggregate("ghost") is None
    board.apply({}, groups={}, groups_removed=["run"])  # removed by the server while a member is still here
    assert board.aggregate("run") == aggregate([tasks["run:a"]])


def test_without_group_rows_from_the_server_the_board_computes_them():
    """An older server sends no "groups": the rows are the board's own, kept up to date with every member."""
    board = Board()
    board.replace({"run:a": task(n=3)}, groups={"run": served_row(3)})
    touched = board.apply({"run:b": task(n=5)})  # no groups: the server stopped sending them
    assert not board.served and ("group", "run") in touched
    assert board.aggregate("run") == aggregate([task(n=3), task(n=5)])
    board.replace({"run:a": task(n=1)})
    assert not board.served and board.aggregate("run") == aggregate([task(n=1)])
    touched = board.apply({}, groups={"run": served_row(1)})  # and back
    assert board.served and board.aggregate("run") == served_row(1) and ("group", "run") in touched


# ---------------------------------------------------------------- the run at the head


def run_task(status="update", updated=1.0, **meta):
    fields = {"desc": "python job.py", "n": 0, "total": None}
    return {"status": status, "updated_at": updated, **fields, "meta": {"kind": "run", **meta}}


def test_a_groups_run_task_is_its_row_not_a_card():
    board = Board()
    board.replace({"job:a": task(updated=2), "job:b": task("close", updated=3), "job:run": run_task(updated=9)})
    assert board.head("job") == "job:run" and board.aggregate("job")["run"]["command"] == "python job.py"
    active, completed = board.columns()["active"], board.columns()["completed"]
    assert active.items == (Item("group", "job", size=1), Item("task", "job:a", indent=1))
    assert active.members == {"job": ("job:run", "job:a")}  # what d on the row removes: the run too
    assert active.total == active.shown == 2  # still a task of its column
    assert completed.items == (Item("group", "job", size=1), Item("task", "job:b", indent=1))
    # The run ends: its row moves with it, still without a card.
    board.apply({"job:run": run_task("error", updated=10, exit_code=2)})
    assert board.columns()["active"].items == (Item("group", "job", size=1), Item("task", "job:a", indent=1))
    assert board.columns()["completed"].members == {"job": ("job:run", "job:b")}
    assert board.columns()["completed"].task_ids == ["job:b"]
    # Alone, or matched alone by the filter, a run is a row with no card under it.
    board.replace({"early:run": run_task()})
    assert board.columns()["active"].items == (Item("group", "early", size=0),)
    board.replace({"job:a": task(desc="Extract"), "job:run": run_task()})
    assert board.columns(parse_terms("job.py"))["active"].items == (Item("group", "job", size=0),)


def test_the_head_is_the_one_the_servers_row_names():
    board = Board()
    tasks = {"job:a": task(), "job:run": run_task()}
    board.replace(tasks, groups={"job": served_row(1, run={"task_id": "job:a"})})  # whatever the server says
    assert board.head("job") == "job:a" and board.columns()["active"].task_ids == ["job:run"]
    board.apply({}, groups={"job": served_row(1)})  # a row without a run: every member is a card
    assert board.head("job") is None and sorted(board.columns()["active"].task_ids) == ["job:a", "job:run"]
    assert board.head("nothing") is None
