"""The pure view logic shared by `watch` and `tasks ls`: columns, groups, order, filter, formatting."""

import math

import pytest

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
    fraction,
    matches,
    newest_first,
    number,
    parse_terms,
    prefix_of,
    rate_of,
    search_text,
)


@pytest.mark.parametrize(
    ("status", "column"),
    [("start", "active"), ("update", "active"), ("stale", "stale"), ("lost", "stale"), ("close", "completed"),
     ("error", "completed"), ("bogus", "active"), (None, "active")],
)
def test_column_of(status, column):
    assert column_of(status) == column


@pytest.mark.parametrize(
    ("task_id", "prefix"),
    [("etl:extract", "etl"), ("a:b:c", "a"), ("plain", None), (":leading", None), ("trailing:", "trailing")],
)
def test_prefix_is_the_part_before_the_first_colon(task_id, prefix):
    assert prefix_of(task_id) == prefix


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
    [(0, "0"), (1234, "1,234"), (999_999, "999,999"), (2.5, "2.50"), (150.25, "150.2"),
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


def test_shared_prefixes_group_and_the_group_sorts_by_its_newest_member():
    board = Board()
    board.replace({
        "etl:extract": task(updated=1), "etl:load": task(updated=5), "etl:report": task("close", updated=2),
        "solo:one": task(updated=3), "plain": task(updated=4),
    })
    active = board.columns()["active"]
    assert active.items == (
        Item("group", "etl", size=2), Item("task", "etl:load", indent=1), Item("task", "etl:extract", indent=1),
        Item("task", "plain"), Item("task", "solo:one"),
    )
    # Shared across columns: the lone completed member still shows under its group.
    assert board.columns()["completed"].items == (Item("group", "etl", size=1), Item("task", "etl:report", indent=1))


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
