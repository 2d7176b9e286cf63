"""``static/js/format.js`` against ``protocol/format_cases.json``, in headless Chromium.

The same cases the Python tests check against ``protocol/format.py``: every case
runs in the browser, through the module the page itself loads from the real
server, so the dashboard and the terminal write the same text. Run under two
locales, since nothing may depend on the browser's (``1,234`` in German too).
"""

from __future__ import annotations

import copy
import json
import random
from importlib.resources import files
from typing import Any

import pytest
from dashboard_support import browser_fixture  # noqa: F401 - the fixture browser
from playwright.sync_api import Browser, Page
from support import LiveServer

from progressista.protocol import format as fmt

CASES: dict[str, list[dict[str, Any]]] = json.loads(
    (files("progressista.protocol") / "format_cases.json").read_text(encoding="utf-8")
)["cases"]

# Each case as a call of the module's function: Python's snake_case name in camelCase. The cases go over as
# JSON text, parsed in the page, so a lone surrogate (text.py's cases hold one) arrives as it was written.
RUN_CASES = """async ([module, json]) => {
    const mod = await import(new URL(`js/${module}.js`, location.href));
    const results = [];
    for (const [name, list] of Object.entries(JSON.parse(json))) {
        const camel = name.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase());
        for (const { args } of list) {
            if (typeof mod[camel] !== "function") {
                results.push({ name, camel, missing: true });
                continue;
            }
            try {
                results.push({ name, camel, out: mod[camel](...args) });
            } catch (error) {
                results.push({ name, camel, error: String(error) });
            }
        }
    }
    return results;
}"""


def wrong_cases(page: Page, cases: dict[str, list[dict[str, Any]]], module: str = "format") -> list[str]:
    """One line per case the page's ``js/{module}.js`` answers differently from its ``out``."""
    results = iter(page.evaluate(RUN_CASES, [module, json.dumps(cases)]))
    wrong = []
    for name, listed in cases.items():
        for case in listed:
            got = next(results)
            call = f"{got['camel']}({', '.join(json.dumps(arg) for arg in case['args'])})"
            if got.get("missing"):
                wrong.append(f"{module}.js has no {got['camel']} ({module}.py's {name})")
            elif "error" in got:
                wrong.append(f"{call} raised {got['error']}")
            elif got["out"] != case["out"]:
                wrong.append(f"{call} gave {json.dumps(got['out'])}, {module}.py gives {json.dumps(case['out'])}")
    return wrong


@pytest.fixture(params=["en-US", "de-DE"])
def page(browser: Browser, server: LiveServer, request: pytest.FixtureRequest) -> Page:
    """The dashboard's page, served by the real server (its CSP and all), in ``request.param``'s locale."""
    context = browser.new_context(locale=request.param)
    request.addfinalizer(context.close)
    page = context.new_page()
    page.goto(server.url + "/static/index.html")
    return page


def test_every_case_of_format_py_holds_in_the_browser(page: Page) -> None:
    assert sum(map(len, CASES.values())) > 50, "the cases file looks truncated"
    assert set(CASES) >= {"format_count", "format_amount", "task_figures", "group_figures"}
    assert wrong_cases(page, CASES) == []


def test_a_wrong_case_is_reported(page: Page) -> None:
    """Negative control: the check sees a case the module does not satisfy, and a function it lacks."""
    altered = copy.deepcopy(CASES)
    altered["format_count"][2]["out"] = "1.234"  # the German separator: exactly what must not happen
    altered["task_figures"][1]["out"]["rate"] = ""  # as the browser did before: no n/elapsed fallback
    altered["format_fortune"] = [{"args": [1], "out": "1"}]
    task, right, wrong = (
        CASES["task_figures"][1]["args"][0],
        CASES["task_figures"][1]["out"],
        altered["task_figures"][1]["out"],
    )
    assert wrong_cases(page, altered) == [
        'formatCount(1234) gave "1,234", format.py gives "1.234"',
        f"taskFigures({json.dumps(task)}) gave {json.dumps(right)}, format.py gives {json.dumps(wrong)}",
        "format.js has no formatFortune (format.py's format_fortune)",
    ]


def sample_numbers(count: int = 1500) -> list[float]:
    """Numbers of every size, ties (``x.125``, ``x.5``) and near-ties included, from a fixed seed."""
    rng = random.Random(15)
    numbers: list[float] = [0, -0.0, 0.5, 1.5, 2.5, 999.5, 9.995, 99.95, 999_999.5, 1e21, -1234.5]
    while len(numbers) < count:
        scale = 10 ** rng.randint(-4, 13)
        kind = rng.random()
        if kind < 0.3:
            numbers.append(rng.randint(0, 10**7) / 8 * (1 if scale > 1 else scale))  # exact binary ties
        elif kind < 0.5:
            numbers.append(float(rng.randint(-(10**9), 10**9)))
        else:
            numbers.append(rng.random() * scale * rng.choice((1, 1, 1, -1)))
    return numbers


