"""Ranks (职级) of civil servants and cadres, highest first.

The list is the one HR departments use on rosters; a roster row with another value is
refused so that target groups (Art. 5), which select by rank, stay exact.
"""

from __future__ import annotations

RANKS: tuple[str, ...] = (
    "省部级正职",
    "省部级副职",
    "厅局级正职",
    "厅局级副职",
    "县处级正职",
    "县处级副职",
    "乡科级正职",
    "乡科级副职",
    "科员",
    "办事员",
)

# Pilot target group (Art. 5): deputy-division level (县处级副职) and above.
DIVISION_AND_ABOVE: tuple[str, ...] = RANKS[: RANKS.index("县处级副职") + 1]
SECTION_AND_ABOVE: tuple[str, ...] = RANKS[: RANKS.index("乡科级副职") + 1]


def normalise_rank(value: str) -> str | None:
    """The canonical rank for a roster cell, tolerating the usual spellings, else None."""
    v = value.strip().replace(" ", "").replace("（", "(").replace("）", ")")
    aliases = {
        "正厅": "厅局级正职",
        "副厅": "厅局级副职",
        "正处": "县处级正职",
        "副处": "县处级副职",
        "正科": "乡科级正职",
        "副科": "乡科级副职",
        "正部": "省部级正职",
        "副部": "省部级副职",
    }
    if v in RANKS:
        return v
    for short, rank in aliases.items():
        if v.startswith(short):
            return rank
    return None
