from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from clientkit import client_env, final_task, metric, python, run, script
from support import LiveServer, free_socket, run_server, wait_until

from progressista import sender
from progressista.api import post_events
from progressista.sender import Sender, route
from progressista.sender.rules import Entry


class Recorder:
    """A post function (the sender's override point) that records what went out, then posts for real."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def __call__(self, session: requests.Session, url: str, payload: list[dict[str, Any]], *rest: Any) -> Any:
        self.batches.append([dict(event) for event in payload])
        return post_events(session, url, payload, *rest)


class Scripted:
    """A post function answering with the given HTTP statuses in turn (then 200); records the task ids posted."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.batches: list[list[str]] = []

    def __call__(self, session: Any, url: str, payload: list[dict[str, Any]], *rest: Any) -> Any:
        self.batches.append([event["task_id"] for event in payload])
        return SimpleNamespace(status_code=self.statuses.pop(0) if self.statuses else 200, headers={}, text="")


@pytest.fixture
def own_sender() -> Iterator[Sender]:
    """A sender of the test's own (the process-wide one is shared), stopped afterwards."""
    instance = Sender()
    yield instance
    instance.close()
    if instance.thread is not None:
        instance.thread.join(5)
        assert not instance.thread.is_alive()


def update(task_id: str, n: float, status: str = "update", **fields: Any) -> dict[str, Any]:
    return {"task_id": task_id, "status": status, "n": n, **fields}


def test_latest_state_wins_and_updates_are_throttled(server: LiveServer, own_sender: Sender) -> None:
    recorder = Recorder()
    target = route(server.url + "/progress", {}, 5.0, 0.3, recorder)
    for n in range(500):
        own_sender.submit(target, "busy", update("busy", n, seq=n))
    wait_until(lambda: server.tasks().get("busy", {}).get("n") == 499, what="the last state")
    assert own_sender.flush(5)
    assert len(recorder.batches) <= 2  # 500 submits within one push interval: one post, maybe two
    assert recorder.batches[-1] == [update("busy", 499, seq=499)]


def test_start_close_and_error_go_out_promptly(server: LiveServer, own_sender: Sender) -> None:
    target = route(server.url + "/progress", {}, 5.0, 60.0, Recorder())  # updates would wait a minute
    own_sender.submit(target, "quick", update("quick", 0, "start"), urgent=True)
    wait_until(lambda: "quick" in server.tasks(), timeout=2, what="the start")
    own_sender.submit(target, "quick", update("quick", 5, "update"))
    own_sender.submit(target, "quick", update("quick", 9, "close"), urgent=True)
    wait_until(lambda: server.tasks()["quick"]["status"] == "close", timeout=2, what="the close")
    assert server.tasks()["quick"]["n"] == 9


def test_one_post_carries_every_pending_task(server: LiveServer, own_sender: Sender) -> None:
    recorder = Recorder()
    target = route(server.url + "/progress", {}, 5.0, 0.2, recorder)
    for i in range(300):
        own_sender.submit(target, f"batch-{i}", update(f"batch-{i}", i, "start"), urgent=True)
    wait_until(lambda: len(server.tasks()) == 300, what="all tasks")
    assert sum(len(batch) for batch in recorder.batches) == 300
    assert len(recorder.batches) <= 5


def test_a_pending_start_is_not_lost_to_a_later_update(server: LiveServer, own_sender: Sender) -> None:
    server.post([{"task_id": "rerun", "status": "close", "n": 10}])
    recorder = Recorder()
    target = route(server.url + "/progress", {}, 5.0, 0.2, recorder)
    own_sender.submit(target, "rerun", update("rerun", 0, "start", seq=1), hold=0.2)
    own_sender.submit(target, "rerun", update("rerun", 3, "update", seq=2))
    wait_until(lambda: server.tasks()["rerun"]["status"] == "start", what="the rerun to start")
    assert recorder.batches == [[update("rerun", 3, "start", seq=2)]]


def test_a_bad_event_does_not_sink_its_batch(server: LiveServer, own_sender: Sender) -> None:
    target = route(server.url + "/progress", {}, 5.0, 0.05, Recorder())
    own_sender.submit(target, "good-1", update("good-1", 1), urgent=True, hold=0.1)
    own_sender.submit(target, "bad", {"task_id": "bad", "n": "NaN"}, urgent=True, hold=0.1)
    own_sender.submit(target, "good-2", update("good-2", 2), urgent=True, hold=0.1)
    wait_until(lambda: {"good-1", "good-2"} <= set(server.tasks()), what="the good events")
    wait_until(lambda: own_sender.pending_count() == 0 and own_sender.stats["dropped"] == 1, what="the bad one")
    assert "bad" not in server.tasks()


