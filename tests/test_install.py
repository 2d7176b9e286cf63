"""The README's install lines, for real: a wheel built from this checkout, installed into a fresh virtualenv
with each extra in turn (each extra's command refused before it, working after), and from a ``git+file://`` URL.

Packages come from the machine's package index (its pip configuration); the
virtualenvs have no access to this environment's packages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import clean_env, free_port, require_binary, server_process

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(600)


def run(*command: str | Path, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, check=check, env=clean_env()
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # From a copy: building in the checkout would leave build/ and *.egg-info behind.
    source = tmp_path_factory.mktemp("src") / "progressista"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".*"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source)
    [built] = out.glob("progressista-*-py3-none-any.whl")
    return built


def venv(path: Path) -> Path:
    run(sys.executable, "-m", "venv", path)
    return path / "bin"


def pip_install(bin_dir: Path, *requirements: str) -> None:
    run(bin_dir / "python", "-m", "pip", "install", "-q", *requirements)


def test_the_wheel_installs_with_each_extra_and_each_extras_command_works(wheel, tmp_path):
    bin_dir = venv(tmp_path / "venv")
    pip_install(bin_dir, str(wheel))
    assert "Usage: progressista" in run(bin_dir / "progressista", "--help").stdout
    assert run(bin_dir / "python", "-c", "from progressista import RemoteTqdm; print(RemoteTqdm)").returncode == 0
    refused = run(bin_dir / "progressista", "serve", "--port", str(free_port()), check=False)
    assert refused.returncode != 0 and "pip install 'progressista[server]'" in refused.stderr  # the control

    pip_install(bin_dir, f"{wheel}[server]")
    port = free_port()
    with server_process(
        [str(bin_dir / "progressista"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        port,
        clean_env(PROGRESSISTA_LOG_LEVEL="warning"),
    ) as url:
        assert requests.get(url + "/health", timeout=5).json()["status"] == "ok"
        refused = run(bin_dir / "progressista", "watch", "--url", url, check=False, timeout=60)
        assert refused.returncode != 0 and "pip install 'progressista[tui]'" in refused.stderr

    pip_install(bin_dir, f"{wheel}[tui]")
    imported = run(bin_dir / "python", "-c", "from progressista.tui.app import create_app; print(create_app)")
    assert "WatchApp" in imported.stdout

    pip_install(bin_dir, f"{wheel}[redis]")
    from support import RedisServer

    redis = RedisServer(require_binary("redis-server")).start()
    try:
        port = free_port()
        command = [str(bin_dir / "progressista"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with server_process(
            [*command, "--redis-url", redis.url], port, clean_env(PROGRESSISTA_LOG_LEVEL="warning")
        ) as url:
            assert requests.post(url + "/progress", json={"task_id": "a"}, timeout=5).status_code == 200
            assert "a" in requests.get(url + "/tasks", timeout=5).json()["tasks"]
    finally:
        redis.close()

    pip_install(bin_dir, f"{wheel}[all]")
    assert run(bin_dir / "python", "-m", "pip", "check").returncode == 0


def test_a_git_url_installs_it(tmp_path):
    require_binary("git")
    checkout = tmp_path / "repo"
    # A repository of the working tree as it is (the test sees uncommitted work too).
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__"))
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        run("git", "-C", checkout, *command)
    bin_dir = venv(tmp_path / "venv")
    pip_install(bin_dir, f"progressista @ git+file://localhost{checkout}")  # pip parses file:// URLs with a host
    shown = run(bin_dir / "python", "-m", "pip", "show", "progressista").stdout
    assert "Version: 0.1.0" in shown and "0.2.1" not in shown  # this project, not the index's namesake
    assert "Usage: progressista" in run(bin_dir / "progressista", "--help").stdout
