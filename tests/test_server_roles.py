"""Token roles: ingest reports, read reads, admin does everything; each route answers only its roles.

The matrix is derived from the server's own OpenAPI schema, so a new route
cannot slip in without a row in :data:`NEEDS` (the README's roles table, which
is checked against it too).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from support import JSON, clean_env, free_port, run_server, server_process
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from progressista.protocol.roles import REFUSAL_START, TokenEntryError, hashed, parse_tokens_file

README = Path(__file__).resolve().parent.parent / "README.md"

#: Who may use each route: the README's roles table, as the test reads it.
NEEDS = {
    ("POST", "/progress"): {"ingest", "admin"},
    ("GET", "/tasks"): {"read", "admin"},
    ("GET", "/groups"): {"read", "admin"},
    ("GET", "/metrics"): {"read", "admin"},
    ("GET", "/alerts"): {"read", "admin"},
    ("GET", "/history"): {"read", "admin"},
    ("POST", "/alerts/test"): {"admin"},
    ("GET", "/access"): {"ingest", "read", "admin"},
    ("DELETE", "/tasks"): {"admin"},
    ("DELETE", "/tasks/{task_id}"): {"admin"},
    ("WS", "/ws"): {"read", "admin"},
}
#: Routes anyone may call, token or not.
OPEN = {("GET", "/health")}

TOKENS = {"ingest": "tok-ingest", "read": "tok-read", "admin": "tok-admin"}
#: Who calls: no token, a token the server does not know, and one token of each role.
CALLERS = {"nobody": None, "unknown": "tok-unknown", **TOKENS}

SEED = "matrix:seed"


@pytest.fixture(scope="module")
def secured():
    entries = [f"{role}:{token}" for role, token in TOKENS.items()]
    with run_server(api_tokens=entries, auth_failures=0) as server:  # no throttling: the matrix fails on purpose
        yield server


def _admin(server) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS['admin']}"}


def _seed(server) -> dict[str, Any]:
    """One known task, then the whole state as an admin sees it."""
    server.http.post(
        server.url + "/progress", json={"task_id": SEED, "n": 3, "desc": "secret-desc"}, headers=_admin(server)
    )
    return server.http.get(server.url + "/tasks", headers=_admin(server), timeout=5).json()["tasks"]


def _credentials(token: str | None, carrier: str) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query) carrying ``token`` in the ``Authorization`` header or ``?token=``."""
    if token is None:
        return {}, {}
    return ({"Authorization": f"Bearer {token}"}, {}) if carrier == "header" else ({}, {"token": token})


def test_every_route_of_the_schema_has_a_row_in_the_roles_table(secured):
    schema = secured.http.get(secured.url + "/openapi.json", timeout=5).json()
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert operations == {key for key in NEEDS if key[0] != "WS"} | OPEN


def _call(server, method: str, path: str, headers: dict[str, str], query: dict[str, str]) -> requests.Response:
    url = server.url + path.replace("{task_id}", SEED)
    params = dict(query)
    body: Any = None
    if method == "POST":
        body = {"task_id": "matrix:new"}
    if (method, path) == ("DELETE", "/tasks"):
        params["all"] = "true"
    return server.http.request(method, url, params=params, json=body, headers={**JSON, **headers}, timeout=5)


@pytest.mark.parametrize("carrier", ["header", "query"])
@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize(("method", "path"), [key for key in NEEDS if key[0] != "WS"])
def test_each_route_answers_exactly_its_roles(secured, method, path, caller, carrier):
    before = _seed(secured)
    headers, query = _credentials(CALLERS[caller], carrier)
    response = _call(secured, method, path, headers, query)
    after = secured.http.get(secured.url + "/tasks", headers=_admin(secured), timeout=5).json()["tasks"]
    if caller in NEEDS[(method, path)]:
        # 404: the one-task DELETE after a bulk one; 409: no alert rules to test on this server.
        assert response.status_code in (200, 404, 409), response.text
        if path == "/progress":
            assert "matrix:new" in after
        if method == "DELETE":
            assert SEED not in after
        return
    if caller in TOKENS:
        assert response.status_code == 403
        assert response.json()["detail"].startswith(REFUSAL_START)
    else:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert "secret-desc" not in response.text  # nothing of the tasks leaks in a refusal
    assert after == before  # and nothing changed


