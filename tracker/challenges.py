"""Presence challenges: drawn at random on the server, shown by the player, answered by a person."""

from __future__ import annotations

import random
import secrets

from tracker.verify import Challenge

_RNG = random.SystemRandom()


def draw_challenge() -> Challenge:
    """A prompt a person answers in a second or two and a script cannot know in advance.

    The options are shuffled per challenge and only the server keeps the answer.
    """
    digits = _RNG.sample(range(10), 4)
    target = str(_RNG.choice(digits))
    if _RNG.random() < 0.5:
        prompt = f"为确认您正在学习，请点击数字 {target}"
    else:
        a = _RNG.randint(1, 8)
        b = int(target) - a
        prompt = (
            f"为确认您正在学习，请计算 {a} + {b} = ?"
            if b >= 0
            else f"为确认您正在学习，请点击数字 {target}"
        )
    return Challenge(
        id=secrets.token_hex(6),
        prompt=prompt,
        options=tuple(str(d) for d in digits),
        answer=target,
        issued_ms=0,
    )


def next_due(now_ms: int, min_ms: int, max_ms: int) -> int:
    """When the next challenge falls due: uniformly random, held by the server only."""
    return now_ms + _RNG.randint(min_ms, max(min_ms, max_ms))
