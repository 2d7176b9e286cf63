"""A monitor never holds a job hostage: programs that leave executors open exit as they do without us.

``concurrent.futures`` and joblib's loky stop their workers from threading's
exit hooks, which Python runs before it waits for non-daemon threads; a run
that waited for the program's threads itself, before those hooks, waited
forever. Each case runs under ``progressista run``, with the patch installed
from a ``sitecustomize``, and plainly (the baseline), with the server live,
refusing connections, and accepting connections it never answers.
"""

from __future__ import annotations

import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from clientkit import CLI, client_env, final_task, run, script
from support import LiveServer

PROGRAMS = {
    "thread-pool": """
        from concurrent.futures import ThreadPoolExecutor
        from tqdm import tqdm
        pool = ThreadPoolExecutor(2)  # never shut down
        print(sum(pool.map(abs, tqdm(range(-20, 0), **BAR))), flush=True)
        """,
    "process-pool": """
        from concurrent.futures import ProcessPoolExecutor
        from tqdm import tqdm
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(2)  # never shut down
            print(sum(pool.map(abs, tqdm(range(-20, 0), **BAR))), flush=True)
        """,
    "joblib": """
        from joblib import Parallel, delayed
        from tqdm import tqdm
        if __name__ == "__main__":
            print(sum(Parallel(n_jobs=2)(delayed(abs)(i) for i in tqdm(range(-20, 0), **BAR))),
                  flush=True)
        """,
}
SITECUSTOMIZE = "import progressista.patch\nprogressista.patch.install()\n"
#: Far beyond what an exit takes (a second or two with loky), far below a hang's forever.
DEADLINE = 45


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: every post times out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: connections are refused


def job(tmp_path: Path, program: str, how: str) -> Path:
    """The program; its bar is named, except in the plain baseline (plain tqdm takes no ``task_id``)."""
    bar = {} if how == "plain" else {"task_id": f"exit:{program}"}
    return script(tmp_path, "job.py", f"BAR = {bar!r}\n" + textwrap.dedent(PROGRAMS[program]))


def launch(how: str, path: Path, url: str, tmp_path: Path) -> tuple[int, str, str]:
    env = client_env(None, PROGRESSISTA_SERVER_URL=url, PROGRESSISTA_REQUEST_TIMEOUT="1", PROGRESSISTA_QUIET="1")
    if how == "run":
        argv = [*CLI, "run", str(path)]
    else:
        argv = [sys.executable, str(path)]
        if how == "sitecustomize":
            script(tmp_path / "site", "sitecustomize.py", SITECUSTOMIZE)
            env["PYTHONPATH"] = str(tmp_path / "site")
    done = run(argv, env, cwd=tmp_path, timeout=DEADLINE)  # TimeoutExpired: the hang
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("how", ["run", "sitecustomize", "plain"])
@pytest.mark.parametrize("program", list(PROGRAMS))
def test_open_executors_do_not_hold_the_exit_with_the_server_live(
    server: LiveServer, tmp_path: Path, program: str, how: str
) -> None:
    path = job(tmp_path, program, how)
    code, out, err = launch(how, path, server.url, tmp_path)
    assert (code, out) == (0, "210\n"), err
    if how != "plain":
        task = final_task(server, f"exit:{program}")
        assert (task["status"], task["n"]) == ("close", 20)


@pytest.mark.parametrize("server_is", ["refusing", "silent"])
@pytest.mark.parametrize("how", ["run", "sitecustomize"])
@pytest.mark.parametrize("program", list(PROGRAMS))
def test_open_executors_do_not_hold_the_exit_with_the_server_down(
    silent_server: str, tmp_path: Path, program: str, how: str, server_is: str
) -> None:
    path = job(tmp_path, program, how)
    url = refused_url() if server_is == "refusing" else silent_server
    code, out, err = launch(how, path, url, tmp_path)
    assert (code, out) == (0, "210\n"), err
    assert "Traceback" not in err
