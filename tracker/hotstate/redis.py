"""The Redis hot-state store (redis.asyncio): two round trips per beat, atomic commits.

A Lua script loads a session and its learner's stream in one round trip; another
commits both and appends the evidence to a stream only if the learner's version is
unchanged (compare-and-set), so concurrent beats from several tracker processes can
never double-credit. Evidence lives in a Redis stream read by a consumer group until the
SQL writer acknowledges it.
"""

from __future__ import annotations

import json
import os
import socket
from collections import OrderedDict
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from tracker import segments as seg
from tracker.hotstate.base import (
    Evidence,
    Snapshot,
    StoreUnavailable,
    dumps,
    learner_from_fields,
    pack_session,
    unpack_session,
)
from tracker.verify import LearnerState, SessionState

_LOAD = """
local s = redis.call('GET', KEYS[1])
local l = redis.call('HMGET', KEYS[2], 'v', 'cu', 'ss', 'su', ARGV[1])
return {s or '', l}
"""

# KEYS: session, learner, stream, deadlines
# ARGV: expected version, coverage field, coverage, cu, ss, su, packed session,
#       session ttl s, learner ttl s, deadline score (or '' to drop), sid, evidence json...
_COMMIT = """
local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
if v ~= tonumber(ARGV[1]) then
  -- Lost the race: hand back the current state so the caller retries without a load.
  local s = redis.call('GET', KEYS[1])
  local l = redis.call('HMGET', KEYS[2], 'v', 'cu', 'ss', 'su', ARGV[2])
  return {s or '', l}
end
redis.call('HSET', KEYS[2], 'v', v + 1, ARGV[2], ARGV[3], 'cu', ARGV[4], 'ss', ARGV[5], 'su', ARGV[6])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[9]))
redis.call('SET', KEYS[1], ARGV[7], 'EX', tonumber(ARGV[8]))
if ARGV[10] == '' then
  redis.call('ZREM', KEYS[4], ARGV[11])
else
  redis.call('ZADD', KEYS[4], tonumber(ARGV[10]), ARGV[11])
end
for i = 12, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[i])
end
return 1
"""

# KEYS: session, learner, deadlines; ARGV: coverage field, coverage, ttls, deadline, sid, packed
_CREATE = """
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], 'v', 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('SET', KEYS[1], ARGV[7], 'EX', tonumber(ARGV[3]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), ARGV[6])
return 1
"""

GROUP = "writer"


