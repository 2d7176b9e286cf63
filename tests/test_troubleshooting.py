"""README "Troubleshooting": each line it quotes is what a real bar prints in that situation.

Each situation is made for real (no server, a token server without or with the
wrong token, a read token, a plain HTTP server that is no Progressista), a real
``RemoteTqdm`` runs in a fresh interpreter, and its stderr line must be the
README's, with the README's ``http://localhost:8000`` standing for the address used.
"""

from __future__ import annotations

import http.server
from pathlib import Path

import pytest
from clientkit import client_env, python
from support import free_socket, serving

README = Path(__file__).resolve().parent.parent / "README.md"
SHOWN = "http://localhost:8000"

BAR = """
from progressista import RemoteTqdm
for _ in RemoteTqdm(range(3), task_id="why", mininterval=0):
    pass
"""


def quoted_lines() -> list[str]:
    """The ``progressista:`` lines of the Troubleshooting section, in order."""
    section = README.read_text().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```text\n")[1:]]
    return [line for block in blocks for line in block.splitlines() if line.startswith("progressista:")]


def printed(url: str, **env: str) -> str:
    done = python(BAR, env=client_env(None, PROGRESSISTA_SERVER_URL=url, **env))
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("progressista:")]
    return line.replace(url.removesuffix("/progress"), SHOWN)


class NotProgressista(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def token_server(start_server):
    return start_server(api_tokens=["admin:right-token", "read:reader-token"])


def test_the_readme_quotes_what_each_situation_prints(token_server):
    with free_socket() as sock:  # a port nobody listens on
        nobody = printed(f"http://127.0.0.1:{sock.getsockname()[1]}")
    no_token = printed(token_server.url)
    wrong_token = printed(token_server.url, PROGRESSISTA_API_TOKEN="wrong-token")
    read_token = printed(token_server.url, PROGRESSISTA_API_TOKEN="reader-token")
    with serving(NotProgressista) as other:
        elsewhere = printed(f"http://127.0.0.1:{other.server_address[1]}/progress")
    assert quoted_lines() == [nobody, no_token, wrong_token, read_token, elsewhere]


def test_the_right_token_prints_nothing(token_server):
    done = python(BAR, env=client_env(token_server, PROGRESSISTA_API_TOKEN="right-token"))
    assert done.returncode == 0 and "progressista:" not in done.stderr  # the control
