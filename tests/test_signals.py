"""`progressista run` killed by a signal: open bars end as error naming it, then the process dies of it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clientkit import client_env, final_task, script
from support import LiveServer, free_socket, wait_until

from progressista import signals as reporting

# Python installs its SIGINT handler only when SIGINT is not ignored at start, and
# a test runner may well run with it ignored: start the CLI as a shell would.
CLI = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from progressista.cli import main; main()",
]

# Three ways a bar can be open when the signal comes: left open, in a with block, iterating.
LOOPING = """
    import sys, time
    from tqdm import tqdm

    plain = tqdm(total=100, task_id="sig:plain", meta={"rank": 3})
    plain.update(3)
    with tqdm(total=100, task_id="sig:with") as outer:
        for i in tqdm(range(10**9), task_id="sig:loop", mininterval=0):
            if i == 0:
                print("ready", flush=True)
            time.sleep(0.01)
    print("the loop ended", flush=True)  # never: the signal ends the program
    """
BARS = ("sig:plain", "sig:with", "sig:loop")


def start_run(path: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    job = subprocess.Popen(
        [*CLI, "run", *args, str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert job.stdout is not None
    line = job.stdout.readline().strip()
    if line != "ready":
        job.kill()
        pytest.fail(f"the job did not start: {line!r} {job.communicate()[1][-2000:]}")
    return job


def signalled(job: subprocess.Popen[str], signum: int) -> tuple[int, str, float]:
    """Send ``signum``; the exit status, stderr and how long the process took to die."""
    sent = time.monotonic()
    job.send_signal(signum)
    _, err = job.communicate(timeout=15)
    return job.returncode, err, time.monotonic() - sent


@pytest.fixture
def looping(tmp_path: Path) -> Path:
    return script(tmp_path, "looping.py", LOOPING)


@pytest.mark.parametrize(("signum", "name"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_a_signal_ends_open_bars_in_error_naming_it(server: LiveServer, looping: Path, signum: int, name: str) -> None:
    job = start_run(looping, client_env(server))
    wait_until(lambda: set(BARS) <= set(server.tasks()), what="the job's bars")
    code, err, took = signalled(job, signum)
    assert code == -signum  # died of the signal, as it would have without progressista
    assert took < 5
    for task_id in BARS:
        task = final_task(server, task_id)
        assert task["status"] == "error", task_id
        assert task["meta"]["signal"] == name, task_id
    assert final_task(server, "sig:plain")["meta"] == {"rank": 3, "signal": name}  # the bar's own meta stays
    if signum == signal.SIGINT:
        assert "KeyboardInterrupt" in err  # the traceback Python prints after Ctrl-C
    else:
        assert "Traceback" not in err  # SIGTERM raises nothing into the program


def test_a_program_with_its_own_handler_keeps_control(server: LiveServer, tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "graceful.py",
        """
        import signal, time
        from tqdm import tqdm

        stopping = False

        def stop(signum, frame):
            global stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        with tqdm(total=None, task_id="graceful:bar") as bar:
            print("ready", flush=True)
            while not stopping:
                bar.update()
                time.sleep(0.01)
        print("stopped cleanly", flush=True)
        """,
    )
    job = start_run(path, client_env(server))
    wait_until(lambda: "graceful:bar" in server.tasks(), what="the bar")
    code, err, _ = signalled(job, signal.SIGTERM)
    assert code == 0, err
    task = final_task(server, "graceful:bar")
    assert task["status"] == "close" and "signal" not in task["meta"]


def test_a_forked_worker_terminated_reports_and_dies_of_sigterm(server: LiveServer, tmp_path: Path) -> None:
    # multiprocessing's terminate() (and a Pool's exit) sends SIGTERM: the worker
    # inherits the handler, reports its open bar and still dies of the signal.
    path = script(
        tmp_path,
        "terminated.py",
        """
        import multiprocessing, time
        from progressista import RemoteTqdm

        def work(started):
            bar = RemoteTqdm(total=10, task_id="terminated:worker", mininterval=0)
            bar.update(2)
            started.set()
            time.sleep(60)  # until terminated

        if __name__ == "__main__":
            context = multiprocessing.get_context("fork")
            started = context.Event()
            worker = context.Process(target=work, args=(started,))
            worker.start()
            started.wait()
            print("ready", flush=True)
            input()  # the test says when
            worker.terminate()
            worker.join()
            print(worker.exitcode, flush=True)
        """,
    )
    job = subprocess.Popen(
        [*CLI, "run", str(path)],
        env=client_env(server),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert job.stdout is not None
    assert job.stdout.readline().strip() == "ready"
    wait_until(lambda: "terminated:worker" in server.tasks(), what="the worker's bar")
    out, err = job.communicate("\n", timeout=15)
    assert job.returncode == 0, err
    assert out.strip() == str(-signal.SIGTERM)
    assert "Traceback" not in err
    task = final_task(server, "terminated:worker")
    assert (task["status"], task["meta"], task["n"]) == ("error", {"signal": "SIGTERM"}, 2)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A server address that accepts connections and never answers."""
    sock = free_socket()
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_the_flush_is_bounded_and_a_second_signal_kills_at_once(black_hole: str, looping: Path) -> None:
    env = client_env(None, PROGRESSISTA_SERVER_URL=black_hole, PROGRESSISTA_REQUEST_TIMEOUT="0.5")
    job = start_run(looping, env)
    code, _, took = signalled(job, signal.SIGTERM)
    assert code == -signal.SIGTERM
    assert took < 0.5 + 2.5  # the flush gives up after the request timeout (plus interpreter overhead)

    env["PROGRESSISTA_REQUEST_TIMEOUT"] = "30"
    job = start_run(looping, env)
    job.send_signal(signal.SIGTERM)  # the flush now waits on the silent server…
    with pytest.raises(subprocess.TimeoutExpired):
        job.wait(0.3)
    code, _, took = signalled(job, signal.SIGTERM)  # …and a second SIGTERM ends it at once
    assert code == -signal.SIGTERM and took < 2


def test_handlers_only_replace_default_dispositions_and_are_restored() -> None:
    def own(signum: int, frame: Any) -> None:
        pass

    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, own)
        with reporting.reporting_signals():
            assert signal.getsignal(signal.SIGTERM) is reporting._on_fatal_signal
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # ignored stays ignored
            assert signal.getsignal(signal.SIGINT) is own  # a program's own handler is left alone
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        with reporting.reporting_signals():
            signal.signal(signal.SIGTERM, own)  # the target installs its own: not undone behind its back
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
