"""The Redis hot-state store (redis.asyncio): one round trip per beat, atomic commits.

A Lua script loads a session and its learner's stream in one round trip; another
commits both and appends the evidence to a stream only if the learner's version is
unchanged (compare-and-set), so concurrent beats from several tracker processes can
never double-credit. Evidence lives in a Redis stream read by a consumer group until the
SQL writer acknowledges it.

Layout: every key a script touches together carries the same hash tag, the learner's
shard (``learner_id % shards``): the session, the learner, and the shard's evidence stream
and deadline set. So the store runs unchanged on one server or on Redis Cluster, where a
shard lives on one master and the shards spread over the masters.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import OrderedDict
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from tracker import segments as seg
from tracker.evidence import Evidence, dumps, loads
from tracker.hotstate.base import (
    EvidenceIds,
    Snapshot,
    StoreUnavailable,
    learner_from_fields,
    pack_session,
    parse_sid,
    unpack_session,
)
from tracker.verify import LearnerState, SessionState

log = logging.getLogger(__name__)

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

# KEYS: stream; ARGV: evidence json...
_APPEND = """
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
return #ARGV
"""

# KEYS: stream; ARGV: group, entry ids... (acknowledge and delete in one step)
_ACK = """
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
return redis.call('XDEL', KEYS[1], unpack(ids))
"""

GROUP = "writer"
# Entries another consumer took and left unacknowledged this long (it died) are claimed.
CLAIM_IDLE_MS = 30_000
CLAIM_EVERY_S = 5.0


def connect(url: str, *, cluster: bool = False) -> Any:
    """A client for one server, or for Redis Cluster (``redis+cluster://`` or ``cluster``)."""
    if url.startswith("redis+cluster://"):
        url, cluster = "redis://" + url.removeprefix("redis+cluster://"), True
    if cluster:
        return RedisCluster.from_url(url, decode_responses=True)
    return aioredis.from_url(url, decode_responses=True)


GROUP = "writer"


class RedisStore:
    """Hot state in Redis (one server or a cluster)."""

    durable = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "proctor:t:",
        expire_ms: int = 90_000,
        session_ttl_s: int = 24 * 3600,
        learner_ttl_s: int = 2 * 24 * 3600,
        client: Any = None,
        cache_size: int = 50_000,
        shards: int = 16,
        cluster: bool = False,
        consumer: str | None = None,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self._redis = client or connect(url, cluster=cluster)
        self._cluster = isinstance(self._redis, RedisCluster)
        self._p = prefix
        self._expire_ms = expire_ms
        self._session_ttl = session_ttl_s
        self._learner_ttl = learner_ttl_s
        self._load = self._redis.register_script(_LOAD)
        self._commit = self._redis.register_script(_COMMIT)
        self._create = self._redis.register_script(_CREATE)
        self._append_script = self._redis.register_script(_APPEND)
        self._ack = self._redis.register_script(_ACK)
        self.shards = shards
        self._consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._ids = EvidenceIds()
        self._groups_ready = False
        self._claimed_at = 0.0
        self._claim_idle_ms = claim_idle_ms
        self._healing = False
        self._cache: OrderedDict[str, Snapshot] = OrderedDict()
        self._cache_size = cache_size

    def shard_of(self, learner_id: int) -> int:
        """The shard whose hash tag the learner's keys carry."""
        return learner_id % self.shards

    def _tag(self, shard: int) -> str:
        return f"{self._p}{{{shard}}}"

    def _skey(self, sid: str, learner_id: int) -> str:
        return f"{self._tag(self.shard_of(learner_id))}:s:{sid}"

    def _lkey(self, learner_id: int) -> str:
        return f"{self._tag(self.shard_of(learner_id))}:l:{learner_id}"

    def stream(self, shard: int) -> str:
        """The shard's evidence stream."""
        return f"{self._tag(shard)}:ev"

    def _deadlines(self, shard: int) -> str:
        return f"{self._tag(shard)}:dl"

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def create_session(self, session: SessionState, coverage: seg.Segments) -> None:
        shard = self.shard_of(session.learner_id)
        await self._call(
            self._create,
            [
                self._skey(session.sid, session.learner_id),
                self._lkey(session.learner_id),
                self._deadlines(shard),
            ],
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
            self._load,
            [self._skey(sid, learner_id), self._lkey(learner_id)],
            [f"c:{lesson_id}"],
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
            *(dumps(e) for e in self._ids.stamp(evidence)),
        ]
        shard = self.shard_of(session.learner_id)
        keys = [
            self._skey(session.sid, session.learner_id),
            self._lkey(session.learner_id),
            self.stream(shard),
            self._deadlines(shard),
        ]
        result = await self._call(self._commit, keys, args)
        if result == 1:
            self._put(session.sid, Snapshot(session, learner, expected_version + 1))
            return True
        self._remember(session.sid, result)
        return False

    async def append_evidence(self, evidence: list[Evidence]) -> None:
        by_shard: dict[int, list[str]] = {}
        for e in self._ids.stamp(evidence):
            ids = parse_sid(e.sid)
            by_shard.setdefault(self.shard_of(ids[0]) if ids else 0, []).append(dumps(e))
        for shard, entries in by_shard.items():
            await self._call(self._append_script, [self.stream(shard)], entries)

    async def _ensure_groups(self) -> None:
        if self._groups_ready:
            return
        for shard in range(self.shards):
            try:
                await self._redis.xgroup_create(self.stream(shard), GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    async def read_evidence(self, count: int) -> list[tuple[str, Evidence]]:
        try:
            await self._ensure_groups()
            try:
                raw = await self._read(count)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis lost its data (a restart without persistence): the streams and their
                # group are gone. Recreate them and go on; say so once per incident.
                if not self._healing:
                    log.warning(
                        "evidence consumer group missing (Redis restarted or lost its data); "
                        "recreated, evidence not yet written to SQL before the loss is gone"
                    )
                self._healing = True
                self._groups_ready = False
                await self._ensure_groups()
                raw = await self._read(count)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        self._healing = False
        # A deleted entry still pending shows up with no fields; there is nothing to write.
        # Entries written before records had ids are known by their stream entry id.
        return [(f"{shard}/{entry_id}", loads(f["e"], entry_id)) for shard, entry_id, f in raw if f]

    async def _read(self, count: int) -> list[tuple[int, str, dict[str, str]]]:
        # Entries delivered to this consumer whose SQL write failed come back first.
        out = await self._group_read("0", count)
        if not out and time.monotonic() - self._claimed_at > CLAIM_EVERY_S:
            self._claimed_at = time.monotonic()
            out = await self._claim(count)
        if not out:
            out = await self._group_read(">", count)
        return out

    async def _group_read(self, start: str, count: int) -> list[tuple[int, str, dict[str, str]]]:
        shard_of_stream = {self.stream(k): k for k in range(self.shards)}
        if self._cluster:
            # A command may only name keys of one slot on a cluster: one read per shard.
            replies = await asyncio.gather(
                *(
                    self._redis.xreadgroup(GROUP, self._consumer, {name: start}, count=count)
                    for name in shard_of_stream
                )
            )
            streams = [item for reply in replies for item in (reply or [])]
        else:
            reply: Any = await self._redis.xreadgroup(
                GROUP, self._consumer, dict.fromkeys(shard_of_stream, start), count=count
            )
            streams = list(reply or [])
        out = [
            (shard_of_stream[name], entry_id, fields)
            for name, items in streams
            for entry_id, fields in items
        ]
        return out[:count]

    async def _claim(self, count: int) -> list[tuple[int, str, dict[str, str]]]:
        out: list[tuple[int, str, dict[str, str]]] = []
        for shard in range(self.shards):
            claimed: Any = await self._redis.xautoclaim(
                self.stream(shard),
                GROUP,
                self._consumer,
                min_idle_time=self._claim_idle_ms,
                start_id="0-0",
                count=count - len(out),
            )
            out += [(shard, entry_id, fields) for entry_id, fields in claimed[1]]
            if len(out) >= count:
                break
        return out

    async def ack_evidence(self, handles: list[str]) -> None:
        by_shard: dict[int, list[str]] = {}
        for handle in handles:
            tag, _, entry_id = handle.partition("/")
            by_shard.setdefault(int(tag), []).append(entry_id)
        for shard, ids in by_shard.items():
            await self._call(self._ack, [self.stream(shard)], [GROUP, *ids])

    async def pending(self) -> int:
        """Entries in the streams not yet acknowledged (written to SQL), for monitoring."""
        try:
            return sum([int(await self._redis.xlen(self.stream(k))) for k in range(self.shards)])
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def due_sessions(self, now_ms: int, count: int) -> list[str]:
        try:
            replies = await asyncio.gather(
                *(
                    self._redis.zrangebyscore(
                        self._deadlines(k), "-inf", now_ms, start=0, num=count
                    )
                    for k in range(self.shards)
                )
            )
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [str(sid) for reply in replies for sid in reply][:count]

    async def forget_deadline(self, sid: str) -> None:
        ids = parse_sid(sid)
        if ids is None:
            return
        try:
            await self._redis.zrem(self._deadlines(self.shard_of(ids[0])), sid)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def alive(self, sids: list[str]) -> set[str]:
        keys = []
        for sid in sids:
            ids = parse_sid(sid)
            keys.append(self._skey(sid, ids[0]) if ids else "")
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(key)
                found = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        return {sid for sid, key, n in zip(sids, keys, found, strict=True) if key and n}

    async def close(self) -> None:
        await self._redis.aclose()

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
