"""Who sees which course: the academy's catalog for everyone, a city's or county's local courses for its own learners and staff, and who may manage a course."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    Learner,
    Role,
)
from proctor.kernel.authz import Actor
from proctor.kernel.errors import NotFound

NOT_VISIBLE = "课程不存在或不在您的可见范围内"


@dataclass(frozen=True)
class Viewer:
    """Whose eyes a catalog query uses: an org path, and whether it is staff."""

    path: str
    staff: bool
    learner_id: int | None = None


def ancestor_paths(path: str) -> list[str]:
    """Every materialised path from the root down to ``path`` itself."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


async def viewer_of(session: AsyncSession, actor: Actor) -> Viewer:
    """A learner is placed by their learner record (moves update it); staff by their account."""
    if actor.role is not Role.LEARNER:
        return Viewer(actor.org_path, staff=True)
    if actor.learner_id is None:
        raise NotFound(NOT_VISIBLE)
    learner = await session.get(Learner, actor.learner_id)
    path = learner.org_path if learner is not None else actor.org_path
    return Viewer(path, staff=False, learner_id=actor.learner_id)


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """SQL filter: courses this viewer may see."""
    shared = and_(Course.owner_path.in_(ancestor_paths(viewer.path)), Course.published.is_(True))
    if not viewer.staff:
        return shared
    return or_(shared, Course.owner_path.startswith(viewer.path))


def is_visible(viewer: Viewer, course: Course) -> bool:
    """Python twin of :func:`visible_clause` for one loaded course."""
    if course.published and viewer.path.startswith(course.owner_path):
        return True
    return viewer.staff and course.owner_path.startswith(viewer.path)


def can_manage(actor: Actor, course: Course) -> bool:
    """The academy manages every course in its subtree; a city org admin its own local ones."""
    if actor.role is Role.ACADEMY_ADMIN:
        return actor.covers(course.owner_path)
    return actor.role is Role.ORG_ADMIN and course.owner_org_id == actor.org_id


async def load_visible(session: AsyncSession, viewer: Viewer, course_id: int) -> Course:
    """A course the viewer may see, or 404 (never saying whether it exists)."""
    course = await session.get(Course, course_id)
    if course is None or not is_visible(viewer, course):
        raise NotFound(NOT_VISIBLE)
    return course
