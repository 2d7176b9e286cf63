"""protocol.reasons: why a task ended ``error``, as every surface says it (the browser's ``reasonOf`` too)."""

from __future__ import annotations

from typing import Any

import pytest

from progressista.protocol.reasons import error_text, exit_code, reason, reason_text
from progressista.protocol.task import MAX_ERROR

#: Tasks and their reason: the cases ``test_format_js.py`` runs through the browser's ``reasonOf`` too.
CASES: list[tuple[dict[str, Any], str]] = [
    ({"status": "error", "meta": {"error": "KeyError: 'id'"}}, "KeyError: 'id'"),
    ({"status": "error", "meta": {"signal": "SIGTERM"}}, "SIGTERM"),
    ({"status": "error", "meta": {"error": "KeyboardInterrupt", "signal": "SIGINT"}}, "KeyboardInterrupt"),
    ({"status": "error", "meta": {"error": "", "signal": "SIGHUP"}}, "SIGHUP"),  # empty text is no reason
    ({"status": "error", "meta": {"error": "  ValueError:\tbad\r\n\n value  "}}, "ValueError: bad value"),
    ({"status": "error", "meta": {"error": "A\x1b[31mB\x00C\x7f\x85D\u2028E"}}, "A [31mB C D E"),
    ({"status": "error", "meta": {"error": "Ünïcödé: ✓ 🧪\u00a0kept"}}, "Ünïcödé: ✓ 🧪\u00a0kept"),
    ({"status": "error", "meta": {"error": "x" * 600}}, "x" * (MAX_ERROR - 1) + "…"),
    ({"status": "error", "meta": {"error": "🧪" * 501}}, "🧪" * (MAX_ERROR - 1) + "…"),  # characters, not bytes
    ({"status": "error", "meta": {"error": "e" * MAX_ERROR}}, "e" * MAX_ERROR),  # at the limit: whole
    ({"status": "error", "meta": {"error": 42, "signal": ["SIGTERM"]}}, ""),  # not text
    ({"status": "error", "meta": ["error"]}, ""),
    ({"status": "error", "meta": None}, ""),
    ({"status": "error"}, ""),
    ({"status": "close", "meta": {"error": "left over"}}, ""),  # only an error has a reason
    ({"status": "lost", "meta": {"signal": "SIGKILL"}}, ""),
    ({"status": "update", "meta": {"error": "not yet"}}, ""),
]


@pytest.mark.parametrize(("task", "expected"), CASES)
def test_reason(task: dict[str, Any], expected: str) -> None:
    assert reason(task) == expected


def test_the_exception_is_the_error_text_and_a_signal_is_not() -> None:
    assert error_text({"status": "error", "meta": {"error": "OSError: disk full"}}) == "OSError: disk full"
    assert error_text({"status": "error", "meta": {"signal": "SIGTERM"}}) == ""
    assert error_text({"status": "close", "meta": {"error": "OSError: disk full"}}) == ""


def test_reason_text_is_one_line_of_text() -> None:
    assert reason_text(None) == "" and reason_text(3) == ""
    assert "\n" not in reason_text("a\nb\rc") and reason_text(" \n ") == ""


@pytest.mark.parametrize(
    ("meta", "code"),
    [({"exit_code": 0}, 0), ({"exit_code": 3}, 3), ({"exit_code": -15}, -15), ({"exit_code": 143}, 143)]
    + [({"exit_code": value}, None) for value in (True, 1.0, "1", None)]
    + [({}, None), (None, None)],
)
def test_exit_code_is_what_the_client_sent_if_it_is_an_int(meta: Any, code: int | None) -> None:
    assert exit_code({"status": "close", "meta": meta}) == code
