"""`progressista serve` and the uvicorn factory forms, as real subprocesses."""

import signal
import socket
import subprocess
import sys

import pytest
import requests
from serverproc import ServerProcess
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
        # Overlapping namespaces: the keys of prefix "prog:task:" are tasks of prefix "prog:" (issue 23).
        ([], {"PROGRESSISTA_REDIS_PREFIX": "prog:task:"}, "invalid setting redis_prefix: Value error, must not"),
    ],
)
def test_bad_settings_are_one_line_errors(args, env, message):
    result = subprocess.run(
        ["progressista", "serve", *args], env=clean_env(**env), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_second_server_on_one_storage_file_is_refused_in_one_line(tmp_path):
    """Found by the adversarial pass (issue 23): two servers on one file lost half of the tasks."""
    storage = tmp_path / "state.json"
    env = clean_env(PROGRESSISTA_LOG_LEVEL="warning")

    def serve(port: int) -> list[str]:
        return ["progressista", "serve", "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage)]

    first_port = free_port()
    with server_process(serve(first_port), first_port, env) as url:
        assert requests.post(url + "/progress", json={"task_id": "kept"}, timeout=5).ok
        second = subprocess.run(serve(free_port()), env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert second.stderr.startswith(f"Error: storage file {storage} is in use by another server (pid ")
        assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    # The negative control: once the first has stopped, a server takes the file, and its tasks.
    port = free_port()
    with server_process(serve(port), port, env) as url:
        assert "kept" in requests.get(url + "/tasks", timeout=5).json()["tasks"]


@pytest.mark.parametrize(
    ("settings", "client"),
    [({}, "127.0.0.1"), ({"forwarded_allow_ips": "127.0.0.1"}, "203.0.113.9")],  # the second: behind a named proxy
)
def test_x_forwarded_for_is_believed_only_from_the_proxies_named(settings, client):
    with ServerProcess(cli=True, log_level="info", **settings) as live:
        requests.get(live.url + "/health?probe=1", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5)
        line = wait_until(
            lambda: next((line for line in live.output().splitlines() if "/health?probe=1" in line), None),
            what="the access log line",
        )
    assert line.startswith(f"INFO:     {client}:"), line


def started_output(host: str, *flags: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``progressista serve --host host`` until it answers, then Ctrl-C: its port and all it printed."""
    port = free_port()
    args = ["progressista", "serve", "--host", host, "--port", str(port), *flags]
    with subprocess.Popen(
        args, env=clean_env(**(env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:

        def up() -> bool:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok
            except requests.ConnectionError:
                return False

        try:
            wait_until(up, timeout=20, interval=0.05, what="server to answer /health")
        finally:
            proc.send_signal(signal.SIGINT)
            out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, out
    return port, out


def test_serve_says_where_the_dashboard_is_and_warns_when_open_to_the_network():
    port, out = started_output("0.0.0.0")
    assert f"INFO:     Dashboard: http://localhost:{port}/" in out
    assert f"Dashboard: http://{socket.gethostname()}:{port}/" in out
    assert "Tokens: none required" in out
    warning = next(line for line in out.splitlines() if line.startswith("WARNING:"))
    assert "Listening on 0.0.0.0 without a token" in warning and "--token" in warning, warning


@pytest.mark.parametrize(
    ("host", "flags", "env", "tokens"),
    [
        ("127.0.0.1", [], {}, "Tokens: none required"),  # loopback: only this machine reaches it
        ("0.0.0.0", ["--token", "s3cret"], {}, "Tokens: required: 1 admin"),
        ("0.0.0.0", [], {"PROGRESSISTA_API_TOKENS": "ingest:w0rker,read:v1ewer"}, "Tokens: required: 1 ingest, 1 read"),
    ],
)
def test_no_warning_on_loopback_or_with_a_token(host, flags, env, tokens):
    """The negative controls of the warning, and the roles the ``Tokens:`` line names."""
    port, out = started_output(host, *flags, env=env)
    assert "WARNING" not in out and "without a token" not in out, out
    assert tokens in out
    shown = "localhost" if host == "0.0.0.0" else host
    assert f"Dashboard: http://{shown}:{port}/" in out


def test_token_and_lost_seconds_flags(tmp_path):
    port = free_port()
    args = ["progressista", "serve", "--host", "127.0.0.1", "--port", str(port), "--token", "s3cret"]
    args += ["--stale-seconds", "0", "--lost-seconds", "0.3", "--cleanup-interval", "0.05", "--log-level", "warning"]
    with server_process(args, port, clean_env()) as url:
        auth = {"Authorization": "Bearer s3cret"}
        assert requests.post(url + "/progress", json={"task_id": "a"}, timeout=5).status_code == 401
        assert requests.post(url + "/progress", json={"task_id": "a", "status": "update"}, headers=auth, timeout=5).ok
        wait_until(
            lambda: requests.get(url + "/tasks", headers=auth, timeout=5).json()["tasks"]["a"]["status"] == "lost",
            what="lost from --lost-seconds",
        )


def test_token_flag_beside_api_tokens_is_a_usage_error():
    result = subprocess.run(
        ["progressista", "serve", "--token", "x"],
        env=clean_env(PROGRESSISTA_API_TOKENS="read:y"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and result.stderr.startswith("Error: --token is ignored when PROGRESSISTA_API_TOKENS")


def test_serve_help_names_the_token_settings():
    result = subprocess.run(
        ["progressista", "serve", "--help"], env=clean_env(COLUMNS="200"), capture_output=True, text=True, timeout=30
    )
    for text in ("--token", "PROGRESSISTA_API_TOKEN", "--lost-seconds", "--stale-seconds", "--tokens-file"):
        assert text in result.stdout, text
