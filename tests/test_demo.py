from __future__ import annotations

from collections.abc import Callable

from clientkit import CLI, client_env, run
from support import LiveServer, free_socket, wait_until

from progressista.api import ProgressistaApi


def test_demo_posts_realistic_bars_and_one_that_goes_stale(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(stale_seconds=0.3, api_token="demo-token")
    done = run(
        [
            *CLI,
            "demo",
            "--bars",
            "2",
            "--total",
            "8",
            "--delay",
            "0.01",
            "--stale",
            "--url",
            server.url,
            "--token",
            "demo-token",
        ],
        client_env(None),
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    with ProgressistaApi(server.url, token="demo-token") as api:
        closed = wait_until(lambda: (t := api.tasks(status="close")) and len(t) == 2 and t, what="2 closed bars")
        for task in closed.values():
            assert task["n"] == task["total"] == 8
            assert task["rate"] > 0 and task["postfix"].startswith("loss=")
            assert task["meta"]["demo"] is True and task["unit"] != "it"
        stale = wait_until(lambda: api.tasks(status="stale"), what="the stale bar")
        (quiet,) = stale.values()
        assert quiet["n"] == 4 and quiet["desc"] == "Waiting on a lock"


def test_demo_with_the_server_down_still_exits_cleanly() -> None:
    with free_socket() as sock:
        done = run(
            [*CLI, "demo", "--bars", "1", "--total", "3", "--delay", "0"],
            client_env(None, PROGRESSISTA_SERVER_URL=f"http://127.0.0.1:{sock.getsockname()[1]}"),
        )
    assert done.returncode == 0
    assert done.stderr.startswith("Warning: cannot reach") and "Traceback" not in done.stderr
