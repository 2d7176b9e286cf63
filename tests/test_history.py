"""History: finished runs recorded with their fields, kept across restarts and shared on Redis; usual durations.

Real SQLite files and a real ``redis-server``; the server's own ``GET /history``,
``GET /tasks``, ``/ws`` and ``progressista history`` read them back.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
import requests
from serverproc import ServerProcess
from support import JSON, clean_env, run_server, wait_until
from websockets.sync.client import connect

from progressista.protocol.history import task_key

pytestmark = pytest.mark.timeout(120)


def runs(server, **params):
    return server.http.get(server.url + "/history", params=params, timeout=5).json()


def recorded(server, count: int, **params):
    """``GET /history`` once it holds ``count`` runs."""
    return wait_until(
        lambda: len((answer := runs(server, **params))["runs"]) >= count and answer, what=f"{count} runs recorded"
    )


def one_run(server, task_id: str, status: str = "close", **fields):
    server.post({"task_id": task_id, "n": 0, "total": 10, **fields})
    server.post({"task_id": task_id, "n": 10 if status == "close" else 4, "status": status})


def test_keys_drop_the_run_ids_varying_part_unless_the_client_names_one():
    assert task_key("nightly-2026-12-01:load", {}) == task_key("nightly-2026-12-02:load", None) == "nightly:load"
    assert task_key("train-1203-1015-9f3a:rank-0", {}) == "train:rank-0"
    assert task_key("etl-v2:load", {}) == "etl:load"  # a version is a varying part too: key= says otherwise
    assert task_key("etl-v2:load", {"key": "etl-v2:load"}) == "etl-v2:load"
    assert task_key("no-group-7", {}) == "no-group-7"


def test_a_closed_and_a_failed_run_are_recorded_with_their_fields(start_server, tmp_path):
    server = start_server(history_path=tmp_path / "history.sqlite")
    server.post({"task_id": "etl-1:load", "desc": "Loading", "unit": "rows", "total": 10, "host": "w3", "pid": 7})
    server.post({"task_id": "etl-1:load", "n": 10, "status": "close"})
    server.post({"task_id": "etl-1:parse", "meta": {"shard": 2}})
    server.post({"task_id": "etl-1:parse", "status": "error", "meta": {"shard": 2, "error": "KeyError: 'id'"}})
    failed, closed = recorded(server, 2)["runs"]
    assert closed["key"] == "etl:load" and closed["group"] == "etl-1" and closed["run_id"] == "etl-1"
    assert (closed["desc"], closed["unit"], closed["n"], closed["total"]) == ("Loading", "rows", 10, 10)
    assert (closed["status"], closed["host"], closed["pid"], closed["error"]) == ("close", "w3", 7, None)
    assert closed["duration"] == pytest.approx(closed["ended_at"] - closed["created_at"])
    assert failed["status"] == "error" and failed["error"] == "KeyError: 'id'" and failed["meta"]["shard"] == 2
    # Filters: by key, by group, by outcome.
    assert [run["task_id"] for run in runs(server, key="etl:load")["runs"]] == ["etl-1:load"]
    assert [run["task_id"] for run in runs(server, status="error")["runs"]] == ["etl-1:parse"]
    assert len(runs(server, group="etl-1")["runs"]) == 2 and runs(server, group="other")["runs"] == []
    bad = server.http.get(server.url + "/history", params={"status": "finished"}, timeout=5)
    assert bad.status_code == 422 and "'finished' is not close, error or lost" in bad.json()["detail"]


def test_a_lost_task_is_recorded_when_it_expires(start_server, tmp_path):
    server = start_server(history_path=tmp_path / "history.sqlite", lost_seconds=0.3)
    server.post({"task_id": "job:gone", "n": 3, "total": 10})
    wait_until(lambda: server.tasks()["job:gone"]["status"] == "lost", what="lost")
    assert runs(server)["runs"] == []  # lost may still come back: not a run that ended yet
    removed = server.http.delete(server.url + "/tasks", params={"status": "lost"}, headers=JSON, timeout=5)
    assert removed.json()["removed"] == ["job:gone"]
    [run] = recorded(server, 1)["runs"]
    assert run["status"] == "lost" and run["n"] == 3 and run["ended_at"] >= run["created_at"]


def test_the_history_survives_a_restart_and_lives_beside_the_storage_file(tmp_path):
    storage = tmp_path / "tasks.json"
    with run_server(storage_path=storage) as server:
        one_run(server, "nightly-1:load")
        recorded(server, 1)
    assert (tmp_path / "tasks.history.sqlite").exists()
    with run_server(storage_path=storage) as server:
        assert [run["task_id"] for run in runs(server)["runs"]] == ["nightly-1:load"]
    with run_server() as memory_only:  # no storage, no history path: no history
        assert runs(memory_only) == {"runs": [], "usual": {}, "enabled": False}


def test_the_usual_duration_is_the_median_of_the_last_five_successful_runs(tmp_path):
    path = tmp_path / "history.sqlite"
    with run_server(history_path=path) as server:
        for day in range(1, 8):
            one_run(server, f"nightly-2026-12-0{day}:load", "error" if day == 4 else "close")
        recorded(server, 7)
    # Durations are the server's clock: set them apart in the file the next server reads at start.
    durations = {1: 10, 2: 900, 3: 20, 4: 5, 5: 30, 6: 40, 7: 50}  # run 4 failed; run 1 is the sixth success
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for day, seconds in durations.items():
            db.execute(
                "UPDATE runs SET created_at = ended_at - ?, duration = ? WHERE task_id = ?",
                (seconds, seconds, f"nightly-2026-12-0{day}:load"),
            )
    with run_server(history_path=path) as again:
        usual = runs(again, key="nightly:load")["usual"]["nightly:load"]
        assert usual["runs"] == 5 and usual["duration"] == 40  # median of 50, 40, 30, 20, 900: not 10, not 5
        again.post({"task_id": "nightly-2026-12-08:load", "n": 1, "total": 10})
        assert again.tasks()["nightly-2026-12-08:load"]["usual_duration"] == 40
        again.post({"task_id": "other-1:thing"})
        assert "usual_duration" not in again.tasks()["other-1:thing"]  # no history: no field


def test_open_tasks_carry_their_usual_duration_in_the_feed_too(start_server, tmp_path):
    server = start_server(history_path=tmp_path / "history.sqlite")
    one_run(server, "train-1:epoch", key="train:epoch")
    recorded(server, 1)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        ws.recv(timeout=5)
        server.post({"task_id": "train-2:epoch", "meta": {"key": "train:epoch"}, "n": 1, "total": 10})
        message = wait_until(lambda: json.loads(ws.recv(timeout=5)).get("tasks", {}).get("train-2:epoch"))
    assert message["usual_duration"] == pytest.approx(runs(server)["usual"]["train:epoch"]["duration"])
    with connect(server.ws_url, open_timeout=5) as ws:  # the default (snapshot) mode
        assert "usual_duration" in json.loads(ws.recv(timeout=5))["tasks"]["train-2:epoch"]


def test_the_client_key_names_a_task_across_runs(start_server, tmp_path):
    server = start_server(history_path=tmp_path / "history.sqlite")
    script = textwrap.dedent(
        f"""
        from progressista import RemoteTqdm
        for name in ("first", "second"):
            with RemoteTqdm(range(3), task_id=name, key="my-job", server_url={server.url!r}) as bar:
                for _ in bar:
                    pass
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, env=clean_env())
    answer = recorded(server, 2, key="my-job")
    assert {run["task_id"] for run in answer["runs"]} == {"first", "second"}
    assert answer["usual"]["my-job"]["runs"] == 2


