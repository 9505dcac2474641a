"""Course catalog (Art. 6, 7, 11): categories, courses, lessons, enrolments, special classes."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, Credits, IntPK, UTCDateTime, str_enum


class CourseKind(enum.StrEnum):
    """Required (必修) or elective (选修), Art. 11."""

    REQUIRED = "required"
    ELECTIVE = "elective"


class EnrolmentSource(enum.StrEnum):
    """How a learner came to be enrolled in a course."""

    SELF = "self"
    TRAINING_CLASS = "class"


class CourseCategory(Base):
    """One of the content categories the Organization Department sets (Art. 7)."""

    __tablename__ = "course_category"

    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    ordinal: Mapped[int] = mapped_column(default=0)


class Course(Base):
    """A course. Local courses belong to a city and are visible only in its subtree."""

    __tablename__ = "course"

    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("course_category.id"), index=True)
    kind: Mapped[CourseKind] = mapped_column(str_enum(CourseKind))
    # Lecture time in whole seconds; credits derive from it (Art. 12), not from lesson sums.
    lecture_seconds: Mapped[int]
    designated_credits: Mapped[Decimal | None] = mapped_column(Credits())
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    owner_path: Mapped[str] = mapped_column(String(255), index=True)
    lecturer: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when a published course is withdrawn for good; a draft has neither flag.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[CreatedAt]


class Lesson(Base):
    """A lecture video of a course."""

    __tablename__ = "lesson"

    id: Mapped[IntPK]
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    ordinal: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    duration_seconds: Mapped[int]
    video_url: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (UniqueConstraint("course_id", "ordinal"),)


class Enrolment(Base):
    """A learner's enrolment in a course (electives are chosen by the learner, Art. 11)."""

    __tablename__ = "enrolment"

    id: Mapped[IntPK]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    source: Mapped[EnrolmentSource] = mapped_column(str_enum(EnrolmentSource))
    training_class_id: Mapped[int | None] = mapped_column(ForeignKey("training_class.id"))
    enrolled_at: Mapped[CreatedAt]

    __table_args__ = (UniqueConstraint("learner_id", "course_id"),)


class TrainingClass(Base):
    """An online special training class (网上专题培训班) opened by an org department."""

    __tablename__ = "training_class"

    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[CreatedAt]


class TrainingClassCourse(Base):
    """A course in a special training class."""

    __tablename__ = "training_class_course"

    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), primary_key=True)


class TrainingClassMember(Base):
    """A learner enrolled in a special training class."""

    __tablename__ = "training_class_member"

    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), primary_key=True)
