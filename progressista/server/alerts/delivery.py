"""Sending one notification to one target through Apprise: a timeout a try, up to :data:`TRIES` tries.

Apprise knows the services (Slack, Discord, Telegram, ntfy, email, the generic
``json://`` and ``form://`` webhooks, …) and sends synchronously, so a try runs
in a small thread pool of the alerts' own, never on the event loop. Apprise
itself makes one attempt a try; the waits between tries (``first_delay``,
doubling) are here. The outcome is ``sent`` or ``failed: <why>``, the why from
Apprise's own warning (``HTTP 500``, a connection error).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

from progressista.protocol.alerts import OUTCOME_SENT

__all__ = ["TRIES", "Outcome", "deliver", "known_target", "send"]

log = logging.getLogger("progressista.server")

#: Tries per target and notification.
TRIES = 3
#: The longest reason kept.
MAX_REASON = 200


@dataclass(frozen=True)
class Outcome:
    """How sending to one target went."""

    outcome: str
    tries: int

    @property
    def sent(self) -> bool:
        return self.outcome == OUTCOME_SENT


@functools.cache
def _apprise() -> ModuleType:
    """Apprise with its plugins loaded, when alerts are first used (a server without rules never loads it).

    Its e-mail plugin imports ``imghdr``, deprecated on Python 3.11 and 3.12: that
    warning says nothing to whoever runs the server, so it is not shown. The
    plugins load on first use, here, once: hiding a warning is not thread-safe,
    and later calls run on the alerts' threads.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
        import apprise

        apprise.Apprise.instantiate("json://localhost", suppress_exceptions=True)
    return apprise


def known_target(url: str) -> bool:
    """Whether Apprise can send to ``url`` (a scheme it knows, written as that service needs)."""
    apprise = _apprise()
    return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None


def _with_timeouts(url: str, timeout: float) -> str:
    """``url`` with Apprise's connect and read timeouts (``cto``, ``rto``) unless it sets them."""
    parts = urlsplit(url)
    query = parts.query
    for name in ("cto", "rto"):
        if f"{name}=" not in query:
            query = f"{query}&{name}={timeout:g}" if query else f"{name}={timeout:g}"
    return urlunsplit(parts._replace(query=query))


#: Apprise's notification type (a colour or an icon on most services) for each alert state.
SEVERITY = {
    "error": "failure",
    "lost": "failure",
    "group_error": "failure",
    "stale": "warning",
    "slow": "warning",
    "close": "success",
    "group_done": "success",
    "resolved": "success",
}


def send(url: str, title: str, body: str, timeout: float, state: str = "") -> str:
    """Send once (blocking); the outcome: ``sent`` or ``failed: <why>``.

    The why is Apprise's own warning for this target: from the result's
    per-service log (Apprise 2), else from a log capture, which is process-wide
    and may then mix in the words of a send running at the same time.
    """
    apprise = _apprise()
    notifier = apprise.Apprise()
    if not notifier.add(_with_timeouts(url, timeout)):
        return "failed: not a notification URL Apprise can send to"
    notify_type = SEVERITY.get(state, "info")
    if hasattr(apprise, "AppriseResult"):
        result = notifier.notify(body=body, title=title, notify_type=notify_type)
        if result:
            return OUTCOME_SENT
        lines = [
            entry.message
            for service in getattr(result, "results", ())
            for entry in service.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
    else:  # Apprise 1
        with apprise.LogCapture(level=logging.WARNING) as captured:
            if notifier.notify(body=body, title=title, notify_type=notify_type):
                return OUTCOME_SENT
        lines = [line.split(" - ", 2)[-1].strip() for line in captured.getvalue().splitlines() if line.strip()]
    why = " ".join(str(line).strip() for line in lines[-2:]) if lines else "the service did not take it"
    return f"failed: {why[:MAX_REASON]}"


async def deliver(
    url: str,
    title: str,
    body: str,
    *,
    timeout: float,
    first_delay: float,
    executor: Executor,
    tries: int = TRIES,
    state: str = "",
) -> Outcome:
    """Send to ``url``, retrying a failure after ``first_delay`` s, then twice that; ``tries`` at most.

    A try that outlasts its timeout (plus a second for Apprise to give up) counts
    as failed; its thread is left to finish, it cannot hold up the next.
    """
    loop = asyncio.get_running_loop()
    outcome = "failed: not tried"
    for attempt in range(1, tries + 1):
        try:
            outcome = await asyncio.wait_for(
                loop.run_in_executor(executor, send, url, title, body, timeout, state), timeout * 2 + 1
            )
        except asyncio.TimeoutError:
            outcome = f"failed: no answer within {timeout:g} s"
        except Exception as exc:  # a plugin that raises: recorded, never the worker's end
            outcome = f"failed: {type(exc).__name__}: {exc}"[:MAX_REASON]
        if outcome == OUTCOME_SENT:
            return Outcome(outcome, attempt)
        if attempt < tries:
            await asyncio.sleep(first_delay * 2 ** (attempt - 1))
    return Outcome(outcome, tries)
