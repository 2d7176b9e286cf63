"""The browser dashboard shows look-alike and right-to-left-override ids as what they are (issue 23, item 5).

``textContent`` never runs task text, but a zero-width space or a bidi override
in it would let a card pass for another: ``etl:lo\\u200bad`` reads as
``etl:load``, ``etl:\\u202edaol`` is drawn reversed as ``etl:load``. The page
shows them as ``<U+200B>`` and ``<U+202E>``, as the terminal does (the shared
rule is ``protocol/text.py``, checked against ``js/text.js`` case for case in
``test_format_js.py``).
"""

from __future__ import annotations

from dashboard_support import browser_fixture, card, open_dashboard, page_fixture  # noqa: F401 - fixtures
from hostile_text import ESCAPES, HOSTILE_ID, LOOK_ALIKES, PLAIN_DESC, PLAIN_ID, SHOWN_HOSTILE_ID, hostile_tasks
from playwright.sync_api import Page, expect
from support import LiveServer

from progressista.protocol.text import shown_text


def test_look_alike_ids_and_escapes_read_as_markers(page: Page, server: LiveServer) -> None:
    assert server.post(hostile_tasks()).ok
    open_dashboard(page, server)
    expect(page.get_by_test_id("task-card")).to_have_count(2 + len(LOOK_ALIKES))
    for task_id, shown in LOOK_ALIKES.items():
        title = card(page, task_id).get_by_test_id("task-title")
        expect(title).to_have_text(shown)
        assert title.get_attribute("title") == shown
    # The control: the real etl:load reads as it was sent.
    expect(card(page, PLAIN_ID).get_by_test_id("task-title")).to_have_text(PLAIN_DESC)
    expect(card(page, PLAIN_ID).get_by_test_id("task-id")).to_have_text(PLAIN_ID)
    hostile = card(page, HOSTILE_ID)
    expect(hostile.get_by_test_id("task-title")).to_have_text(shown_text(ESCAPES))
    expect(hostile.get_by_test_id("task-id")).to_have_text(SHOWN_HOSTILE_ID)
    expect(hostile.get_by_test_id("task-postfix")).to_have_text("loss<U+001B>]0;x<U+0007>")
    expect(hostile.get_by_test_id("task-count")).to_have_text("3/10 rows<U+001B>[2J")
    expect(hostile.get_by_test_id("task-origin")).to_contain_text("node<U+001B>]52;c;aGVsbG8=<U+0007>")
    expect(hostile.get_by_test_id("task-meta")).to_contain_text("n<U+001B>]0;t<U+0007><U+202E>")
    expect(page.locator('[data-testid="group"][data-group="term"] .group-name').first).to_have_text("term")
    body = page.locator("body").inner_text()
    assert not any(char in body for char in "\x1b\x07\u202e\u200b\ufeff\x9b"), "a raw control reached the page"
