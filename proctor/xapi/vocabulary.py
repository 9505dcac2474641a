"""The IRIs of xAPI 1.0.3 and of the xAPI Video Profile that the statements use."""

from __future__ import annotations

XAPI_VERSION = "1.0.3"

VIDEO_PROFILE = "https://w3id.org/xapi/video"
PROFILE_TYPE = "http://adlnet.gov/expapi/activities/profile"

VERBS = {
    "initialized": "http://adlnet.gov/expapi/verbs/initialized",
    "played": "https://w3id.org/xapi/video/verbs/played",
    "paused": "https://w3id.org/xapi/video/verbs/paused",
    "seeked": "https://w3id.org/xapi/video/verbs/seeked",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "terminated": "http://adlnet.gov/expapi/verbs/terminated",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "voided": "http://adlnet.gov/expapi/verbs/voided",
}

VIDEO_TYPE = "https://w3id.org/xapi/video/activity-type/video"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
ASSESSMENT_TYPE = "http://adlnet.gov/expapi/activities/assessment"

_EXT = "https://w3id.org/xapi/video/extensions/"
# Result extensions.
TIME = _EXT + "time"
TIME_FROM = _EXT + "time-from"
TIME_TO = _EXT + "time-to"
PROGRESS = _EXT + "progress"
PLAYED_SEGMENTS = _EXT + "played-segments"
# Context extensions.
LENGTH = _EXT + "length"
COMPLETION_THRESHOLD = _EXT + "completion-threshold"
SESSION_ID = _EXT + "session-id"