def test_random_numbers_read_the_same_in_both(page: Page) -> None:
    """Beyond the listed cases: the same numbers through both implementations, compared as text."""
    numbers = sample_numbers()
    pairs = list(zip(numbers, numbers[1:] + numbers[:1], strict=True))
    cases = {
        "format_count": [{"args": [x], "out": fmt.format_count(x)} for x in numbers],
        "format_amount": [{"args": [n, t, "it"], "out": fmt.format_amount(n, t, "it")} for n, t in pairs],
        "format_rate": [{"args": [x, "B"], "out": fmt.format_rate(x, "B")} for x in numbers],
        "format_duration": [{"args": [x], "out": fmt.format_duration(x)} for x in numbers if abs(x) < 1e12],
        "format_since": [{"args": [x], "out": fmt.format_since(x)} for x in numbers],
        "format_percent": [{"args": [x], "out": fmt.format_percent(x)} for x in numbers if abs(x) < 1e6],
    }
    assert wrong_cases(page, cases) == []


READ_PROTOCOL = """async () => {
    const protocol = await import(new URL("js/protocol.js", location.href));
    const ids = ["run-1:rank-0", "solo:x", "plain", ":x", "x:", "a:b:c"];
    return {
        ACTIVE: [...protocol.ACTIVE].sort(), COLUMNS: protocol.COLUMNS, COLUMN_TITLES: protocol.COLUMN_TITLES,
        COLUMN_OF: protocol.COLUMN_OF, STATUS_LABELS: protocol.STATUS_LABELS, BUCKETS: protocol.BUCKETS,
        groups: ids.map((id) => protocol.groupOf(id)),
    };
}"""


def test_the_pages_contract_names_are_the_protocols(page: Page) -> None:
    """``js/protocol.js`` restates statuses, columns and buckets: they must be ``protocol``'s, to the letter."""
    from progressista.protocol import groups, statuses

    found = page.evaluate(READ_PROTOCOL)
    expected = {
        "ACTIVE": sorted(statuses.ACTIVE),
        "COLUMNS": list(statuses.COLUMNS),
        "COLUMN_TITLES": statuses.COLUMN_TITLES,
        "COLUMN_OF": statuses.COLUMN_OF,
        "STATUS_LABELS": statuses.STATUS_LABELS,
        "BUCKETS": {bucket: list(members) for bucket, members in groups.BUCKETS.items()},
        "groups": [groups.group_of(task_id) for task_id in ["run-1:rank-0", "solo:x", "plain", ":x", "x:", "a:b:c"]],
    }
    assert found == expected
    assert list(found["BUCKETS"]) == list(groups.BUCKETS)  # the order the pills are drawn in


READ_REASONS = """async (tasks) => {
    const protocol = await import(new URL("js/protocol.js", location.href));
    return { reasons: tasks.map((task) => protocol.reasonOf(task)), limit: protocol.MAX_ERROR };
}"""


def test_the_pages_reasons_are_the_protocols(page: Page) -> None:
    """``reasonOf`` (``js/protocol.js``) says what ``protocol.reasons.reason`` says, case for case."""
    from test_protocol_reasons import CASES

    from progressista.protocol.reasons import reason
    from progressista.protocol.task import MAX_ERROR

    tasks = [task for task, _ in CASES]
    found = page.evaluate(READ_REASONS, tasks)
    assert found["limit"] == MAX_ERROR
    assert found["reasons"] == [reason(task) for task in tasks] == [expected for _, expected in CASES]
    # Negative control: the comparison sees a task whose reason differs.
    assert page.evaluate(READ_REASONS, [{"status": "error", "meta": {"error": "a\nb"}}])["reasons"] != ["a\nb"]


TEXT_CASES: dict[str, list[dict[str, Any]]] = json.loads(
    (files("progressista.protocol") / "text_cases.json").read_text(encoding="utf-8")
)["cases"]


