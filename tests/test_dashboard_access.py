"""The dashboard for everyone (issue 22), in real headless Chromium against a live server.

A phone opens on the tab that needs a look when nothing is active; ``status:NAME`` in the filter
keeps the tasks of those statuses, and the filter lives in the address (``?q=``) through a reload,
beside ``?token=`` (dropped) and ``#task=ID`` (kept); muted text reaches WCAG AA contrast (4.5:1)
in both colour schemes, measured from Chromium's computed styles; bars and discard buttons are
named by their task; ``/docs`` renders every operation with the network cut off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    count,
    css_colour,
    event,
    heartbeat,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Browser, Page, Route, expect
from support import LiveServer, wait_until

from progressista.protocol import statuses

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (one column at a time, behind tabs); a JavaScript error fails the test."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def lost_task(start_server: Callable[..., LiveServer]) -> LiveServer:
    """A server whose task "gone" has stopped reporting (lost), with a failed one beside it."""
    server = start_server(lost_seconds=0.3, cleanup_interval=0.05)
    assert server.post([event("gone", n=3, total=10), event("failed", "error", meta={"error": "boom"})]).ok
    wait_until(lambda: server.tasks()["gone"]["status"] == "lost", what="the task to be lost")
    return server


# ---------------------------------------------------------------- the phone's first tab


def test_a_phone_opens_on_needs_attention_when_nothing_is_active(
    phone: Page, start_server: Callable[..., LiveServer]
) -> None:
    server = lost_task(start_server)
    open_dashboard(phone, server)
    expect(phone.get_by_test_id("board")).to_have_attribute("data-view", "stale")
    expect(phone.get_by_test_id("tab-stale")).to_have_attribute("aria-pressed", "true")
    expect(card(phone, "gone")).to_be_visible()
    expect(card(phone, "failed")).to_be_hidden()  # Completed is another tab
    # Chosen once: the user's tab stays when the Attention column empties.
    phone.get_by_test_id("tab-completed").click()
    expect(card(phone, "failed")).to_be_visible()


def test_a_phone_opens_on_completed_when_only_failures_need_a_look(phone: Page, server: LiveServer) -> None:
    assert server.post([event("ok", "close"), event("failed", "error", meta={"error": "boom"})]).ok
    open_dashboard(phone, server)
    expect(phone.get_by_test_id("board")).to_have_attribute("data-view", "completed")
    expect(card(phone, "failed")).to_be_visible()


def test_a_phone_opens_on_active_when_something_runs(phone: Page, start_server: Callable[..., LiveServer]) -> None:
    """The control: the same lost and failed tasks, and one running one: Active stays."""
    server = lost_task(start_server)
    with heartbeat(server, event("running", n=1, total=10)):
        wait_until(lambda: server.tasks().get("running", {}).get("status") == "update", what="the running task")
        open_dashboard(phone, server)
        expect(card(phone, "running")).to_be_visible()  # the snapshot is drawn: the tab is chosen by now
        expect(card(phone, "gone")).to_be_attached()
        expect(phone.get_by_test_id("board")).to_have_attribute("data-view", "active")
        expect(phone.get_by_test_id("tab-active")).to_have_attribute("aria-pressed", "true")
        expect(card(phone, "gone")).to_be_hidden()


def test_a_filtered_phone_opens_where_the_filter_finds_tasks(phone: Page, server: LiveServer) -> None:
    assert server.post([event("running"), event("ok", "close"), event("failed", "error")]).ok
    open_dashboard(phone, server, "?q=status:close")
    expect(phone.get_by_test_id("board")).to_have_attribute("data-view", "completed")
    expect(card(phone, "ok")).to_be_visible()


# ---------------------------------------------------------------- the status filter, in the address


def shown_ids(page: Page) -> list[str]:
    return sorted(page.get_by_test_id("task-card").evaluate_all("(cards) => cards.map((c) => c.dataset.taskId)"))


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_status_error_shows_only_failed_tasks_and_survives_a_reload(page: Page, server: LiveServer) -> None:
    assert server.post(
        [
            event("running", n=1, total=9, desc="disk check"),
            event("done", "close", desc="disk copy"),
            event("bad-1", "error", desc="disk full", meta={"error": "ENOSPC"}),
            event("bad-2", "error", desc="network", meta={"error": "timeout"}),
        ]
    ).ok
    open_dashboard(page, server)
    expect(page.get_by_test_id("task-card")).to_have_count(4)
    page.get_by_test_id("filter").fill("status:error")
    expect(page.get_by_test_id("task-card")).to_have_count(2)
    assert shown_ids(page) == ["bad-1", "bad-2"]
    expect(count(page, "completed")).to_have_text("2 of 3")
    expect(count(page, "active")).to_have_text("0 of 1")
    expect(page).to_have_url(re.compile(r"[?&]q=status%3Aerror($|&|#)"))

    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    expect(page.get_by_test_id("filter")).to_have_value("status:error")
    expect(page.get_by_test_id("task-card")).to_have_count(2)
    assert shown_ids(page) == ["bad-1", "bad-2"]

    # A status word and a plain word: both must hold.
    page.get_by_test_id("filter").fill("status:error disk")
    expect(page.get_by_test_id("task-card")).to_have_count(1)
    assert shown_ids(page) == ["bad-1"]
    # Several names in one word: any of them; the server's group names too.
    page.get_by_test_id("filter").fill("status:active,close")
    expect(page.get_by_test_id("task-card")).to_have_count(2)
    assert shown_ids(page) == ["done", "running"]
    page.get_by_test_id("filter").fill("status:completed")
    expect(page.get_by_test_id("task-card")).to_have_count(3)
    # A name no status has finds nothing (rather than everything).
    page.get_by_test_id("filter").fill("status:eror")
    expect(page.get_by_test_id("task-card")).to_have_count(0)
    expect(page.get_by_test_id("column-completed").locator(".empty")).to_have_text(
        "No completed task matches the filter"
    )
    # Esc clears the filter, and the address forgets it.
    page.get_by_test_id("filter").press("Escape")
    expect(page.get_by_test_id("task-card")).to_have_count(4)
    expect(page).not_to_have_url(re.compile(r"[?&]q="))


def test_the_filter_in_the_address_keeps_the_token_out_and_the_task_link_in(
    page: Page, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(api_tokens=["s3cret"])
    server.http.headers["Authorization"] = "Bearer s3cret"
    assert server.post([event("bad", "error"), event("running"), event("also-bad", "error")]).ok
    open_dashboard(page, server, "static/index.html?token=s3cret&q=status:error#task=bad")
    expect(card(page, "bad")).to_have_class(re.compile(r"(^|\s)linked(\s|$)"))  # the link found its card
    expect(page.get_by_test_id("filter")).to_have_value("status:error")
    expect(page.get_by_test_id("task-card")).to_have_count(2)
    assert query_of(page) == {"q": ["status:error"]}  # the token is gone, the filter stays
    page.get_by_test_id("filter").fill("status:error also")
    expect(page.get_by_test_id("task-card")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=status%3Aerror\+also#task=bad$"))
    assert "token" not in query_of(page)
    # A reload keeps the filter, and the token (from the session) still opens the feed.
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    expect(page.get_by_test_id("task-card")).to_have_count(1)
    assert shown_ids(page) == ["also-bad"]


READ_FILTERS = """async () => {
    const protocol = await import(new URL("js/protocol.js", location.href));
    return Object.fromEntries(Object.entries(protocol.FILTERS).map(([name, list]) => [name, [...list].sort()]));
}"""


def test_the_pages_status_names_are_the_servers(page: Page, server: LiveServer) -> None:
    """``status:`` reads the names of ``?status=`` (``statuses.FILTERS``), to the letter."""
    open_dashboard(page, server)
    assert page.evaluate(READ_FILTERS) == {name: sorted(found) for name, found in statuses.FILTERS.items()}


# ---------------------------------------------------------------- contrast (WCAG 2.x)


def channel(value: float) -> float:
    """One sRGB channel (0–255), linearised as WCAG's relative luminance defines it."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def parse_colour(text: str) -> tuple[float, float, float, float]:
    """``rgb(…)``, ``rgba(…)`` or ``color(srgb …)`` (what color-mix computes to) as 0–255 channels and alpha."""
    if text.startswith("color(srgb"):
        numbers = [float(n) for n in re.findall(r"[\d.]+", text.removeprefix("color(srgb"))]
        r, g, b = (n * 255 for n in numbers[:3])
        return r, g, b, numbers[3] if len(numbers) > 3 else 1.0
    numbers = [float(n) for n in re.findall(r"[\d.]+", text)]
    return numbers[0], numbers[1], numbers[2], numbers[3] if len(numbers) > 3 else 1.0


