"""PROGRESSISTA_STORAGE_PATH: atomic snapshots, restarts, corrupt files kept aside."""

import json
import logging
from pathlib import Path

import pytest
from support import wait_until

from progressista.server.store_json import JsonFile, StorageError


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
        b'{"version": 1, "tasks": {"a": {}}}',
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