def test_every_case_of_text_py_holds_in_the_browser(page: Page) -> None:
    """``js/text.js`` shows task text as ``protocol/text.py`` does: markers for controls and invisible characters."""
    assert set(TEXT_CASES) == {"marker", "shown_text", "shown_id"}
    assert wrong_cases(page, TEXT_CASES, "text") == []
    # Negative control: a case the module does not satisfy (the override left in, as it was before) is seen.
    altered = {"shown_id": [{"args": ["report\u202etxt.exe"], "out": "report\u202etxt.exe"}]}
    assert wrong_cases(page, altered, "text") == [
        'shownId("report\\u202etxt.exe") gave "report<U+202E>txt.exe", text.py gives "report\\u202etxt.exe"'
    ]


MARKED_CODE_POINTS = """async () => {
    const text = await import(new URL("js/text.js", location.href));
    const marked = { text: [], id: [] };
    for (let code = 0; code <= 0x10ffff; code++) {
        const char = String.fromCodePoint(code);
        if (text.shownText(char) !== char) marked.text.push(code);
        if (text.shownId(char) !== char) marked.id.push(code);
    }
    return marked;
}"""


def test_both_sides_mark_the_same_code_points(page: Page) -> None:
    """Every code point this Python's Unicode database assigns is shown alike by ``text.py`` and ``text.js``.

    Unassigned ones are left out: the browser's Unicode may be newer (it may know a format character Python
    does not yet); the cases file holds none of them.
    """
    import unicodedata

    from progressista.protocol.text import shown_id, shown_text

    found = page.evaluate(MARKED_CODE_POINTS)
    assigned = [code for code in range(0x110000) if unicodedata.category(chr(code)) != "Cn"]
    for rule, shown in (("text", shown_text), ("id", shown_id)):
        browser = set(found[rule])
        differ = [hex(code) for code in assigned if (code in browser) != (shown(chr(code)) != chr(code))]
        assert differ == [], f"{rule}: shown differently by the browser: {differ[:20]}"
    assert 0x202E in found["id"] and 0x41 not in found["id"] and 0x200D in found["id"] and 0x200D not in found["text"]


HISTORY_CASES: dict[str, list[dict[str, Any]]] = json.loads(
    (files("progressista.protocol") / "history_cases.json").read_text(encoding="utf-8")
)["cases"]


def test_every_case_of_history_py_holds_in_the_browser(page: Page) -> None:
    """``taskKey`` and ``slowerThanUsual`` (``js/protocol.js``) answer as ``protocol/history.py`` does."""
    assert set(HISTORY_CASES) == {"task_key", "slower_than_usual"}
    assert wrong_cases(page, HISTORY_CASES, "protocol") == []
    # Negative control: a case the module does not satisfy (the date left in the key) is seen.
    altered = {"task_key": [{"args": ["nightly-2026-12-01:load", {}], "out": "nightly-2026-12-01:load"}]}
    assert wrong_cases(page, altered, "protocol") == [
        'taskKey("nightly-2026-12-01:load", {}) gave "nightly:load", protocol.py gives "nightly-2026-12-01:load"'
    ]


KEY_OF_EVERY_CODE_POINT = """async () => {
    const protocol = await import(new URL("js/protocol.js", location.href));
    const dropped = [], stripped = [];
    for (let code = 0; code <= 0x10ffff; code++) {
        const char = String.fromCodePoint(code);
        if (protocol.taskKey(`g-${char}:x`, {}) === "g:x") dropped.push(code);
        if (protocol.taskKey("g:x", { key: `${char}k${char}` }) === "k") stripped.push(code);
    }
    return { dropped, stripped };
}"""


def test_both_sides_see_the_same_digits_and_spaces_in_a_key(page: Page) -> None:
    """Every assigned code point: a run id part holding it is dropped, and a ``key=`` edged with it is stripped,
    alike by ``history.py`` (``str.isdigit``, ``str.strip``) and ``protocol.js``."""
    import unicodedata

    from progressista.protocol.history import task_key

    found = page.evaluate(KEY_OF_EVERY_CODE_POINT)
    assigned = [code for code in range(0x110000) if unicodedata.category(chr(code)) != "Cn"]
    for rule, browser, python in (
        ("dropped", set(found["dropped"]), lambda c: task_key(f"g-{c}:x", {}) == "g:x"),
        ("stripped", set(found["stripped"]), lambda c: task_key("g:x", {"key": f"{c}k{c}"}) == "k"),
    ):
        differ = [hex(code) for code in assigned if (code in browser) != python(chr(code))]
        assert differ == [], f"{rule} differently by the browser: {differ[:20]}"
    assert 0x31 in found["dropped"] and 0xB2 in found["dropped"] and 0x41 not in found["dropped"]
    assert 0x20 in found["stripped"] and 0xFEFF not in found["stripped"]
