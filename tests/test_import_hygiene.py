"""The client must load on a worker that has only the client's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVER_SIDE = ("fastapi", "uvicorn", "starlette", "pydantic", "pydantic_settings", "textual", "redis", "websockets")


@pytest.mark.parametrize(
    "statement",
    [
        "import progressista",
        "import progressista.client",
        "from progressista import RemoteTqdm, trange",
        "import progressista.sender, progressista.api, progressista.protocol.urls, progressista.config",
        "import progressista.patch; progressista.patch.install(); progressista.patch.uninstall()",
        "import progressista.run, progressista.demo",
        "import progressista.cli",
    ],
)
def test_the_client_does_not_load_the_server_stack(statement: str) -> None:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    leaked = sorted(name for name in loaded if name.split(".")[0] in SERVER_SIDE)
    assert not leaked, f"{statement!r} imported {leaked}"


def test_creating_a_bar_starts_no_server_stack() -> None:
    code = (
        "import io, json, sys\n"
        "from progressista import RemoteTqdm\n"
        "for _ in RemoteTqdm(range(3), file=io.StringIO(), server_url='http://127.0.0.1:1'): pass\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not [name for name in json.loads(done.stdout) if name.split(".")[0] in SERVER_SIDE]
