"""The REST API against a real uvicorn server on loopback."""

import contextlib
import http.server
import json

import requests
from support import JSON, serving


def test_post_one_event_then_read_it_back(server):
    response = server.post({"task_id": "job-1", "status": "start", "desc": "Loading", "n": 0, "total": 10})
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "applied": 1}
    task = server.tasks()["job-1"]
    assert (task["status"], task["desc"], task["n"], task["total"], task["unit"]) == ("start", "Loading", 0, 10, "it")
    assert task["created_at"] == task["updated_at"]


def test_batch_and_partial_updates_merge(server):
    server.post(
        [
            {"task_id": "a", "status": "start", "desc": "A", "total": 5, "meta": {"job": "x"}},
            {"task_id": "b", "status": "start", "desc": "B"},
        ]
    )
    response = server.post([{"task_id": "a", "n": 3}, {"task_id": "b", "n": 1, "postfix": "loss=0.3"}])
    assert response.json() == {"accepted": 2, "applied": 2}
    tasks = server.tasks()
    assert (tasks["a"]["desc"], tasks["a"]["n"], tasks["a"]["total"], tasks["a"]["meta"]) == ("A", 3, 5, {"job": "x"})
    assert (tasks["b"]["status"], tasks["b"]["postfix"]) == ("update", "loss=0.3")


def test_close_is_final_until_a_new_start(server):
    server.post({"task_id": "t", "status": "close", "n": 10, "total": 10})
    assert server.post({"task_id": "t", "status": "update", "n": 3}).json()["applied"] == 0
    assert server.tasks()["t"]["status"] == "close"
    server.post({"task_id": "t", "status": "start", "n": 0})
    assert server.tasks()["t"]["status"] == "start"


def test_error_status_is_kept(server):
    server.post({"task_id": "t", "status": "error", "n": 4, "total": 10})
    assert server.tasks(status="error")["t"]["n"] == 4


def test_replayed_lower_seq_does_not_move_the_bar_back(server):
    server.post({"task_id": "t", "n": 50, "seq": 5})
    server.post({"task_id": "t", "n": 10, "seq": 2})
    assert server.tasks()["t"]["n"] == 50


def test_filters_by_status_group_and_idle_time(server):
    server.post(
        [
            {"task_id": "s", "status": "start"},
            {"task_id": "u", "status": "update"},
            {"task_id": "c", "status": "close"},
            {"task_id": "e", "status": "error"},
        ]
    )
    assert set(server.tasks(status="active")) == {"s", "u"}
    assert set(server.tasks(status="completed")) == {"c", "e"}
    assert set(server.tasks(status="close,start")) == {"c", "s"}
    assert set(server.tasks(older_than=0)) == {"s", "u", "c", "e"}
    assert server.tasks(older_than=3600) == {}


def test_bad_filters_are_refused(server):
    response = server.http.get(server.url + "/tasks", params={"status": "finished"}, timeout=5)
    assert response.status_code == 422 and "finished" in response.json()["detail"]
    response = server.http.get(server.url + "/tasks", params={"older_than": "-1"}, timeout=5)
    assert response.status_code == 422


def test_delete_one_task(server):
    server.post([{"task_id": "keep"}, {"task_id": "drop"}])
    response = server.http.delete(server.url + "/tasks/drop", headers=JSON, timeout=5)
    assert response.json() == {"removed": ["drop"], "count": 1}
    assert set(server.tasks()) == {"keep"}
    missing = server.http.delete(server.url + "/tasks/drop", headers=JSON, timeout=5)
    assert missing.status_code == 404 and "drop" in missing.json()["detail"]


def test_task_ids_with_slashes_and_colons_can_be_deleted(server):
    server.post({"task_id": "run-42:rank/0 é"})
    response = server.http.delete(
        server.url + "/tasks/" + requests.utils.quote("run-42:rank/0 é", safe=""), headers=JSON, timeout=5
    )
    assert response.status_code == 200 and server.tasks() == {}


def test_bulk_delete_returns_what_it_removed(server):
    server.post(
        [
            {"task_id": "a", "status": "close"},
            {"task_id": "b", "status": "error"},
            {"task_id": "c", "status": "update"},
        ]
    )
    response = server.http.delete(server.url + "/tasks", params={"status": "close"}, headers=JSON, timeout=5)
    assert response.json() == {"removed": ["a"], "count": 1}
    response = server.http.delete(
        server.url + "/tasks", params={"status": "completed", "older_than": 3600}, headers=JSON, timeout=5
    )
    assert response.json() == {"removed": [], "count": 0}
    response = server.http.delete(
        server.url + "/tasks", params={"status": "completed", "older_than": 0}, headers=JSON, timeout=5
    )
    assert response.json()["removed"] == ["b"]
    assert set(server.tasks()) == {"c"}


