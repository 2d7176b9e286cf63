"""Alerts, end to end: a real server with an alerts file, real Apprise, a real HTTP receiver for the webhooks.

Each rule's targets are ``json://127.0.0.1:PORT/<path>`` on the receiver, one
path per rule, so a test reads what each rule sent. "Nothing more was sent" is
checked once the server says nothing is left to send (``GET /alerts`` →
``pending == 0``), and after a later alert that must come through (a fence).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from receiver import Receiver, receiving
from support import JSON, clean_env, free_port, run_server, wait_until
from websockets.sync.client import connect

pytestmark = pytest.mark.timeout(120)


def toml_rules(path: Path, *rules: dict[str, Any]) -> Path:
    """Write ``rules`` as an alerts file (TOML arrays of strings, numbers, booleans)."""
    lines = []
    for rule in rules:
        lines.append("[[rule]]")
        for key, value in rule.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


@pytest.fixture
def receiver():
    with receiving() as found:
        yield found


def settled(server) -> dict[str, Any]:
    """``GET /alerts`` once the server has nothing left to send."""
    return wait_until(
        lambda: (answer := server.http.get(server.url + "/alerts", timeout=5).json())["pending"] == 0 and answer,
        timeout=30,
        what="the alerts to be sent",
    )


def rule(receiver: Receiver, path: str, on: list[str], **fields: Any) -> dict[str, Any]:
    return {"name": path.strip("/"), "on": on, "notify": [receiver.url(path)], **fields}


def test_an_error_sends_one_notification_naming_the_task_and_its_reason(start_server, tmp_path, receiver):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/errors", ["error"]))
    server = start_server(alerts_file=rules, public_url="https://progress.example")
    server.post({"task_id": "nightly:load", "desc": "Loading rows", "n": 40, "total": 100, "host": "w3", "pid": 7})
    server.post({"task_id": "nightly:load", "status": "error", "meta": {"error": "KeyError: 'id'"}})
    wait_until(lambda: receiver.at("/errors"), what="the error alert")
    settled(server)
    [sent] = receiver.at("/errors")
    assert sent["title"] == "error: nightly:load"
    body = sent["message"]
    for expected in ("Loading rows", "error: KeyError: 'id'", "progress: 40/100", "host: w3, pid 7", "run: nightly"):
        assert expected in body
    assert "ran for: " in body
    assert body.endswith("https://progress.example/static/index.html#task=nightly%3Aload")
    assert sent["type"] == "failure"
    # The record, and its place in /metrics.
    [record] = settled(server)["alerts"]
    assert (record["rule"], record["state"], record["subject"], record["kind"]) == (
        "errors",
        "error",
        "nightly:load",
        "task",
    )
    assert record["targets"] == [{"target": f"json://127.0.0.1:{receiver.port}/…", "outcome": "sent", "tries": 1}]
    metrics = server.http.get(server.url + "/metrics", timeout=5).text
    assert "progressista_alerts_sent_total 1.0" in metrics and "progressista_alerts_failed_total 0.0" in metrics


def test_progress_and_other_statuses_send_nothing(start_server, tmp_path, receiver):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/errors", ["error"], match="etl:*"))
    server = start_server(alerts_file=rules)
    server.post([{"task_id": "etl:a", "n": i} for i in range(5)])
    server.post({"task_id": "etl:a", "status": "close"})
    server.post({"task_id": "other", "status": "error"})  # not matched by the glob
    server.post({"task_id": "etl:fence", "status": "error"})  # the fence: this one must come
    wait_until(lambda: receiver.at("/errors"), what="the fence alert")
    settled(server)
    assert receiver.titles("/errors") == ["error: etl:fence"]


def test_a_killed_process_sends_lost_within_the_lost_window(start_server, tmp_path, receiver):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/lost", ["lost"]))
    server = start_server(alerts_file=rules, lost_seconds=1.0)
    script = textwrap.dedent(
        f"""
        import time
        from progressista import RemoteTqdm
        bar = RemoteTqdm(total=100, task_id="train:gpu0", server_url={server.url!r}, mininterval=0)
        bar.update(3)
        bar.refresh()
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=clean_env()) as worker:
        try:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            wait_until(lambda: server.tasks().get("train:gpu0", {}).get("n") == 3, what="the bar")
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            worker.kill()
    wait_until(lambda: receiver.at("/lost"), timeout=20, what="the lost alert")
    assert receiver.titles("/lost") == ["lost: train:gpu0"]
    assert "progress: 3/100" in receiver.at("/lost")[0]["message"]


