"""Citizen identity numbers (GB 11643-1999) and mobile phones: checking them, and making
valid synthetic ones for demo and test data."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# GB/T 2260 province-level prefixes (11 Beijing ... 82 Macao).
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


def check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character citizen identity number and what it encodes."""

    value: str
    birth_date: dt.date
    gender: str  # "M" / "F": odd / even sequence digit


def parse_id_number(raw: str, *, today: dt.date) -> IdNumber | str:
    """The parsed identity number, or a Chinese reason why it is invalid."""
    value = raw.strip().upper().replace(" ", "")
    if len(value) == 15:
        return "不支持 15 位旧身份证号，请使用 18 位身份证号"
    if len(value) != 18:
        return f"身份证号应为 18 位（当前 {len(value)} 位）"
    if not _ID_RE.match(value):
        return "身份证号只能由 17 位数字和 1 位数字或 X 组成"
    if value[:2] not in _PROVINCES:
        return "身份证号前两位不是有效的省级行政区划代码"
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    if birth > today or birth.year < 1900:
        return "身份证号中的出生日期不合理"
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < 16:
        return "身份证号显示未满 16 周岁，不能作为学员"
    if check_digit(value[:17]) != value[17]:
        return "身份证号校验位错误（请核对是否录入有误）"
    return IdNumber(value=value, birth_date=birth, gender="M" if int(value[16]) % 2 else "F")


def validate_phone(raw: str) -> str | None:
    """An 11-digit mainland mobile number (spaces, dashes and +86 tolerated), else None."""
    value = re.sub(r"[\s\-]", "", raw.strip())
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    return value if _PHONE_RE.match(value) else None


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
