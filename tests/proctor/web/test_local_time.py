"""Every date and time a person reads is academy local time, never UTC."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from proctor.kernel.calendar import local_text
from proctor.web.render import make_environment

TEMPLATES = Path(__file__).parents[3] / "proctor" / "web" / "templates"
# 23:30 UTC on 1 March is 07:30 on 2 March in Changsha: a UTC date would be a day early.
LATE = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value", [LATE, LATE.isoformat(), "2026-03-01T23:30:00", LATE.astimezone(dt.UTC)]
)
def test_local_text_reads_moments_and_stored_strings_as_academy_time(
    value: dt.datetime | str,
) -> None:
    assert local_text(value) == "2026-03-02 07:30"
    assert local_text(value, "%Y-%m-%d") == "2026-03-02"


def test_empty_is_empty() -> None:
    assert local_text(None) == "" and local_text("") == ""


def test_the_local_filter_renders_the_local_day() -> None:
    env = make_environment()
    page = env.from_string('已于 {{ at | local }} 下载；{{ s | local("%Y-%m-%d") }} 冻结')
    assert page.render(at=LATE, s=LATE.isoformat()) == "已于 2026-03-02 07:30 下载；2026-03-02 冻结"


def test_templates_print_no_moment_without_the_local_filter() -> None:
    """A timestamp (``*_at``, ``.at``, a deadline) printed raw or with strftime shows UTC."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for expr in re.findall(r"\{\{(.*?)\}\}", path.read_text(encoding="utf-8"), re.S):
            moment = re.search(r"\b\w+_at\b|\.at\b|deadline", expr)
            if ("strftime" in expr or moment) and "local" not in expr:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {{{{{expr.strip()}}}}}")
    assert offenders == []