def test_stale_then_moving_again_says_resolved_when_the_rule_asks(start_server, tmp_path, receiver):
    rules = toml_rules(
        tmp_path / "alerts.toml",
        rule(receiver, "/quiet", ["stale"], resolved=True),
        rule(receiver, "/quiet-only", ["stale"]),  # the control: no resolved asked for
    )
    server = start_server(alerts_file=rules, stale_seconds=0.3)
    server.post({"task_id": "sync", "n": 1, "total": 10})
    wait_until(lambda: receiver.at("/quiet") and receiver.at("/quiet-only"), what="the stale alerts")
    server.post({"task_id": "sync", "n": 2})
    wait_until(lambda: len(receiver.at("/quiet")) == 2, what="the resolved alert")
    settled(server)
    assert receiver.titles("/quiet") == ["stale: sync", "resolved: sync"]
    assert receiver.titles("/quiet-only") == ["stale: sync"]
    assert receiver.at("/quiet")[1]["type"] == "success"


def test_cooldown_keeps_a_second_error_of_the_task_quiet(start_server, tmp_path, receiver):
    rules = toml_rules(
        tmp_path / "alerts.toml",
        rule(receiver, "/cool", ["error"], cooldown=3600),
        rule(receiver, "/every", ["error"]),  # the control: no cooldown, both errors
    )
    server = start_server(alerts_file=rules)
    for _ in range(2):
        server.post({"task_id": "flaky", "status": "start"})
        server.post({"task_id": "flaky", "status": "error", "meta": {"error": "OSError: again"}})
    wait_until(lambda: len(receiver.at("/every")) == 2, what="both errors on the rule without cooldown")
    settled(server)
    assert receiver.titles("/cool") == ["error: flaky"]


def test_group_done_and_group_error_fire_once_per_completion(start_server, tmp_path, receiver):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/groups", ["group_done", "group_error"]))
    server = start_server(alerts_file=rules)
    server.post([{"task_id": "etl:a", "total": 2}, {"task_id": "etl:b", "total": 2}])
    server.post({"task_id": "etl:a", "status": "close", "n": 2})
    server.post({"task_id": "etl:b", "status": "close", "n": 2})
    server.post({"task_id": "etl:b", "status": "close", "n": 2, "desc": "again"})  # still complete: nothing new
    wait_until(lambda: receiver.at("/groups"), what="group_done")
    server.post({"task_id": "etl:c"})  # the group reopens…
    server.post({"task_id": "etl:c", "status": "error", "meta": {"error": "ValueError: bad row"}})  # …and fails
    wait_until(lambda: len(receiver.at("/groups")) == 2, what="group_error")
    settled(server)
    assert receiver.titles("/groups") == ["group_done: etl", "group_error: etl"]
    failed = receiver.at("/groups")[1]["message"]
    assert "1 error of 3" in failed and "- etl:c: ValueError: bad row" in failed