def test_a_refused_token_drops_the_batch_without_retrying(
    start_server: Callable[..., LiveServer], own_sender: Sender
) -> None:
    server = start_server(api_token="right")
    target = route(server.url + "/progress", {"Authorization": "Bearer wrong"}, 5.0, 0.05, Recorder())
    own_sender.submit(target, "denied", update("denied", 1, "close"), urgent=True)
    wait_until(lambda: own_sender.stats["dropped"] == 1, what="the drop")
    assert own_sender.stats["failures"] == 0 and own_sender.pending_count() == 0
    assert own_sender.flush(1)


def test_an_unreachable_server_keeps_one_state_per_task(own_sender: Sender) -> None:
    with free_socket() as sock:  # bound but not listening: connection refused
        target = route(f"http://127.0.0.1:{sock.getsockname()[1]}/progress", {}, 1.0, 0.01, Recorder())
        for n in range(1000):
            own_sender.submit(target, f"task-{n % 10}", update(f"task-{n % 10}", n), urgent=n % 7 == 0)
        wait_until(lambda: own_sender.stats["failures"] >= 1, what="a failed post")
        assert own_sender.pending_count() == 10
        started = time.monotonic()
        assert not own_sender.flush(5)  # still unreachable: gives up after one try
        assert time.monotonic() - started < 1.5


def test_a_close_survives_the_server_being_down(own_sender: Sender) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    target = route(f"http://127.0.0.1:{port}/progress", {}, 1.0, 0.05, Recorder())
    own_sender.submit(target, "outlived", update("outlived", 4, "close", seq=3), urgent=True)
    wait_until(lambda: own_sender.stats["failures"] >= 1, what="the first failure")
    with run_server(sock=sock) as server:  # the server comes up on the same port
        task = final_task(server, "outlived", timeout=15)
        assert (task["status"], task["n"]) == ("close", 4)


def test_fork_gives_the_child_a_fresh_sender(server: LiveServer, tmp_path: Path) -> None:
    code = script(
        tmp_path,
        "forker.py",
        """
        import os, sys
        from progressista import RemoteTqdm, sender

        inherited = RemoteTqdm(total=10, task_id="fork:parent", mininterval=0)
        inherited.update(1)
        parent_sender = sender.current()
        pid = os.fork()
        if pid == 0:
            assert sender.current() is None, "the child inherited the parent's sender"
            inherited.update(5)  # the parent's bar: the child must not report it
            with RemoteTqdm(total=3, task_id="fork:child", mininterval=0) as bar:
                bar.update(3)
            assert sender.current() is not parent_sender
            sys.exit(0)  # a normal exit: atexit flushes
        _, status = os.waitpid(pid, 0)
        inherited.update(1)
        inherited.close()
        print(os.getpid(), status)
        """,
    )
    done = run([sys.executable, str(code)], env=client_env(server))
    assert done.returncode == 0, done.stderr
    parent_pid, child_status = map(int, done.stdout.split())
    assert child_status == 0
    child = final_task(server, "fork:child")
    parent = final_task(server, "fork:parent")
    assert child["pid"] != parent_pid and child["n"] == 3
    assert parent["pid"] == parent_pid and parent["n"] == 2  # never the child's 6


