"""Build the tracker from the settings: hot-state store, SQL writer, policy, credit hook."""

from __future__ import annotations

import hashlib

from proctor.context import Context
from proctor.study.completion import post_completion_credits
from tracker.hotstate.base import HotStore
from tracker.hotstate.memory import MemoryStore
from tracker.hotstate.redis import RedisStore
from tracker.service import ChallengeTiming, Tracker
from tracker.verify import Policy
from tracker.writer import EvidenceWriter

# Where the embedded store spills what the last flush at shutdown could not write.
SPILL_FILE = "evidence-spill.jsonl"


def policy_of(ctx: Context) -> Policy:
    """The verification policy from the settings."""
    s = ctx.settings
    return Policy(
        interval_ms=s.heartbeat_interval_s * 1000,
        max_rate=s.max_credited_rate,
        max_gap_ms=s.heartbeat_max_gap_s * 1000,
        expire_ms=s.session_expire_s * 1000,
        tail_tolerance_ms=s.completion_tail_s * 1000,
    )


def make_store(ctx: Context) -> HotStore:
    """Redis when configured, else the embedded in-process store."""
    policy = policy_of(ctx)
    if ctx.settings.redis_url:
        return RedisStore(
            ctx.settings.redis_url,
            prefix=ctx.settings.redis_prefix,
            expire_ms=policy.expire_ms,
            shards=ctx.settings.redis_shards,
            cluster=ctx.settings.redis_cluster,
            claim_idle_ms=int(ctx.settings.evidence_claim_idle_s * 1000),
        )
    return MemoryStore(expire_ms=policy.expire_ms)


def make_tracker(ctx: Context, store: HotStore | None = None) -> Tracker:
    """The tracker wired to this process's database and credit ledger."""
    store = store or make_store(ctx)
    secret = hashlib.sha256(b"study-token:" + ctx.secret.encode()).digest()
    return Tracker(
        store=store,
        db=ctx.db,
        writer=EvidenceWriter(store, ctx.db, on_course_completed=post_completion_credits(ctx)),
        policy=policy_of(ctx),
        secret=secret,
        challenges=ChallengeTiming(
            min_ms=ctx.settings.challenge_min_s * 1000, max_ms=ctx.settings.challenge_max_s * 1000
        ),
        shutdown_flush_s=ctx.settings.shutdown_flush_s,
        spill_path=None if store.durable else ctx.settings.data_dir / SPILL_FILE,
        sweep_grace_ms=ctx.settings.sweep_grace_s * 1000,
    )
