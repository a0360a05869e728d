"""The people directory: the org tree, persons and their contact points, standing posts, points' communities.

Contact points are personal data: they stay in the directory files and the store, and reach only the
channels that deliver to their person; logs, CAP messages and reports name a person by name and post.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ContactKind(StrEnum):
    """A kind of contact point: a mainland mobile number, a DingTalk/渝快政 user id, a WeCom user id, an e-mail."""

    MOBILE = "mobile"
    DINGTALK = "dingtalk"
    WECOM = "wecom"
    EMAIL = "email"


@dataclass(frozen=True)
class Contacts:
    """A person's contact points; ``None`` where they have none."""

    mobile: str | None = None
    dingtalk: str | None = None
    wecom: str | None = None
    email: str | None = None

    def get(self, kind: ContactKind) -> str | None:
        """Return the contact point of ``kind``, ``None`` when the person has none."""
        value: str | None = getattr(self, kind.value)
        return value
