"""The player has words for every code the tracker's verification gives."""

from __future__ import annotations

import re
from pathlib import Path

import tracker.verify
from proctor.web import media


def test_every_verification_code_has_chinese_text() -> None:
    """A code added to verify() without a text in player.js would reach the learner raw."""
    source = Path(tracker.verify.__file__).read_text(encoding="utf-8")
    codes = {
        code
        for line in source.splitlines()
        if "codes.append(" in line
        for code in re.findall(r'"([a-z_]+)"', line)
    }
    assert {"first_beat", "paused", "rate_exceeded", "seek_forward"} <= codes
    player = (media.STATIC / "player.js").read_text(encoding="utf-8")
    notes = player[player.index("const NOTES = {") : player.index("const UNKNOWN_NOTE")]
    named = dict(re.findall(r'([a-z_]+): "([^"]*)"', notes))
    assert codes <= set(named), codes - set(named)
    assert all(text and re.search(r"[\u4e00-\u9fff]", text) for text in named.values())
