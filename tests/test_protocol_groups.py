"""Aggregate progress of a run's tasks (the ``prefix:`` groups)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from progressista.protocol.groups import aggregate, group_of, groups, run_head, run_member, summarise


def t(status="update", n=0, total=None, unit="it", rate=None, updated_at=0.0):
    return {"status": status, "n": n, "total": total, "unit": unit, "rate": rate, "updated_at": updated_at}


@pytest.mark.parametrize(
    ("task_id", "group"),
    [("run-42:rank-0", "run-42"), ("a:b:c", "a"), ("plain", None), (":x", None), ("x:", None)],
)
def test_group_is_the_part_before_the_first_colon(task_id, group):
    assert group_of(task_id) == group


def test_only_prefixed_tasks_form_groups():
    found = groups({"run:a": t(), "run:b": t(), "other:x": t(), "loner": t()})
    assert list(found) == ["other", "run"] and found["run"]["members"] == 2


def test_sums_with_known_totals():
    agg = aggregate([t(n=30, total=100, rate=3.0), t("close", n=100, total=100, rate=9.0), t("stale", n=5, total=50)])
    assert (agg["n"], agg["total"], agg["unit"]) == (135, 250, "it")
    assert agg["progress"] == pytest.approx(135 / 250)
    assert agg["rate"] == 3.0  # only running members count
    assert agg["eta"] == pytest.approx((250 - 135) / 3.0)
    assert agg["counts"] == {"active": 1, "stale": 1, "lost": 0, "done": 1, "error": 0}


def test_unknown_totals_leave_the_sum_to_known_members_and_no_eta():
    agg = aggregate([t(n=50, total=100, rate=5.0), t(n=7, total=None, rate=2.0)])
    assert (agg["n"], agg["total"], agg["unknown_totals"]) == (50, 100, 1)
    assert agg["rate"] == 7.0
    assert agg["eta"] is None  # an open member has no total: no honest ETA


def test_a_finished_member_without_total_does_not_block_the_eta():
    agg = aggregate([t(n=50, total=100, rate=5.0), t("close", n=7)])
    assert agg["eta"] == pytest.approx(10.0)


def test_no_totals_at_all():
    agg = aggregate([t(n=3), t(n=4)])
    assert (agg["n"], agg["total"], agg["progress"], agg["eta"]) == (None, None, None, None)


def test_mixed_units_average_the_fractions_and_drop_sums():
    agg = aggregate([t(n=1, total=4, unit="files", rate=1.0), t(n=3 * 2**30, total=4 * 2**30, unit="B", rate=1e6)])
    assert (agg["n"], agg["total"], agg["unit"], agg["rate"], agg["eta"]) == (None, None, None, None, None)
    assert agg["progress"] == pytest.approx((0.25 + 0.75) / 2)


def test_worst_member_status_colours_the_group():
    assert aggregate([t("close"), t("update")])["status"] == "update"
    assert aggregate([t("update"), t("stale")])["status"] == "stale"
    assert aggregate([t("stale"), t("lost"), t("close")])["status"] == "lost"
    assert aggregate([t("lost"), t("error"), t("start")])["status"] == "error"
    assert aggregate([t("close"), t("close")])["status"] == "close"


def test_overshoot_is_clamped():
    assert aggregate([t(n=150, total=100)])["progress"] == 1.0


# Numbers an event may hold (finite, at most the float limit), with the limit itself over-represented.
FLOAT_MAX = 1.7976931348623157e308
extreme = (
    st.floats(-FLOAT_MAX, FLOAT_MAX, allow_nan=False)
    | st.integers(-(2**1023), 2**1023)
    | st.sampled_from([FLOAT_MAX, -FLOAT_MAX, 2**1023, 5e-324, 0])
)
member = st.builds(
    t,
    status=st.sampled_from(["start", "update", "stale", "lost", "close", "error"]),
    n=extreme,
    total=st.none() | extreme,
    unit=st.sampled_from(["it", "B"]),
    rate=st.none() | extreme,
)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.lists(member, min_size=1, max_size=4))
def test_every_aggregate_is_json_even_at_the_float_limit(members):
    """Found by the adversarial pass (issue 23): /groups answered Infinity, and int sums raised OverflowError."""
    agg = aggregate(members)
    json.dumps(agg, allow_nan=False)  # no Infinity, no NaN
    for key in ("n", "total", "rate", "eta", "progress"):
        assert agg[key] is None or abs(agg[key]) <= FLOAT_MAX, key  # a browser reads more as Infinity


def test_sums_past_the_float_limit_are_unknown_and_the_rest_still_adds_up():
    agg = aggregate([t(n=FLOAT_MAX, total=FLOAT_MAX, rate=FLOAT_MAX)] * 2)
    assert (agg["n"], agg["total"], agg["rate"], agg["eta"]) == (None, None, None, None)
    assert agg["progress"] == 1.0  # the mean of the members' own fractions
    ints = aggregate([t(n=0, total=2**1023, rate=1.0)] * 2)  # the int sum is exact but past the range
    assert (ints["n"], ints["total"], ints["eta"], ints["progress"]) == (0, None, None, 0.0)
    control = aggregate([t(n=1, total=FLOAT_MAX / 4, rate=1.0)] * 2)  # the negative control: near, not past
    assert control["total"] == FLOAT_MAX / 2 and control["eta"] == pytest.approx(FLOAT_MAX / 4)


# ---------------------------------------------------------------- the run at the head


def run(status="update", **meta):
    fields = {"desc": "python train.py --epochs 3", "n": 0, "total": None, "unit": "it", "updated_at": 5.0}
    return {"status": status, **fields, "meta": {"kind": "run", **meta}}


def test_the_run_member_is_the_one_whose_meta_kind_is_run():
    assert run_member([("r:a", t()), ("r:run", run())]) == "r:run"
    assert run_member([("r:a", t()), ("r:run", t())]) is None  # the id alone is not enough
    assert run_member([("r:main", run()), ("r:b", t())]) == "r:main"  # the kind is
    # Several claim it: the id progressista run gives wins, else the first by id.
    assert run_member([("r:a", run()), ("r:run", run())]) == "r:run"
    assert run_member([("r:z", run()), ("r:b", run())]) == "r:b"
    assert run_member([("r:a", {"meta": ["kind"]}), ("r:b", {"meta": None})]) is None


def test_the_head_says_the_command_the_state_the_exit_code_and_why():
    assert run_head("r:run", run()) == {
        "task_id": "r:run",
        "command": "python train.py --epochs 3",
        "status": "update",
        "exit_code": None,
        "exit": "",
        "reason": "",
    }
    ended = run_head("r:run", run("error", exit_code=1, error="RuntimeError: boom at 40"))
    assert (ended["exit_code"], ended["exit"], ended["reason"]) == (1, "exit 1", "RuntimeError: boom at 40")
    killed = run_head("r:run", run("error", exit_code=-15, signal="SIGTERM"))
    assert (killed["exit"], killed["reason"]) == ("exit -15", "SIGTERM")  # the code as it came
    assert run_head("r:run", run("close", exit_code=0))["exit"] == "exit 0"
    assert run_head("r:run", {**run(), "desc": None})["command"] == "r:run"  # no command typed: its id


def test_a_group_row_counts_and_sums_the_bars_and_takes_the_worst_status_with_the_run():
    bars = [("r:a", t("close", n=10, total=10, rate=1.0)), ("r:b", t(n=5, total=10, rate=1.0, updated_at=2.0))]
    row = summarise([*bars, ("r:run", run())])
    assert row == {**aggregate([task for _, task in bars]), "run": run_head("r:run", run()), "updated_at": 5.0}
    assert (row["members"], row["unknown_totals"], row["eta"]) == (2, 0, 5.0)  # the run's open total hides no ETA
    assert row["status"] == "update"
    # Every bar closed, the program still running: the group is not done.
    assert summarise([("r:a", t("close")), ("r:run", run())])["status"] == "update"
    assert summarise([("r:a", t("close")), ("r:run", run("close", exit_code=0))])["status"] == "close"
    assert summarise([("r:a", t("close")), ("r:run", run("error", exit_code=1))])["status"] == "error"
    assert summarise([("r:a", t("error")), ("r:run", run("close", exit_code=0))])["status"] == "error"
    assert summarise([("r:a", t("close")), ("r:run", run("lost"))])["status"] == "lost"
    # Negative control: without a run task, a row is exactly the aggregate, with no "run" at all.
    assert summarise(bars) == aggregate([task for _, task in bars]) and "run" not in summarise(bars)


def test_a_run_alone_is_a_row_with_nothing_to_count():
    row = summarise([("early:run", run())])
    assert (row["members"], row["n"], row["progress"], row["status"]) == (0, None, None, "update")
    assert row["run"]["command"] == "python train.py --epochs 3" and row["updated_at"] == 5.0


def test_groups_gives_every_group_its_head():
    found = groups({"r:a": t(), "r:run": run(), "s:x": t()})
    assert found["r"]["run"]["task_id"] == "r:run" and found["r"]["members"] == 1
    assert "run" not in found["s"]
