"""The pure view logic shared by `watch` and `tasks ls`: columns, groups, order, filter, formatting."""

import math

import pytest

from progressista.protocol.groups import aggregate, groups
from progressista.tui.view import (
    Board,
    Item,
    bar_parts,
    column_of,
    eta_seconds,
    format_age,
    format_amount,
    format_count,
    format_duration,
    format_percent,
    format_rate,
    format_since,
    fraction,
    group_counts,
    group_numbers,
    matches,
    newest_first,
    number,
    parse_terms,
    rate_of,
    search_text,
    seen_at,
)


@pytest.mark.parametrize(
    ("status", "column"),
    [("start", "active"), ("update", "active"), ("stale", "stale"), ("lost", "stale"), ("close", "completed"),
     ("error", "completed"), ("bogus", "active"), (None, "active")],
)
def test_column_of(status, column):
    assert column_of(status) == column


def test_number_accepts_only_finite_numbers():
    assert number(3) == 3.0 and number(2.5) == 2.5
    for bad in (True, "3", None, math.nan, math.inf, [1]):
        assert number(bad) is None


def test_fraction_clamps_and_needs_a_total():
    assert fraction({"n": 25, "total": 100}) == 0.25
    assert fraction({"n": 150, "total": 100}) == 1.0
    assert fraction({"n": -5, "total": 100}) == 0.0
    assert fraction({"n": 5, "total": None}) is None
    assert fraction({"n": 5, "total": 0}) is None
    assert fraction({"total": 10}) == 0.0


def test_rate_prefers_the_bar_rate_then_n_over_elapsed():
    assert rate_of({"rate": 4.0, "n": 1, "elapsed": 100}) == 4.0
    assert rate_of({"rate": None, "n": 50, "elapsed": 10}) == 5.0
    assert rate_of({"rate": 0, "n": 0, "elapsed": 10}) is None
    assert rate_of({}) is None


def test_eta_only_for_running_tasks_with_total_and_rate():
    running = {"status": "update", "n": 40, "total": 100, "rate": 4.0}
    assert eta_seconds(running) == 15.0
    assert eta_seconds({**running, "status": "start"}) == 15.0
    assert eta_seconds({**running, "n": 120}) == 0.0
    for status in ("stale", "lost", "close", "error"):
        assert eta_seconds({**running, "status": status}) is None
    assert eta_seconds({**running, "total": None}) is None
    assert eta_seconds({**running, "rate": None}) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (1234, "1,234"), (999_999, "999,999"), (2.5, "2.50"), (150.25, "150.3"),
     (1_280_000, "1.28M"), (3.2e9, "3.20G"), (-42, "-42")],
)
def test_format_count(value, text):
    assert format_count(value) == text


def test_format_amount_uses_one_scale_and_a_default_unit():
    assert format_amount(480, 1000, "rows") == "480/1,000 rows"
    assert format_amount(803_442, 1_280_000, "B") == "803k/1.28M B"
    assert format_amount(42, None, None) == "42 it"
    assert format_amount(None, 10, "") == "0/10 it"
    assert format_amount(61.2, 148.0, "GB") == "61.2/148 GB"


@pytest.mark.parametrize(
    ("rate", "text"), [(12.34, "12.3 it/s"), (1500, "1.50k it/s"), (0.4, "2.50 s/it"), (0, ""), (None, ""),
                       (math.inf, "")],
)
def test_format_rate(rate, text):
    assert format_rate(rate, "it") == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (42.4, "00:42"), (600, "10:00"), (3723, "1:02:03"), (86400 + 3600, "25:00:00"),
     (2 * 86400 + 4 * 3600, "2d 4h"), (None, ""), (math.nan, ""), (-3, "00:00")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "0s"), (-1, "0s"), (0.4, "0s"), (59.9, "59s"), (180, "3m"), (7200, "2h"), (3 * 86400, "3d")],
)
def test_format_since(seconds, text):
    assert format_since(seconds) == text


