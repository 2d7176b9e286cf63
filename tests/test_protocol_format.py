"""protocol.format against its cases: the same file the browser's format.js is checked against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