def test_a_failing_target_is_tried_three_times_and_recorded_without_holding_up_the_others(
    start_server, tmp_path, receiver
):
    receiver.status["/down"] = 500
    rules = toml_rules(
        tmp_path / "alerts.toml",
        {"name": "both", "on": ["error"], "notify": [receiver.url("/down"), receiver.url("/up")]},
    )
    server = start_server(alerts_file=rules, alerts_retry_seconds=0.05)
    server.post({"task_id": "job", "status": "error"})
    [record] = settled(server)["alerts"]
    down, up = record["targets"]
    assert down["outcome"].startswith("failed: ") and "500" in down["outcome"] and down["tries"] == 3
    assert up == {"target": f"json://127.0.0.1:{receiver.port}/…", "outcome": "sent", "tries": 1}
    assert len(receiver.at("/down")) == 3 and len(receiver.at("/up")) == 1
    metrics = server.http.get(server.url + "/metrics", timeout=5).text
    assert "progressista_alerts_failed_total 1.0" in metrics and "progressista_alerts_sent_total 1.0" in metrics


def test_a_restart_sends_nothing_again_and_knows_the_groups_it_had(tmp_path, receiver):
    rules = toml_rules(
        tmp_path / "alerts.toml", rule(receiver, "/alerts", ["error", "stale", "group_error", "group_done"])
    )
    storage = tmp_path / "tasks.json"
    settings = {"alerts_file": rules, "storage_path": storage, "stale_seconds": 0.3}
    with run_server(**settings) as first:
        first.post([{"task_id": "etl:a", "status": "error"}, {"task_id": "etl:b", "n": 1}, {"task_id": "sync", "n": 1}])
        wait_until(lambda: len(receiver.at("/alerts")) == 3, what="the first alerts")  # etl:b went stale too
        settled(first)
    assert sorted(receiver.titles("/alerts")) == ["error: etl:a", "stale: etl:b", "stale: sync"]
    with run_server(**settings) as again:
        assert again.tasks()["sync"]["status"] == "stale"  # the states that were alerted are back…
        again.post({"task_id": "etl:b", "status": "close"})  # completes the group of before the restart
        wait_until(lambda: len(receiver.at("/alerts")) == 4, what="the group's alert")
        settled(again)
    # …and alerted no more; the group counts its failed member from before the restart.
    assert receiver.titles("/alerts")[3:] == ["group_error: etl"]


def _seen(ws, task_id: str, status: str) -> bool:
    """Read one message of a delta feed: whether ``task_id`` is in it with ``status``."""
    message = json.loads(ws.recv(timeout=10))
    return message.get("tasks", {}).get(task_id, {}).get("status") == status


def test_two_servers_on_one_redis_send_one_notification_per_change(start_server, tmp_path, receiver, redis_settings):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/errors", ["error", "lost"]))
    servers = [start_server(alerts_file=rules, lost_seconds=1.0, **redis_settings) for _ in range(2)]
    with ExitStack() as stack:
        feeds = [stack.enter_context(connect(server.ws_url + "?mode=delta", open_timeout=5)) for server in servers]
        for ws in feeds:
            ws.recv(timeout=10)  # the snapshot
        servers[0].post({"task_id": "shared", "status": "error"})
        servers[1].post({"task_id": "quiet"})  # goes lost: marked by whichever server holds the lease
        for ws in feeds:  # every server has observed both changes (its alerts were queued with its delta)
            wait_until(lambda ws=ws: _seen(ws, "quiet", "lost"), timeout=20, what="lost, on every server")
    for server in servers:
        settled(server)
    assert sorted(receiver.titles("/errors")) == ["error: shared", "lost: quiet"]
    records = servers[1].http.get(servers[1].url + "/alerts", timeout=5).json()["alerts"]
    assert sorted(record["title"] for record in records) == ["error: shared", "lost: quiet"]  # one list for all


