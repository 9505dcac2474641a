"""Synthetic but valid identity numbers and phones for demo and test data."""

from __future__ import annotations

import datetime as dt
import random

from proctor.rosters.validation import check_digit


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """A checksum-valid 18-character identity number (sequence odd = male, even = female)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)


def random_id_number(
    rng: random.Random, region: str, *, min_age: int = 25, max_age: int = 59
) -> str:
    """A valid identity number of someone of working age registered in ``region``."""
    today = dt.date(2026, 1, 1)
    birth = today - dt.timedelta(days=rng.randint(min_age * 365 + 10, max_age * 365))
    return make_id_number(region, birth, rng.randint(1, 999))


def random_phone(rng: random.Random) -> str:
    """A plausible mainland mobile number."""
    prefix = rng.choice(
        [
            "133",
            "135",
            "136",
            "137",
            "138",
            "139",
            "150",
            "151",
            "152",
            "158",
            "159",
            "173",
            "177",
            "180",
            "186",
            "187",
            "189",
            "199",
        ]
    )
    return prefix + f"{rng.randint(0, 99_999_999):08d}"