def test_delete_by_task_id_query_for_ids_a_path_cannot_hold(server):
    server.post([{"task_id": "."}, {"task_id": ".."}, {"task_id": "keep"}])
    response = server.http.delete(
        server.url + "/tasks", params={"task_id": [".", "..", "missing"]}, headers=JSON, timeout=5
    )
    assert sorted(response.json()["removed"]) == [".", ".."]
    assert set(server.tasks()) == {"keep"}
    mixed = server.http.delete(
        server.url + "/tasks", params={"task_id": "keep", "status": "close"}, headers=JSON, timeout=5
    )
    assert mixed.status_code == 400 and set(server.tasks()) == {"keep"}


def test_bulk_delete_without_a_filter_needs_all(server):
    server.post([{"task_id": "a"}, {"task_id": "b"}])
    refused = server.http.delete(server.url + "/tasks", headers=JSON, timeout=5)
    assert refused.status_code == 400 and "all=true" in refused.json()["detail"]
    assert len(server.tasks()) == 2
    response = server.http.delete(server.url + "/tasks", params={"all": "true"}, headers=JSON, timeout=5)
    assert sorted(response.json()["removed"]) == ["a", "b"]


def test_groups_aggregate_runs(server):
    server.post(
        [
            {"task_id": "run-1:a", "n": 30, "total": 100, "rate": 3.0},
            {"task_id": "run-1:b", "status": "error", "n": 10, "total": 100},
            {"task_id": "solo", "n": 1},
        ]
    )
    found = server.http.get(server.url + "/groups", timeout=5).json()["groups"]
    assert list(found) == ["run-1"]
    run = found["run-1"]
    assert (run["members"], run["n"], run["total"], run["status"]) == (2, 40, 200, "error")
    assert run["counts"] == {"active": 1, "stale": 0, "lost": 0, "done": 0, "error": 1}


def test_health_counts_tasks_per_status(server):
    server.post([{"task_id": "a", "status": "start"}, {"task_id": "b"}, {"task_id": "c", "status": "close"}])
    health = server.http.get(server.url + "/health", timeout=5).json()
    assert health == {"status": "ok", "tasks": 3, "active": 2, "by_status": {"start": 1, "update": 1, "close": 1}}


def test_metrics_in_prometheus_text(server):
    server.post([{"task_id": "a"}, {"task_id": "b", "status": "close"}])
    server.post({"task_id": "bad", "n": "x"})
    text = server.http.get(server.url + "/metrics", timeout=5).text
    assert 'progressista_tasks{status="update"} 1.0' in text
    assert 'progressista_tasks{status="close"} 1.0' in text
    assert "progressista_events_accepted_total 2.0" in text
    assert "progressista_events_rejected_total 1.0" in text
    for name in ("ws_clients", "ws_messages_sent_total", "ws_clients_dropped_total"):
        assert f"progressista_{name}" in text


def test_root_redirects_to_the_dashboard_keeping_the_token(server):
    response = server.http.get(server.url + "/?token=abc", allow_redirects=False, timeout=5)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "static/index.html?token=abc"  # relative: kept under a path prefix
    followed = server.http.get(server.url + "/?token=abc", timeout=5)
    assert followed.url == server.url + "/static/index.html?token=abc" and "<html" in followed.text.lower()


@contextlib.contextmanager
def prefix_proxy(upstream, prefix):
    """A reverse proxy on loopback that serves ``upstream`` under ``prefix`` (stripped on the way in), GET only."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if not self.path.startswith(prefix + "/"):
                self.send_error(404)
                return
            answer = requests.get(upstream + self.path[len(prefix) :], allow_redirects=False, timeout=5)
            self.send_response(answer.status_code)
            for name in ("Location", "Content-Type"):
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format, *args):
            pass

    with serving(Handler) as proxy:
        yield f"http://127.0.0.1:{proxy.server_address[1]}{prefix}"


def test_root_reaches_the_dashboard_behind_a_path_prefix(server):
    with prefix_proxy(server.url, "/progressista") as base:
        page = requests.get(base + "/?token=abc", timeout=5)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert page.url == base + "/static/index.html?token=abc"


def test_root_redirect_honours_root_path(start_server):
    """Under ``uvicorn --root-path /p`` the redirect names the prefix, so ``http://proxy/p`` (no slash) works too."""
    server = start_server(uvicorn_options={"root_path": "/p"})
    response = server.http.get(server.url + "/?token=abc", allow_redirects=False, timeout=5)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/p/static/index.html?token=abc"


def test_static_dashboard_is_served_without_referrer(server):
    response = server.http.get(server.url + "/static/index.html", timeout=5)
    assert response.status_code == 200 and "<html" in response.text.lower()
    assert response.headers["referrer-policy"] == "no-referrer"


def test_static_pages_may_not_be_framed_unless_the_setting_says_by_whom(start_server):
    default = start_server()
    for path in ("/static/index.html", "/static/", "/"):
        page = default.http.get(default.url + path, timeout=5)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert page.headers["x-frame-options"] == "DENY"
    intranet = start_server(frame_ancestors="'self' https://intranet.example.com")
    page = intranet.http.get(intranet.url + "/static/index.html", timeout=5)
    assert page.headers["content-security-policy"] == "frame-ancestors 'self' https://intranet.example.com"
    assert "x-frame-options" not in page.headers  # it cannot name another site
    anyone = start_server(frame_ancestors="")
    assert not {"content-security-policy", "x-frame-options"} & set(
        anyone.http.get(anyone.url + "/", timeout=5).headers
    )