def test_two_servers_on_one_redis_see_one_history(start_server, redis_settings):
    first, second = (start_server(**redis_settings) for _ in range(2))
    one_run(first, "etl-1:load")
    one_run(second, "etl-2:load")
    both = recorded(second, 2)
    assert [run["task_id"] for run in both["runs"]] == ["etl-2:load", "etl-1:load"]
    # Each server saw both closes (pub/sub) and recorded them: kept once.
    assert [run["task_id"] for run in recorded(first, 2)["runs"]] == ["etl-2:load", "etl-1:load"]
    assert both["usual"]["etl:load"]["runs"] == 2
    second.post({"task_id": "etl-3:load", "n": 1})
    assert wait_until(lambda: "usual_duration" in first.tasks().get("etl-3:load", {}), what="usual on the other server")


def test_history_cli_prints_runs_and_the_usual_and_json(start_server, tmp_path):
    server = start_server(history_path=tmp_path / "history.sqlite")
    one_run(server, "nightly-1:load", desc="load")
    one_run(server, "nightly-2:load", "error")
    recorded(server, 2)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["progressista", "history", *args, "--url", server.url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean_env())

    lines = cli("nightly:load").stdout.strip().splitlines()
    assert "error" in lines[0] and "nightly-2:load" in lines[0]
    assert "close" in lines[1] and "nightly-1:load" in lines[1]
    assert lines[2].startswith("nightly:load: usually ") and "(median of the last 1 successful run)" in lines[2]
    as_json = json.loads(cli("--json", "--group", "nightly-2").stdout)
    assert [run["task_id"] for run in as_json["runs"]] == ["nightly-2:load"]


