"""The alerts engine: the store's changes in, notifications out, never on the ingest path.

:meth:`Alerts.observe` is called with every change the store reports (with
Redis, every server's changes); it only runs :class:`~.watch.Watch` (O(tasks
changed)) and queues what the rules match, on a bounded queue: when it is
full the alert is dropped and counted, never waited for. A few workers take
the queue: claim the change in the :mod:`ledger <.ledger>` (once across
servers), honour the rule's cooldown, send to every target of the rule at once
(:func:`~.delivery.deliver`: a timeout a try, retries), and record the outcome.

At start the engine loads the tasks as they are and fires nothing for them, so
a restart does not alert again for what was already so; after a shared store's
feed was lost it loads them again and alerts the differences.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from progressista.protocol.alerts import SLOW, masked_target
from progressista.protocol.feed import Backoff

from ..background import stop
from ..store import Change
from ..tasks import Task
from .delivery import Outcome, deliver
from .ledger import Ledger
from .message import TEST_BODY, TEST_TITLE, compose
from .rules import Rule
from .watch import Trigger, Watch

__all__ = ["AlertStats", "Alerts"]

log = logging.getLogger("progressista.server")

#: How long a claim on one state change is kept: longer than any server takes to see the change.
CLAIM_SECONDS = 86_400.0
#: How long a rule's stale/lost alert waits for its ``resolved``.
OPEN_SECONDS = 7 * 86_400.0
#: Notifications being worked on at once (each may wait on a slow target).
WORKERS = 4
#: Alerts being sent at once, beside the workers (each waits on its slowest target).
SENDING = 256
#: Tries running at once against one target (each holds a thread): a target that hangs holds no more.
PER_TARGET = 2
#: Seconds between looks for tasks that turned slower than usual.
SLOW_CHECK_SECONDS = 1.0
_RELOAD_BACKOFF = Backoff(first=0.1, limit=5.0)


@dataclass
class AlertStats:
    """Hooks for metrics: one call a target notified, one a target that failed, one an alert dropped."""

    sent: Callable[[], None] = lambda: None
    failed: Callable[[], None] = lambda: None
    dropped: Callable[[], None] = lambda: None


def _key(*parts: str) -> str:
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


class Alerts:
    """Rules applied to the store's changes; see the module docstring."""

    def __init__(
        self,
        rules: list[Rule],
        ledger: Ledger,
        snapshot: Callable[[], Awaitable[dict[str, Task]]],
        *,
        public_url: str = "",
        timeout: float = 10.0,
        first_delay: float = 2.0,
        queue_size: int = 1000,
        stats: AlertStats | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = rules
        self.ledger = ledger
        self.public_url = public_url
        self.timeout = timeout
        self.first_delay = first_delay
        self.stats = stats or AlertStats()
        self._snapshot = snapshot
        self._clock = clock
        self._watch = Watch()
        self._queue: asyncio.Queue[tuple[Rule, Trigger]] = asyncio.Queue(queue_size)
        self._unseen: list[Change] | None = []  # changes while the tasks load (None: loaded)
        self._loaded = False
        self._loader: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="progressista-alert")
        self._dropping = False
        self._busy = 0  # alerts taken off the queue and not done
        self._sending: set[asyncio.Task[dict[str, Any]]] = set()
        self._sending_slots = asyncio.Semaphore(SENDING)
        self._targets: dict[str, asyncio.Semaphore] = {}

    # -- producers ---------------------------------------------------------

    def observe(self, change: Change) -> None:
        """Queue the alerts ``change`` deserves; never blocks."""
        if not self.rules:
            return
        if change.resync:
            self._load()
        if self._unseen is not None:
            self._unseen.append(change)
            return
        self._queue_triggers(self._watch.observe(change))

    def _queue_triggers(self, triggers: list[Trigger]) -> None:
        for trigger in triggers:
            for rule in self.rules:
                if not rule.matches(trigger.subject, trigger.state):
                    continue
                try:
                    self._queue.put_nowait((rule, trigger))
                    if self._dropping and self._queue.qsize() < self._queue.maxsize // 2:
                        self._dropping = False  # the streak is over once the queue has drained well
                except asyncio.QueueFull:
                    self.stats.dropped()
                    if not self._dropping:  # once per streak
                        log.warning("alerts queue full (%d): dropping alerts until it drains", self._queue.maxsize)
                        self._dropping = True

    # -- the loop ----------------------------------------------------------

    async def start(self) -> None:
        """Load the tasks as they are (in the background if the store does not answer now), start the workers."""
        if not self.rules:
            self._unseen = None
            return
        try:
            self._watch.load(await self._snapshot())
            self._loaded, self._unseen = True, None
        except Exception as exc:
            log.warning("alerts could not load the tasks (%s); retrying in the background", exc)
            self._load()
        self._workers = [asyncio.create_task(self._work(), name=f"progressista-alerts-{i}") for i in range(WORKERS)]
        if any(SLOW in rule.on for rule in self.rules):
            self._workers.append(asyncio.create_task(self._watch_the_clock(), name="progressista-alerts-slow"))

    async def close(self) -> None:
        await stop(self._loader, *self._workers, *self._sending)
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self.ledger.close()

    def _load(self) -> None:
        if self._loader is not None and not self._loader.done():
            self._loader.cancel()
        self._unseen = []
        self._loader = asyncio.create_task(self._reload(), name="progressista-alerts-load")

    async def _reload(self) -> None:
        attempt = 0
        while True:
            try:
                tasks = await self._snapshot()
                break
            except Exception as exc:  # a shared store that is down: try again
                attempt += 1
                log.warning("alerts could not load the tasks (%s); retrying", exc)
                await asyncio.sleep(_RELOAD_BACKOFF.delay(attempt))
        if self._loaded:
            self._queue_triggers(self._watch.resync(tasks))  # what was missed meanwhile
        else:
            self._watch.load(tasks)
            self._loaded = True
        unseen, self._unseen = self._unseen or [], None
        for change in unseen:
            if not change.resync:
                self._queue_triggers(self._watch.observe(change))

    async def _watch_the_clock(self) -> None:
        """Slower than usual happens without a change: look every :data:`SLOW_CHECK_SECONDS`."""
        while True:
            await asyncio.sleep(SLOW_CHECK_SECONDS)
            if self._unseen is None:
                self._queue_triggers(self._watch.slow(self._clock()))

    async def _work(self) -> None:
        while True:
            rule, trigger = await self._queue.get()
            self._busy += 1
            try:
                await self._handle(rule, trigger)
            except Exception:  # one alert that fails (Redis down for the ledger) must not end the worker
                log.exception("alert %s for %s (rule %r) failed", trigger.state, trigger.subject, rule.name)
                self.stats.failed()
            finally:
                self._busy -= 1

    async def _handle(self, rule: Rule, trigger: Trigger) -> None:
        about = _key(rule.name, trigger.kind, trigger.subject)
        if trigger.state == "resolved":
            if not await self.ledger.release("open:" + about):
                return  # this rule said nothing of the task going quiet (or another server says resolved)
        else:
            if not await self.ledger.claim("seen:" + _key(about, trigger.stamp), CLAIM_SECONDS):
                return  # another server has it
            if rule.cooldown > 0 and not await self.ledger.claim("cool:" + about, rule.cooldown):
                return
            if trigger.state in ("stale", "lost") and rule.resolved:
                await self.ledger.claim("open:" + about, OPEN_SECONDS)
        title, body = compose(trigger, self._clock(), self.public_url)
        # Sent beside the workers: a target that hangs holds one of SENDING, not a worker.
        await self._sending_slots.acquire()
        sending = asyncio.create_task(
            self._send(rule.name, trigger.state, trigger.subject, trigger.kind, title, body, rule.notify)
        )
        self._sending.add(sending)
        sending.add_done_callback(self._sent)

    def _sent(self, sending: asyncio.Task[dict[str, Any]]) -> None:
        self._sending.discard(sending)
        self._sending_slots.release()
        if not sending.cancelled() and sending.exception() is not None:
            log.error("sending an alert failed", exc_info=sending.exception())
            self.stats.failed()

    async def _send(
        self,
        rule: str,
        state: str,
        subject: str,
        kind: str,
        title: str,
        body: str,
        targets: tuple[str, ...],
        tries: int = 3,
    ) -> dict[str, Any]:
        at = self._clock()
        outcomes: list[Outcome] = await asyncio.gather(
            *(self._deliver(url, title, body, tries, state) for url in targets)
        )
        for outcome in outcomes:
            (self.stats.sent if outcome.sent else self.stats.failed)()
        sent = [
            {"target": masked_target(url), "outcome": outcome.outcome, "tries": outcome.tries}
            for url, outcome in zip(targets, outcomes, strict=True)
        ]
        record: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "at": at,
            "rule": rule,
            "state": state,
            "subject": subject,
            "kind": kind,
            "title": title,
            "targets": sent,
        }
        await self.ledger.add(record)
        if any(not outcome.sent for outcome in outcomes):
            log.warning("alert %r: %s", title, "; ".join(f"{t['target']} {t['outcome']}" for t in sent))
        return record

    async def _deliver(self, url: str, title: str, body: str, tries: int, state: str) -> Outcome:
        slots = self._targets.setdefault(url, asyncio.Semaphore(PER_TARGET))
        async with slots:
            return await deliver(
                url,
                title,
                body,
                timeout=self.timeout,
                first_delay=self.first_delay,
                executor=self._executor,
                tries=tries,
                state=state,
            )

    # -- asked for ---------------------------------------------------------

    async def test(self) -> list[dict[str, Any]]:
        """Send a test notification to every target of every rule (one try each); one record a rule."""
        return list(
            await asyncio.gather(
                *(
                    self._send(rule.name, "test", "", "test", TEST_TITLE, TEST_BODY, rule.notify, tries=1)
                    for rule in self.rules
                )
            )
        )

    @property
    def pending(self) -> int:
        """Alerts this server has queued or is sending (0: nothing of what it observed is left to do)."""
        return self._queue.qsize() + self._busy + len(self._sending) + (0 if self._unseen is None else 1)

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        return await self.ledger.recent(limit)
