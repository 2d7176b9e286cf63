"""``progressista wait``: block until tasks end, for shell scripts and CI pipelines.

Follows ``/ws?mode=delta`` with the ``websockets`` sync client (a base
dependency: ``wait`` runs on worker nodes with the plain install); the decisions
are :mod:`progressista.wait`'s, unit-tested apart, and what a message, a close
code or a failed connection means, and the reconnect backoff, are
:mod:`progressista.protocol.feed`'s (the terminal dashboard reads the feed
the same way). Connection problems are retried with backoff until the deadline;
a refused token is not.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from progressista.config import auth_headers
from progressista.protocol.feed import Backoff, closing, describe_error, parse_feed_message
from progressista.protocol.urls import server_urls
from progressista.wait import DONE, FAILED, PENDING, Target, Tracker, Verdict, summary, timeout_summary

from .errors import fail
from .remote import (
    EXIT_UNAUTHORIZED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    TokenOption,
    UrlOption,
    resolve_server,
    token_refusal,
)

__all__ = ["EXIT_FAILED", "EXIT_TIMEOUT", "wait"]

#: Exit codes of its own; 3 and 4 are those of :mod:`.remote` (unreachable, token refused).
EXIT_FAILED = 1
EXIT_TIMEOUT = 2

#: Reconnection backoff: 0.5 s, doubling up to 10 s, ±10 % jitter (many scripts retrying after a restart spread out).
BACKOFF = Backoff()
#: How long past the deadline the first message (the snapshot) of a connection is still awaited.
SNAPSHOT_GRACE = 2.0


def wait(
    task_ids: Annotated[
        list[str] | None, typer.Argument(metavar="TASK_ID", help="Tasks to wait for (exact ids).", show_default=False)
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group", "-g", metavar="PREFIX", help="Wait for every task whose id starts with PREFIX: (repeatable)."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0, metavar="SECONDS", help="Give up after this long (exit 2); 0 checks once. Default: wait forever."
        ),
    ] = None,
    min_tasks: Annotated[
        int,
        typer.Option(
            "--min-tasks", min=1, metavar="N", help="Not done before N matching tasks were seen (a group filling up)."
        ),
    ] = 1,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Wait until tasks end: exit 0 when every one closed, 1 when one ended error or lost, 2 on timeout.

    progressista wait run-42:rank-0 run-42:rank-1 --timeout 600
    progressista wait --group run-42

    Tasks not on the server yet are waited for; an empty group waits for its
    first members (see --min-tasks). A server that goes away is retried until the
    timeout. Prints one summary line.

    Exit codes: 0 every task closed, 1 a task ended error or lost, 2 timed out
    (or bad usage), 3 server never reached (or websockets missing), 4 token refused.
    """
    groups = tuple(_group(prefix) for prefix in group or ())
    if not task_ids and not groups:
        fail("nothing to wait for: give task ids and/or --group PREFIX", EXIT_USAGE)
    target = Target(tuple(task_ids or ()), groups, min_tasks)
    server_url, token = resolve_server(url, token)
    try:
        from websockets.sync.client import connect  # noqa: F401  (fails here, not halfway)
    except ImportError:
        missing = "wait needs the websockets package, a dependency of progressista: pip install websockets"
        fail(missing, EXIT_UNREACHABLE)
    try:
        code, line = _Waiter(server_url, token, target, timeout).run()
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    typer.echo(line, err=code != 0)
    raise typer.Exit(code)


def _group(prefix: str) -> str:
    cleaned = prefix.strip().removesuffix(":")
    if not cleaned or ":" in cleaned:
        fail(f"--group: {prefix!r} is not a group prefix (the part of a task id before its first ':')", EXIT_USAGE)
    return cleaned


class _Refused(Exception):
    """The server refused this client: retrying cannot help."""


