"""protocol.format against its cases: the same file the browser's format.js is checked against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from progressista.protocol import format as fmt

CASES_FILE = Path(fmt.__file__).with_name("format_cases.json")
CASES: dict[str, list[dict[str, Any]]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [(name, case["args"], case["out"]) for name, cases in CASES.items() for case in cases],
    ids=[f"{name}{json.dumps(case['args'])[:60]}" for name, cases in CASES.items() for case in cases],
)
def test_each_case(function: str, args: list[Any], expected: Any) -> None:
    assert getattr(fmt, function)(*args) == expected


def test_every_text_function_has_cases() -> None:
    """What both dashboards call to write text is pinned for both; a new function needs its cases."""
    written = {name for name in fmt.__all__ if name.startswith("format_") or name.endswith("_figures")}
    assert written <= set(CASES), f"no cases for {sorted(written - set(CASES))}"
    assert all(len(cases) >= 3 for cases in CASES.values())


def test_ties_round_as_javascript_does() -> None:
    """1.125 is exact in binary: Python's own formatting gives 1.12, toFixed (and so the browser) 1.13."""
    assert f"{1.125:.2f}" == "1.12"
    assert fmt.format_count(1.125) == "1.13"
    assert fmt.format_count(-0.0) == "0"
    assert fmt.format_count(-0.001) == "-0.00"  # as (-0.001).toFixed(2)


FLOAT_MAX = 1.7976931348623157e308
extreme = (
    st.floats(-FLOAT_MAX, FLOAT_MAX, allow_nan=False)
    | st.integers(-(2**1023), 2**1023)
    | st.sampled_from([FLOAT_MAX, -FLOAT_MAX, 2**1023, 5e-324, -5e-324])
)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(extreme, st.none() | extreme, st.none() | extreme, st.none() | extreme)
def test_no_number_an_event_may_hold_breaks_a_figure(n, total, rate, elapsed):
    """Found by the adversarial pass (issue 23): n = 2**1023 made Decimal.quantize raise, which crashed watch."""
    task = {"status": "update", "n": n, "total": total, "rate": rate, "elapsed": elapsed, "unit": "it"}
    assert all(isinstance(text, str) for text in fmt.task_figures(task).values())
    assert isinstance(fmt.format_count(n), str)
    for value in (n, total, rate, elapsed):
        assert isinstance(fmt.format_duration(value), str) and isinstance(fmt.format_since(value), str)
        assert isinstance(fmt.format_rate(value), str) and isinstance(fmt.format_amount(n, value), str)
