"""The alerts' shared memory: claims (so a state change alerts once), cooldowns, and the recent alerts.

With several servers on one Redis every server sees every change, so every
server would alert: each first *claims* the change (``SET NX`` with an
expiry, atomic in Redis), and only the one that got it sends. A cooldown is a
claim too, on the rule and the subject, that expires after the cooldown. An
"open" mark remembers that a rule alerted a ``stale``/``lost`` task, so exactly
one server says ``resolved`` when it moves again (the one whose ``DEL``
removed the mark). The recent alerts are a capped list every server reads.

:class:`MemoryLedger` does the same for one server (memory and JSON stores).

>>> import asyncio
>>> ledger = MemoryLedger(clock=lambda: 100.0)
>>> asyncio.run(ledger.claim("k", 60)), asyncio.run(ledger.claim("k", 60))
(True, False)
>>> asyncio.run(ledger.release("k")), asyncio.run(ledger.release("k"))
(True, False)
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["RECENT", "Ledger", "MemoryLedger", "RedisLedger", "build_ledger"]

#: Alerts kept for ``GET /alerts``.
RECENT = 500


class Ledger(Protocol):
    async def claim(self, key: str, seconds: float) -> bool:
        """Take ``key`` for ``seconds`` unless it is taken: whether this call took it."""
        ...

    async def release(self, key: str) -> bool:
        """Drop ``key``: whether it was there (and this call removed it)."""
        ...

    async def add(self, record: dict[str, Any]) -> None:
        """Keep an alert record (newest first, :data:`RECENT` at most)."""
        ...

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` records, newest first."""
        ...

    async def close(self) -> None: ...


class MemoryLedger:
    """One process's ledger."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._claims: dict[str, float] = {}
        self._records: deque[dict[str, Any]] = deque(maxlen=RECENT)

    async def claim(self, key: str, seconds: float) -> bool:
        now = self._clock()
        if self._claims.get(key, now) > now:
            return False
        if len(self._claims) > 10 * RECENT:  # expired claims go now and then, not one timer each
            self._claims = {k: until for k, until in self._claims.items() if until > now}
        self._claims[key] = now + seconds
        return True

    async def release(self, key: str) -> bool:
        until = self._claims.pop(key, None)
        return until is not None and until > self._clock()

    async def add(self, record: dict[str, Any]) -> None:
        self._records.appendleft(record)

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        return list(self._records)[:limit]

    async def close(self) -> None:
        pass


class RedisLedger:
    """The ledger every server on one Redis shares, under ``<prefix>alerts:``."""

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._prefix = prefix + "alerts:"

    async def claim(self, key: str, seconds: float) -> bool:
        return bool(await self._redis.set(self._prefix + key, "1", nx=True, px=max(1, int(seconds * 1000))))

    async def release(self, key: str) -> bool:
        return bool(await self._redis.delete(self._prefix + key))

    async def add(self, record: dict[str, Any]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._prefix + "recent", json.dumps(record, separators=(",", ":")))
            pipe.ltrim(self._prefix + "recent", 0, RECENT - 1)
            await pipe.execute()

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        texts = await self._redis.lrange(self._prefix + "recent", 0, max(0, limit - 1))
        return [json.loads(text) for text in texts]

    async def close(self) -> None:
        await self._redis.aclose()


def build_ledger(redis_url: str | None, prefix: str, timeout: float) -> Ledger:
    """The Redis ledger with a Redis store, else one of this process's own."""
    return RedisLedger(redis_url, prefix, timeout) if redis_url else MemoryLedger()