def test_multiprocessing_fork_children_report(server: LiveServer, tmp_path: Path) -> None:
    code = script(
        tmp_path,
        "pool.py",
        """
        import multiprocessing, os
        from progressista import RemoteTqdm

        def work(rank):
            bar = RemoteTqdm(total=4, task_id=f"mp:{rank}", mininterval=0)
            bar.update(4)
            if rank:  # left open: closed for it when the worker exits
                bar.close()
            return os.getpid()

        if __name__ == "__main__":
            with RemoteTqdm(total=2, task_id="mp:parent") as parent:
                context = multiprocessing.get_context("fork")
                processes = [context.Process(target=work, args=(rank,)) for rank in range(2)]
                for process in processes:
                    process.start()
                for process in processes:
                    process.join()
                    parent.update()
            print(os.getpid())
        """,
    )
    done = run([sys.executable, str(code)], env=client_env(server), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for rank in range(2):
        task = final_task(server, f"mp:{rank}")
        assert (task["status"], task["n"]) == ("close", 4)
        assert task["pid"] != int(done.stdout)
    assert final_task(server, "mp:parent")["n"] == 2


def test_many_bars_one_thread_few_posts(server: LiveServer) -> None:
    accepted_before = metric(server, "progressista_events_accepted_total")
    done = python(
        """
        import io, json, threading
        from progressista import RemoteTqdm, sender

        posts = []

        class Counted(RemoteTqdm):
            @classmethod
            def _post(cls, session, url, payload, headers, timeout):
                posts.append(len(payload))
                return super()._post(session, url, payload, headers, timeout)

        def worker(w):
            for b in range(25):
                for _ in Counted(range(200), task_id=f"many:{w}:{b}", file=io.StringIO()):
                    pass

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        senders = [t.name for t in threading.enumerate() if t.name == sender.THREAD_NAME]
        sender.flush()
        print(json.dumps({"senders": len(senders), "posts": len(posts), "events": sum(posts)}))
        """,
        env=client_env(server),
    )
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["senders"] == 1
    wait_until(lambda: len(server.tasks(status="close")) == 100, what="100 closed bars")
    accepted = metric(server, "progressista_events_accepted_total") - accepted_before
    assert accepted == stats["events"] <= 200  # start and close of one bar often merge into one event
    assert stats["posts"] <= 25, stats  # 100 bars, 200+ events: a handful of batched POSTs


def test_an_unreachable_server_does_not_hold_the_job(tmp_path: Path) -> None:
    job = """
        import sys, time
        from progressista import RemoteTqdm
        for _ in RemoteTqdm(range(1000), desc="offline"):
            pass
        with RemoteTqdm(total=5) as bar:
            bar.update(5)
        print(time.time(), flush=True)
        """
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)  # accepts connections (the kernel does) but never answers
        refused = free_socket()
        cases = {
            "refused": f"http://127.0.0.1:{refused.getsockname()[1]}",
            "silent": f"http://127.0.0.1:{hole.getsockname()[1]}",
        }
        results = {
            name: python(job, env=client_env(None, PROGRESSISTA_SERVER_URL=url, PROGRESSISTA_REQUEST_TIMEOUT="1"))
            for name, url in cases.items()
        }
        refused.close()
    for name, done in results.items():
        assert done.returncode == 0, (name, done.stderr)
        assert "Traceback" not in done.stderr and "offline: 100%" in done.stderr
        exit_delay = done.ended - float(done.stdout)
        assert exit_delay < 1 + 2.0, (name, exit_delay)  # request_timeout bounds the exit flush


def test_flush_without_a_sender_is_a_no_op() -> None:
    # A fresh process: nothing was ever sent there, so flush waits for nothing and creates no sender.
    fresh = python(
        """
        import time
        from progressista import sender
        before = sender.current() is None
        started = time.monotonic()
        done = sender.flush(5)
        print(before, done, sender.current() is None, time.monotonic() - started < 1)
        """,
        env=client_env(None),
    )
    assert fresh.stdout.split() == ["True", "True", "True", "True"], fresh.stderr
    # The negative control: with an event pending for a server that refuses connections, flush says so.
    with free_socket() as sock:
        pending = python(
            f"""
            from progressista import sender
            from progressista.api import post_events
            route = sender.route("http://127.0.0.1:{sock.getsockname()[1]}/progress", {{}}, 0.5, 60.0, post_events)
            sender.get_sender().submit(route, "t", {{"task_id": "t", "status": "update"}})
            print(sender.current() is None, sender.flush(2))
            """,
            env=client_env(None),
        )
    assert pending.stdout.split() == ["False", "False"], pending.stderr


