"""Verification codes of study certificates, and what the public verification page shows.

A code is an HMAC of the certificate's learner, year and issue day, keyed with the
installation's secret (a key derived for this purpose only), followed by those three fields
masked with a keystream derived from the MAC (so the code shows no record id), in RFC 4648
base32 grouped by four: nothing is stored, nothing can be guessed (64 bits of MAC), and any
change to a character fails the check. The page shows what the academy's
ledger says now for that learner and year, with the name masked, so a certificate edited
after printing disagrees with it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import struct
from dataclasses import dataclass

from models import Learner
from proctor.archive.certificate import Issue
from proctor.archive.service import Archive, build
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.learners.service import load_in_scope

PURPOSE = b"proctor study certificate v1"
EPOCH = dt.date(2020, 1, 1)
MAC_BYTES = 8
PAYLOAD = struct.Struct(">IBH")  # learner id, year - 2000, issue day since EPOCH
CODE_CHARS = 24  # (7 + 8) bytes in base32, without padding


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(_key(secret), payload, hashlib.sha256).digest()[:MAC_BYTES]


def _mask(secret: str, mac: bytes, data: bytes) -> bytes:
    stream = hmac.new(_key(secret), b"mask" + mac, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def make_code(secret: str, learner_id: int, year: int, issued: dt.date) -> str:
    """The verification code printed on a certificate ("ABCD-EFGH-...", 24 characters)."""
    payload = PAYLOAD.pack(learner_id, year - 2000, (issued - EPOCH).days)
    mac = _mac(secret, payload)
    raw = base64.b32encode(mac + _mask(secret, mac, payload)).decode("ascii").rstrip("=")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


@dataclass(frozen=True)
class Claim:
    """What a well-formed, authentic code says."""

    learner_id: int
    year: int
    issued: dt.date


def read_code(secret: str, code: str) -> Claim | None:
    """The claim of an authentic code; None for anything else (typos, edits, forgeries)."""
    raw = "".join(ch for ch in code.upper() if ch not in "- ")
    if len(raw) != CODE_CHARS or not raw.isascii():
        return None
    try:
        data = base64.b32decode(raw + "=" * (-len(raw) % 8))
    except ValueError:
        return None
    mac, masked = data[:MAC_BYTES], data[MAC_BYTES:]
    payload = _mask(secret, mac, masked)
    if len(payload) != PAYLOAD.size or not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    learner_id, year, day = PAYLOAD.unpack(payload)
    return Claim(learner_id, year + 2000, EPOCH + dt.timedelta(days=day))


def mask_name(name: str) -> str:
    """ "张*", "王**": the surname and the length, enough to match a person in hand."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else "*"


@dataclass(frozen=True)
class Verified:
    """The public page's answer for an authentic code."""

    masked_name: str
    claim: Claim
    archive: Archive


async def verify(ctx: Context, code: str) -> Verified | None:
    """Check a code and read the academy's current record it refers to (None: invalid)."""
    claim = read_code(ctx.secret, code)
    if claim is None:
        return None
    async with ctx.db() as s:
        learner = await s.get(Learner, claim.learner_id)
        if learner is None:
            return None
        archive = await build(s, ctx, learner, claim.year)
    return Verified(mask_name(learner.name), claim, archive)


async def issue(
    ctx: Context, actor: Actor, learner_id: int, year: int, *, origin: str, today: dt.date
) -> tuple[Archive, Issue]:
    """A certificate's content and its code, for a learner the actor may see (else 404)."""
    async with ctx.db() as s:
        learner = await load_in_scope(s, actor, learner_id)
        archive = await build(s, ctx, learner, year)
        id_masked = learner.id_masked
    code = make_code(ctx.secret, learner_id, year, today)
    return archive, Issue(
        code=code,
        verify_url=f"{origin.rstrip('/')}/verify/{code}",
        issued=today,
        id_masked=id_masked,
    )
