"""``progressista pipe``: stdin to stdout unchanged, one task reporting the flow; and the README's ``curl`` lines.

Real pipelines of real processes (``yes``, ``head``, the CLI) against a live server.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from clientkit import CLI, client_env, final_task
from support import LiveServer, require_binary, wait_until

from progressista.pipe import MAX_LINE, LineCount, NumberCount, default_task_id, make_count, parse_number

PIPE = [*CLI, "pipe"]
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def piped(
    args: Sequence[str], data: bytes, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*PIPE, *args], input=data, capture_output=True, env=env, timeout=timeout)


# -- what it counts -----------------------------------------------------------------


def test_lines_pass_through_unchanged_and_the_task_closes_with_the_true_count(server: LiveServer) -> None:
    data = b"".join(b"row %d\n" % i for i in range(1000))
    args = ["--desc", "Parsing", "--total", "1000", "--unit", "rows", "--task-id", "t:lines"]
    done = piped(args, data, client_env(server))
    assert (done.returncode, done.stdout, done.stderr) == (0, data, b"")
    task = final_task(server, "t:lines")
    assert (task["status"], task["n"], task["desc"], task["unit"]) == ("close", 1000, "Parsing", "rows")
    assert task["total"] == 1000
    assert isinstance(task["total"], int)  # --total 1000 is 1000, not 1000.0


def test_a_last_line_without_a_newline_counts_and_an_empty_input_closes_at_zero(server: LiveServer) -> None:
    assert piped(["--task-id", "t:open"], b"a\nb", client_env(server)).stdout == b"a\nb"
    assert piped(["--task-id", "t:empty"], b"", client_env(server)).returncode == 0
    assert final_task(server, "t:open")["n"] == 2  # as tqdm counts (wc -l says 1)
    empty = final_task(server, "t:empty")
    assert (empty["status"], empty["n"], empty["total"]) == ("close", 0, None)


def test_binary_data_passes_byte_for_byte_and_bytes_are_counted(server: LiveServer) -> None:
    data = random.Random(7).randbytes(3 << 20) + bytes(range(256)) + b"\r\n\0no newline at the end"
    done = piped(["--bytes", "--task-id", "t:bytes"], data, client_env(server))
    assert done.returncode == 0 and done.stdout == data
    task = final_task(server, "t:bytes")
    assert (task["n"], task["unit"]) == (len(data), "B")
    # Control: the same data counted as lines gives the line count, not the size.
    assert piped(["--task-id", "t:as-lines"], data, client_env(server)).stdout == data
    assert final_task(server, "t:as-lines")["n"] == data.count(b"\n") + 1 != len(data)


def test_update_adds_each_number_line_and_copies_none_of_them(server: LiveServer) -> None:
    data = b"1\n2\n3.5\n\nabc\n4\nxyz\n"
    done = piped(["--update", "--total", "20", "--task-id", "t:update"], data, client_env(server))
    assert (done.returncode, done.stdout) == (0, b"")
    assert done.stderr.decode().splitlines() == [
        "progressista pipe: skipping lines that are not numbers, the first: 'abc'"
    ]  # once, and the blank line is no complaint
    task = final_task(server, "t:update")
    assert (task["status"], task["n"], task["total"]) == ("close", 10.5, 20)
    # Control: without --update the same lines are data, copied and counted.
    plain = piped(["--task-id", "t:not-update"], data, client_env(server))
    assert plain.stdout == data and final_task(server, "t:not-update")["n"] == 7


def test_update_to_sets_the_count_to_each_number_line(server: LiveServer) -> None:
    done = piped(["--update-to", "--total", "50", "--task-id", "t:to"], b"10\n50\n30\n", client_env(server))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert final_task(server, "t:to")["n"] == 30  # the last value: not their sum (90), nor the largest (50)


def test_two_counting_modes_are_a_usage_error_and_post_nothing(server: LiveServer) -> None:
    done = piped(["--bytes", "--update-to"], b"1\n", client_env(server))
    assert done.returncode == 2
    assert done.stderr == b"Error: give only one of --bytes, --update, --update-to\n"
    assert server.tasks() == {}


def test_the_default_task_id_joins_the_run(server: LiveServer) -> None:
    piped([], b"x\n", client_env(server, PROGRESSISTA_RUN_ID="nightly-7"))
    (task_id,) = server.tasks()
    assert task_id.startswith("nightly-7:pipe-")
    assert final_task(server, task_id)["n"] == 1
    # Control: outside a run the id has no group prefix.
    piped([], b"x\n", client_env(server))
    assert [i for i in server.tasks() if i != task_id][0].startswith("pipe-")


def test_under_exec_the_pipe_is_a_task_of_the_run(server: LiveServer) -> None:
    command = f"printf 'a\\nb\\n' | {shlex.join(PIPE)} --desc inside"
    done = subprocess.run(
        [*CLI, "exec", "--run-id", "r1", "--", "sh", "-c", command], capture_output=True, env=client_env(server)
    )
    assert (done.returncode, done.stdout) == (0, b"a\nb\n")
    assert final_task(server, "r1:run")["status"] == "close"
    (task,) = [task for task in server.tasks().values() if task["desc"] == "inside"]
    assert task["task_id"].startswith("r1:pipe-") and final_task(server, task["task_id"])["n"] == 2


def test_the_pipe_carries_at_least_200000_lines_a_second(server: LiveServer) -> None:
    """A guard on "never per line" (the figure itself is bench/pipe.py's); start-up included, 20x of margin."""
    data = b"".join(b"%d\n" % i for i in range(2_000_000))
    started = time.monotonic()
    done = piped(["--task-id", "t:fast"], data, client_env(server))
    assert done.returncode == 0 and len(done.stdout) == len(data)
    assert time.monotonic() - started < 10
    assert final_task(server, "t:fast")["n"] == 2_000_000


# -- how it ends ----------------------------------------------------------------------


def test_a_reader_that_goes_away_ends_the_task_as_error_and_the_pipe_dies_of_sigpipe(server: LiveServer) -> None:
    yes, head = require_binary("yes"), require_binary("head")
    with subprocess.Popen([yes], stdout=subprocess.PIPE) as producer:
        assert producer.stdout is not None
        with subprocess.Popen(
            [*PIPE, "--task-id", "t:head"],
            stdin=producer.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=client_env(server),
        ) as middle:
            producer.stdout.close()  # the pipe's only: yes gets SIGPIPE once the pipe stops reading
            assert middle.stdout is not None and middle.stderr is not None
            reader = subprocess.run([head, "-1"], stdin=middle.stdout, capture_output=True, timeout=60)
            middle.stdout.close()
            assert middle.wait(30) == -signal.SIGPIPE  # as cat would: a shell says 141
            assert middle.stderr.read() == b""  # quietly
        assert producer.wait(30) == -signal.SIGPIPE  # and the producer is stopped in turn
    assert reader.stdout == b"y\n"
    task = final_task(server, "t:head")
    assert (task["status"], task["meta"]) == ("error", {"signal": "SIGPIPE"})
    assert task["n"] >= 1


def test_a_reader_that_reads_everything_closes_the_task(server: LiveServer) -> None:
    """Control for the early reader: ``head`` that wants more than there is."""
    head = require_binary("head")
    with subprocess.Popen(
        [*PIPE, "--task-id", "t:all"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=client_env(server)
    ) as middle:
        assert middle.stdin is not None and middle.stdout is not None
        reader = subprocess.Popen([head, "-5"], stdin=middle.stdout, stdout=subprocess.PIPE)
        middle.stdout.close()
        middle.stdin.write(b"1\n2\n3\n")
        middle.stdin.close()
        assert middle.wait(30) == 0
        assert reader.communicate(timeout=30)[0] == b"1\n2\n3\n"
    task = final_task(server, "t:all")
    assert (task["status"], task["n"]) == ("close", 3)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_while_the_input_pauses_ends_the_task_as_error_and_the_pipe_dies_of_it(
    server: LiveServer, signum: signal.Signals
) -> None:
    env = client_env(server, PROGRESSISTA_PUSH_INTERVAL="0.05")
    with subprocess.Popen(
        [*PIPE, "--task-id", "t:signal", "--desc", "Slow feed"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as job:
        assert job.stdin is not None and job.stdout is not None and job.stderr is not None
        job.stdin.write(b"a\n" * 5)
        job.stdin.flush()
        assert job.stdout.read(10) == b"a\n" * 5
        # The input paused: the count so far reaches the server before any further input.
        wait_until(lambda: server.tasks().get("t:signal", {}).get("n") == 5, what="the paused count on the server")
        started = time.monotonic()
        job.send_signal(signum)
        assert job.wait(20) == -signum  # died of it, while its stdin is still open
        assert time.monotonic() - started < 10
        assert job.stderr.read() == b""
        job.stdin.close()
    task = final_task(server, "t:signal")
    assert (task["status"], task["meta"], task["n"], task["desc"]) == ("error", {"signal": signum.name}, 5, "Slow feed")


def test_a_signal_while_blocked_on_a_reader_that_stopped_reading_stops_the_pipe(server: LiveServer) -> None:
    with subprocess.Popen(
        [*PIPE, "--task-id", "t:stuck"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=client_env(server)
    ) as job:
        assert job.stdin is not None and job.stdout is not None
        feeder = threading.Thread(target=_feed, args=(job.stdin, b"z\n" * (1 << 20)), daemon=True)
        feeder.start()
        wchan = Path(f"/proc/{job.pid}/wchan")
        wait_until(lambda: "pipe_write" in wchan.read_text(), what="the pipe to block writing to its stdout")
        job.send_signal(signal.SIGTERM)
        assert job.wait(20) == -signal.SIGTERM
        job.stdout.close()
        feeder.join(10)
    task = final_task(server, "t:stuck")
    assert (task["status"], task["meta"]) == ("error", {"signal": "SIGTERM"})


def _feed(stream: Any, data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, ValueError):  # the pipe died, as the test wants
        pass


def test_a_write_error_ends_the_task_as_error_and_exits_1(server: LiveServer) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here to fill a disk with")
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*PIPE, "--task-id", "t:full"], input=b"x\n", stdout=full, stderr=subprocess.PIPE, env=client_env(server)
        )
    assert done.returncode == 1
    assert done.stderr == b"progressista pipe: error writing stdout: [Errno 28] No space left on device\n"
    task = final_task(server, "t:full")
    assert (task["status"], task["meta"], task["n"]) == (
        "error",
        {"error": "OSError: [Errno 28] No space left on device"},
        0,
    )


def test_a_refused_token_is_said_once_and_the_data_flows_all_the_same(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server(api_token="right")
    server.http.headers["Authorization"] = "Bearer right"
    data = b"x\n" * 100
    wrong = piped(["--token", "wrong", "--task-id", "t:refused"], data, client_env(server))
    assert (wrong.returncode, wrong.stdout) == (0, data)
    assert [line for line in wrong.stderr.decode().splitlines() if line] == [
        f"progressista: {server.url} refused the token (HTTP 401); bars will not show: "
        "set PROGRESSISTA_API_TOKEN or pass --token"
    ]
    # Control: the right token reports, silently.
    right = piped(["--token", "right", "--task-id", "t:allowed"], data, client_env(server))
    assert (right.returncode, right.stdout, right.stderr) == (0, data, b"")
    assert final_task(server, "t:allowed")["n"] == 100
    assert "t:refused" not in server.tasks()


# -- the counting, directly -------------------------------------------------------------


def _fed(count_of: Callable[[], Any], data: bytes, cuts: list[int]) -> Any:
    count = count_of()
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        block = bytearray(data[start:end])
        count.feed(block, len(block))
    count.end()
    return count.n


def test_counts_do_not_depend_on_where_the_blocks_end() -> None:
    rng = random.Random(3)
    numbers = [rng.randint(-5, 1000) for _ in range(500)]
    lines = b"".join(b"%d\n" % n for n in numbers) + b"\n \n17"
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(lines)), 40))
        assert _fed(LineCount, lines, cuts) == lines.count(b"\n") + 1
        assert _fed(lambda: NumberCount(absolute=False), lines, cuts) == sum(numbers) + 17
        assert _fed(lambda: NumberCount(absolute=True), lines, cuts) == 17
        assert _fed(lambda: make_count("bytes"), lines, cuts) == len(lines)


def test_numbers_are_finite_and_an_overlong_line_is_none() -> None:
    assert [parse_number(x) for x in (b"5", b" -2.5 \r", b"1e3", b"inf", b"nan", b"1e999", b"0x10")] == [
        5,
        -2.5,
        1000.0,
        None,
        None,
        None,
        None,
    ]
    bad: list[bytes] = []
    count = NumberCount(absolute=False, on_bad=bad.append)
    for part in (b"9" * 100_000, b"9" * 100_000, b"\n1\n"):  # one "line" far past MAX_LINE, over several blocks
        count.feed(bytearray(part), len(part))
        assert len(count.rest) <= MAX_LINE  # memory stays bounded
    count.end()
    assert count.n == 1 and len(bad) == 1  # the cut line is no number (10**1024 is past any float)


def test_default_task_ids_are_distinct() -> None:
    assert default_task_id(None) != default_task_id(None)
    assert ":" not in default_task_id(None)


def test_the_benchmark_is_registered() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_all.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "pipe" in done.stdout


# -- the README's curl lines --------------------------------------------------------------


def curl_blocks() -> list[list[str]]:
    """The README's ``bash`` blocks of ``curl`` lines, each a list of lines."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    return [block.strip().splitlines() for block in blocks if block.startswith("curl ")]


def run_curl(line: str, server: LiveServer, token: str = "s3cret") -> subprocess.CompletedProcess[str]:
    require_binary("curl")
    assert "http://localhost:8000/progress" in line and "Bearer s3cret" in line
    command = line.replace("http://localhost:8000", server.url).replace("Bearer s3cret", f"Bearer {token}")
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)


def test_the_readme_curl_lines_open_update_and_close_a_task(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="s3cret")
    server.http.headers["Authorization"] = "Bearer s3cret"
    lifecycle, failure = curl_blocks()
    assert len(lifecycle) == 3 and len(failure) == 1
    start, update, close = lifecycle
    for line, status, n in ((start, "start", 0), (update, "update", 40)):
        done = run_curl(line, server)
        assert done.returncode == 0, done.stderr
        task = server.tasks()["backup:db"]
        assert (task["status"], task["n"], task["total"], task["unit"]) == (status, n, 100, "MB")
    assert run_curl(close, server).returncode == 0
    task = final_task(server, "backup:db")
    assert (task["status"], task["n"], task["total"], task["desc"]) == ("close", 100, 100, "Dumping the database")
    # The failure line, on a task opened again.
    assert run_curl(start, server).returncode == 0
    assert run_curl(failure[0], server).returncode == 0
    task = final_task(server, "backup:db")
    assert (task["status"], task["meta"]) == ("error", {"error": "pg_dump: connection refused"})


def test_the_readme_curl_lines_fail_loudly_with_a_wrong_token(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="s3cret")
    server.http.headers["Authorization"] = "Bearer s3cret"
    done = run_curl(curl_blocks()[0][0], server, token="wrong")
    assert done.returncode == 22  # curl -f: the README's promise
    assert server.tasks() == {}
