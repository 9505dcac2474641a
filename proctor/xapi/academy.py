"""Who and what the statements name: the learner's pseudonymous account, activity ids, ids.

The learner appears only as an account on the academy's home page whose name is a keyed
hash of the learner's record id: no name, no identity number, nothing an LRS reader can
turn back into a person without the academy's secret. Statement ids are UUIDs derived from
what a statement describes, so the same record always yields the same id and an LRS that
already holds it recognises a resend.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Academy:
    """The academy as the statements name it."""

    homepage: str
    activities: str
    actor_key: bytes

    @classmethod
    def create(cls, homepage: str, activities: str, secret: str) -> Academy:
        """Derive the pseudonym key from the root secret (its own purpose string)."""
        root = hashlib.sha256(secret.encode()).digest()
        key = hmac.new(root, b"proctor-xapi-actor", hashlib.sha256).digest()
        return cls(homepage.rstrip("/"), activities.rstrip("/"), key)

    @property
    def namespace(self) -> uuid.UUID:
        """Statement ids are unique per academy: the activity base names the namespace."""
        return uuid.uuid5(uuid.NAMESPACE_URL, self.activities)

    def pseudonym(self, learner_id: int) -> str:
        """The learner's account name at the LRS (stable while the secret is)."""
        digest = hmac.new(self.actor_key, f"learner:{learner_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def actor(self, learner_id: int) -> dict[str, Any]:
        """The xAPI Agent for a learner, identified by an account only."""
        return {
            "objectType": "Agent",
            "account": {"homePage": self.homepage, "name": self.pseudonym(learner_id)},
        }

    def agent(self) -> dict[str, Any]:
        """The academy itself as an Agent: who voids a statement after a review's finding."""
        return {"objectType": "Agent", "account": {"homePage": self.homepage, "name": "academy"}}

    def uuid(self, *parts: object) -> str:
        """A deterministic UUID (version 5) for what ``parts`` name."""
        return str(uuid.uuid5(self.namespace, "/".join(str(p) for p in parts)))

    def course_iri(self, course_id: int) -> str:
        """Activity id of a course."""
        return f"{self.activities}/courses/{course_id}"

    def lesson_iri(self, course_id: int, lesson_id: int) -> str:
        """Activity id of a lesson video."""
        return f"{self.course_iri(course_id)}/lessons/{lesson_id}"

    def exam_iri(self, course_id: int, exam_id: int) -> str:
        """Activity id of a course's exam."""
        return f"{self.course_iri(course_id)}/exams/{exam_id}"
