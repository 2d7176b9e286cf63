"""History in Redis, under ``<prefix>history:``, so every server on one Redis shows the same runs.

Rows are a hash by id with sorted sets by time, key and group (scores: when
the run ended); each key's last successful runs are a short list beside them,
so the usual durations load without reading the rows. Adding and pruning are
Lua scripts (``lua/history_*.lua``): a row two servers both record is kept once.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from ..lua_scripts import lua_script
from .rows import Query
from .store import Successes

__all__ = ["RedisHistory"]

#: Candidates read per row wanted when a query filters on more than its index.
_OVERSCAN = 4
_PRUNE_BATCH = 1000


#: JSON as bytes, by msgspec: a tenth of ``json``'s time for a row.
_encode = msgspec.json.Encoder().encode


def _text(value: Any) -> str:
    return "" if value is None else repr(float(value))


class RedisHistory:
    """The shared history store."""

    def __init__(self, url: str, prefix: str, timeout: float, max_rows: int = 100_000, keep: int = 5) -> None:
        import redis.asyncio as aioredis

        from ..store_redis import NO_CLIENT_INFO

        # decode_responses=True: every answer is str (redis-py's stubs cannot say so). As the task store's
        # connections, nothing is sent before the first command (no CLIENT SETINFO: a round trip saved).
        self._redis: Any = aioredis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            protocol=2,
            **NO_CLIENT_INFO,
        )
        self._prefix = prefix + "history:"
        self.max_rows = max_rows
        self.keep = keep
        self._add = self._redis.register_script(lua_script("history_add.lua"))
        self._prune = self._redis.register_script(lua_script("history_prune.lua"))

    async def start(self) -> None:
        """Nothing to do: the recorder's first command (loading the usual durations) finds an unreachable Redis."""

    async def add(self, rows: list[dict[str, Any]]) -> None:
        # The batch in two arguments: redis-py packs each argument in Python (8 a row cost 5.4 us a row).
        fields = _encode(
            [
                [
                    row["id"],
                    row["key"],
                    row["group"] or "",
                    row["status"],
                    repr(float(row["ended_at"])),
                    _text(row["duration"]),
                    _text(row["rate"]),
                ]
                for row in rows
            ]
        )
        texts = b"\n".join(map(_encode, rows))
        await self._add(args=[self._prefix, str(self.max_rows), str(self.keep), fields, texts])

    async def query(self, query: Query) -> list[dict[str, Any]]:
        if query.key is not None:
            index = self._prefix + "key:" + query.key
        elif query.group is not None:
            index = self._prefix + "group:" + query.group
        else:
            index = self._prefix + "time"
        exact = (query.key is None or query.group is None) and query.statuses is None
        wanted = query.limit if exact else query.limit * _OVERSCAN
        low = "-inf" if query.since is None else repr(query.since)
        ids: list[str] = await self._redis.zrevrangebyscore(index, "+inf", low, start=0, num=wanted)
        if not ids:
            return []
        texts: list[str | None] = await self._redis.hmget(self._prefix + "rows", ids)
        rows = [json.loads(text) for text in texts if text]
        return [row for row in rows if query.admits(row)][: query.limit]

    async def successes(self, runs: int) -> Successes:
        found: Successes = {}
        start = len(self._prefix + "ok:")
        async for name in self._redis.scan_iter(match=self._prefix + "ok:*", count=1000):
            entries: list[str] = await self._redis.lrange(name, 0, runs - 1)
            pairs = []
            for entry in entries:
                duration, _, rate = entry.partition(" ")
                pairs.append((float(duration), float(rate) if rate else None))
            found[name[start:]] = pairs
        return found

    async def prune(self, before: float) -> int:
        removed = 0
        while True:
            gone = int(await self._prune(args=[self._prefix, repr(before), str(_PRUNE_BATCH)]))
            removed += gone
            if gone < _PRUNE_BATCH:
                return removed

    async def close(self) -> None:
        await self._redis.aclose()
