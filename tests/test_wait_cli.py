"""`progressista wait` against a real server: exit codes, summaries and edge cases."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from clientkit import CLI, client_env, metric, run
from support import LiveServer, free_port, run_server, wait_until


def event(task_id: str, status: str = "update", **fields: Any) -> dict[str, Any]:
    return {"task_id": task_id, "status": status, "n": 1, "total": 4, **fields}


def wait(server: LiveServer | str, *args: str, timeout: float = 30) -> tuple[int, str, str]:
    url = server if isinstance(server, str) else server.url
    done = run([*CLI, "wait", "--url", url, *args], client_env(None), timeout=timeout)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def start_wait(server: LiveServer, *args: str) -> subprocess.Popen[str]:
    """``progressista wait`` in the background, once it follows the server's feed."""
    before = metric(server, "progressista_ws_clients")
    waiter = subprocess.Popen(
        [*CLI, "wait", "--url", server.url, *args],
        env=client_env(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(
        lambda: metric(server, "progressista_ws_clients") > before or waiter.poll() is not None, what="wait to connect"
    )
    return waiter


def finished(waiter: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = waiter.communicate(timeout=20)
    return waiter.returncode, out.strip(), err.strip()


def test_exits_0_when_every_task_closed(server: LiveServer) -> None:
    server.post([event("job:a", "start"), event("job:b", "start")])
    waiter = start_wait(server, "job:a", "job:b", "--timeout", "20")
    server.post(event("job:a", "close"))
    assert waiter.poll() is None  # job:b is still open
    server.post(event("job:b", "close"))
    code, out, err = finished(waiter)
    assert code == 0, err
    assert out.startswith("2 tasks closed in ") and out.endswith(" s")


def test_a_task_already_closed_is_not_waited_for(server: LiveServer) -> None:
    server.post([event("done", "close"), event("running", "update")])
    code, out, _ = wait(server, "done")
    assert (code, out.split(" in ")[0]) == (0, "1 task closed")
    # --timeout 0 checks the current state once
    assert wait(server, "done", "--timeout", "0")[0] == 0
    assert wait(server, "running", "--timeout", "0")[::2] == (2, "timed out after 0 s: 1 of 1 task still open")


def test_exits_1_when_a_group_member_ends_in_error(server: LiveServer) -> None:
    server.post([event("run-42:rank-0", "start"), event("run-42:rank-1", "start"), event("other", "start")])
    waiter = start_wait(server, "--group", "run-42")
    server.post(event("run-42:rank-1", "error", meta={"signal": "SIGTERM"}))
    code, out, err = finished(waiter)
    assert (code, out, err) == (1, "", "run-42:rank-1 ended error (SIGTERM)")


def test_the_summary_says_why_a_task_failed(server: LiveServer) -> None:
    server.post([event("etl:extract", "close"), event("etl:load", "start")])
    waiter = start_wait(server, "--group", "etl")
    server.post(event("etl:load", "error", meta={"error": "KeyError: 'id'"}))
    assert finished(waiter) == (1, "", "etl:load ended error: KeyError: 'id'")
    # Negative control: an error without a reason says no more than that.
    server.post(event("bare:x", "error"))
    assert wait(server, "--group", "bare") == (1, "", "bare:x ended error")


def run_task(run_id: str, status: str = "start", **meta: Any) -> dict[str, Any]:
    """The task ``progressista run`` posts for the program itself (what the client side sends)."""
    fields = {"desc": "python job.py --epochs 3", "n": 0, "total": None}
    return {"task_id": f"{run_id}:run", "status": status, **fields, "meta": {"kind": "run", **meta}}


def test_a_group_whose_run_task_is_open_is_not_done(server: LiveServer) -> None:
    """The program pauses between two bars: every bar closed, the run task open; wait waits for the program."""
    server.post([event("job-1:a", "close"), event("job-1:b", "close"), run_task("job-1")])
    assert wait(server, "--group", "job-1", "--timeout", "0.5")[::2] == (
        2,
        "timed out after 0.5 s: 1 of 3 tasks still open",
    )
    waiter = start_wait(server, "--group", "job-1", "--timeout", "20")
    server.post(event("job-1:c", "start"))  # the next bar, after the pause
    server.post(event("job-1:c", "close"))
    assert waiter.poll() is None  # every bar closed, the program still runs
    server.post(run_task("job-1", "close", exit_code=0))
    code, out, err = finished(waiter)
    assert code == 0, err
    assert out.startswith("4 tasks closed in ")
    # Negative control: the same bars without a run task are done at once.
    server.post([event("job-2:a", "close"), event("job-2:b", "close")])
    assert wait(server, "--group", "job-2", "--timeout", "0.5")[0] == 0


def test_a_failed_run_task_fails_the_wait_with_its_reason(server: LiveServer) -> None:
    server.post([event("job-3:a", "close"), run_task("job-3")])
    waiter = start_wait(server, "--group", "job-3", "--timeout", "20")
    server.post(run_task("job-3", "error", exit_code=1, error="RuntimeError: boom at 40"))
    assert finished(waiter) == (1, "", "job-3:run ended error: RuntimeError: boom at 40")


def test_exits_1_when_a_task_is_lost(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(lost_seconds=0.3)
    server.post(event("quiet:1", "start"))  # and no contact after that
    assert wait(server, "quiet:1", "--timeout", "20") == (1, "", "quiet:1 is lost (no contact)")


def test_exits_2_on_timeout(server: LiveServer) -> None:
    server.post([event("slow:1", "start"), event("slow:2", "close")])
    code, out, err = wait(server, "--group", "slow", "--timeout", "0.3")
    assert (code, out, err) == (2, "", "timed out after 0.3 s: 1 of 2 tasks still open")
    assert wait(server, "--group", "empty", "--timeout", "0.2")[::2] == (
        2,
        "timed out after 0.2 s: no task in group 'empty' yet",
    )


def test_a_task_that_appears_later_is_waited_for(server: LiveServer) -> None:
    waiter = start_wait(server, "late:1", "--timeout", "20")
    server.post(event("late:1", "start"))
    server.post(event("late:1", "close"))
    code, out, err = finished(waiter)
    assert code == 0, err
    assert out.startswith("1 task closed in ")


def test_reconnects_after_the_server_restarts() -> None:
    port = free_port()

    def bound() -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    with run_server(sock=bound()) as first:
        first.post([event("r:a", "start"), event("r:b", "start")])
        waiter = start_wait(first, "r:a", "r:b", "--timeout", "20")
        sent = wait_until(lambda: metric(first, "progressista_ws_messages_sent_total"), what="the snapshot sent")
        first.post(event("r:a", "close"))
        # Stopped only once the waiter has been sent the news (the feed's one client here).
        wait_until(lambda: metric(first, "progressista_ws_messages_sent_total") > sent, what="r:a's close sent")
    # Gone, and back with an empty memory: r:a's close is remembered, r:b is waited for.
    with run_server(sock=bound()) as second:
        wait_until(lambda: metric(second, "progressista_ws_clients") >= 1, what="wait to reconnect")
        assert waiter.poll() is None
        second.post(event("r:b", "close"))
        code, out, err = finished(waiter)
    assert code == 0, err
    assert out.startswith("2 tasks closed in ")
    assert "retrying in" in err


def test_a_refused_token_exits_4(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="s3cret")
    server.post(event("t:1", "close"), headers={"Authorization": "Bearer s3cret"})
    code, _, err = wait(server, "t:1", "--token", "wrong", "--timeout", "10")
    assert code == 4
    assert (
        err == "Error: the server refused the token (the WebSocket was closed with 1008); "
        "check --token or PROGRESSISTA_API_TOKEN"
    )
    code, _, err = wait(server, "t:1", "--timeout", "10")
    assert code == 4 and err.startswith("Error: the server needs a token")
    assert wait(server, "t:1", "--token", "s3cret")[0] == 0


def test_an_unreachable_server_exits_3_at_the_deadline() -> None:
    code, _, err = wait(f"http://127.0.0.1:{free_port()}", "x", "--timeout", "0.8")
    assert code == 3
    assert err.splitlines()[-1].startswith("Error: cannot reach http://127.0.0.1:")
    assert "connection refused" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [((), "nothing to wait for"), (("--group", "a:b"), "is not a group prefix")],
)
def test_usage_errors(args: tuple[str, ...], message: str) -> None:
    code, _, err = wait("http://127.0.0.1:1", *args)
    assert code == 2 and err.startswith("Error: ") and message in err


def test_without_websockets_one_line_names_the_extra() -> None:
    blocked = "import sys; sys.modules['websockets'] = None\nfrom progressista.cli import main; main()"
    done = run([sys.executable, "-c", blocked, "wait", "x"], client_env(None))
    assert done.returncode == 3
    assert done.stderr.strip() == (
        "Error: wait needs the websockets package, a dependency of progressista: pip install websockets"
    )
