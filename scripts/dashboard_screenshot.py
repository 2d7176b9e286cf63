"""Regenerate the dashboard screenshot in ``docs/``: a real server, demo tasks, headless Chromium.

Usage::

    python scripts/dashboard_screenshot.py                 # docs/dashboard.png
    python scripts/dashboard_screenshot.py --dark --out docs/dashboard-dark.png
    python scripts/dashboard_screenshot.py --width 390 --height 844 --out /tmp/phone.png

Needs the ``server`` extra, the ``playwright`` Python package and a Chromium
binary (Debian: ``apt-get install chromium``; never ``playwright install``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests
from demo_server import serve
from playwright.sync_api import expect, sync_playwright

from progressista.server import Settings, routes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from chromium import find_chromium, launch  # noqa: E402 - the tests' one place for Chromium's flags


@contextmanager
def server_clock_shifted(seconds: float) -> Iterator[None]:
    """Make the server stamp incoming events ``seconds`` in the past.

    Demo only: it lets the picture show tasks that went idle or finished a
    while ago without waiting that long. Swaps the ``time`` module the routes
    read, for this process, for the duration of the block.
    """
    real = getattr(routes, "time")  # noqa: B009 - not a public name of routes
    setattr(routes, "time", SimpleNamespace(time=lambda: real.time() - seconds))  # noqa: B010
    try:
        yield
    finally:
        setattr(routes, "time", real)  # noqa: B010


def post(url: str, events: list[dict[str, Any]]) -> None:
    response = requests.post(url + "/progress", json=events, timeout=5)
    response.raise_for_status()


def bar(task_id: str, desc: str, n: float, total: float | None, unit: str, **fields: Any) -> dict[str, Any]:
    """One demo bar's state, as RemoteTqdm would post it (``status`` "update" unless given)."""
    return {"task_id": task_id, "status": "update", "desc": desc, "n": n, "total": total, "unit": unit, **fields}


# fmt: off
# The demo's bars, one call each: a table reads better than one argument a line.
def train_ranks() -> list[dict[str, Any]]:
    """Four ranks of one training run, close to each other."""
    return [
        bar(f"train-resnet50:rank-{rank}", f"Epoch 7/20 · rank {rank}", n, 782, "batch", elapsed=n / rate, rate=rate,
            postfix=f"loss={0.412 + rank * 0.007:.3f}, acc={0.871 - rank * 0.004:.3f}",
            meta={"model": "resnet50", "gpu": f"A100:{rank % 2}", "job_id": "slurm-88123"},
            host=f"gpu-node-0{rank // 2 + 1}", pid=40211 + rank)
        for rank, (n, rate) in enumerate([(611, 5.42), (598, 5.31), (604, 5.37), (587, 5.18)])
    ]


ETL = {"job_id": "airflow-7731"}
ROWS = 1_284_113


def etl() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A nightly ETL: extract done, transform running, load just started."""
    done = [bar("etl-nightly:extract", "Extract orders from Postgres", ROWS, ROWS, "rows", status="close",
                elapsed=412.0, rate=3116.8, meta={"source": "orders_2024", **ETL}, host="etl-01", pid=9182)]
    running = [
        bar("etl-nightly:transform", "Transform & deduplicate", 803_442, ROWS, "rows", elapsed=188.3, rate=4267.1,
            postfix="dupes=1,204", meta=ETL, host="etl-01", pid=9183),
        bar("etl-nightly:load", "Load into warehouse", 0, ROWS, "rows", status="start",
            meta={"target": "bigquery", **ETL}, host="etl-01", pid=9184),
    ]
    return done, running


def singles() -> list[dict[str, Any]]:
    """Two bars of their own: a download in bytes, and one without a total."""
    return [
        bar("download-laion-shards", "Downloading dataset shards", 7.91e9, 12.4e9, "B", elapsed=81.0, rate=97.6e6,
            meta={"bucket": "s3://datasets/laion", "shards": "64"}, host="ingest-02", pid=5120),
        bar("embed-docs", "Embedding support articles", 18_234, None, "docs", elapsed=44.2, rate=412.5,
            meta={"model": "all-MiniLM-L6-v2", "batch": 64}, host="cpu-box", pid=777),
    ]


CRAWL = {"region": "eu-west-1", "job_id": "crawl-2024-06"}


def crawler(shard: int, n: int, elapsed: float, rate: float, **fields: Any) -> dict[str, Any]:
    return bar(f"crawler:shard-{shard}", "Crawl product pages", n, 10_000, "pages", elapsed=elapsed, rate=rate,
               meta=CRAWL, host=f"worker-{shard}", pid=2200 + shard, **fields)


def idle_tasks() -> list[dict[str, Any]]:
    """Two crawler shards still alive but making no progress: stale."""
    return [crawler(17, 3_412, 1_840.0, 1.85, postfix="retries=37"), crawler(18, 2_988, 1_812.0, 1.65)]


def lost_task() -> list[dict[str, Any]]:
    """A crawler shard whose worker died: no contact for minutes, so the server marks it lost."""
    return [crawler(19, 6_120, 1_702.0, 3.6)]


def sweep() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A learning-rate sweep: two trials running, one failed, so the group row shows the error colour."""

    def trial(number: int, lr: str, n: int, rate: float, **fields: Any) -> dict[str, Any]:
        return bar(f"sweep-lr:trial-{number}", f"Fine-tune · lr={lr}", n, 5_000, "step", elapsed=n / rate,
                   rate=rate, meta={"job_id": "sweep-311"}, host=f"gpu-node-0{number + 3}", pid=51000 + number,
                   **fields)

    running = [trial(1, "1e-4", 3_412, 41.2), trial(2, "3e-4", 2_958, 38.7)]
    failed = [trial(3, "1e-3", 1_210, 40.3, status="error", postfix="ValueError: loss is NaN")]
    return running, failed


