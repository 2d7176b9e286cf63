"""protocol.history's task_key and slower_than_usual against their cases (the file the browser's ``protocol.js``
is checked against, in ``tests/test_format_js.py``), and the cases' coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from progressista.cards import is_slow
from progressista.protocol import history

CASES_FILE = Path(history.__file__).with_name("history_cases.json")
CASES: dict[str, list[dict[str, Any]]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [(name, case["args"], case["out"]) for name, cases in CASES.items() for case in cases],
    ids=[f"{name}{json.dumps(case['args'])[:50]}" for name, cases in CASES.items() for case in cases],
)
def test_each_case(function: str, args: list[Any], expected: Any) -> None:
    assert getattr(history, function)(*args) == expected
    if function == "slower_than_usual":
        assert is_slow(*args) == expected  # what the terminal's card applies: the same on these (no bools)


def test_the_cases_cover_both_answers_and_the_edges() -> None:
    assert set(CASES) == {"task_key", "slower_than_usual"}
    keys = CASES["task_key"]
    assert {case["out"] for case in keys} >= {"nightly:load", "train:rank-0", "etl-v2:load", "solo-task-7"}
    given = [meta.get("key") for _, meta in (case["args"] for case in keys) if isinstance(meta, dict)]
    inputs = "".join(case["args"][0] for case in keys) + "".join(key for key in given if isinstance(key, str))
    for needle in ("\u0663", "\u00b2", "\u2460", "\u00bd", "\ufeff", "\x1c", "\x85"):
        assert needle in inputs, needle
    assert any(len(case["args"][0]) > 256 for case in keys)
    assert {case["out"] for case in CASES["slower_than_usual"]} == {True, False}
    statuses = {case["args"][0].get("status") for case in CASES["slower_than_usual"] if case["out"]}
    assert statuses == {"start", "update", "stale"}
