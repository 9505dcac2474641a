"""Counters over time windows, for throttling: in Redis when configured, else in-process.

Several server processes behind one address must see one count, or an attacker gets the
limit once per process; with Redis configured (as it must be for more than one process,
since the tracker's hot state lives there too) the counts live in Redis and every change
is one atomic script. The embedded default keeps them in this process, which is right for
the single-process embedded deployment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import RedisError

Clock = Callable[[], float]


class WindowsUnavailable(Exception):
    """The shared store does not answer; callers refuse rather than stop counting."""


@dataclass(frozen=True)
class Count:
    """Hits in the current window, and seconds until the window ends."""

    hits: int
    resets_in_s: int


class Windows(Protocol):
    """Fixed-window hit counters and sliding-window sets of distinct members."""

    async def hit(self, key: str, window_s: int) -> Count:
        """Count one hit; the window starts at the first hit and lasts ``window_s``."""

    async def undo(self, key: str) -> None:
        """Take one hit back (a reserved attempt that turned out fine)."""

    async def add(self, key: str, member: str, window_s: int) -> int:
        """Note ``member``; return how many distinct members were noted in ``window_s``."""

    async def clear(self, key: str) -> None:
        """Forget a counter or a set."""

    async def close(self) -> None:
        """Release connections."""


class MemoryWindows:
    """The embedded store: dictionaries of this process, pruned as they are used."""

    PRUNE_EVERY = 1024

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._sets: dict[str, dict[str, float]] = {}
        self._ops = 0

    def _prune(self, now: float) -> None:
        # Bounded memory however many addresses knock: expired entries go every so often.
        self._ops += 1
        if self._ops % self.PRUNE_EVERY:
            return
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        for key in list(self._sets):
            members = {m: t for m, t in self._sets[key].items() if t > now}
            if members:
                self._sets[key] = members
            else:
                del self._sets[key]

    async def hit(self, key: str, window_s: int) -> Count:
        now = self._clock()
        self._prune(now)
        hits, ends = self._counts.get(key, (0, 0.0))
        if ends <= now:
            hits, ends = 0, now + window_s
        self._counts[key] = (hits + 1, ends)
        return Count(hits + 1, max(1, round(ends - now)))

    async def undo(self, key: str) -> None:
        hits, ends = self._counts.get(key, (0, 0.0))
        if hits > 0 and ends > self._clock():
            self._counts[key] = (hits - 1, ends)

    async def add(self, key: str, member: str, window_s: int) -> int:
        now = self._clock()
        self._prune(now)
        members = {m: t for m, t in self._sets.get(key, {}).items() if t > now}
        members[member] = now + window_s
        self._sets[key] = members
        return len(members)

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)
        self._sets.pop(key, None)

    async def close(self) -> None:
        return None


# KEYS: counter; ARGV: window s. The expiry is set by the first hit only: a fixed window.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""

# KEYS: counter. Never below zero, never resurrecting an expired counter.
_UNDO = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 1
"""

# KEYS: set; ARGV: now ms, window ms, member. Members scored by when they were last noted.
_ADD = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


class RedisWindows:
    """Counters shared by every process using the same Redis (or Redis Cluster) and prefix.

    Each script touches one key, so it runs unchanged on a cluster.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str,
        clock: Clock = time.time,
        close_client: bool = True,
    ) -> None:
        self._redis = client
        self._close_client = close_client
        self._p = prefix
        self._clock = clock
        self._hit = client.register_script(_HIT)
        self._undo = client.register_script(_UNDO)
        self._add = client.register_script(_ADD)

    async def hit(self, key: str, window_s: int) -> Count:
        try:
            hits, ttl = await self._hit(keys=[self._p + key], args=[window_s])
        except (RedisError, OSError) as exc:
            raise WindowsUnavailable(str(exc)) from exc
        return Count(int(hits), max(1, int(ttl)))

    async def undo(self, key: str) -> None:
        try:
            await self._undo(keys=[self._p + key])
        except (RedisError, OSError) as exc:
            raise WindowsUnavailable(str(exc)) from exc

    async def add(self, key: str, member: str, window_s: int) -> int:
        now_ms = int(self._clock() * 1000)
        try:
            count = await self._add(keys=[self._p + key], args=[now_ms, window_s * 1000, member])
        except (RedisError, OSError) as exc:
            raise WindowsUnavailable(str(exc)) from exc
        return int(count)

    async def clear(self, key: str) -> None:
        try:
            await self._redis.delete(self._p + key)
        except (RedisError, OSError) as exc:
            raise WindowsUnavailable(str(exc)) from exc

    async def close(self) -> None:
        if self._close_client:
            await self._redis.aclose()
