"""Misconfiguration is said once, on stderr: a refused token, a wrong URL, a server that is not there.

The program's own output and exit code stay as they are, there is never a
traceback, and ``PROGRESSISTA_QUIET=1`` silences it all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from clientkit import CLI, client_env, run, script
from support import LiveServer, free_socket, wait_until

JOB = """
    import multiprocessing, sys
    from tqdm import tqdm

    def work(rank):
        for _ in tqdm(range(3), desc=f"worker {rank}"):
            pass

    if __name__ == "__main__":
        for name in ("first", "second", "third"):
            for _ in tqdm(range(3), desc=name):
                pass
        if "--workers" in sys.argv:
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                pool.map(work, range(2))
        print("the job's own output", flush=True)
        sys.exit(4)
    """

#: The same job with RemoteTqdm bars, reporting without run.
REMOTE_JOB = JOB.replace("from tqdm import tqdm", "from progressista import RemoteTqdm as tqdm")


def refused(url: str) -> bool:
    try:
        requests.get(url + "/health", timeout=1)
    except requests.ConnectionError:
        return True
    return False


def notices(stderr: str) -> list[str]:
    # Where a bar was being drawn, the warning may follow the bar's text on that line: found anywhere.
    return re.findall(r"progressista: [^\r\n]*", stderr)


@pytest.fixture
def token_server(start_server: Callable[..., LiveServer]) -> LiveServer:
    return start_server(api_token="right")


@pytest.mark.parametrize("workers", [False, True], ids=["one-process", "spawn-workers"])
def test_a_wrong_token_under_run_is_said_exactly_once(token_server: LiveServer, tmp_path: Path, workers: bool) -> None:
    path = script(tmp_path, "job.py", JOB)
    argv = [*CLI, "run", "--url", token_server.url, "--token", "wrong", str(path)] + (["--workers"] if workers else [])
    done = run(argv, client_env(None))
    assert (done.returncode, done.stdout) == (4, "the job's own output\n")
    assert notices(done.stderr) == [
        f"progressista: {token_server.url} refused the token (HTTP 401); bars will not show: "
        "set PROGRESSISTA_API_TOKEN or pass --token"
    ]
    assert "Traceback" not in done.stderr


def test_a_plain_job_with_a_wrong_token_is_told_by_its_sender(token_server: LiveServer, tmp_path: Path) -> None:
    path = script(tmp_path, "job.py", REMOTE_JOB)
    done = run([sys.executable, str(path)], client_env(token_server, PROGRESSISTA_API_TOKEN="wrong"))
    assert (done.returncode, done.stdout) == (4, "the job's own output\n")
    assert len(notices(done.stderr)) == 1 and "refused the token (HTTP 401)" in done.stderr
    quiet = run(
        [sys.executable, str(path)], client_env(token_server, PROGRESSISTA_API_TOKEN="wrong", PROGRESSISTA_QUIET="1")
    )
    assert (quiet.returncode, notices(quiet.stderr)) == (4, [])


def test_the_right_token_says_nothing(token_server: LiveServer, tmp_path: Path) -> None:
    path = script(tmp_path, "job.py", JOB)
    done = run(
        [*CLI, "run", "--url", token_server.url, "--token", "right", "--run-id", "ok", str(path)], client_env(None)
    )
    assert (done.returncode, notices(done.stderr)) == (4, [])


def test_a_url_that_is_no_progressista_server_is_said(server: LiveServer, tmp_path: Path) -> None:
    path = script(tmp_path, "job.py", JOB)
    done = run([*CLI, "run", "--url", server.url + "/not/here/", str(path)], client_env(None))
    assert done.returncode == 4
    assert notices(done.stderr) == [
        f"progressista: {server.url}/not/here/progress answered HTTP 404; bars will not show: "
        "is PROGRESSISTA_SERVER_URL (or --url) the address of a Progressista server?"
    ]


def test_an_unreachable_server_is_said_once_with_no_traceback(tmp_path: Path) -> None:
    path = script(tmp_path, "job.py", JOB)
    remote = script(tmp_path, "remote.py", REMOTE_JOB)
    with free_socket() as sock:  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        under_run = run([*CLI, "run", "--url", url, str(path), "--workers"], client_env(None))
        plain = run([sys.executable, str(remote)], client_env(None, PROGRESSISTA_SERVER_URL=url))
    line = f"progressista: cannot reach {url} (connection refused); bars will show once it is up"
    for done in (under_run, plain):
        assert (done.returncode, done.stdout) == (4, "the job's own output\n"), done.stderr
        assert notices(done.stderr) == [line], done.stderr
        assert "Traceback" not in done.stderr


def test_a_later_outage_stays_silent(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    """The server answered the first batch: when it goes away later, the job is not told (as before)."""
    path = script(
        tmp_path,
        "long.py",
        """
        import sys
        from progressista import RemoteTqdm, sender
        bar = RemoteTqdm(total=3, task_id="outage:bar")
        bar.update(1)
        sender.flush()
        print("posted", flush=True)
        sys.stdin.readline()  # the server stops meanwhile
        bar.update(2)
        bar.close()
        """,
    )
    server = start_server()
    job = subprocess.Popen(
        [sys.executable, str(path)],
        env=client_env(server, PROGRESSISTA_REQUEST_TIMEOUT="0.5"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert job.stdout is not None
        assert job.stdout.readline() == "posted\n"
        wait_until(lambda: "outage:bar" in server.tasks(), what="the first post")
        server.server.should_exit = True
        wait_until(lambda: refused(server.url), timeout=20, what="the server to stop")
        _, err = job.communicate("go\n", timeout=30)
    finally:
        job.kill()
        job.communicate()
    assert job.returncode == 0
    assert notices(err) == []


def test_the_check_before_a_run_posts_nothing(server: LiveServer, tmp_path: Path) -> None:
    path = script(tmp_path, "nothing.py", "print('no bars')\n")
    done = run([*CLI, "run", "--no-run-task", "--url", server.url, str(path)], client_env(None))
    assert (done.returncode, done.stdout, notices(done.stderr)) == (0, "no bars\n", [])
    assert server.tasks() == {}
