"""The attempt state machine (pure): an attempt is open until the learner submits it or the
server's clock closes it, and a finished attempt never changes state again."""

from __future__ import annotations

import datetime as dt

from models import AttemptState
from proctor.exams.rules import accepts_answers
from proctor.kernel.errors import Conflict

S = AttemptState

FINISHED: frozenset[AttemptState] = frozenset({S.SUBMITTED, S.EXPIRED})
MOVES: dict[AttemptState, frozenset[AttemptState]] = {
    S.OPEN: FINISHED,
    S.SUBMITTED: frozenset(),
    S.EXPIRED: frozenset(),
}
STATE_NAMES: dict[AttemptState, str] = {
    S.OPEN: "答题中",
    S.SUBMITTED: "已交卷",
    S.EXPIRED: "超时收卷",
}


def check_move(current: AttemptState, target: AttemptState) -> None:
    """Refuse a move the state machine does not allow."""
    if target not in MOVES[current]:
        raise Conflict(f"考试当前状态为“{STATE_NAMES[current]}”，不能变更为“{STATE_NAMES[target]}”")


def overdue(state: AttemptState, deadline: dt.datetime, now: dt.datetime) -> AttemptState | None:
    """The state an attempt moves to on any request because its time is up (None: no move)."""
    if state is S.OPEN and not accepts_answers(deadline, now):
        return S.EXPIRED
    return None


def on_submit(state: AttemptState, deadline: dt.datetime, now: dt.datetime) -> AttemptState | None:
    """Handing in: submitted in time, expired when late, nothing when already finished."""
    if state is not S.OPEN:
        return None
    return S.SUBMITTED if accepts_answers(deadline, now) else S.EXPIRED


def answer_refused(state: AttemptState, deadline: dt.datetime, now: dt.datetime) -> str | None:
    """Why an answer cannot be saved now (None: it can)."""
    if state is not S.OPEN:
        return "本次考试已交卷，不能再修改答案"
    if not accepts_answers(deadline, now):
        return "考试时间已到，答案未保存"
    return None
