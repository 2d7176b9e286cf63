"""PROGRESSISTA_STORAGE_PATH: atomic snapshots, restarts, corrupt files kept aside."""

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from support import wait_until

from progressista.server.store import MemoryStore
from progressista.server.store_json import JsonFile, StorageError, StorageLocked


def lock_free(path: Path) -> bool:
    file = JsonFile(path)
    try:
        file.lock()
    except StorageLocked:
        return False
    file.unlock()
    return True


def test_save_then_load_round_trips(tmp_path):
    file = JsonFile(tmp_path / "sub" / "state.json")
    tasks = {"a": {"task_id": "a", "status": "update", "n": 3, "created_at": 1.0, "updated_at": 2.0}}
    file.save(tasks)
    loaded = file.load()
    assert loaded["a"]["n"] == 3 and loaded["a"]["status"] == "update"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["state.json"]  # no temp files left


def test_load_removes_temp_files_of_interrupted_saves(tmp_path):
    file = JsonFile(tmp_path / "state.json")
    file.save({})
    leftovers = [tmp_path / ".state.json.abc123.tmp", tmp_path / ".state.json.zz.tmp"]
    for leftover in leftovers:
        leftover.write_text('{"version": 1, "ta')  # what a kill -9 mid-save leaves
    other = tmp_path / ".other.json.abc.tmp"
    other.write_text("not ours")
    assert file.load() == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.abc.tmp", "state.json"]


def test_missing_file_is_an_empty_start(tmp_path):
    assert JsonFile(tmp_path / "none.json").load() == {}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"version": 99, "tasks": {}}',
        b'{"version": 1, "tasks": {"a": {"status": "update", "created_at": NaN, "updated_at": 1}}}',
    ],
)
def test_a_corrupt_file_is_moved_aside_with_a_warning(tmp_path, caplog, content):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="progressista.server"):
        assert JsonFile(path).load() == {}
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert not path.exists()
    assert "moved it to" in caplog.text


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux /proc")
def test_an_unusable_file_that_cannot_be_moved_stops_the_start():
    # /proc/version is not a snapshot, and nobody (not even root) can rename it.
    with pytest.raises(StorageError, match="moving it aside failed"):
        JsonFile("/proc/version").load()


def test_tasks_survive_a_restart(start_server, tmp_path):
    path = tmp_path / "state.json"
    first = start_server(storage_path=path, save_interval=0.05)
    first.post(
        [
            {"task_id": "a", "status": "start", "desc": "kept", "n": 3, "total": 9, "meta": {"k": 1}},
            {"task_id": "b", "status": "close"},
        ]
    )
    wait_until(lambda: path.exists() and "kept" in path.read_text(), what="periodic save")
    first.post({"task_id": "a", "n": 4})
    before = first.tasks()
    first.server.should_exit = True
    wait_until(lambda: json.loads(path.read_text())["tasks"]["a"]["n"] == 4, what="save at shutdown")
    wait_until(lambda: lock_free(path), what="the first server to let go of the file")
    second = start_server(storage_path=path)
    assert second.tasks() == before


def test_a_corrupt_file_does_not_stop_the_server(start_server, tmp_path, caplog):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "tasks": ')
    server = start_server(storage_path=path, save_interval=0.05)
    assert server.tasks() == {}
    server.post({"task_id": "new"})
    wait_until(lambda: path.exists() and "new" in path.read_text(), what="fresh save")
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside and aside[0].read_text() == '{"version": 1, "tasks": '


def test_a_malformed_task_is_skipped_and_reported_once_and_lifecycle_passes_go_on(start_server, tmp_path, caplog):
    """Found by the adversarial pass (issue 23): one task with a bad seen_at made every lifecycle pass raise."""
    path = tmp_path / "state.json"
    now = time.time()
    good = {"status": "update", "n": 1, "created_at": now, "updated_at": now, "seen_at": now}
    snapshot = {
        "version": 1,
        "tasks": {
            "good": good,
            "bad-clock": {**good, "seen_at": "yesterday"},
            "bad-n": {**good, "n": "3"},
            "bad-status": {**good, "status": "paused"},
            "not-a-task": [],
        },
    }
    path.write_text(json.dumps(snapshot))
    with caplog.at_level(logging.WARNING, logger="progressista.server"):
        server = start_server(storage_path=path, lost_seconds=0.3, cleanup_interval=0.05)
        assert set(server.tasks()) == {"good"}
        # The passes work: the good task, silent since the snapshot, goes lost.
        wait_until(lambda: server.tasks()["good"]["status"] == "lost", what="a lifecycle pass marking it lost")
    reports = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(reports) == 1, reports
    assert "skipped 4 malformed task(s)" in reports[0]
    assert "'bad-clock' (seen_at: must be a finite number)" in reports[0] and "'bad-n' (n: must be" in reports[0]
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)  # no "lifecycle pass failed"
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and json.loads(aside[0].read_text()) == snapshot  # nothing dropped silently


def test_a_store_will_not_share_its_file_with_another(tmp_path):
    """The lock the app takes as it starts (``progressista serve`` checks it first, for a one-line error)."""
    path = tmp_path / "state.json"

    async def check() -> None:
        first = MemoryStore(file=JsonFile(path))
        await first.start()
        second = MemoryStore(file=JsonFile(path))
        with pytest.raises(StorageLocked, match=r"in use by another server \(pid \d+ holds state.json.lock\)"):
            await second.start()
        await first.apply([{"task_id": "a"}], time.time())
        await first.close()
        await second.start()  # the negative control: a released file is free again
        assert set(await second.tasks(now=time.time())) == {"a"}
        await second.close()

    asyncio.run(check())
