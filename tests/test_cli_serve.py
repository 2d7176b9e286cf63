"""`progressista serve` and the uvicorn factory forms, as real subprocesses."""

import subprocess
import sys

import pytest
import requests
from support import clean_env, free_port, server_process, wait_until


def test_serve_takes_flags_and_environment(tmp_path):
    port = free_port()
    storage = tmp_path / "state.json"
    env = clean_env(PROGRESSISTA_API_TOKEN="s3cret", PROGRESSISTA_RETENTION_SECONDS="600")
    args = [
        "progressista",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--stale-seconds",
        "0.3",
        "--cleanup-interval",
        "0.05",
        "--storage-path",
        str(storage),
        "--log-level",
        "warning",
    ]
    with server_process(args, port, env) as url:
        auth = {"Authorization": "Bearer s3cret"}
        assert requests.post(url + "/progress", json={"task_id": "a"}, timeout=5).status_code == 401
        assert requests.post(url + "/progress", json={"task_id": "a"}, headers=auth, timeout=5).ok
        wait_until(
            lambda: requests.get(url + "/tasks", headers=auth, timeout=5).json()["tasks"]["a"]["status"] == "stale",
            what="stale from --stale-seconds",
        )
    assert '"a"' in storage.read_text()  # saved at shutdown


def test_flags_win_over_the_environment():
    port = free_port()
    env = clean_env(PROGRESSISTA_PORT="1", PROGRESSISTA_HOST="203.0.113.1", PROGRESSISTA_LOG_LEVEL="warning")
    with server_process(["progressista", "serve", "--host", "127.0.0.1", "--port", str(port)], port, env) as url:
        assert requests.get(url + "/health", timeout=5).json()["status"] == "ok"


@pytest.mark.parametrize("factory_flag", [["--factory"], []])
def test_uvicorn_runs_the_factory_in_both_forms(factory_flag):
    port = free_port()
    env = clean_env(PROGRESSISTA_STALE_SECONDS="0.2", PROGRESSISTA_CLEANUP_INTERVAL="0.05")
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        *factory_flag,
        "progressista.server:create_app",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with server_process(args, port, env) as url:
        requests.post(url + "/progress", json={"task_id": "t"}, timeout=5)
        wait_until(
            lambda: requests.get(url + "/tasks", timeout=5).json()["tasks"]["t"]["status"] == "stale",
            what="settings read from the environment",
        )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "99999"], {}, "invalid setting port"),
        (["--stale-seconds", "-1"], {}, "invalid setting stale_seconds"),
        ([], {"PROGRESSISTA_MAX_TASKS": "lots"}, "invalid setting max_tasks"),
        (["--workers", "2"], {}, "--workers above 1 needs a shared store"),
    ],
)
def test_bad_settings_are_one_line_errors(args, env, message):
    result = subprocess.run(
        ["progressista", "serve", *args], env=clean_env(**env), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
