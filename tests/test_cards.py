"""progressista.cards: what a task card and a group row say; every figure is protocol.format's."""

import pytest

from progressista.cards import RowText, bar_parts, group_numbers, group_row, task_clock, task_row
from progressista.protocol.format import group_figures, task_figures
from progressista.protocol.groups import aggregate

NOW = 1000.0


def card(status="update", **fields):
    return {
        "status": status,
        "desc": "Loading rows",
        "n": 480,
        "total": 1000,
        "rate": 12.3,
        "elapsed": 39.0,
        "unit": "rows",
        "updated_at": NOW - 30,
        "seen_at": NOW - 200,
        **fields,
    }


def text(row: RowText) -> str:
    return "\n".join(row.plain)


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


@pytest.mark.parametrize("status", ["start", "update", "stale", "lost", "close", "error"])
def test_a_card_holds_the_figures_of_task_figures_whole(status):
    task = card(status)
    figures = task_figures(task)
    row = task_row("etl:load", task, NOW, indent=1)
    numbers = row.plain[2]
    assert figures["amount"] in numbers and figures["rate"] in numbers
    assert row.percent == figures["percent"] == "48%" and row.plain[1].endswith("48%")
    running = status in ("start", "update")
    assert bool(figures["eta"]) == running and (figures["eta"] in numbers or not running)  # ETA while it runs
    assert figures["elapsed"] in numbers  # how long it has run, or took, as the browser card says
    assert row.share == 0.48


def test_what_a_card_says_per_status():
    assert task_row("a", card(), NOW).plain == [
        "▍ Loading rows 30s ago",
        "▍ 48%",
        "▍ 480/1,000 rows · 12.3 rows/s · ETA 00:42 · 00:39 elapsed",
        "▍ a",
    ]
    assert task_row("a", card("close"), NOW).plain[::2] == [
        "▍ ✓ Loading rows 30s ago",
        "▍ 480/1,000 rows · 12.3 rows/s · 00:39 elapsed",
    ]
    assert text(task_row("a", card("error"), NOW)).startswith("▍ ✗ Loading rows")
    assert task_row("a", card("stale"), NOW).plain[2] == "▍ 480/1,000 rows · 12.3 rows/s · idle 30s · 00:39 elapsed"
    lost = task_row("a", card("lost"), NOW)
    assert lost.plain[0] == "▍  ⚠ LOST  Loading rows 30s ago"
    assert lost.plain[2] == "▍ 480/1,000 rows · 12.3 rows/s · no contact for 3m · 00:39 elapsed"  # silent since seen_at
    assert ("no contact for 3m", "lost") in lost.numbers and lost.bar == "gutter-lost"
    assert lost.lead == ("▍ ", "gutter-lost")


def test_a_card_without_a_description_is_titled_by_its_id_and_lists_postfix_and_host():
    task = {
        "status": "update",
        "n": 12,
        "total": None,
        "postfix": "loss=0.31",
        "host": "gpu-7",
        "pid": 42,
        "updated_at": NOW - 1,
    }
    row = task_row("exp:train", task, NOW, indent=1)
    assert row.plain == ["  ▍ exp:train just now", "  ▍", "  ▍ 12 it", "  ▍ loss=0.31 · gpu-7:42"]
    assert row.share is None  # an unknown total: an indeterminate bar
    named = task_row("exp:train", {**task, "desc": "Train"}, NOW)
    assert named.plain[3] == "▍ loss=0.31 · exp:train · gpu-7:42"


def test_the_clock_text_is_what_the_card_shows():
    for status in ("update", "stale", "lost"):
        age, since = task_clock(card(status), NOW)
        shown = text(task_row("a", card(status), NOW))
        assert age in shown and (since in shown if since else status == "update")
    assert task_clock(card("lost"), NOW) == ("30s ago", "3m")
    assert task_clock({}, NOW) == ("", "")


MEMBERS = [
    {"status": "update", "n": 30, "total": 100, "unit": "rows", "rate": 2.0, "updated_at": NOW - 5},
    {"status": "update", "n": 4, "total": None, "unit": "rows", "rate": 1.0, "updated_at": NOW - 50},
    {"status": "lost", "n": 7, "total": 10, "unit": "rows", "updated_at": NOW - 60},
    {"status": "close", "n": 100, "total": 100, "unit": "rows", "updated_at": NOW - 70},
]


