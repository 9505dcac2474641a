"""The SQLAlchemy data model of proctor. Imports nothing else of ours."""

from models.attendance import (
    HEARTBEAT_DEFAULT_PARTITION,
    Heartbeat,
    LessonProgress,
    SessionEvent,
    SessionSummary,
    StudySession,
    heartbeat_partition,
)
from models.audit import AuditEvent
from models.base import Base, cents_to_credits, utcnow
from models.catalog import (
    Course,
    CourseCategory,
    CourseKind,
    Enrolment,
    EnrolmentSource,
    Lesson,
    TrainingClass,
    TrainingClassCourse,
    TrainingClassMember,
)
from models.credits import CourseCompletion, CreditEntry, CreditKind, CreditSource, TargetGroup
from models.detection import DetectionFlag
from models.exams import (
    AttemptState,
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamEvent,
    ExamItem,
    ExamPairEvidence,
    ItemKind,
)
from models.jobs import JobRun
from models.media import MediaJob, MediaState
from models.org import Liaison, OrgLevel, OrgUnit
from models.people import Account, Learner, LoginSession, Role
from models.reminders import Reminder, ReminderDelivery
from models.reports import (
    MONTH_KINDS,
    EvaluationSnapshot,
    ReportCutoff,
    month_column,
    report_category,
    report_rollup,
    report_unit,
)
from models.review import CaseEvent, CaseState, ExcellenceBar, Finding, Notification, ReviewCase
from models.rosters import BatchStatus, RosterBatch, RosterRow
from models.xapi import XapiOutbox

__all__ = [
    "HEARTBEAT_DEFAULT_PARTITION",
    "MONTH_KINDS",
    "Account",
    "AttemptState",
    "AuditEvent",
    "Base",
    "BatchStatus",
    "CaseEvent",
    "CaseState",
    "Course",
    "CourseCategory",
    "CourseCompletion",
    "CourseKind",
    "CreditEntry",
    "CreditKind",
    "CreditSource",
    "DetectionFlag",
    "Enrolment",
    "EnrolmentSource",
    "EvaluationSnapshot",
    "Exam",
    "ExamAnswer",
    "ExamAttempt",
    "ExamEvent",
    "ExamItem",
    "ExamPairEvidence",
    "ExcellenceBar",
    "Finding",
    "Heartbeat",
    "ItemKind",
    "JobRun",
    "Learner",
    "Lesson",
    "LessonProgress",
    "Liaison",
    "LoginSession",
    "MediaJob",
    "MediaState",
    "Notification",
    "OrgLevel",
    "OrgUnit",
    "Reminder",
    "ReminderDelivery",
    "ReportCutoff",
    "ReviewCase",
    "Role",
    "RosterBatch",
    "RosterRow",
    "SessionEvent",
    "SessionSummary",
    "StudySession",
    "TargetGroup",
    "TrainingClass",
    "TrainingClassCourse",
    "TrainingClassMember",
    "XapiOutbox",
    "cents_to_credits",
    "heartbeat_partition",
    "month_column",
    "report_category",
    "report_rollup",
    "report_unit",
    "utcnow",
]
