"""The plain install (no extras) runs every command that is not the server or the terminal dashboard.

A wheel built from this checkout goes into a fresh virtualenv with its base
dependencies only (pip resolves them from the configured index); the server runs
in this test's own environment. ``wait`` follows the server's WebSocket, so it
needs ``websockets``: a base dependency, for worker nodes and CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import LiveServer

ROOT = Path(__file__).resolve().parent.parent
#: What the plain install must not bring: the server's, the TUI's and Redis' stacks (not pydantic: new Typers need it).
EXTRAS_ONLY = ("fastapi", "uvicorn", "starlette", "pydantic_settings", "textual", "redis", "apprise")


def pip(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``bin`` directory of a virtualenv with ``pip install progressista-….whl``, no extras."""
    base = tmp_path_factory.mktemp("plain")
    source = base / "src"  # a copy: the build writes build/ and *.egg-info beside the sources
    shutil.copytree(
        ROOT / "progressista", source / "progressista", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    wheels = base / "wheels"
    pip(Path(sys.executable), "wheel", "--no-deps", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("progressista-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    pip(bin_dir / "python", "install", str(wheel))
    yield bin_dir


def plain_env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGRESSISTA_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "COLUMNS": "120"}


def cli(bin_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "progressista"), *args], capture_output=True, text=True, env=plain_env(bin_dir), timeout=timeout
    )


def test_the_plain_install_has_no_extra_stack(plain: Path) -> None:
    probe = "import importlib.util as u, json, sys; print(json.dumps([n for n in sys.argv[1:] if u.find_spec(n)]))"
    done = subprocess.run(
        [str(plain / "python"), "-c", probe, *EXTRAS_ONLY, "websockets"], capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout) == ["websockets"], done.stderr


def test_wait_works_with_the_plain_install(plain: Path, server: LiveServer) -> None:
    server.post([{"task_id": "ci:a", "status": "close", "n": 4, "total": 4}, {"task_id": "ci:b", "status": "error"}])
    done = cli(plain, "wait", "ci:a", "--url", server.url, "--timeout", "20")
    assert (done.returncode, done.stdout.startswith("1 task closed in ")) == (0, True), done.stdout + done.stderr
    failed = cli(plain, "wait", "--group", "ci", "--url", server.url, "--timeout", "20")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    # The negative control: a task that stays open times out (exit 2), it is not taken for done.
    server.post({"task_id": "ci:open", "status": "update", "n": 1, "total": 4})
    pending = cli(plain, "wait", "ci:open", "--url", server.url, "--timeout", "0.5")
    assert pending.returncode == 2, pending.stdout + pending.stderr


def test_the_other_client_commands_work_with_the_plain_install(plain: Path, server: LiveServer) -> None:
    server.post({"task_id": "etl:load", "status": "update", "n": 1, "total": 4, "desc": "Loading rows"})
    listed = cli(plain, "tasks", "ls", "--url", server.url)
    assert listed.returncode == 0 and "Loading rows" in listed.stdout, listed.stderr
    assert cli(plain, "tokens", "new", "--role", "ingest").returncode == 0
    assert cli(plain, "history", "--url", server.url).returncode == 0
    piped = subprocess.run(
        [str(plain / "progressista"), "pipe", "--url", server.url],
        input="a\nb\n",
        capture_output=True,
        text=True,
        env=plain_env(plain),
        timeout=60,
    )
    assert piped.returncode == 0 and piped.stdout == "a\nb\n", piped.stderr
    assert cli(plain, "tasks", "rm", "etl:load", "--url", server.url).returncode == 0
    # The server and the terminal dashboard name their extra in one line.
    for command, extra in ((("serve",), "server"), (("watch",), "tui")):
        missing = cli(plain, *command)
        assert missing.returncode != 0 and f"pip install 'progressista[{extra}]'" in missing.stderr, missing.stderr
        assert "Traceback" not in missing.stderr