@pytest.mark.parametrize(
    "members",
    [MEMBERS, MEMBERS[:1], [MEMBERS[0], {**MEMBERS[3], "unit": "B"}], [{"status": "error", "unit": "it"}]],
    ids=["four", "one", "mixed-units", "no-total"],
)
def test_a_group_row_holds_the_figures_of_group_figures_whole(members):
    group = aggregate(members)
    figures = group_figures(group)
    row = group_row("run", group, NOW)
    assert row.percent == figures["percent"]
    for name in ("amount", "unknown", "rate", "eta"):
        assert figures[name] in row.plain[2]
    assert row.plain[2] == "▌ " + " · ".join(group_numbers(group))
    assert row.plain[3] == "▌ " + figures["counts"]  # the member counts, exactly


def test_what_a_group_row_says_and_in_which_colours():
    group = aggregate(MEMBERS)
    row = group_row("run", group, NOW)
    assert row.plain == [
        "▌ ▾ run   LOST  5s ago",
        "▌ 65%",
        "▌ 137/210 rows · 1 without total · 3.00 rows/s",
        "▌ 4 tasks: 2 active · 1 lost · 1 done",
    ]
    assert row.lead == ("▌ ", "gutter-lost") and row.title[0] == ("▾ run", "group gutter-lost")
    assert row.bar == "gutter-lost"  # the worst member's colour
    assert row.details == (
        ("4 tasks: ", "details"),
        ("2 active", "gutter-active"),
        (" · ", "details"),
        ("1 lost", "gutter-lost"),
        (" · ", "details"),
        ("1 done", "gutter-done"),
    )
    running = group_row("etl", aggregate(MEMBERS[:1]), NOW, collapsed=True)
    assert running.plain[0] == "▌ ▸ etl 5s ago" and running.bar == "bar-done"  # folded; a running bar
    assert running.plain[2] == "▌ 30/100 rows · 2.00 rows/s · ETA 00:35"


def test_group_numbers():
    same = aggregate([MEMBERS[0], MEMBERS[1], MEMBERS[3]])
    assert group_numbers(same) == ["130/200 rows", "1 without total", "3.00 rows/s"]  # no ETA: a total is missing
    mixed = aggregate([{"status": "lost", "n": 1, "total": 2, "unit": "B"}, {"status": "error", "unit": "it"}])
    assert group_numbers(mixed) == ["mixed units", "1 without total"]
    running = aggregate([{"status": "update", "n": 40, "total": 100, "rate": 4.0}])
    assert group_numbers(running) == ["40/100 it", "4.00 it/s", "ETA 00:15"]


def test_a_failed_card_says_why_first_on_its_last_line():
    failed = task_row("etl:load", card("error", meta={"error": "KeyError: 'id'"}, host="gpu-1", pid=7), NOW)
    assert failed.plain[3] == "▍ KeyError: 'id' · etl:load · gpu-1:7"
    assert failed.details[0] == ("KeyError: 'id'", "error")  # in the error colour
    signalled = task_row("w", {"status": "error", "meta": {"signal": "SIGTERM"}}, NOW)
    assert signalled.plain[3] == "▍ SIGTERM" and signalled.details[0] == ("SIGTERM", "error")
    # Negative controls: no reason, the line is as before; a reason is only an error's.
    assert task_row("etl:load", card("error"), NOW).plain[3] == "▍ etl:load"
    assert task_row("etl:load", card("close", meta={"error": "left over"}), NOW).plain[3] == "▍ etl:load"


RUN = {"task_id": "r:run", "command": "python train.py --epochs 3", "status": "update", "exit_code": None}


def test_a_group_row_with_a_run_names_its_command_state_exit_code_and_reason():
    group = {**aggregate(MEMBERS[:1]), "run": {**RUN, "exit": "", "reason": ""}}
    row = group_row("r", group, NOW)
    assert row.plain[0] == "▌ ▾ r  $ python train.py --epochs 3 5s ago"
    assert row.plain[3] == "▌ run: running · 1 task: 1 active"
    assert ("running", "gutter-active") in row.details  # the run's state in its colour
    failed = {**group, "status": "error", "run": {**RUN, "status": "error", "exit": "exit 1", "reason": "OSError: x"}}
    row = group_row("r", failed, NOW)
    assert row.plain[0].startswith("▌ ▾ r   ERROR   $ python")  # the badge before the command, which may be cut
    assert row.plain[3] == "▌ run: error · exit 1 · 1 task: 1 active · OSError: x"
    assert row.details[-1] == ("OSError: x", "error") and ("error", "gutter-error") in row.details
    alone = {**aggregate([]), "run": {**RUN, "exit": "", "reason": ""}}
    assert group_row("r", alone, NOW).plain[2:] == ["▌ ", "▌ run: running"]  # nothing to sum or count
    # Negative control: a group without a run says nothing of one.
    assert "run:" not in "\n".join(group_row("r", aggregate(MEMBERS[:1]), NOW).plain)