def over(top: tuple[float, float, float, float], bottom: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b, a = top
    return (r * a + bottom[0] * (1 - a), g * a + bottom[1] * (1 - a), b * a + bottom[2] * (1 - a))


# Every visible element holding its own text in muted or faint colour (and the filter's placeholder), with
# what is painted behind it: the background colours of it and its ancestors, innermost first (a one-colour
# gradient, the tint of failed and lost cards, counts as a layer), and the opacity it is drawn with.
READ_MUTED = """([muted, faint]) => {
    const quiet = new Set([muted, faint]);
    const layers = (node) => {
        const found = [];
        for (let at = node; at; at = at.parentElement) {
            const style = getComputedStyle(at);
            const stops = style.backgroundImage.match(/(rgba?|color)\\([^)]*\\)/g);
            if (stops && new Set(stops).size === 1) found.push(stops[0]);
            found.push(style.backgroundColor);
        }
        return found;
    };
    const opacity = (node) => {
        let value = 1;
        for (let at = node; at; at = at.parentElement) value *= parseFloat(getComputedStyle(at).opacity);
        return value;
    };
    const found = [];
    for (const node of document.querySelectorAll("body *")) {
        const ownText = [...node.childNodes].some((child) => child.nodeType === 3 && child.textContent.trim());
        if (!ownText || !node.checkVisibility({ visibilityProperty: true })) continue;
        const style = getComputedStyle(node);
        if (!quiet.has(style.color)) continue;
        const name = node.dataset.testid || node.className || node.tagName;
        const label = name + ": " + node.textContent.trim().slice(0, 30);
        found.push({ label, color: style.color, layers: layers(node), opacity: opacity(node) });
    }
    const filter = document.getElementById("filter");
    if (filter.checkVisibility()) {
        found.push({ label: "filter placeholder", color: getComputedStyle(filter, "::placeholder").color,
                     layers: layers(filter), opacity: opacity(filter) });
    }
    return found;
}"""


def measured(page: Page) -> dict[str, float]:
    """Each muted text's contrast against what is painted behind it, by label."""
    light = page.evaluate("matchMedia('(prefers-color-scheme: light)').matches")
    canvas = (255.0, 255.0, 255.0) if light else (0.0, 0.0, 0.0)
    muted, faint = css_colour(page, "var(--muted)"), css_colour(page, "var(--faint)")
    ratios: dict[str, float] = {}
    for item in page.evaluate(READ_MUTED, [muted, faint]):
        background = canvas
        for layer in reversed(item["layers"]):  # outermost first
            background = over(parse_colour(layer), background)
        r, g, b, a = parse_colour(item["color"])
        text = over((r, g, b, a * item["opacity"]), background)
        ratios[item["label"]] = round(contrast(text, background), 2)
    return ratios


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_muted_text_has_aa_contrast(page: Page, start_server: Callable[..., LiveServer], scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)
    server = lost_task(start_server)
    assert server.post(
        [
            event("train:step", n=4, total=10, desc="Training", host="gpu-7", pid=4242, meta={"lr": 0.1}),
            event("plain", "close", desc="Copying", host="db-1"),
        ]
    ).ok
    open_dashboard(page, server)
    expect(page.get_by_test_id("task-card")).to_have_count(4)
    page.get_by_test_id("filter").fill("status:stale")  # an empty column's message, on the columns' grey
    expect(page.get_by_test_id("column-stale").locator(".empty")).to_be_visible()
    page.get_by_test_id("filter").fill("")
    expect(page.get_by_test_id("task-card")).to_have_count(4)
    desktop = measured(page)
    page.set_viewport_size(PHONE)  # the tabs and their counts
    expect(page.get_by_test_id("tab-active")).to_be_visible()
    phone = {f"phone {label}": ratio for label, ratio in measured(page).items()}
    ratios = desktop | phone
    # Not vacuous: the quiet parts of cards (the failed and lost ones' tints too), headings, tabs, the placeholder.
    for part in ("task-id", "task-origin", "task-age", "H2: Needs attention", "tab-count", "filter placeholder"):
        assert any(part in label for label in ratios), (part, sorted(ratios))
    low = {label: ratio for label, ratio in ratios.items() if ratio < 4.5}
    assert not low, f"muted text under 4.5:1 in the {scheme} scheme: {low}"


def test_the_contrast_measure_catches_low_contrast(page: Page, server: LiveServer) -> None:
    """The control: the same measure reads the old faint grey (#8792a1 on white) as too low."""
    assert server.post(event("x", desc="named")).ok
    open_dashboard(page, server)
    page.emulate_media(color_scheme="light")
    page.evaluate("document.documentElement.style.setProperty('--faint', '#8792a1')")  # CSSOM: the CSP allows it
    expect(card(page, "x").get_by_test_id("task-id")).to_have_css("color", "rgb(135, 146, 161)")
    ratio = measured(page)["task-id: x"]
    assert 3.0 < ratio < 3.3


# ---------------------------------------------------------------- accessible names


def test_bars_and_discard_buttons_are_named_by_their_task(page: Page, server: LiveServer) -> None:
    assert server.post([event("fetch-7", n=30, total=100, desc="Fetching shards"), event("no-desc", n=5, total=10)]).ok
    open_dashboard(page, server)
    bar = page.get_by_role("progressbar", name="Fetching shards", exact=True)
    expect(bar).to_have_attribute("aria-valuenow", "30")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "100")
    expect(page.get_by_role("progressbar", name="no-desc", exact=True)).to_have_attribute("aria-valuenow", "50")
    # The name follows the task.
    assert server.post(event("fetch-7", n=60, total=100, desc="Fetching more shards")).ok
    renamed = page.get_by_role("progressbar", name="Fetching more shards", exact=True)
    expect(renamed).to_have_attribute("aria-valuenow", "60")

    discard = page.get_by_role("button", name="Discard fetch-7", exact=True)
    expect(discard).to_have_count(1)
    expect(page.get_by_role("button", name="Discard no-desc", exact=True)).to_have_count(1)
    discard.click()
    expect(card(page, "fetch-7")).to_have_count(0)
    wait_until(lambda: "fetch-7" not in server.tasks(), what="the discard to reach the server")
    expect(card(page, "no-desc")).to_be_visible()


