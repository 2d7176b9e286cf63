"""Storage that fails loudly (issue 21, item 4), on real file systems under a real ``progressista serve``.

Found by the adversarial pass: on a full disk the server acknowledged 400 tasks,
``/health`` said ``ok`` and a restart lost 340 of them; with a read-only folder it
logged one warning 17 times in 3 s. Here a tmpfs of 300 KB is filled until saves
fail, and a folder is made read-only under the running server (a read-only bind
mount over it: root ignores permission bits, and the tmpfs itself cannot be
remounted read-only while the server holds its lock file open for writing).
Each time: ``/health`` answers 503 ``degraded`` with the reason, one warning is
logged for the whole streak of failed saves, ``/metrics`` counts every one of
them, and once the disk has room (or the folder is writable) again health is
``ok``, one line says saving recovered, and a restart serves every task that was
acknowledged — during the failure too.

Mounting needs root (CAP_SYS_ADMIN) on Linux; elsewhere these tests skip, saying so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serverproc import ServerProcess
from support import clean_env, free_port, wait_until

from progressista.server.store import MemoryStore
from progressista.server.store_json import JsonFile

FS_SIZE = 300 * 1024
FILLER = 200 * 1024  # leaves room for a snapshot of some 45 tasks (a save needs the old file and the new)
WARNING = "could not save tasks to"
RECOVERED = "recovered: "
DESC = "x" * 1_000  # the longest desc a task may have: fills the disk in few requests


class Mounts:
    """Mounts made by one test, undone (last first) when it ends."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def mount(self, *args: str, point: Path) -> None:
        run_mount(*args, str(point))
        self.points.append(point)

    def umount(self, point: Path) -> None:
        subprocess.run(["umount", str(point)], check=True, capture_output=True, timeout=30)
        self.points.remove(point)

    def close(self) -> None:
        for point in reversed(self.points):
            subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)
        self.points.clear()


def run_mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise OSError(f"mount {' '.join(args)}: {result.stderr.strip()}")


@pytest.fixture
def mounts(tmp_path) -> Iterator[Mounts]:
    """Mounting, or a skip that says why it is not possible here."""
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("needs Linux with mount(8): the tests mount a tmpfs and a read-only bind mount")
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        run_mount("-t", "tmpfs", "-o", "size=4k", "tmpfs", str(probe))
    except OSError as exc:
        pytest.skip(f"cannot mount here (needs root or CAP_SYS_ADMIN): {exc}")
    subprocess.run(["umount", str(probe)], check=True, capture_output=True, timeout=30)
    made = Mounts()
    try:
        yield made
    finally:
        made.close()


def tiny_fs(mounts: Mounts, point: Path) -> Path:
    point.mkdir()
    mounts.mount("-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", point=point)
    return point


def make_read_only(mounts: Mounts, folder: Path) -> None:
    """A read-only bind mount of ``folder`` over itself: new writes there fail with EROFS, files stay as they were."""
    mounts.mount("--bind", str(folder), point=folder)
    run_mount("-o", "remount,bind,ro", str(folder))


def serve(storage: Path, **settings: Any) -> ServerProcess:
    """``progressista serve`` saving every 0.05 s, no lifecycle passes in the way, its log kept."""
    return ServerProcess(
        cli=True, log_level="info", storage_path=storage, save_interval=0.05, cleanup_interval=3600, **settings
    )


def health(server: ServerProcess) -> tuple[int, dict[str, Any]]:
    response = requests.get(server.url + "/health", timeout=5)
    return response.status_code, response.json()


def save_failures(server: ServerProcess) -> float:
    text = requests.get(server.url + "/metrics", timeout=5).text
    found = re.search(r"^progressista_store_save_failures_total (\S+)$", text, re.M)
    assert found, "the metric is exposed even before any failure"
    return float(found.group(1))


def count_lines(server: ServerProcess, text: str) -> int:
    return sum(text in line for line in server.output().splitlines())


