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
    learner_to_fields,
    session_from_fields,
    session_to_fields,
)
from tracker.verify import LearnerState, SessionState

_LOAD = """
local s = redis.call('HGETALL', KEYS[1])
local l = redis.call('HMGET', KEYS[2], 'v', 'cu', 'ss', 'su', ARGV[1])
return {s, l}
"""

# KEYS: session, learner, stream, deadlines
# ARGV: expected version, coverage field, coverage, session ttl s, learner ttl s,
#       deadline score (or '' to drop), sid, n learner pairs, learner pairs...,
#       n session pairs, session pairs..., evidence json...
_COMMIT = """
local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
local i = 8
local nl = tonumber(ARGV[i]); i = i + 1
local lf = {'v', tostring(v + 1), ARGV[2], ARGV[3]}
for _ = 1, nl do table.insert(lf, ARGV[i]); table.insert(lf, ARGV[i + 1]); i = i + 2 end
redis.call('HSET', KEYS[2], unpack(lf))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
local ns = tonumber(ARGV[i]); i = i + 1
local sf = {}
for _ = 1, ns do table.insert(sf, ARGV[i]); table.insert(sf, ARGV[i + 1]); i = i + 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(sf))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[4], ARGV[7])
else
  redis.call('ZADD', KEYS[4], tonumber(ARGV[6]), ARGV[7])
end
while i <= #ARGV do
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[i])
  i = i + 1
end
return 1
"""

# KEYS: session, learner, deadlines; ARGV: coverage field, coverage, ttls, deadline, sid, pairs...
_CREATE = """
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], 'v', 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
local sf = {}
for i = 7, #ARGV, 2 do table.insert(sf, ARGV[i]); table.insert(sf, ARGV[i + 1]) end
redis.call('HSET', KEYS[1], unpack(sf))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
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
        pairs = [x for kv in session_to_fields(session).items() for x in kv]
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
                *pairs,
            ],
        )

    async def load(self, sid: str, learner_id: int, lesson_id: int) -> Snapshot:
        raw_session, raw_learner = await self._call(
            self._load, [self._skey(sid), self._lkey(learner_id)], [f"c:{lesson_id}"]
        )
        fields = dict(zip(raw_session[::2], raw_session[1::2], strict=True))
        version, cu, ss, su, coverage = raw_learner
        return Snapshot(
            session=session_from_fields(sid, fields) if fields else None,
            learner=learner_from_fields({"cu": cu, "ss": ss, "su": su}, coverage),
            version=int(version or 0),
        )

    async def commit(
        self,
        expected_version: int,
        session: SessionState,
        learner: LearnerState,
        evidence: list[Evidence],
    ) -> bool:
        lpairs = [x for kv in learner_to_fields(learner).items() for x in kv]
        spairs = [x for kv in session_to_fields(session).items() for x in kv]
        deadline = "" if session.ended else str(session.last_ms + self._expire_ms)
        args: list[Any] = [
            expected_version,
            f"c:{session.lesson_id}",
            seg.encode(learner.coverage),
            self._session_ttl,
            self._learner_ttl,
            deadline,
            session.sid,
            len(lpairs) // 2,
            *lpairs,
            len(spairs) // 2,
            *spairs,
            *(dumps(e) for e in evidence),
        ]
        keys = [
            self._skey(session.sid),
            self._lkey(session.learner_id),
            self._stream,
            self._deadlines,
        ]
        return bool(await self._call(self._commit, keys, args))

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