def test_a_redis_server_restart_sends_nothing_again(tmp_path, receiver, redis_settings):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/errors", ["error"]))
    with run_server(alerts_file=rules, **redis_settings) as first:
        first.post({"task_id": "once", "status": "error"})
        wait_until(lambda: receiver.at("/errors"), what="the alert")
        settled(first)
    with run_server(alerts_file=rules, **redis_settings) as again:
        again.post({"task_id": "once", "status": "error", "desc": "late"})  # changed, still error: not a new state
        again.post({"task_id": "fence", "status": "error"})
        wait_until(lambda: len(receiver.at("/errors")) == 2, what="the fence alert")
        settled(again)
    assert receiver.titles("/errors") == ["error: once", "error: fence"]


# A rules file that cannot be used stops the server with one line.


@pytest.mark.parametrize(
    ("rule_text", "message"),
    [
        ('name = "n"\non = ["errored"]\nnotify = ["json://h/x"]', "rule 1 ('n'): on.0: Input should be 'error',"),
        ('name = "n"\non = ["error"]\nnotify = ["bogus://h/x"]', "rule 1 ('n'): notify.0: not a notification URL"),
        ('name = "n"\non = ["error"]', "rule 1 ('n'): notify: missing (every rule needs it)"),
        (
            'name = "n"\non = ["error"]\nnotify = ["json://h/x"]\ncooldown = "5m"',
            "rule 1 ('n'): cooldown: Input should",
        ),
        ('on = "error"\nnotify = ["json://h/x"]', "rule 1: on: Input should be a valid list"),
        ('on = ["error"]\nnotify = ["json://h/x"]\nrsolved = true', "rule 1: rsolved: unknown field"),
    ],
)
def test_serve_refuses_a_bad_rules_file_naming_the_rule_and_field(tmp_path, rule_text, message):
    rules = tmp_path / "alerts.toml"
    rules.write_text("[[rule]]\n" + rule_text + "\n")
    done = subprocess.run(
        ["progressista", "serve", "--port", str(free_port()), "--alerts", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: invalid alerts: alerts file {rules}: ")
    assert message in line


def test_a_second_rule_is_named_in_its_error(tmp_path):
    from progressista.server.alerts.rules import RulesError, load_rules

    rules = tmp_path / "alerts.toml"
    rules.write_text(
        '[[rule]]\non = ["error"]\nnotify = ["json://h/x"]\n[[rule]]\nname = "b"\non = []\nnotify = ["json://h/x"]\n'
    )
    with pytest.raises(RulesError, match=r"rule 2 \('b'\): on: List should have at least 1 item"):
        load_rules(rules)


# progressista alerts test / ls


def _cli(*args: str, server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["progressista", "alerts", *args, "--url", server.url],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean_env(),
    )


def test_alerts_test_tries_every_target_and_says_how_each_went(start_server, tmp_path, receiver):
    receiver.status["/down"] = 500
    rules = toml_rules(
        tmp_path / "alerts.toml",
        {"name": "ops", "on": ["error"], "notify": [receiver.url("/up")]},
        {"name": "pager", "on": ["lost"], "notify": [receiver.url("/up"), receiver.url("/down")]},
    )
    server = start_server(alerts_file=rules)
    done = _cli("test", server=server)
    assert done.returncode == 1, done.stderr
    target = f"json://127.0.0.1:{receiver.port}/…"
    lines = done.stdout.strip().splitlines()
    assert lines[:2] == [f"ops: {target} sent", f"pager: {target} sent"]
    assert lines[2].startswith(f"pager: {target} failed: ") and len(lines) == 3
    assert receiver.titles("/up") == ["test: Progressista alerts"] * 2 and len(receiver.at("/down")) == 1

    receiver.status["/down"] = 200  # the control: every target takes it
    assert _cli("test", server=server).returncode == 0


def test_alerts_ls_lists_the_recent_alerts(start_server, tmp_path, receiver):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/errors", ["error"]))
    server = start_server(alerts_file=rules)
    assert _cli("ls", server=server).stdout.strip() == "No alerts yet."
    server.post({"task_id": "etl:load", "status": "error"})
    settled(server)
    listed = _cli("ls", server=server)
    assert listed.returncode == 0
    [line] = listed.stdout.strip().splitlines()
    assert "error: etl:load  (rule errors)  json://127.0.0.1:" in line and line.endswith(" sent")
    as_json = json.loads(_cli("ls", "--json", server=server).stdout)
    assert [record["title"] for record in as_json["alerts"]] == ["error: etl:load"]


def test_without_rules_alerts_are_empty_and_test_says_why(server):
    assert server.http.get(server.url + "/alerts", timeout=5).json() == {"alerts": [], "rules": 0, "pending": 0}
    refused = server.http.post(server.url + "/alerts/test", headers=JSON, timeout=5)
    assert refused.status_code == 409 and "PROGRESSISTA_ALERTS_FILE" in refused.json()["detail"]
    done = _cli("ls", server=server)
    assert done.stdout.strip() == "No alerts: the server has no alert rules."


def test_ingest_and_other_targets_go_on_while_a_target_hangs(start_server, tmp_path, receiver):
    """A target that never answers holds no request, and no other rule's alerts: it waits on its own."""
    import socket

    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(64)  # accepts connections, never answers
    try:
        port = hanging.getsockname()[1]
        rules = toml_rules(
            tmp_path / "alerts.toml",
            {"name": "stuck", "on": ["error"], "notify": [f"json://127.0.0.1:{port}/hook"]},
            rule(receiver, "/healthy", ["error"]),
        )
        server = start_server(alerts_file=rules, alerts_timeout=30)
        for i in range(20):
            assert server.post({"task_id": f"t{i}", "status": "error"}).status_code == 200
        # More alerts than there are workers: every one reaches the healthy target meanwhile.
        wait_until(lambda: len(receiver.at("/healthy")) == 20, timeout=20, what="the healthy target's alerts")
        assert server.http.get(server.url + "/alerts", timeout=5).json()["pending"] > 0  # the stuck ones still wait
        assert requests.get(server.url + "/health", timeout=5).json()["status"] == "ok"
    finally:
        hanging.close()


def test_every_rules_example_in_the_readme_is_a_valid_rules_file():
    from progressista.server.alerts.delivery import known_target
    from progressista.server.alerts.rules import parse_rules

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    examples = [block.split("```", 1)[0] for block in readme.split("```toml\n")[1:]]
    assert len(examples) >= 4
    for number, example in enumerate(examples, 1):
        assert parse_rules(example, f"README example {number}", known_target)


def test_a_task_slower_than_its_usual_fires_slow_once(start_server, tmp_path, receiver):
    rules = toml_rules(tmp_path / "alerts.toml", rule(receiver, "/slow", ["slow"]))
    server = start_server(alerts_file=rules, history_path=tmp_path / "history.sqlite")
    server.post({"task_id": "nightly-1:load", "n": 0, "total": 10})
    server.post({"task_id": "nightly-1:load", "n": 10, "status": "close"})  # a run of a few milliseconds
    wait_until(lambda: server.http.get(server.url + "/history", timeout=5).json()["runs"], what="the run recorded")
    server.post({"task_id": "nightly-2:load", "n": 1, "total": 10})  # the same key: soon slower than usual
    server.post({"task_id": "other-2:thing", "n": 1, "total": 10})  # no history: never slow (the control)
    wait_until(lambda: receiver.at("/slow"), what="the slow alert")
    server.post({"task_id": "nightly-2:load", "n": 2})  # still slow: said once
    server.post({"task_id": "nightly-3:load", "n": 1})  # the fence: turns slow on a later look than nightly-2
    wait_until(lambda: len(receiver.at("/slow")) >= 2, what="the second slow alert")
    settled(server)
    assert receiver.titles("/slow") == ["slow: nightly-2:load", "slow: nightly-3:load"]
    sent = receiver.at("/slow")[0]
    assert sent["type"] == "warning" and "usually takes: 00:00" in sent["message"]