class _Dropped(Exception):
    """The connection failed or ended: retry after a backoff (at once for ``at_once``)."""

    def __init__(self, reason: str, connected: bool = False, received: bool = False, at_once: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.connected = connected
        self.received = received
        self.at_once = at_once


class _Waiter:
    """One ``wait``: connections, reconnections and the deadline around a :class:`~progressista.wait.Tracker`."""

    def __init__(self, url: str, token: str | None, target: Target, timeout: float | None) -> None:
        urls = server_urls(url)
        self.url = urls.base
        self.ws_url = urls.ws + "?mode=delta"
        self.token = token or urls.token
        self.target = target
        self.timeout = timeout
        self.tracker = Tracker(target)
        self.started = time.monotonic()
        self.deadline = None if timeout is None else self.started + timeout

    def run(self) -> tuple[int, str]:
        """Follow the feed until the verdict is in or the deadline passes: ``(exit code, summary line)``."""
        failures = 0
        reached = False
        while True:
            try:
                verdict = self._follow()
            except _Refused as exc:
                fail(str(exc), EXIT_UNAUTHORIZED)
            except _Dropped as exc:
                reached = reached or exc.connected
                failures = 1 if exc.received else failures + 1  # a connection that worked restarts the backoff
                delay = 0.0 if exc.at_once else BACKOFF.delay(failures)
                left = self._left()
                if left is None or left > delay:
                    typer.echo(f"progressista wait: {exc.reason}; retrying in {delay:.1f} s", err=True)
                    time.sleep(delay)
                    continue
                time.sleep(max(0.0, left))
                if not reached:
                    fail(f"cannot reach {self.url} ({exc.reason}; tried for {self.timeout:g} s)", EXIT_UNREACHABLE)
                return self._result(self.tracker.verdict(), timed_out=True)
            return self._result(verdict or self.tracker.verdict(), timed_out=verdict is None)

    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _follow(self) -> Verdict | None:
        """One connection, until a verdict (``None``: the deadline passed); :class:`_Dropped` when it ends."""
        from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        left = self._left()
        try:
            ws = connect(
                self.ws_url,
                additional_headers=auth_headers(self.token),
                open_timeout=10.0 if left is None else max(0.05, min(10.0, left)),
                close_timeout=1,
                max_size=None,  # a snapshot of thousands of tasks is over the 1 MiB default
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise _Refused(self._refusal(f"HTTP {status}")) from None
            raise _Dropped(f"HTTP {status} at the WebSocket handshake; is this a Progressista server?") from None
        except (OSError, WebSocketException) as exc:  # TimeoutError is an OSError
            raise _Dropped(describe_error(exc)) from None
        received = False
        with ws:
            try:
                while True:
                    left = self._left()
                    if left is not None and not received:
                        # The snapshot is read even at the deadline: --timeout 0 means "check now".
                        left = max(left, SNAPSHOT_GRACE)
                    elif left is not None and left <= 0:
                        return None
                    try:
                        raw = ws.recv(timeout=left)
                    except TimeoutError:
                        return None
                    received = True
                    _apply(self.tracker, raw)
                    verdict = self.tracker.verdict()
                    if verdict.outcome != PENDING:
                        return verdict
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                reason = exc.rcvd.reason if exc.rcvd is not None else ""
                closed = closing(code, reason)
                if closed.token:
                    raise _Refused(self._refusal(f"the WebSocket was closed with {code}")) from None
                if closed.refused:
                    raise _Refused(closed.reason) from None
                raise _Dropped(closed.reason, True, received, closed.at_once) from None
            except (OSError, WebSocketException) as exc:
                raise _Dropped(describe_error(exc), True, received) from None

    def _refusal(self, how: str) -> str:
        return token_refusal(self.token, how)

    def _result(self, verdict: Verdict, timed_out: bool) -> tuple[int, str]:
        elapsed = time.monotonic() - self.started
        if verdict.outcome == FAILED:
            return EXIT_FAILED, summary(verdict, elapsed)
        if verdict.outcome == DONE and not timed_out:
            return 0, summary(verdict, elapsed)
        return EXIT_TIMEOUT, timeout_summary(verdict, self.timeout or 0.0, self.target)


def _apply(tracker: Tracker, raw: str | bytes) -> None:
    """Feed one WebSocket message to the tracker; anything else than the documented messages is ignored."""
    update = parse_feed_message(raw)
    if update is None:
        return
    if update.removed is None:
        tracker.snapshot(update.tasks)
    else:
        tracker.delta(update.tasks, update.removed)
