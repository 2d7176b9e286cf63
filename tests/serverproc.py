"""A Progressista server in a subprocess, for tests that kill it or restart it on the same port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

import requests
from support import free_port, wait_until


class ServerProcess:
    """``uvicorn --factory progressista.server:create_app`` on a fixed loopback port.

    Settings are given as keyword arguments (``storage_path=...``) and passed as
    ``PROGRESSISTA_*``; the environment is otherwise this one, less any
    ``PROGRESSISTA_*``. Output goes to a temporary file, shown when it fails to start.
    ``cli=True`` runs ``progressista serve`` instead (the access log always on),
    for what only it sets up: its logging, socket and uvicorn options.
    ``wrapper`` comes before the command, e.g. ``["prlimit", "--nofile=256:4096"]`` (which execs it:
    ``proc.pid`` stays the server's).
    """

    def __init__(
        self,
        port: int | None = None,
        log_level: str = "warning",
        access_log: bool = False,
        cli: bool = False,
        wrapper: Sequence[str] = (),
        **settings: Any,
    ) -> None:
        self.port = port or free_port()
        self.logging = ["--log-level", log_level] + ([] if access_log else ["--no-access-log"])
        self.cli = cli
        self.wrapper = list(wrapper)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PROGRESSISTA_")}
        self.env.update({f"PROGRESSISTA_{k.upper()}": str(v) for k, v in settings.items()})
        if cli:
            self.env["PROGRESSISTA_LOG_LEVEL"] = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 20) -> ServerProcess:
        assert self.proc is None, "already running"
        if self.cli:
            command = ["progressista", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            command = [sys.executable, "-m", "uvicorn", "--factory", "progressista.server:create_app"]
            command += ["--host", "127.0.0.1", "--port", str(self.port), *self.logging]
        self.proc = subprocess.Popen(
            self.wrapper + command,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        wait_until(self._up, timeout=timeout, interval=0.02, what=f"server on port {self.port}")
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
        try:
            return requests.get(self.url + "/health", timeout=1).ok
        except requests.RequestException:
            return False

    def http_get(self, path: str) -> str:
        response = requests.get(self.url + path, timeout=10)
        response.raise_for_status()
        return response.text

    def tasks(self, **params: Any) -> dict[str, Any]:
        response = requests.get(self.url + "/tasks", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["tasks"]  # type: ignore[no-any-return]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last save."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: uvicorn shuts down cleanly."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self) -> None:
        self.stop()
        self.log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
