"""What the desk says back: a refusal (:class:`Refused`) or what to tell the person (:class:`Told`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from warn.command.authority import Verdict
from warn.command.model import Post

#: How a face names the free-text fields of an act (``{"reason": "--reason"}``); unnamed: the field's own name.
Names = Mapping[str, str]


class Refused(Exception):  # noqa: N818 - a refusal said to a person, not a failure of the code
    """What a person asked cannot be done: an HTTP status and the reason, zh-CN and English.

    The status says what kind of refusal: 403 not allowed, 404 unknown, 409 not in this state, 422 bad
    input, 500 quarantined.
    """

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status, self.zh, self.en = status, zh, en


@dataclass(frozen=True)
class Told:
    """What to tell the person an act was done for, zh-CN and English."""

    zh: str
    en: str


def allowed(verdict: Verdict) -> Post:
    """The post of an allowed ``verdict``; :class:`Refused` (403) with its reason otherwise."""
    if verdict.post is None:
        raise Refused(403, verdict.zh, verdict.en)
    return verdict.post
