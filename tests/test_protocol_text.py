"""protocol.text against its cases (the file the browser's ``text.js`` is checked against), and its promises."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from progressista.protocol import text

CASES_FILE = Path(text.__file__).with_name("text_cases.json")
CASES: dict[str, list[dict[str, Any]]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
#: What a terminal would obey (C0 but tab, DEL, C1) or what reorders or hides text (format characters).
OBEYED = {chr(code) for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]} - {"\t"}


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [(name, case["args"], case["out"]) for name, cases in CASES.items() for case in cases],
    ids=[f"{name}{json.dumps(case['args'])[:40]}" for name, cases in CASES.items() for case in cases],
)
def test_each_case(function: str, args: list[Any], expected: str) -> None:
    assert getattr(text, function)(*args) == expected


def test_every_function_has_cases_and_the_cases_cover_the_payloads() -> None:
    assert set(CASES) == set(text.__all__) - {"INVISIBLE_EXTRAS", "JOINERS"}
    inputs = "".join(case["args"][0] for cases in CASES.values() for case in cases)
    for needle in ("\x1b]0;", "\x1b[2J", "\x1b]52;", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff", "\ud800"):
        assert needle in inputs


def test_plain_text_is_shown_as_it_is() -> None:
    """Negative control: nothing a desc normally holds changes, so the markers mean something."""
    for plain in ("Ingesting", "ünïcödé ✓ 🧪 日本語 עברית عربي", "loss=0.31, acc=0.9", "a  b", "[bold]x[/]"):
        assert text.shown_text(plain) == plain
        assert text.shown_id(plain) == plain


def test_markers_read_as_the_code_point() -> None:
    assert text.shown_id("a\u202eb") == "a<U+202E>b"
    assert text.shown_id("etl:lo\u200bad") != text.shown_id("etl:load")


hostile = st.sampled_from(sorted(OBEYED) + ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u3164", "\ud800"])


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text(hostile | st.characters(), max_size=40))
def test_nothing_a_terminal_obeys_or_that_hides_text_is_left(value: str) -> None:
    shown = text.shown_text(value)
    assert not OBEYED & set(shown)
    assert all(char in text.JOINERS or unicodedata.category(char) not in {"Cf", "Cs", "Zl", "Zp"} for char in shown)
    shown.encode("utf-8")  # a lone surrogate would raise here, and on any terminal's stream
    strict = text.shown_id(value)
    # No control, format or separator character, no space but U+0020 (private use and unassigned ones show as boxes).
    assert all(char == " " or unicodedata.category(char)[0] not in "Z" for char in strict)
    assert all(unicodedata.category(char) not in {"Cc", "Cf", "Cs"} for char in strict)
    assert not set(strict) & text.JOINERS and text.shown_id(strict) == strict
    # Idempotent: what is shown shows as itself, so every layer may apply the rule.
    assert text.shown_text(shown) == shown and text.shown_id(strict) == strict


def test_the_module_is_standard_library_only() -> None:
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in ("re", "unicodedata"))