def test_openapi_documents_the_event_schema(server):
    doc = server.http.get(server.url + "/openapi.json", timeout=5).json()
    body = doc["paths"]["/progress"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Event"} in body["oneOf"]
    event = doc["components"]["schemas"]["Event"]
    assert event["required"] == ["task_id"]
    assert {"task_id", "status", "n", "total", "meta", "seq", "postfix", "rate", "elapsed"} <= set(event["properties"])
    assert server.http.get(server.url + "/docs", timeout=5).status_code == 200


def test_cors_allow_list(start_server):
    server = start_server(allow_origins=["https://dash.example.com"])
    allowed = server.http.options(
        server.url + "/progress",
        headers={"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example.com"
    other = server.http.get(server.url + "/tasks", headers={"Origin": "https://evil.example"}, timeout=5)
    assert "access-control-allow-origin" not in other.headers


class TestBadInput:
    """Each refusal is a 4xx naming the field, changes nothing, and the server keeps serving."""

    def assert_refused(self, server, data, status, field, headers=None):
        before = server.tasks()
        response = server.http.post(
            server.url + "/progress",
            data=data,
            timeout=5,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        assert response.status_code == status, response.text
        assert field in response.json()["detail"]
        assert server.tasks() == before
        assert server.post({"task_id": "still-serving"}).status_code == 200

    def test_malformed_json(self, server):
        self.assert_refused(server, b'{"task_id": ', 422, "Invalid JSON")

    def test_missing_and_empty_task_id(self, server):
        self.assert_refused(server, b'{"n": 1}', 422, "task_id")
        self.assert_refused(server, b'{"task_id": ""}', 422, "task_id")

    def test_over_long_strings(self, server):
        self.assert_refused(server, json.dumps({"task_id": "x" * 257}), 422, "task_id")
        self.assert_refused(server, json.dumps({"task_id": "a", "desc": "d" * 1001}), 422, "desc")

    def test_meta_over_16_kib(self, server):
        self.assert_refused(server, json.dumps({"task_id": "a", "meta": {"k": "v" * 17000}}), 422, "meta")

    def test_nan_and_infinity(self, server):
        self.assert_refused(server, b'{"task_id": "a", "n": NaN}', 422, "n")
        self.assert_refused(server, b'{"task_id": "a", "total": Infinity}', 422, "total")
        self.assert_refused(server, b'{"task_id": "a", "meta": {"x": -Infinity}}', 422, "meta")
        assert server.http.get(server.url + "/tasks", timeout=5).status_code == 200

    def test_wrong_types(self, server):
        self.assert_refused(server, b'{"task_id": "a", "n": "12"}', 422, "n")
        self.assert_refused(server, b'{"task_id": ["a"]}', 422, "task_id")
        self.assert_refused(server, b"42", 422, "body")

    def test_unknown_status(self, server):
        self.assert_refused(server, b'{"task_id": "a", "status": "finished"}', 422, "status")

    def test_one_bad_event_refuses_the_whole_batch(self, server):
        self.assert_refused(server, b'[{"task_id": "good"}, {"task_id": "bad", "n": NaN}]', 422, "[1].n")

    def test_body_over_one_mib(self, server):
        events = [{"task_id": f"t{i}", "desc": "d" * 900} for i in range(1200)]
        self.assert_refused(server, json.dumps(events), 413, "body")

    def test_chunked_body_over_one_mib(self, server):
        def chunks():
            yield b"["
            for i in range(1200):
                yield json.dumps({"task_id": f"t{i}", "desc": "d" * 900}).encode() + b","
            yield b'{"task_id": "last"}]'

        before = server.tasks()
        response = server.http.post(
            server.url + "/progress", data=chunks(), timeout=5, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert server.tasks() == before


class TestTaskCap:
    def test_oldest_completed_are_evicted_first(self, start_server):
        server = start_server(max_tasks=3)
        server.post({"task_id": "old-done", "status": "close"})
        server.post({"task_id": "new-done", "status": "close"})
        server.post({"task_id": "running"})
        assert server.post({"task_id": "fresh"}).status_code == 200
        assert set(server.tasks()) == {"new-done", "running", "fresh"}

    def test_new_tasks_get_429_when_all_are_active(self, start_server):
        server = start_server(max_tasks=2)
        server.post([{"task_id": "a"}, {"task_id": "b"}])
        response = server.post([{"task_id": "a", "n": 5}, {"task_id": "c"}])
        assert response.status_code == 429
        assert "max_tasks=2" in response.json()["detail"]
        tasks = server.tasks()
        assert set(tasks) == {"a", "b"} and tasks["a"]["n"] == 0
        assert server.post({"task_id": "a", "n": 5}).status_code == 200
