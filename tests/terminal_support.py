"""A command on a pseudo-terminal, read as raw bytes: what a person at a shell would have their terminal obey."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading

from support import wait_until


class Terminal:
    """``progressista ARGS…`` on a pseudo-terminal (stdin, stdout and stderr), its output kept as it came.

    ``raw`` is every byte the program wrote (escape sequences and all); ``screen`` the same, decoded.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        import pty

        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from progressista.cli import main; main()", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "COLUMNS": "150", "LINES": "40", "TERM": "xterm", **(env or {})},
        )
        os.close(slave)
        self.raw = b""
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True, name="pty-reader")
        self._reader.start()

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the child closed the terminal
                return
            if not data:
                return
            self._chunks.put(data)

    @property
    def screen(self) -> str:
        while not self._chunks.empty():
            self.raw += self._chunks.get_nowait()
        return self.raw.decode("utf-8", "replace")

    def shows(self, text: str) -> bool:
        return text in self.screen

    def wait_for(self, text: str) -> None:
        wait_until(lambda: self.shows(text), 15, what=f"{text!r} on the terminal")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, interrupt: bool = False) -> int:
        """Wait for the program to end (after Ctrl-C when ``interrupt``) and read the rest of what it wrote."""
        if interrupt:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(15)
        self._reader.join(5)  # it ends when the terminal reads as closed: everything written is in by then
        self.screen  # noqa: B018 - moves the last chunks into raw
        os.close(self.master)
        return code
