"""A case's kind comes from what its flags' rules declare, for every producer's flags."""

from __future__ import annotations

import pytest

from models import DetectionFlag
from proctor.detection.rules import RULES
from proctor.review.intake import kind_of


def _flag(rules: list[dict[str, str]], source: str = "study") -> DetectionFlag:
    return DetectionFlag(rules=rules, source=source, kind="behaviour")


@pytest.mark.parametrize(
    ("rules", "source", "kind"),
    [
        # declared by the rule itself, whatever its id
        ([{"id": "R99", "misconduct": "proxy"}], "study", "proxy"),
        ([{"id": "R99", "misconduct": "bot"}], "study", "bot"),
        # stored before rules declared it: read by id
        ([{"id": "R08"}], "study", "proxy"),
        ([{"id": "R01"}], "study", "fraud"),
        # the strongest kind wins
        (
            [{"id": "R04", "misconduct": "bot"}, {"id": "R14", "misconduct": "proxy"}],
            "study",
            "proxy",
        ),
        # exam forensics' flags are exam cases
        ([{"id": "C01"}], "exam", "exam"),
        # the anomaly score alone
        ([], "study", "anomaly"),
    ],
)
def test_case_kind_follows_the_declared_misconduct(
    rules: list[dict[str, str]], source: str, kind: str
) -> None:
    assert kind_of([_flag(rules, source)]) == kind


def test_every_detection_rule_declares_a_misconduct_review_knows() -> None:
    known = {"proxy", "fraud", "bot", "technical"}
    assert {r.id: r.misconduct for r in RULES if r.misconduct not in known} == {}
    # technical rules are triaged apart; their declared kind agrees
    assert all((r.kind == "technical") == (r.misconduct == "technical") for r in RULES)
