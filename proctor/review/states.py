"""The case state machine (pure): which moves are legal, and what each decision means."""

from __future__ import annotations

from models import CaseState, Finding
from proctor.kernel.errors import Conflict

S = CaseState

# Decisions a reviewer can take on a case under review.
DECISIONS: frozenset[CaseState] = frozenset(
    {
        S.CONFIRMED_PROXY,
        S.CONFIRMED_FRAUD,
        S.CONFIRMED_EXAM_CHEATING,
        S.NO_MISCONDUCT,
        S.INSUFFICIENT_EVIDENCE,
    }
)
CONFIRMED: frozenset[CaseState] = frozenset(
    {S.CONFIRMED_PROXY, S.CONFIRMED_FRAUD, S.CONFIRMED_EXAM_CHEATING}
)
APPEAL_OUTCOMES: frozenset[CaseState] = frozenset({S.APPEAL_UPHELD, S.APPEAL_REJECTED})
# A case is open while someone still has to act on it.
OPEN: frozenset[CaseState] = frozenset({S.NEW, S.IN_REVIEW, S.APPEALED})

MOVES: dict[CaseState, frozenset[CaseState]] = {
    S.NEW: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: DECISIONS | {S.NEW},  # decide, or release back to the queue
    # Only a finding against the learner can be appealed; dismissals have nothing to answer.
    S.CONFIRMED_PROXY: frozenset({S.APPEALED}),
    S.CONFIRMED_FRAUD: frozenset({S.APPEALED}),
    S.CONFIRMED_EXAM_CHEATING: frozenset({S.APPEALED}),
    S.NO_MISCONDUCT: frozenset(),
    S.INSUFFICIENT_EVIDENCE: frozenset(),
    S.APPEALED: APPEAL_OUTCOMES,
    S.APPEAL_UPHELD: frozenset(),
    S.APPEAL_REJECTED: frozenset(),
}

STATE_NAMES: dict[CaseState, str] = {
    S.NEW: "待审核",
    S.IN_REVIEW: "审核中",
    S.CONFIRMED_PROXY: "认定请人代学",
    S.CONFIRMED_FRAUD: "认定弄虚作假骗取学分",
    S.CONFIRMED_EXAM_CHEATING: "认定考试作弊",
    S.NO_MISCONDUCT: "未发现违规",
    S.INSUFFICIENT_EVIDENCE: "证据不足",
    S.APPEALED: "申诉中",
    S.APPEAL_UPHELD: "申诉成立（撤销认定）",
    S.APPEAL_REJECTED: "申诉驳回（维持认定）",
}

FINDING_NAMES: dict[Finding, str] = {
    Finding.PROXY_STUDY: "请人代学",
    Finding.CREDIT_FRAUD: "弄虚作假骗取学分",
    Finding.EXAM_CHEATING: "考试作弊",
}

FINDING_OF: dict[CaseState, Finding] = {
    S.CONFIRMED_PROXY: Finding.PROXY_STUDY,
    S.CONFIRMED_FRAUD: Finding.CREDIT_FRAUD,
    S.CONFIRMED_EXAM_CHEATING: Finding.EXAM_CHEATING,
}

# The case history's 操作 column: every action a CaseEvent records, in words.
ACTION_NAMES: dict[str, str] = {
    "open": "立案",
    "merge_flag": "并入新标记",
    "claim": "认领审核",
    "release": "退回队列",
    "note": "备注",
    "decide": "作出决定",
    "consequences": "执行处理结果",
    "appeal": "学员申诉",
    "decide_appeal": "处理申诉",
}


def action_name(action: str) -> str:
    """The action in words; an action recorded by a newer version still reads as Chinese."""
    return ACTION_NAMES.get(action, "其他操作")


def verdict(state: CaseState, finding: Finding | None) -> str:
    """The case's standing in one phrase: a confirmation names its finding already, an appeal
    says which finding it is about ("申诉中（认定：请人代学）"), never both twice."""
    if finding is None or state in CONFIRMED:
        return STATE_NAMES[state]
    return f"{STATE_NAMES[state]}（认定：{FINDING_NAMES[finding]}）"


def check_move(current: CaseState, target: CaseState) -> None:
    """Refuse a move the state machine does not allow, saying what is allowed instead."""
    allowed = MOVES[current]
    if target not in allowed:
        options = "、".join(STATE_NAMES[s] for s in sorted(allowed)) or "无（已结案）"
        raise Conflict(
            f"案件当前状态为“{STATE_NAMES[current]}”，不能变更为“{STATE_NAMES[target]}”；"
            f"可选：{options}"
        )


def finding_after(state: CaseState, previous: Finding | None) -> Finding | None:
    """The finding standing on the learner once the case reaches ``state``."""
    if state in FINDING_OF:
        return FINDING_OF[state]
    if state is S.APPEAL_UPHELD:
        return None
    if state in (S.APPEALED, S.APPEAL_REJECTED):
        return previous  # the finding stands while the appeal is heard, and after a rejection
    return None


def label_of(state: CaseState) -> int | None:
    """The decision as a training label: 1 misconduct, 0 not; None while undecided or unclear.

    Insufficient evidence says nothing about the learner either way, so it is not a label.
    An appeal's outcome overrides the first decision.
    """
    if state in CONFIRMED or state is S.APPEAL_REJECTED:
        return 1
    if state in (S.NO_MISCONDUCT, S.APPEAL_UPHELD):
        return 0
    return None
