"""Strict validation of statements with Ralph's xAPI models (its Video Profile templates).

Ralph's LRS endpoint accepts any statement with an actor, a verb and an object; its pydantic
models are the strict check: the profile's required extensions, verb ids, the video
activity type and the profile category.
"""

from __future__ import annotations

from typing import Any

import pytest

ralph_video = pytest.importorskip("ralph.models.xapi.video.statements")
ralph_base = pytest.importorskip("ralph.models.xapi.base.statements")

VIDEO_MODELS = {
    "initialized": ralph_video.VideoInitialized,
    "played": ralph_video.VideoPlayed,
    "paused": ralph_video.VideoPaused,
    "seeked": ralph_video.VideoSeeked,
    "completed": ralph_video.VideoCompleted,
    "terminated": ralph_video.VideoTerminated,
}


def validate(statement: dict[str, Any]) -> Any:
    """The Ralph model instance of a statement; raises pydantic's error when invalid."""
    kind = statement["verb"]["display"]["en-US"]
    model = VIDEO_MODELS.get(kind, ralph_base.BaseXapiStatement)
    # The LRS adds these; the models describe what the client sends.
    sent = {k: v for k, v in statement.items() if k not in ("stored", "authority", "version")}
    return model(**sent)
