"""Aggregate progress of a run's tasks (the ``prefix:`` groups)."""

import pytest

from progressista.protocol.groups import aggregate, group_of, groups


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