def test_the_403_names_the_role_needed(secured):
    def detail(method: str, path: str, role: str) -> str:
        response = _call(secured, method, path, {"Authorization": f"Bearer {TOKENS[role]}"}, {})
        return response.json()["detail"]

    assert detail("DELETE", "/tasks", "read") == "this token can only read; deleting needs an admin token"
    assert detail("POST", "/progress", "read") == (
        "this token can only read; reporting progress needs an ingest or admin token"
    )
    assert detail("GET", "/tasks", "ingest") == (
        "this token can only report progress; reading tasks needs a read or admin token"
    )


@pytest.mark.parametrize("carrier", ["header", "query"])
@pytest.mark.parametrize("caller", list(CALLERS))
def test_ws_serves_readers_and_closes_1008_before_any_data_for_the_others(secured, caller, carrier):
    _seed(secured)
    headers, query = _credentials(CALLERS[caller], carrier)
    url = secured.ws_url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    with connect(url, additional_headers=headers, open_timeout=5) as ws:
        if caller in NEEDS[("WS", "/ws")]:
            assert SEED in json.loads(ws.recv(timeout=5))["tasks"]
            return
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    reason = closed.value.rcvd.reason
    assert reason.startswith(REFUSAL_START) if caller in TOKENS else reason == "missing or wrong token"


def test_access_says_what_a_token_may_do_and_never_the_token(secured):
    def access(role: str) -> dict[str, Any]:
        return secured.http.get(secured.url + "/access", params={"token": TOKENS[role]}, timeout=5).json()

    assert access("ingest") == {"role": "ingest", "can": ["ingest"], "tokens": True}
    assert access("read") == {"role": "read", "can": ["read"], "tokens": True}
    assert access("admin") == {"role": "admin", "can": ["ingest", "read", "admin"], "tokens": True}
    assert all(token not in json.dumps(access(role)) for role, token in TOKENS.items())


def test_an_open_server_treats_everyone_as_admin(server):
    assert server.http.get(server.url + "/access", timeout=5).json() == {
        "role": "admin",
        "can": ["ingest", "read", "admin"],
        "tokens": False,
    }


def test_entries_without_a_role_and_the_single_token_stay_admin(start_server):
    legacy = start_server(api_tokens=["plain", "db:pass"])
    for token in ("plain", "db:pass"):  # a prefix that is no role is part of the token
        assert legacy.http.get(legacy.url + "/access", params={"token": token}, timeout=5).json()["role"] == "admin"
    single = start_server(api_token="read:only")  # PROGRESSISTA_API_TOKEN is one admin token, as written
    assert single.http.get(single.url + "/access", params={"token": "read:only"}, timeout=5).json()["role"] == "admin"


# The tokens file.