class RedisStore:
    """Hot state in Redis."""

    durable = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "proctor:t:",
        expire_ms: int = 90_000,
        session_ttl_s: int = 24 * 3600,
        learner_ttl_s: int = 2 * 24 * 3600,
        client: aioredis.Redis | None = None,
        cache_size: int = 50_000,
    ) -> None:
        self._redis = client or aioredis.from_url(url, decode_responses=True)
        self._p = prefix
        self._expire_ms = expire_ms
        self._session_ttl = session_ttl_s
        self._learner_ttl = learner_ttl_s
        self._load = self._redis.register_script(_LOAD)
        self._commit = self._redis.register_script(_COMMIT)
        self._create = self._redis.register_script(_CREATE)
        self._stream = f"{prefix}ev"
        self._deadlines = f"{prefix}dl"
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._group_ready = False
        self._cache: OrderedDict[str, Snapshot] = OrderedDict()
        self._cache_size = cache_size

    def _skey(self, sid: str) -> str:
        return f"{self._p}s:{sid}"

    def _lkey(self, learner_id: int) -> str:
        return f"{self._p}l:{learner_id}"

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def create_session(self, session: SessionState, coverage: seg.Segments) -> None:
        await self._call(
            self._create,
            [self._skey(session.sid), self._lkey(session.learner_id), self._deadlines],
            [
                f"c:{session.lesson_id}",
                seg.encode(coverage),
                self._session_ttl,
                self._learner_ttl,
                session.last_ms + self._expire_ms,
                session.sid,
                pack_session(session),
            ],
        )

    async def load(
        self, sid: str, learner_id: int, lesson_id: int, *, fresh: bool = False
    ) -> Snapshot:
        if not fresh:
            cached = self._cache.get(sid)
            if cached is not None:
                self._cache.move_to_end(sid)
                return cached
        raw = await self._call(
            self._load, [self._skey(sid), self._lkey(learner_id)], [f"c:{lesson_id}"]
        )
        return self._remember(sid, raw)

    def _remember(self, sid: str, raw: Any) -> Snapshot:
        raw_session, raw_learner = raw
        version, cu, ss, su, coverage = raw_learner
        snap = Snapshot(
            session=unpack_session(sid, raw_session) if raw_session else None,
            learner=learner_from_fields({"cu": cu, "ss": ss, "su": su}, coverage),
            version=int(version or 0),
        )
        if snap.session is None:
            self._cache.pop(sid, None)
        else:
            self._put(sid, snap)
        return snap

    def _put(self, sid: str, snap: Snapshot) -> None:
        # Most beats of a session reach the process that took the previous one, so the
        # snapshot it committed is usually still current: the beat then costs one round trip.
        self._cache[sid] = snap
        self._cache.move_to_end(sid)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def commit(
        self,
        expected_version: int,
        session: SessionState,
        learner: LearnerState,
        evidence: list[Evidence],
    ) -> bool:
        deadline = "" if session.ended else str(session.last_ms + self._expire_ms)
        args: list[Any] = [
            expected_version,
            f"c:{session.lesson_id}",
            seg.encode(learner.coverage),
            learner.credited_until_ms,
            learner.stream_sid,
            learner.stream_until_ms,
            pack_session(session),
            self._session_ttl,
            self._learner_ttl,
            deadline,
            session.sid,
            *(dumps(e) for e in evidence),
        ]
        keys = [
            self._skey(session.sid),
            self._lkey(session.learner_id),
            self._stream,
            self._deadlines,
        ]
        result = await self._call(self._commit, keys, args)
        if result == 1:
            self._put(session.sid, Snapshot(session, learner, expected_version + 1))
            return True
        self._remember(session.sid, result)
        return False

    async def append_evidence(self, evidence: list[Evidence]) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for e in evidence:
                    pipe.xadd(self._stream, {"e": dumps(e)})
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def read_evidence(self, count: int) -> list[tuple[str, Evidence]]:
        try:
            await self._ensure_group()
            # Entries a writer took but never acknowledged (it died mid-write) come back first:
            # our own pending ones, then other consumers' after they sat idle for 30 s.
            entries: list[Any] = []
            own: Any = await self._redis.xreadgroup(
                GROUP, self._consumer, {self._stream: "0"}, count=count
            )
            for _stream, items in own or []:
                entries.extend(items)
            if not entries:
                claimed: Any = await self._redis.xautoclaim(
                    self._stream,
                    GROUP,
                    self._consumer,
                    min_idle_time=30_000,
                    start_id="0-0",
                    count=count,
                )
                entries.extend(claimed[1])
            if not entries:
                fresh: Any = await self._redis.xreadgroup(
                    GROUP, self._consumer, {self._stream: ">"}, count=count
                )
                for _stream, items in fresh or []:
                    entries.extend(items)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        # A deleted entry still pending shows up with no fields; there is nothing to write.
        return [(entry_id, json.loads(fields["e"])) for entry_id, fields in entries if fields]

    async def ack_evidence(self, ids: list[str]) -> None:
        if not ids:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, GROUP, *ids)
                pipe.xdel(self._stream, *ids)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def due_sessions(self, now_ms: int, count: int) -> list[str]:
        try:
            due: Any = await self._redis.zrangebyscore(
                self._deadlines, "-inf", now_ms, start=0, num=count
            )
            return [str(sid) for sid in due]
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def forget_deadline(self, sid: str) -> None:
        try:
            await self._redis.zrem(self._deadlines, sid)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self._redis.aclose()

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
