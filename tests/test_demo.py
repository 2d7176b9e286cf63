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
    assert "progressista:" not in done.stderr  # no warning: the token is right
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
    assert done.stderr.startswith("progressista: cannot reach http://127.0.0.1:") and "Traceback" not in done.stderr
    assert done.stderr.count("progressista:") == 1  # said once, not again by the bars


def test_demo_against_a_token_server_without_the_token_says_so_once(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="demo-token")
    for token, what in ((None, "requires a token"), ("wrong", "refused the token")):
        extra = ["--token", token] if token else []
        done = run(
            [*CLI, "demo", "--bars", "2", "--total", "3", "--delay", "0", "--url", server.url, *extra], client_env(None)
        )
        assert done.returncode == 0
        lines = [line for line in done.stderr.splitlines() if line.startswith("progressista:")]
        assert lines == [
            f"progressista: {server.url} {what} (HTTP 401); bars will not show: "
            "set PROGRESSISTA_API_TOKEN or pass --token"
        ]