def test_proxy_settings_from_the_environment_are_honoured(server: LiveServer) -> None:
    code = """
        from progressista import RemoteTqdm
        with RemoteTqdm(total=1, task_id={task_id!r}) as bar:
            bar.update()
        """
    with free_socket() as sock:  # a proxy that refuses connections
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
        base = {name: "" for name in ("NO_PROXY", "no_proxy")}
        through_proxy = python(
            code.format(task_id="via-proxy"),
            env=client_env(server, **base, HTTP_PROXY=proxy, http_proxy=proxy, PROGRESSISTA_REQUEST_TIMEOUT="1"),
        )
        bypassed = python(
            code.format(task_id="no-proxy"),
            env=client_env(server, HTTP_PROXY=proxy, http_proxy=proxy, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1"),
        )
    assert through_proxy.returncode == bypassed.returncode == 0
    final_task(server, "no-proxy")
    assert "via-proxy" not in server.tasks()  # its process is gone: it went to the (dead) proxy


def test_an_older_update_does_not_replace_a_newer_one(server: LiveServer, own_sender: Sender) -> None:
    # A heartbeat is built on the sender thread: it may reach the queue after a newer state.
    recorder = Recorder()
    target = route(server.url + "/progress", {}, 5.0, 0.2, recorder)
    own_sender.submit(target, "raced", update("raced", 7, seq=5), hold=0.1)
    own_sender.submit(target, "raced", update("raced", 6, seq=4), hold=0.1)
    wait_until(lambda: "raced" in server.tasks(), what="the task")
    assert recorder.batches == [[update("raced", 7, seq=5)]]


def test_periodic_hooks_run_on_the_sender_thread(server: LiveServer) -> None:
    seen: list[str] = []
    hooks: list[tuple[Callable[[], None], Callable[[], float]]] = []
    own = Sender(hooks)  # the list is read live: a hook added after the sender was made runs too
    hooks.append((lambda: seen.append(threading.current_thread().name), lambda: 0.05))
    try:
        own.submit(route(server.url + "/progress", {}, 5.0, 0.2, Recorder()), "tick", update("tick", 1))
        wait_until(lambda: len(seen) >= 3, what="three runs of the hook")
        assert set(seen) == {sender.THREAD_NAME}
        assert threading.current_thread().name != sender.THREAD_NAME
    finally:
        own.close()


def test_the_process_sender_runs_the_registered_hooks() -> None:
    done = python(
        """
        import threading
        from progressista import sender
        from progressista.api import post_events
        ran = threading.Event()
        sender.periodically(lambda: ran.set(), lambda: 0.05)
        route = sender.route("http://127.0.0.1:1/progress", {}, 0.5, 60.0, post_events)
        sender.get_sender().submit(route, "t", {"task_id": "t", "status": "update"})  # starts the thread
        print(ran.wait(10))
        """,
        env=client_env(None),
    )
    assert done.stdout.split() == ["True"], done.stderr


def test_a_server_failing_midway_through_a_split_batch_keeps_the_rest(own_sender: Sender) -> None:
    # 422 refuses the batch of three, so its events go one by one; the server fails at the second.
    post = Scripted(422, 200, 503)
    target = route("http://127.0.0.1:1/progress", {}, 1.0, 0.05, post)
    items = [(task_id, Entry(update(task_id, 1, "close"), urgent=True)) for task_id in ("a", "b", "c")]
    with requests.Session() as session:
        own_sender._send(session, target, items)
    assert post.batches == [["a", "b", "c"], ["a"], ["b"]]
    assert own_sender.pending_count() == 2  # b and c wait for the retry; neither is lost
    assert (own_sender.stats["events"], own_sender.stats["failures"], own_sender.stats["dropped"]) == (1, 1, 0)
    own_sender.submit(target, "d", update("d", 1, "close"), urgent=True)  # starts the thread: the retry comes
    wait_until(lambda: own_sender.pending_count() == 0, what="the retry")
    assert sorted(post.batches[-1]) == ["b", "c", "d"]


def test_what_requests_imports_lazily_is_imported_before_the_thread_starts(server: LiveServer) -> None:
    # Imported by the sender thread, a module may be half imported when the program
    # forks; the child's first post would then hang on its import lock (seen with
    # multiprocessing workers forked right after the parent's first bar).
    done = python(
        f"""
        import sys
        from progressista import sender
        from progressista.api import post_events
        route = sender.route("{server.url}/progress", {{}}, 2.0, 30.0, post_events)
        assert "netrc" not in sys.modules
        sender.get_sender().submit(route, "t", {{"task_id": "t", "status": "update"}})  # posted in 30 s: not now
        print("netrc" in sys.modules)
        """,
        env=client_env(None),
    )
    assert done.stdout.strip() == "True", done.stderr
