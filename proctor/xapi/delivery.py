"""Delivering the outbox to the LRS: batches, retries with backoff, marked sent on ack only.

``deliver_pending`` is the one entry point for both ``proctor xapi send`` (cron) and the
in-process scheduler: it enqueues what finished since the watermark, then sends what is
due. Every statement carries its id, so sending one again (after a crash between the LRS's
answer and the mark) is harmless: the LRS recognises it and stores nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from models import utcnow
from proctor.kernel.context import Context
from proctor.xapi import outbox
from proctor.xapi.export import configured, enqueue_new
from proctor.xapi.lrs import Lrs, Reply

log = logging.getLogger("proctor.xapi")
# Sent statements deleted per call once past PROCTOR_XAPI_KEEP_DAYS.
PRUNE_BATCH = 10_000


@dataclass
class _Settled:
    stored: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    failed: list[tuple[outbox.Taken, str]] = field(default_factory=list)
    # The LRS stopped answering well (down, overloaded, credentials refused): stop the run.
    stop: bool = False


async def deliver_pending(ctx: Context, limit: int = 1000) -> int:
    """Enqueue new results, then send up to ``limit`` due statements to the LRS.

    Returns how many the LRS acknowledged in this call (an id it already held counts as
    delivered). Also deletes sent statements past the kept days. Does nothing while xAPI
    is off (no endpoint configured).
    """
    if not configured(ctx):
        return 0
    await enqueue_new(ctx)
    sent = await send_due(ctx, limit)
    async with ctx.db.begin() as db:
        before = utcnow() - dt.timedelta(days=ctx.settings.xapi_keep_days)
        await outbox.prune_sent(db, before, PRUNE_BATCH)
    return sent


async def send_due(ctx: Context, limit: int) -> int:
    """Send up to ``limit`` due statements of the outbox, batch by batch."""
    s = ctx.settings
    # A sender that dies holding statements leaves them to the next one after this lease:
    # longer than a batch can take, with every statement tried alone after a refused batch.
    lease_s = s.xapi_timeout_s * (s.xapi_batch + 1) + 60
    delivered = 0
    async with Lrs(s.xapi_endpoint, s.xapi_key, s.xapi_secret, s.xapi_timeout_s) as lrs:
        while delivered < limit:
            async with ctx.db.begin() as db:
                taken = await outbox.take(
                    db, utcnow(), min(s.xapi_batch, limit - delivered), lease_s
                )
            if not taken:
                break
            settled = await _send_batch(lrs, taken)
            await _settle(ctx, settled)
            delivered += len(settled.stored) + len(settled.conflicts)
            if settled.stop:
                break
    return delivered


async def _send_batch(lrs: Lrs, taken: list[outbox.Taken]) -> _Settled:
    reply = await lrs.post([t.statement for t in taken])
    if reply.stored:
        return _Settled(stored=[t.id for t in taken])
    if not reply.per_statement:
        return _Settled(failed=[(t, reply.reason) for t in taken], stop=True)
    # One statement spoiled the batch (a conflicting id, or one the LRS refuses): find it.
    settled = _Settled()
    for i, t in enumerate(taken):
        one = await lrs.put(t.statement)
        if one.stored:
            settled.stored.append(t.id)
        elif one.conflict:
            log.warning(
                "xAPI statement %s: the LRS holds a different one under its id", t.statement_id
            )
            settled.conflicts.append(t.id)
        else:
            settled.failed.append((t, one.reason))
            if _lrs_trouble(one):
                settled.failed += [(rest, one.reason) for rest in taken[i + 1 :]]
                settled.stop = True
                break
    return settled


def _lrs_trouble(reply: Reply) -> bool:
    """No answer, a server error, throttling or refused credentials: not this statement's
    fault, so the rest of the run would fail the same way."""
    return reply.status == 0 or reply.status >= 500 or reply.status in (401, 403, 404, 429)


async def _settle(ctx: Context, settled: _Settled) -> None:
    s = ctx.settings
    now = utcnow()
    async with ctx.db.begin() as db:
        await outbox.mark_sent(db, settled.stored, now)
        await outbox.mark_sent(db, settled.conflicts, now, outcome="conflict")
        by_reason: dict[str, list[outbox.Taken]] = {}
        for t, reason in settled.failed:
            by_reason.setdefault(reason, []).append(t)
        for reason, group in by_reason.items():
            await outbox.mark_failed(
                db, group, now, reason, base_s=s.xapi_retry_base_s, max_s=s.xapi_retry_max_s
            )
    if settled.failed:
        log.warning(
            "xAPI delivery: %d statements not acknowledged (%s); retried after backoff",
            len(settled.failed),
            settled.failed[0][1],
        )
