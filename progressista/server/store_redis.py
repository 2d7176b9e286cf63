"""Tasks in Redis, so several server processes serve one set of tasks.

Imported only when ``PROGRESSISTA_REDIS_URL`` is set (it needs the ``redis`` extra).

Layout, under ``PROGRESSISTA_REDIS_PREFIX`` (default ``progressista:``):

- ``task:<id>``: a hash per task, each field's value JSON-encoded, so Lua
  compares and republishes tasks without decoding them;
- ``ids``: the set of task ids; ``done``: completed task ids scored by
  ``updated_at``, and ``lost``: lost task ids scored by ``seen_at``, for
  evicting the oldest first at the cap;
- ``counts``: a hash of how many tasks have each status, moved by the same Lua
  calls that change a status, so ``/health`` and ``/metrics`` read one key
  whatever the number of tasks (``lua/indexes.lua`` rebuilds it, and the lost
  index, at start);
- ``changes``: the pub/sub channel every process listens on; each message is a
  change, ``{"tasks": {...}, "removed": [...]}``;
- ``lifecycle``: the lease held by the one process that runs cleanup passes;
- ``health``: what ``/health`` writes to learn whether Redis takes writes.

Writes are group-committed: requests that arrive while a write is in flight
are merged by the next single Lua call (``lua/merge.lua``), which applies them
atomically and publishes what changed. A POST is answered only once its events
are in Redis, so nothing is acknowledged that could still be lost. One write is
in flight at a time, so the next one also waits, briefly, for the clients it
just answered: without that, a client that posts again at once misses the
write that has just begun and waits two round trips instead of one, and with
25 ms to Redis eight clients got a third of the ``8 / RTT`` they can
(``bench/redis_latency.py``). When the server's own work for its clients
takes longer than a write's round trip (a near Redis), a write takes half of
the clients instead (:func:`in_halves`), so this server answers one half and
reads its next requests while Redis writes the other's. A write carries each
request's events as one argument (a JSON array), not one per field: redis-py
packs every argument in Python, which was a third of the server's time with
100 events a POST.

Start-up is connecting and one round trip whatever the latency: one pipeline
(PING, the eviction policy, every script loaded, the counts rebuilt) while the
change feed subscribes on its own connection. A new connection sends nothing
first (no ``CLIENT SETINFO``, no health-check PING: each was a round trip more);
the feed pings when it has been silent for a while instead. It is bounded by
the timeout below.

Every command has a timeout (``PROGRESSISTA_REDIS_TIMEOUT``): a Redis that
stops answering fails requests with 503 instead of holding them. A Redis whose
``maxmemory-policy`` may evict any key (``allkeys-*``) would drop acknowledged
tasks silently: the store warns at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import OutOfMemoryError, RedisError

from progressista.protocol.feed import Backoff
from progressista.protocol.statuses import ACTIVE, FINAL
from progressista.protocol.task import BOOKKEEPING, TASK_DEFAULTS

from .background import stop, wait_event
from .lua_scripts import json_texts, lua_script
from .models import Event
from .store import Change, StoreUnavailable, TaskStore, too_many_new_tasks, too_many_tasks
from .tasks import Lifecycle, Task, matches, new_task_limit, sweep, with_status

__all__ = ["NO_CLIENT_INFO", "RedisStore", "evicts_tasks", "in_halves", "safe_url"]

log = logging.getLogger("progressista.server")

_SENT_APART = frozenset({"task_id", "status"})  # fixed places in an event's entries, not (field, value) pairs
_quote = json.encoder.encode_basestring_ascii  # json.dumps of a str, without its per-call set-up
_ARRAY = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_RETRY = Backoff(first=0.1, limit=5.0)  # reconnecting to the change feed
_CLOSE_TIMEOUT = 2.0
_MARK_OPS = {"stale": "s", "lost": "l"}  # ops of lua/remove.lua
_FEED_POLL = 1.0  # seconds a read of the change feed waits before it looks again
_FEED_PING = 10.0  # seconds of silence on the change feed before it pings, to find a dropped connection
_HEALTH_KEY_MS = 60_000  # the health probe's key expires by itself
# After a write, the next one waits for the clients just answered to post again, at most this
# share of the write's round trip (its duration less the time Redis ran it, so a Redis on loopback,
# or one busy with a big batch, waits microseconds) and this long.
_REJOIN_SHARE = 0.5
_REJOIN_LIMIT = 0.020


#: No CLIENT SETINFO on connecting (a name for CLIENT LIST, at one round trip per connection);
# redis-py 8 spells it driver_info=None, older ones lib_name=None.
NO_CLIENT_INFO: dict[str, None] = (
    {"driver_info": None}
    if "driver_info" in inspect.signature(aioredis.Redis.__init__).parameters
    else {"lib_name": None, "lib_version": None}
)


def evicts_tasks(policy: str) -> bool:
    """Can Redis drop task keys under this ``maxmemory-policy`` once it reaches ``maxmemory``?

    Only ``allkeys-*`` policies evict keys without a TTL, and task keys have none
    (``volatile-*`` policies may evict only the lifecycle lease, which is taken again).

    >>> evicts_tasks("allkeys-lru"), evicts_tasks("noeviction"), evicts_tasks("volatile-lru")
    (True, False, False)
    """
    return policy.startswith("allkeys-")


def safe_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs.

    >>> safe_url("redis://:s3cret@cache:6379/0"), safe_url("redis://localhost:6379")
    ('redis://:***@cache:6379/0', 'redis://localhost:6379')
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _unavailable(exc: Exception) -> StoreUnavailable:
    if isinstance(exc, OutOfMemoryError):
        return StoreUnavailable(f"Redis is out of memory and refuses writes: {exc}")
    return StoreUnavailable(f"Redis is unavailable: {exc}")


def _dumps(value: Any) -> str:
    """JSON text of a value; numbers, text and null without json.dumps (this runs per field per event)."""
    kind = type(value)
    if kind is str:
        return _quote(value)  # what json.dumps writes (ensure_ascii), in C
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)  # what json.dumps writes; values are finite (checked at ingest)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _encode_request(events: list[Event]) -> str:
    """One request's events as the one ARGV entry ``merge.lua`` reads: a JSON array of, per event,
    task_id, task_id as JSON, status, seq (``""`` when absent), the number of fields, then (field, value)s.

    One argument a request, not one a field: redis-py packs each argument in Python, which took a
    third of the server's time with 100 events a POST.
    """
    out: list[str | int] = []
    for event in events:
        task_id = event["task_id"]
        seq = event.get("seq")
        head = len(out)
        out += [task_id, _quote(task_id), event.get("status", "update"), "" if seq is None else str(seq), 0]
        for name, value in event.items():
            if name not in _SENT_APART:
                out += [name, _dumps(value)]
        out[head + 4] = (len(out) - head - 5) // 2
    return _ARRAY(out)


def in_halves(clients: int, trip: float, per_client: float) -> bool:
    """Whether the next write takes half of the clients instead of every request waiting.

    One write for every client has Redis and this server take turns: the server
    is idle for the write's round trip (``trip``: its duration less the time
    Redis ran it), then Redis for as long as the server takes to answer the
    clients and read their next requests (``per_client`` CPU seconds each). Two
    halves taking turns hide one in the other, and pay off when that work of the
    server's outlasts the round trip; against a far Redis the round trip is the
    longer, and every client is best in each write (see
    :meth:`RedisStore._write_loop`).

    >>> in_halves(16, trip=0.0005, per_client=0.0002)  # a near Redis, a busy server: 3.2 ms against 0.5
    True
    >>> in_halves(8, trip=0.025, per_client=0.0002)  # 25 ms to Redis
    False
    >>> in_halves(1, trip=0.0001, per_client=0.01), in_halves(16, trip=0.0005, per_client=0.0)  # one client; unknown
    (False, False)
    """
    return clients > 1 and trip < clients * per_client


class RedisStore(TaskStore):
    """The store for ``PROGRESSISTA_REDIS_URL``; see the module docstring."""

    def __init__(
        self,
        url: str,
        prefix: str = "progressista:",
        max_tasks: int = 10_000,
        lease_seconds: float = 10.0,
        *,
        timeout: float = 5.0,
    ) -> None:
        """``timeout``: seconds any Redis command (and connecting) may take; set here, since
        the redis-py versions ``redis>=5`` admits differ in their defaults (some wait forever)."""
        super().__init__()
        self.url = url
        self.timeout = timeout
        self.prefix = prefix
        self.max_tasks = max_tasks
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self._holder = f"{os.getpid()}-{uuid.uuid4().hex}"
        options: dict[str, Any] = {
            "decode_responses": True,
            # RESP2, which every redis>=5 speaks by default: RESP3 (redis-py 8's default) adds
            # a HELLO and a CLIENT MAINT_NOTIFICATIONS round trip to every new connection.
            "protocol": 2,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            **NO_CLIENT_INFO,
        }
        # Commands time out by themselves; a health check would add a PING (a round trip) to
        # every new connection and to the first command after 10 s idle.
        self._redis: aioredis.Redis = aioredis.from_url(url, **options)
        # The change feed's own connection (it pings it when idle, not on connecting: _listen_loop).
        self._feed: aioredis.Redis = aioredis.from_url(url, **options)
        self._merge = self._redis.register_script(
            lua_script("merge.lua", FINAL=json_texts(FINAL), BOOKKEEPING=BOOKKEEPING)
        )
        self._all = self._redis.register_script(lua_script("all_tasks.lua"))
        self._remove = self._redis.register_script(lua_script("remove.lua", ACTIVE=json_texts(ACTIVE)))
        self._lead = self._redis.register_script(lua_script("lead.lua"))
        self._reindex = self._redis.register_script(lua_script("indexes.lua"))
        defaults: list[str] = []
        for name, value in TASK_DEFAULTS.items():
            defaults += [name, _dumps(value)]
        self._defaults = [str(len(TASK_DEFAULTS)), *defaults]
        self._queue: list[tuple[str, asyncio.Future[int]]] = []
        self._queued = 0  # requests ever queued: the write loop counts who posted since its last write
        # The server's work for a write's clients: the process's CPU time from the write's end until as many
        # requests as it answered have come (the count of requests queued then: _back_at), a client.
        self._back_at, self._answered, self._cpu_at_end = 0, 0, 0.0
        self._per_client = 0.0
        self._wake = asyncio.Event()
        #: Writes to Redis (Lua calls of ``merge.lua``) so far; tests and benchmarks compare it to requests.
        self.commits = 0
        self._background: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()

    # -- start and stop ------------------------------------------------------

    async def start(self) -> None:
        """Two round trips at any latency, bounded by twice the timeout (connect, then one command).

        Raises :class:`StoreUnavailable` naming the URL (less any password) when Redis does not answer.
        """
        # The change feed subscribes on its own connection while the pipeline runs.
        listener = asyncio.create_task(self._listen_loop(), name="progressista-redis-listener")
        self._background = [listener]
        limit = 2 * self.timeout
        deadline = asyncio.get_running_loop().time() + limit
        try:
            await asyncio.wait_for(self._prepare(), limit)
            # Changes made after start must reach this process's dashboards.
            if not await wait_event(self._subscribed, deadline - asyncio.get_running_loop().time()):
                raise StoreUnavailable(f"could not subscribe to {self.prefix}changes within {limit:g} s")
        except (asyncio.TimeoutError, TimeoutError):  # two classes on 3.10, one from 3.11
            await self.close()
            raise StoreUnavailable(
                f"cannot reach Redis at {safe_url(self.url)}: no answer within {limit:g} s"
            ) from None
        except BaseException:
            await self.close()
            raise
        self._background.append(asyncio.create_task(self._write_loop(), name="progressista-redis-writer"))

    async def _prepare(self) -> None:
        """One pipeline: PING, the eviction policy, every script loaded (so no call meets NOSCRIPT), the counts."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.ping()
            pipe.config_get("maxmemory-policy")
            for script in (self._merge, self._all, self._remove, self._lead, self._reindex):
                pipe.script_load(script.script)
            pipe.evalsha(self._reindex.sha, 0, self.prefix)
            try:
                results = await pipe.execute(raise_on_error=False)
            except (RedisError, OSError) as exc:
                raise StoreUnavailable(f"cannot reach Redis at {safe_url(self.url)}: {exc}") from exc
        pong, policy, *_, reindexed = results
        if isinstance(pong, Exception):  # a Redis that wants a password, say
            raise StoreUnavailable(f"cannot use Redis at {safe_url(self.url)}: {pong}")
        self._check_eviction_policy(policy)
        if isinstance(reindexed, Exception):  # a Redis out of memory: counts of older tasks stay off
            log.warning("could not index and count the tasks in Redis: %s", reindexed)

    async def close(self) -> None:
        # Bounded: a half-closed Redis connection must not hold up the server's shutdown.
        await stop(*self._background, timeout=_CLOSE_TIMEOUT)
        for _, future in self._queue:
            future.cancel()
        for client in (self._redis, self._feed):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), _CLOSE_TIMEOUT)

    def _check_eviction_policy(self, found: dict[str, str] | Exception) -> None:
        """Warn when Redis may evict task keys: it would drop acknowledged tasks without a word."""
        if isinstance(found, Exception):  # managed Redis services often refuse CONFIG
            log.info("could not read Redis' maxmemory-policy (%s); it must not be allkeys-*", found)
            return
        policy = str(found.get("maxmemory-policy", ""))
        if evicts_tasks(policy):
            log.warning(  # not the URL: it may hold a password
                "Redis has maxmemory-policy %s: when it reaches maxmemory it will silently drop "
                "tasks this server acknowledged; set maxmemory-policy noeviction (or a volatile-* policy)",
                policy,
            )

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def problem(self) -> str | None:
        """A write Redis refuses (out of memory, read-only replica) means every POST gets 503."""
        try:
            await self._redis.set(self.prefix + "health", repr(time.time()), px=_HEALTH_KEY_MS)
        except (RedisError, OSError) as exc:
            return str(_unavailable(exc))
        return None

    # -- writes --------------------------------------------------------------

    async def apply(self, events: list[Event], now: float) -> int:
        if not events:
            return 0
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((_encode_request(events), future))
        self._queued += 1
        if self._queued == self._back_at:
            self._per_client = (time.process_time() - self._cpu_at_end) / self._answered
        self._wake.set()
        applied = await future
        if applied == -2:
            raise too_many_new_tasks(self.max_tasks)
        if applied < 0:
            raise too_many_tasks(self.max_tasks)
        return applied

    async def _write_loop(self) -> None:
        """Group commit: one Lua call for the requests queued since the last one.

        Two regimes (:func:`in_halves`), told apart by the last write's round
        trip and what the server spent on each client since:

        - **The round trip is the longer** (a far Redis): a client answered by
          one write usually posts again at once; it arrives just after the next
          write began and would wait for two. So the next write waits until as
          many requests have arrived as the last one answered, for half of that
          write's round trip at most (20 ms): the answered clients join it, and
          eight clients get a write each round trip.
        - **The server's work for the clients is the longer** (a near Redis, and
          a busy server): one write for every client has Redis and this server
          take turns, each idle while the other works (with arrays of 100
          events, each used about 40% of a core). So a write takes half of the
          clients (those the last one answered and those it left waiting),
          oldest first, at once: the two halves alternate, this server
          answering one half and reading its next requests while Redis runs the
          other's write.
        """
        loop = asyncio.get_running_loop()
        answered, queued, ended, trip, clients, counted = 0, 0, 0.0, 0.0, 0, 0
        while True:
            if not self._queue:  # a write of one half leaves the other queued, the wake already spent
                await self._wake.wait()
            self._wake.clear()
            if in_halves(clients, trip, self._per_client):
                take = min(len(self._queue), (clients + 1) // 2)
            else:  # the clients just answered rejoin
                deadline = ended + min(trip * _REJOIN_SHARE, _REJOIN_LIMIT)
                while self._queued - queued < answered and (left := deadline - loop.time()) > 0:
                    self._wake.clear()
                    await wait_event(self._wake, left)
                take = len(self._queue)
            batch, self._queue = self._queue[:take], self._queue[take:]
            if not batch:
                continue
            began = loop.time()
            ran = await self._commit(batch)
            ended = loop.time()
            answered, queued, trip = len(batch), self._queued, max(0.0, ended - began - ran)
            # The clients: those answered and those waiting, or as many as the write before counted (the half
            # it answered may not have posted again yet).
            count = answered + len(self._queue)
            clients, counted = max(count, counted), count
            self._back_at, self._answered, self._cpu_at_end = queued + answered, answered, time.process_time()

    async def _commit(self, batch: list[tuple[str, asyncio.Future[int]]]) -> float:
        """Write one batch and answer every request in it, whatever happens; the seconds Redis ran it."""
        args = [self.prefix, repr(time.time()), str(self.max_tasks), str(new_task_limit(self.max_tasks))]
        args += self._defaults
        args += [request for request, _ in batch]
        self.commits += 1
        ran = 0.0
        try:
            *results, micros = await self._merge(args=args)
            ran = int(micros) / 1e6
            outcomes: list[int | BaseException] = [int(applied) for applied in results]
            if len(outcomes) != len(batch):
                raise RuntimeError(f"merge.lua answered {len(outcomes)} results for {len(batch)} requests")
        except (RedisError, OSError) as exc:
            outcomes = [_unavailable(exc)] * len(batch)
        except Exception as exc:  # a bug must fail these requests, not hang them and every later one
            log.exception("writing to Redis failed")
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        return ran

    async def remove(self, task_ids: Iterable[str]) -> list[str]:
        args = [self.prefix]
        for task_id in task_ids:
            args += ["x", task_id, ""]
        if len(args) == 1:
            return []
        removed, _ = await self._remove_or_mark(args)
        return removed

    async def _remove_or_mark(self, args: list[str]) -> tuple[list[str], list[str]]:
        try:
            result: list[str] = await self._remove(args=args)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        split = result.index("|")
        return result[:split], result[split + 1 :]

    # -- reads ---------------------------------------------------------------

    async def tasks(
        self, statuses: frozenset[str] | None = None, older_than: float | None = None, *, now: float
    ) -> dict[str, Task]:
        try:
            text = await self._all(args=[self.prefix])
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        tasks: dict[str, Task] = json.loads(text)
        if statuses is None and older_than is None:
            return tasks
        return {k: t for k, t in tasks.items() if matches(t, statuses, older_than, now)}

    async def counts(self) -> dict[str, int]:
        try:
            found = await self._redis.hgetall(self.prefix + "counts")
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return {str(status): int(n) for status, n in found.items() if int(n) > 0}

    # -- lifecycle -------------------------------------------------------------

    async def sweep(self, now: float, policy: Lifecycle) -> Change:
        """Run a pass only while holding the lease; apply decisions only to tasks not heard from since."""
        try:
            leading = await self._lead(keys=[self.prefix + "lifecycle"], args=[self._holder, self.lease_ms])
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        if not leading:
            return Change()
        tasks = await self.tasks(now=now)
        decisions = sweep(tasks, now, policy)
        if not decisions:
            return Change()
        marks = decisions.marks()
        args = [self.prefix]
        for task_id, status in marks.items():
            args += [_MARK_OPS[status], task_id, _dumps(tasks[task_id]["seen_at"])]
        for task_id in decisions.expired:
            args += ["x", task_id, _dumps(tasks[task_id]["seen_at"])]
        removed, marked = await self._remove_or_mark(args)
        return Change(
            tasks={task_id: with_status(tasks[task_id], marks[task_id]) for task_id in marked}, removed=removed
        )

    # -- changes from every process -----------------------------------------

    async def _listen_loop(self) -> None:
        """Relay the ``changes`` channel to ``on_change``; after a lost connection, ask for a resync."""
        loop = asyncio.get_running_loop()
        attempt = 0
        lost = False
        while True:
            pubsub = self._feed.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.prefix + "changes")
                self._subscribed.set()
                if lost:
                    log.warning("Redis is back; dashboards will resync")
                    self.on_change(Change(resync=True))
                    lost, attempt = False, 0
                heard = loop.time()
                while True:
                    # Polled, not listen(): each read then has a timeout of its own, where some
                    # redis-py versions would apply socket_timeout to listen() and drop an idle feed.
                    message = await pubsub.get_message(timeout=_FEED_POLL)
                    if message is not None:
                        heard = loop.time()
                        if message["type"] == "message":
                            self._relay(message["data"])
                    elif loop.time() - heard >= _FEED_PING:
                        # What redis-py's health check does, but not before the first command: that
                        # would add a round trip to start-up. A dropped connection fails here or on
                        # the next read, and the feed reconnects.
                        await pubsub.ping()
                        heard = loop.time()
            except (RedisError, OSError) as exc:
                if not lost:
                    log.warning("lost the Redis change feed (%s); retrying", exc)
                lost = True
                attempt += 1
                await asyncio.sleep(_RETRY.delay(attempt))
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), _CLOSE_TIMEOUT)  # type: ignore[no-untyped-call,unused-ignore]

    def _relay(self, data: str) -> None:
        try:
            message = json.loads(data)
            change = Change(tasks=message["tasks"], removed=message["removed"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed message on %schanges", self.prefix)
            return
        self.on_change(change)