def post(server: ServerProcess, first: int, count: int) -> list[str]:
    """Post ``count`` new tasks; their ids, once acknowledged."""
    ids = [f"t{i}" for i in range(first, first + count)]
    response = requests.post(
        server.url + "/progress",
        json=[{"task_id": task_id, "status": "update", "n": 1, "total": 10, "desc": DESC} for task_id in ids],
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return ids


def saved_ids(path: Path) -> set[str]:
    """The task ids in the snapshot on disk now (none while there is none)."""
    try:
        return set(json.loads(path.read_bytes())["tasks"])
    except FileNotFoundError:
        return set()


def wait_saved(path: Path, ids: set[str]) -> None:
    wait_until(lambda: ids <= saved_ids(path), timeout=10, what=f"{len(ids)} tasks saved to {path}")


def wait_degraded(server: ServerProcess, reason: str) -> dict[str, Any]:
    def degraded() -> dict[str, Any] | None:
        status, body = health(server)
        return body if status == 503 and body["status"] == "degraded" else None

    body = wait_until(degraded, timeout=10, what="health to say degraded")
    assert reason in body["detail"], body
    return body


def assert_one_warning_for_the_streak(server: ServerProcess) -> None:
    """Several saves failed (retries), and one warning said so."""
    wait_until(lambda: save_failures(server) >= 3, timeout=10, what="three failed saves (retries) to be counted")
    assert count_lines(server, WARNING) == 1, server.output()  # not one per retry
    assert count_lines(server, RECOVERED) == 0


def assert_recovered(server: ServerProcess, storage: Path) -> None:
    """Health is ok again, and one line sums the streak up."""
    wait_until(lambda: health(server)[0] == 200, timeout=10, what="health to say ok again")
    assert health(server)[1]["status"] == "ok"
    wait_until(lambda: count_lines(server, RECOVERED), timeout=10, what="the recovered line")
    lines = [line for line in server.output().splitlines() if RECOVERED in line]
    assert len(lines) == 1, lines
    summary = re.search(
        rf"saving tasks to {re.escape(str(storage))} recovered: (\d+) saves? failed over [\d.]+ s", lines[0]
    )
    assert summary, lines[0]
    assert int(summary.group(1)) == save_failures(server) >= 3  # the summary and the metric agree
    assert count_lines(server, WARNING) == 1  # still only the one warning


def test_a_healthy_storage_logs_no_warning_and_counts_no_failure(tmp_path):
    """The negative control for the tests below: saves that work say nothing and count nothing."""
    storage = tmp_path / "data" / "tasks.json"
    with serve(storage) as server:
        for batch in range(5):  # five saves at least: each waits for the one before to be on disk
            wait_saved(storage, set(post(server, batch * 3, 3)))
        assert health(server)[0] == 200 and health(server)[1]["status"] == "ok"
        assert save_failures(server) == 0
        assert count_lines(server, WARNING) == 0 and count_lines(server, RECOVERED) == 0


def test_a_full_disk_degrades_health_warns_once_counts_and_recovers(mounts, tmp_path):
    fs = tiny_fs(mounts, tmp_path / "fs")
    storage = fs / "tasks.json"
    filler = fs / "filler"
    filler.write_bytes(b"\0" * FILLER)
    acked: set[str] = set()
    with serve(storage) as server:
        # While the disk has room: saved, healthy, nothing logged or counted.
        acked |= set(post(server, 0, 5))
        wait_saved(storage, acked)
        assert health(server)[1]["status"] == "ok" and save_failures(server) == 0
        assert count_lines(server, WARNING) == 0

        def fill() -> bool:
            acked.update(post(server, len(acked), 5))  # every one acknowledged, and so owed after a restart
            return health(server)[0] == 503

        wait_until(fill, timeout=30, interval=0.05, what="a save to fail on the full disk")
        body = wait_degraded(server, "No space left on device")
        assert body["detail"].startswith(f"cannot save tasks to {storage}: ")
        assert body["tasks"] == len(acked)  # still serving, and saying how much it holds
        assert_one_warning_for_the_streak(server)
        assert saved_ids(storage) < acked  # the last snapshot on disk is missing some: it is not ok

        filler.unlink()  # room again
        assert_recovered(server, storage)
        wait_saved(storage, acked)  # the tasks acknowledged while the disk was full
        after = set(post(server, 1_000, 5))  # acknowledged after the recovery
        acked |= after
        wait_saved(storage, acked)
        server.kill()  # no last save at shutdown: what is owed must already be on disk
        server.start()
        assert set(server.tasks()) == acked
        assert count_lines(server, WARNING) == 1  # the restart found nothing to complain about


def test_a_read_only_folder_degrades_health_warns_once_counts_and_recovers(mounts, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    storage = folder / "tasks.json"
    with serve(storage) as server:
        acked = set(post(server, 0, 3))
        wait_saved(storage, acked)
        assert count_lines(server, WARNING) == 0 and save_failures(server) == 0  # the negative control

        make_read_only(mounts, folder)
        acked |= set(post(server, 3, 3))  # acknowledged while nothing can be saved
        wait_degraded(server, "Read-only file system")
        assert_one_warning_for_the_streak(server)
        assert saved_ids(storage) < acked

        mounts.umount(folder)  # writable again
        assert_recovered(server, storage)
        acked |= set(post(server, 1_000, 3))
        wait_saved(storage, acked)
        server.kill()
        server.start()
        assert set(server.tasks()) == acked


@pytest.mark.parametrize("trouble", ["read-only", "full"])
def test_a_storage_folder_that_cannot_be_written_at_start_stops_serve_in_one_line(mounts, tmp_path, trouble):
    fs = tiny_fs(mounts, tmp_path / "fs")
    storage = fs / "tasks.json"
    if trouble == "full":
        with open(fs / "filler", "wb", buffering=0) as out, pytest.raises(OSError, match="No space left"):
            while True:  # until the disk is full
                out.write(b"\0" * 4096)
    else:
        run_mount("-o", "remount,ro", str(fs))  # nothing holds it open yet
    port = free_port()
    command = ["progressista", "serve", "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage)]
    result = subprocess.run(command, env=clean_env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error: ") and str(fs) in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


class FlakyFile(JsonFile):
    """A real JSON file whose saves fail while ``failing`` is set."""

    failing = False

    def save(self, tasks: dict[str, Any]) -> None:
        if self.failing:
            raise OSError(28, os.strerror(28))
        super().save(tasks)


def test_each_streak_is_logged_once_and_summed_up_once(tmp_path, caplog):
    """Two streaks of failed saves in one store: two warnings, two recoveries, a count for every failure."""
    file = FlakyFile(tmp_path / "tasks.json")
    failures: list[None] = []

    async def main() -> None:
        store = MemoryStore(file=file, save_interval=0.01)
        store.on_save_failure = lambda: failures.append(None)
        await store.start()
        for streak in range(2):
            file.failing = True
            await store.apply([{"task_id": f"s{streak}"}], now=0.0)
            while len(failures) < 3 * (streak + 1):
                await asyncio.sleep(0.005)  # the save loop's own retries, every save_interval
            assert await store.problem() == f"cannot save tasks to {file.path}: [Errno 28] {os.strerror(28)}"
            file.failing = False
            while await store.problem() is not None:
                await asyncio.sleep(0.005)
        await store.close()

    with caplog.at_level(logging.WARNING, logger="progressista.server"):
        asyncio.run(asyncio.wait_for(main(), 10))
    messages = [record.getMessage() for record in caplog.records]
    assert sum(WARNING in m for m in messages) == 2, messages
    recovered = [m for m in messages if RECOVERED in m]
    assert len(recovered) == 2, messages
    counts = [int(re.search(r"recovered: (\d+) saves? failed", m).group(1)) for m in recovered]  # type: ignore[union-attr]
    assert sum(counts) == len(failures) and min(counts) >= 3
    assert set(JsonFile(file.path).load()) == {"s0", "s1"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # closed after recovery: nothing lost


def test_stopping_while_saves_fail_says_what_is_lost(tmp_path, caplog):
    file = FlakyFile(tmp_path / "tasks.json")

    async def main() -> None:
        store = MemoryStore(file=file, save_interval=0.01)
        await store.start()
        file.failing = True
        await store.apply([{"task_id": "a"}], now=0.0)
        while await store.problem() is None:
            await asyncio.sleep(0.005)
        await store.close()

    with caplog.at_level(logging.WARNING, logger="progressista.server"):
        asyncio.run(asyncio.wait_for(main(), 10))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(f"stopped without saving tasks to {file.path} ("), errors