def finished() -> list[dict[str, Any]]:
    """Evaluations (one failed) and a tokenizer run, done a while ago."""
    checkpoint = {"checkpoint": "epoch-6.pt", "job_id": "slurm-88120"}
    return [
        bar("eval:cifar10-c", "Robustness eval on CIFAR-10-C", 31_500, 50_000, "img", status="error", elapsed=96.4,
            rate=326.8, postfix="RuntimeError: CUDA out of memory", meta=checkpoint, host="gpu-node-03", pid=31337),
        bar("eval:imagenet-val", "Validate on ImageNet", 50_000, 50_000, "img", status="close", elapsed=141.9,
            rate=352.4, postfix="top1=76.4%, top5=93.1%", meta=checkpoint, host="gpu-node-03", pid=31338),
        bar("tokenize-corpus", "Tokenize corpus", 2_000_000, 2_000_000, "docs", status="close", elapsed=655.0,
            rate=3053.4, meta={"tokenizer": "sentencepiece"}, host="cpu-box", pid=612),
    ]
# fmt: on


def populate(url: str) -> None:
    done_etl, running_etl = etl()
    running_trials, failed_trial = sweep()
    with server_clock_shifted(42 * 60):
        post(url, finished()[2:])
    with server_clock_shifted(17 * 60):
        post(url, [{**e, "status": "start"} for e in idle_tasks()])
        post(url, idle_tasks())
    # Their workers still heartbeat (same state, so seen_at moves and updated_at stays): stale, not lost.
    post(url, idle_tasks())
    with server_clock_shifted(3 * 60 + 20):
        post(url, lost_task())  # and never heard from again: lost
    with server_clock_shifted(6 * 60):
        post(url, finished()[:2] + done_etl)
    with server_clock_shifted(70):
        post(url, failed_trial)
    with server_clock_shifted(25):
        post(url, [running_etl[1]])
    with server_clock_shifted(5):
        post(url, running_etl[:1])
    with server_clock_shifted(3):
        post(url, train_ranks())
    with server_clock_shifted(1):
        post(url, singles())
    post(url, running_trials)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=980)
    parser.add_argument("--scale", type=float, default=1.5, help="device pixel ratio")
    parser.add_argument("--dark", action="store_true", help="dark colour scheme")
    args = parser.parse_args(argv)

    # Idle tasks go stale after 5 minutes, silent ones lost after 2; checked often so the picture is ready at once.
    settings = Settings(stale_seconds=300, lost_seconds=120, cleanup_interval=0.1)
    with serve(settings) as url, sync_playwright() as playwright:
        populate(url)
        executable = find_chromium()
        if executable is None:
            raise SystemExit("no Chromium found (Debian: apt-get install chromium)")
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(
                viewport={"width": args.width, "height": args.height},
                device_scale_factor=args.scale,
                color_scheme="dark" if args.dark else "light",
                locale="en-US",
                reduced_motion="reduce",  # indeterminate bars hold still for the picture
            )
            page.goto(url + "/")
            expect(page.get_by_test_id("connection")).to_have_text("Connected")
            expect(page.get_by_test_id("count-stale")).to_have_text("3")
            expect(page.locator('[data-testid="task-card"][data-status="lost"]')).to_have_count(1)
            expect(page.get_by_test_id("count-completed")).to_have_text("5")
            # Two runs folded to their rows, to show what a collapsed group looks like (and to fit the picture);
            # dispatched rather than clicked, so the column does not scroll to the toggle.
            active = page.get_by_test_id("column-active")
            for prefix in ("train-resnet50", "etl-nightly"):
                toggle = active.locator(f'[data-testid="group"][data-group="{prefix}"]').get_by_test_id("group-toggle")
                toggle.dispatch_event("click")
                expect(toggle).to_have_attribute("aria-expanded", "false")
            page.wait_for_timeout(600)  # let bar transitions settle
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
        finally:
            browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
