"""Identity numbers (GB 11643-1999) and phones: the pure checks every roster row goes through."""

from __future__ import annotations

import datetime as dt

import pytest

from proctor.kernel.identity import IdNumber, check_digit, parse_id_number, validate_phone

TODAY = dt.date(2024, 6, 1)


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # the standard's own example
        ("43010219900101106", "X"),
        ("43010219800517011", "9"),
    ],
)
def test_check_digit(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


@pytest.mark.parametrize(
    ("raw", "birth", "gender"),
    [
        ("11010519491231002X", dt.date(1949, 12, 31), "F"),
        ("11010519491231002x", dt.date(1949, 12, 31), "F"),  # lower-case x is accepted
        (" 43010219900101106X ", dt.date(1990, 1, 1), "F"),  # padding is stripped
        ("430102198005170119", dt.date(1980, 5, 17), "M"),
    ],
)
def test_valid_numbers(raw: str, birth: dt.date, gender: str) -> None:
    parsed = parse_id_number(raw, today=TODAY)
    assert isinstance(parsed, IdNumber)
    assert (parsed.value, parsed.birth_date, parsed.gender) == (
        raw.strip().upper(),
        birth,
        gender,
    )


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("430102198005170118", "校验位错误"),  # last digit off by one
        ("110105194912310021", "校验位错误"),  # X expected, digit given
        (_with_check("43010219800230011"), "出生日期无效"),  # 30 February
        (_with_check("43010219801301011"), "出生日期无效"),  # month 13
        (_with_check("43010220990101011"), "出生日期不合理"),  # born in the future
        (_with_check("43010218000101011"), "出生日期不合理"),  # before 1900
        (_with_check("43010220150101011"), "未满 16 周岁"),
        ("430102800517011", "15 位"),  # old 15-digit number
        ("43010219800517011", "应为 18 位"),
        ("4301021980051701190", "应为 18 位"),
        ("43010219800517011A", "只能由"),
        (_with_check("99010219800517011"), "行政区划"),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    parsed = parse_id_number(raw, today=TODAY)
    assert isinstance(parsed, str)
    assert reason in parsed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("12812345678", None),  # no such mobile prefix
        ("1381234567", None),  # ten digits
        ("138123456789", None),
        ("0731-88888888", None),  # a landline
        ("", None),
    ],
)
def test_phone_formats(raw: str, expected: str | None) -> None:
    assert validate_phone(raw) == expected