def test_seen_at_falls_back_to_updated_at():
    assert seen_at({"seen_at": 7.0, "updated_at": 5.0}) == 7.0
    assert seen_at({"updated_at": 5.0}) == 5.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "just now"), (-5, "just now"), (1.9, "just now"), (12.7, "12s ago"), (300, "5m ago"),
     (7200, "2h ago"), (3 * 86400, "3d ago")],
)
def test_format_age(seconds, text):
    assert format_age(seconds) == text


def test_format_percent_rounds_down_so_100_means_done():
    assert format_percent(0.999) == "99%"
    assert format_percent(1.0) == "100%"
    assert format_percent(None) == ""


def test_bar_parts_always_fill_the_width():
    for width in (0, 1, 7, 20):
        for step in range(0, 101, 3):
            done, rest = bar_parts(step / 100, width)
            assert len(done) + len(rest) == width
    assert bar_parts(0, 4) == ("", "━━━━")
    assert bar_parts(1, 4) == ("━━━━", "")
    assert bar_parts(0.5, 4) == ("━━", "━━")
    assert bar_parts(0.3, 5) == ("━╸", "━━━")
    assert bar_parts(None, 3) == ("", "╍╍╍")


def test_filter_matches_every_term_anywhere():
    task = {"desc": "Training ResNet", "status": "error", "postfix": "loss=0.31", "host": "gpu-7",
            "meta": {"run": "r-42"}}
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
    board.replace({
        "old": task(updated=1), "new": task("start", updated=3), "idle": task("stale"),
        "done": task("close", updated=2), "failed": task("error", updated=4),
    })
    columns = board.columns()
    assert columns["active"].task_ids == ["new", "old"]
    assert columns["stale"].task_ids == ["idle"]
    assert columns["completed"].task_ids == ["failed", "done"]
    assert board.counts() == {"active": 2, "stale": 1, "completed": 2}


def test_prefixed_tasks_group_and_the_group_sorts_by_its_newest_member():
    board = Board()
    board.replace({
        "etl:extract": task(updated=1), "etl:load": task(updated=5), "etl:report": task("close", updated=2),
        "solo:one": task(updated=3), "plain": task(updated=4),
    })
    active = board.columns()["active"]
    assert active.items == (
        Item("group", "etl", size=2), Item("task", "etl:load", indent=1), Item("task", "etl:extract", indent=1),
        Item("task", "plain"),
        Item("group", "solo", size=1), Item("task", "solo:one", indent=1),  # alone, still a group (GET /groups)
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


def test_group_numbers_and_counts():
    same = aggregate([
        {"status": "update", "n": 30, "total": 100, "unit": "rows", "rate": 2.0},
        {"status": "update", "n": 4, "total": None, "unit": "rows", "rate": 1.0},
        {"status": "close", "n": 100, "total": 100, "unit": "rows"},
    ])
    # A running task without a total: no ETA for the group.
    assert group_numbers(same) == ["130/200 rows", "1 without total", "3.00 rows/s"]
    assert group_counts(same) == "3 tasks: 2 active · 1 done"
    mixed = aggregate([{"status": "lost", "n": 1, "total": 2, "unit": "B"}, {"status": "error", "unit": "it"}])
    assert group_numbers(mixed) == ["mixed units", "1 without total"]
    assert group_counts(mixed) == "2 tasks: 1 lost · 1 error"
    running = aggregate([{"status": "update", "n": 40, "total": 100, "rate": 4.0}])
    assert group_numbers(running) == ["40/100 it", "4.00 it/s", "ETA 00:15"]
    assert group_counts(running) == "1 task: 1 active"


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
    assert touched == {"a", "b", "c"}
    assert set(board.tasks) == {"a", "c"}
    assert board.columns(("alpha",))["active"].task_ids == []
    assert board.columns(("renamed",))["active"].task_ids == ["a"]


def test_snapshot_replaces_everything_and_reports_what_changed():
    board = Board()
    board.replace({"keep": task(), "change": task(n=1), "gone": task()})
    changed = board.replace({"keep": task(), "change": task(n=2), "new": task()})
    assert changed == {"change", "gone", "new"}
    assert set(board.tasks) == {"keep", "change", "new"}


def test_board_ignores_malformed_entries():
    board = Board()
    board.replace({"ok": task(), "bad": "not a task"})
    board.apply({"worse": 3})
    assert set(board.tasks) == {"ok"}
