"""``progressista demo``: a short run of it shows every state on a live server, read back through ``GET /tasks``."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from collections.abc import Callable

from clientkit import CLI, client_env, run
from support import LiveServer, free_socket, wait_until

from progressista.api import ProgressistaApi
from progressista.demo import Demo, timeline


def test_the_plan_names_every_state_and_how_to_watch():
    lines = timeline(Demo("101500", 60.0), "http://localhost:8000/")
    assert lines[0] == "Demo for 01:00: two runs, prep-101500 and train-101500."
    assert lines[1:3] == [
        "  Dashboard: http://localhost:8000/",
        "  Terminal:  progressista watch --url http://localhost:8000",
    ]
    text = "\n".join(lines)
    for state in ("Active", "lost", "stale", "Completed", "the prep run is done", "fails: RuntimeError"):
        assert state in text


def test_demo_shows_every_state_on_a_live_server(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(stale_seconds=0.3, lost_seconds=1.5, api_token="demo-token")
    seen: dict[str, set[str]] = defaultdict(set)
    command = [*CLI, "demo", "--duration", "4", "--url", server.url, "--token", "demo-token"]
    with (
        ProgressistaApi(server.url, token="demo-token") as api,
        subprocess.Popen(
            command, env=client_env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as demo,
    ):

        def every_state_seen() -> bool:
            for task_id, task in api.tasks().items():
                seen[task_id].add(task["status"])
            statuses = set().union(*seen.values()) if seen else set()
            return demo.poll() is not None and {"update", "stale", "lost", "close", "error"} <= statuses

        wait_until(every_state_seen, timeout=30, interval=0.05, what="every state")
        out, err = demo.communicate(timeout=30)
        tasks = api.tasks()
        groups = api._request("GET", server.url + "/groups")["groups"]
    assert demo.returncode == 0, err
    assert "progressista:" not in err  # no warning: the token is right
    assert out.startswith("Demo for 00:04: two runs, prep-") and f"Dashboard: {server.url}/?token=demo-token" in out
    by_name = {task_id.split(":", 1)[1]: task for task_id, task in tasks.items()}
    assert by_name["eval"]["status"] == "error"
    assert by_name["eval"]["meta"]["error"] == "RuntimeError: CUDA out of memory: tried to allocate 2.10 GiB"
    assert "stale" in seen[next(t for t in seen if t.endswith(":lock"))]
    assert "lost" in seen[next(t for t in seen if t.endswith(":worker-4"))]
    for name in ("download", "tokenise", "worker-1", "worker-2", "worker-3"):
        assert by_name[name]["status"] == "close" and by_name[name]["n"] == by_name[name]["total"] == 100
        assert by_name[name]["postfix"].startswith("loss=") and by_name[name]["unit"] != "it"
    prep = next(row for prefix, row in groups.items() if prefix.startswith("prep-"))
    assert prep["counts"]["done"] == 2 and prep["members"] == 2  # the group that completed


def test_demo_with_the_server_down_still_exits_cleanly() -> None:
    with free_socket() as sock:
        done = run(
            [*CLI, "demo", "--duration", "1"],
            client_env(None, PROGRESSISTA_SERVER_URL=f"http://127.0.0.1:{sock.getsockname()[1]}"),
        )
    assert done.returncode == 0
    assert done.stderr.startswith("progressista: cannot reach http://127.0.0.1:") and "Traceback" not in done.stderr
    assert done.stderr.count("progressista:") == 1  # said once, not again by the bars


def test_demo_against_a_token_server_without_the_token_says_so_once(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="demo-token")
    for token, what in ((None, "requires a token"), ("wrong", "refused the token")):
        extra = ["--token", token] if token else []
        done = run([*CLI, "demo", "--duration", "1", "--url", server.url, *extra], client_env(None))
        assert done.returncode == 0
        lines = [line for line in done.stderr.splitlines() if line.startswith("progressista:")]
        assert lines == [
            f"progressista: {server.url} {what} (HTTP 401); bars will not show: "
            "set PROGRESSISTA_API_TOKEN or pass --token"
        ]
