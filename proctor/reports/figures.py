"""Pure arithmetic of the report figures: plain numbers in, plain numbers out.

The SQL side (``queries.py``) returns one :class:`Tally` per unit; everything a page shows
for a node (its own line, its children's lines, the distribution) is a sum of tallies, so a
province, a city and a unit are computed the same way and always add up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from proctor.reports.progress import is_behind

# Credit distribution of target learners by share of their quota's total.
BANDS = ("0 学分", "不足 25%", "25%–50%", "50%–75%", "75%–100%", "已达总学分")


def credits(cents: int) -> Decimal:
    """Integer hundredths as an exact credit amount."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def ratio(part: int, whole: int) -> Decimal:
    """A percentage with one decimal, 0 when there is nothing to divide."""
    if whole <= 0:
        return Decimal("0.0")
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def band(total_cents: int, quota_cents: int) -> int:
    """Index into :data:`BANDS` of a target learner's total against the quota's total."""
    if total_cents >= quota_cents:
        return 5
    if total_cents <= 0:
        return 0
    # Integer comparisons: no rounding at the band edges.
    for i, quarter in enumerate((1, 2, 3), start=1):
        if total_cents * 4 < quota_cents * quarter:
            return i
    return 4


@dataclass
class Tally:
    """Counts and credit sums of a set of learners (a unit, or several added up).

    "target" are learners in the year's target group (Art. 5): only they count against
    the quota; the others ("other") are shown apart.
    """

    target: int = 0
    other: int = 0
    participated: int = 0  # target learners with at least one posting this year
    other_participated: int = 0
    met: int = 0  # total and required minimum both reached
    total_met: int = 0
    required_met: int = 0
    cents: int = 0  # yearly total credits of target learners
    required_cents: int = 0
    other_cents: int = 0
    quota_cents: int = 0  # sum of the target learners' quota totals (for the schedule)
    bands: list[int] = field(default_factory=lambda: [0] * len(BANDS))
    # Progress of target learners: credits by the end of each month, learners who met the
    # quota in each month, and learners behind schedule after 0..12 elapsed months.
    curve_cents: list[int] = field(default_factory=lambda: [0] * 12)
    met_month: list[int] = field(default_factory=lambda: [0] * 12)
    behind: list[int] = field(default_factory=lambda: [0] * 13)
    findings: int = 0  # cases with a standing (confirmed) finding
    findings_learners: int = 0
    open_cases: int = 0

    def add(self, other: Tally, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` take away) another tally."""
        mine, theirs = self.__dict__, other.__dict__
        for name, value in theirs.items():
            if isinstance(value, list):
                current = mine[name]
                mine[name] = [a + sign * b for a, b in zip(current, value, strict=True)]
            elif value:
                mine[name] += sign * value

    def to_json(self) -> dict[str, Any]:
        """The stored form of a unit's rollup (case counts are always read live)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("findings", "findings_learners", "open_cases")
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        """Back from :meth:`to_json`."""
        out = cls()
        for f in fields(cls):
            if f.name in data:
                value = data[f.name]
                setattr(
                    out, f.name, [int(v) for v in value] if isinstance(value, list) else int(value)
                )
        return out


@dataclass(frozen=True)
class LearnerYear:
    """One learner's year as the figures need it (credits in hundredths).

    ``qt``/``qr`` are the quota's total and required minimum, None outside the target group;
    ``cum_total``/``cum_req`` the credits posted by the end of each month.
    """

    qt: int | None
    qr: int | None
    req: int
    total: int
    posts: int
    cum_total: tuple[int, ...]
    cum_req: tuple[int, ...]


def contribution(x: LearnerYear, tolerance_pct: int) -> Tally:
    """What one learner adds to the tally of their unit."""
    t = Tally()
    if x.qt is None or x.qr is None:
        t.other, t.other_participated, t.other_cents = 1, int(x.posts > 0), x.total
        return t
    met_total, met_req = x.total >= x.qt, x.req >= x.qr
    t.target, t.participated = 1, int(x.posts > 0)
    t.met, t.total_met, t.required_met = int(met_total and met_req), int(met_total), int(met_req)
    t.cents, t.required_cents, t.quota_cents = x.total, x.req, x.qt
    t.bands[band(x.total, x.qt)] = 1
    t.curve_cents = list(x.cum_total)
    first = next((m for m in range(12) if x.cum_total[m] >= x.qt and x.cum_req[m] >= x.qr), None)
    if first is not None:
        t.met_month[first] = 1
    t.behind = [
        int(is_behind(x.total, x.req, x.qt, x.qr, months, tolerance_pct)) for months in range(13)
    ]
    return t


def total(tallies: Iterable[Tally]) -> Tally:
    """The sum of tallies."""
    out = Tally()
    for t in tallies:
        out.add(t)
    return out


def average(cents: int, count: int) -> Decimal:
    """Average credits per learner, to two decimals (half up)."""
    if count <= 0:
        return Decimal("0.00")
    return (Decimal(cents) / 100 / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def summary(t: Tally) -> dict[str, Any]:
    """The figures of a tally as pages, exports and the API show them."""
    return {
        "target_learners": t.target,
        "other_learners": t.other,
        "participated": t.participated,
        "participation_rate": ratio(t.participated, t.target),
        "quota_met": t.met,
        "total_met": t.total_met,
        "required_met": t.required_met,
        "completion_rate": ratio(t.met, t.target),
        "credits_total": credits(t.cents),
        "credits_required": credits(t.required_cents),
        "credits_average": average(t.cents, t.target),
        "other_participated": t.other_participated,
        "other_credits_total": credits(t.other_cents),
        "other_credits_average": average(t.other_cents, t.other),
        "confirmed_findings": t.findings,
        "learners_with_findings": t.findings_learners,
        "open_cases": t.open_cases,
    }


def distribution(t: Tally) -> list[dict[str, Any]]:
    """The target learners by band of their quota."""
    return [{"band": name, "learners": n} for name, n in zip(BANDS, t.bands, strict=True)]