# ---------------------------------------------------------------- /docs, offline

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_the_api_docs_render_every_operation_offline(page: Page, server: LiveServer) -> None:
    elsewhere: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**", loopback_only)
    response = page.goto(server.url + "/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="POST /progress", exact=True)).to_be_visible()
    schema: dict[str, Any] = server.http.get(server.url + "/openapi.json", timeout=5).json()
    operations = [f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item]
    assert len(operations) >= 10
    for name in operations:
        expect(page.get_by_role("heading", name=name, exact=True)).to_have_count(1)
    expect(page.locator("#docs")).to_have_attribute("aria-busy", "false")
    # Parameters, bodies and responses are there too, and the named schemas.
    ingest = page.locator("article.op", has=page.get_by_role("heading", name="POST /progress", exact=True))
    expect(ingest.get_by_role("heading", name="Request body")).to_be_visible()
    expect(ingest.get_by_text("application/json").first).to_be_visible()
    tasks = page.locator("article.op", has=page.get_by_role("heading", name="GET /tasks", exact=True))
    expect(tasks.get_by_role("cell", name="status", exact=True)).to_be_visible()
    for name in schema["components"]["schemas"]:
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    assert elsewhere == []  # nothing was even asked of another host

    # The old address leads there.
    page.goto(server.url + "/redoc")
    expect(page).to_have_url(server.url + "/docs")
    expect(page.get_by_role("heading", name="GET /health", exact=True)).to_be_visible()