def test_hashed_and_plain_entries_of_the_tokens_file_work(start_server, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# workers\ningest {hashed('w0rker')}   # the fleet\nread v1ewer\n\nadmin {hashed('b0ss')}\n")
    server = start_server(tokens_file=tokens)
    assert "w0rker" not in tokens.read_text()
    roles = {
        token: server.http.get(server.url + "/access", params={"token": token}, timeout=5).json().get("role")
        for token in ("w0rker", "v1ewer", "b0ss", hashed("w0rker"))
    }
    assert roles == {"w0rker": "ingest", "v1ewer": "read", "b0ss": "admin", hashed("w0rker"): None}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reader hunter2-secret\n", "line 1: must start with a role"),
        ("hunter2-secret\n", "line 1: must start with a role"),
        ("# ok\nread hunter2-secret extra\n", "line 2: expected 'ROLE TOKEN', got 3 words"),
        ("read sha256:hunter2-secret\n", "line 1: sha256: must be followed by 64 hex digits"),
        ("admin\n", "line 1: expected 'ROLE TOKEN', got 1 words"),
        ("# only comments\n", "holds no token"),
        ("read hunter2-secret\nadmin hunter2-secret\n", "one token is given two roles, read and admin"),
    ],
)
def test_a_malformed_tokens_file_is_refused_naming_the_line_never_the_secret(tmp_path, text, message):
    tokens = tmp_path / "tokens"
    tokens.write_text(text)
    with pytest.raises(TokenEntryError) as refused:
        from progressista.server import Settings

        Settings(tokens_file=tokens).grants()
    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_serve_stops_with_one_line_on_a_malformed_tokens_file(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("read hunter2-secret\nviewer hunter2-other\n")
    done = subprocess.run(
        ["progressista", "serve", "--port", str(free_port()), "--tokens-file", str(tokens)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: invalid tokens: PROGRESSISTA_TOKENS_FILE {tokens} line 2: "
        "must start with a role (ingest, read or admin), then the token"
    ]
    assert "hunter2" not in done.stdout + done.stderr


def test_serve_refuses_a_bad_api_tokens_entry_without_echoing_it():
    done = subprocess.run(
        ["progressista", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(PROGRESSISTA_API_TOKENS="admin:good-one,read:bad secret"),
    )
    assert done.returncode == 2
    assert "PROGRESSISTA_API_TOKENS entry 2: a token may not contain spaces" in done.stderr
    assert "secret" not in done.stderr.replace("keep it secret", "")


# progressista tokens new


def test_tokens_new_prints_a_token_and_lines_that_grant_it_the_role(tmp_path):
    human = subprocess.run(
        ["progressista", "tokens", "new", "--role", "ingest"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    token, line, entry = (match.strip() for match in re.findall(r"^  (\S.*)$", human, re.MULTILINE))
    assert line == f"ingest {hashed(token)}" and entry == f"ingest:{token}"
    scripted = json.loads(
        subprocess.run(
            ["progressista", "tokens", "new", "--role", "read", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert scripted["token"] != token and len(scripted["token"]) >= 43
    assert [grant.role for grant in parse_tokens_file(scripted["tokens_file_line"])] == ["read"]

    tokens = tmp_path / "tokens"
    tokens.write_text(f"{line}\n{scripted['tokens_file_line']}\n")
    port = free_port()
    args = ["progressista", "serve", "--host", "127.0.0.1", "--port", str(port), "--tokens-file", str(tokens)]
    with server_process(args, port, clean_env(PROGRESSISTA_LOG_LEVEL="warning")) as url:
        assert requests.get(url + "/access", params={"token": token}, timeout=5).json()["role"] == "ingest"
        reader = {"Authorization": f"Bearer {scripted['token']}"}
        assert requests.get(url + "/tasks", headers=reader, timeout=5).status_code == 200
        assert requests.post(url + "/progress", json={"task_id": "x"}, headers=reader, timeout=5).status_code == 403


def test_tokens_new_refuses_an_unknown_role():
    done = subprocess.run(
        ["progressista", "tokens", "new", "--role", "root"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "Error: --role: 'root' is not a role; use ingest, read, admin"


# The README's roles table is this file's NEEDS.


def test_the_readme_roles_table_matches_the_server():
    section = README.read_text().split("### Roles", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        method, path = cells[0].strip("`").split(" ", 1)
        table[(method, path)] = {
            role for role, cell in zip(("ingest", "read", "admin"), cells[1:4], strict=True) if cell == "yes"
        }
    assert table == {**NEEDS, **{key: {"ingest", "read", "admin"} for key in OPEN}}