def _history_warnings(output: str) -> int:
    return sum(1 for line in output.splitlines() if "history" in line and ("could not" in line or "is off" in line))


@pytest.fixture
def mounted(tmp_path):
    """Mount points made by the test, undone at its end (needs root, as the storage-failure tests)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs Linux and root to mount a tmpfs and a read-only bind mount")
    points = []

    def mount(*args: str, point) -> None:
        subprocess.run(["mount", *args, str(point)], check=True, capture_output=True, timeout=30)
        points.append(point)

    yield mount
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def _post_closes(server, count: int) -> None:
    for i in range(count):
        response = requests.post(
            server.url + "/progress", json={"task_id": f"job-{i}:x", "status": "close"}, timeout=10
        )
        assert response.status_code == 200


def test_a_read_only_history_file_leaves_ingest_working_and_logs_once(tmp_path, mounted):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "history.sqlite"
    sqlite3.connect(path).close()
    mounted("--bind", str(folder), point=folder)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True, timeout=30)
    with ServerProcess(history_path=str(path), log_level="info") as server:
        _post_closes(server, 20)
        wait_until(lambda: _history_warnings(server.output()) >= 1, timeout=10, what="the warning")
        _post_closes(server, 20)
        assert requests.get(server.url + "/health", timeout=5).json()["status"] == "ok"
        assert len(server.tasks()) == 20
        assert _history_warnings(server.output()) == 1, server.output()


def test_a_full_history_disk_leaves_ingest_working_and_logs_once_per_streak(tmp_path, mounted):
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted("-t", "tmpfs", "-o", "size=2m", "tmpfs", point=folder)
    with ServerProcess(history_path=str(folder / "history.sqlite"), log_level="info") as server:
        _post_closes(server, 5)
        wait_until(lambda: (folder / "history.sqlite").stat().st_size > 0, what="the history file")
        filler = folder / "filler"
        with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):  # the rest of the disk
            while out.write(b"x" * 4096):
                pass
        for batch in range(5):
            for i in range(40):
                task = {"task_id": f"full-{batch}-{i}:x", "desc": "d" * 500, "status": "close"}
                assert requests.post(server.url + "/progress", json=task, timeout=10).status_code == 200
        wait_until(lambda: _history_warnings(server.output()) >= 1, timeout=15, what="the warning")
        assert _history_warnings(server.output()) == 1, server.output()
        assert requests.get(server.url + "/health", timeout=5).json()["status"] == "ok"
        filler.unlink()
        wait_until(lambda: "history: recording works again" in server.output(), timeout=15, what="recovery")
    with contextlib.closing(sqlite3.connect(folder / "history.sqlite")) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 205  # nothing lost: kept and retried


def test_runs_recorded_just_before_a_stop_are_kept(tmp_path):
    path = tmp_path / "history.sqlite"
    with ServerProcess(history_path=str(path)) as server:
        _post_closes(server, 50)
        server.stop()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 50
