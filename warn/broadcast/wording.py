"""INTERIM (replaced at merge by the templates module): the words of a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warn.vocab import Audience, Level


@dataclass(frozen=True)
class Place:
    name: str
    kind_zh: str
    level: Level


@dataclass(frozen=True)
class Notice:
    hazard: str
    level: Level
    audience: Audience
    issuer: str
    sent: datetime
    until: datetime
    area: str
    places: tuple[Place, ...]
    expected: str = ""
    reference: str = ""
    relayed_from: str = ""


@dataclass(frozen=True)
class Wording:
    headline_zh: str
    description_zh: str
    instruction_zh: str
    headline_en: str
    description_en: str
    instruction_en: str
    sms: str
    rich: str


def word(notice: Notice, templates: object) -> Wording:
    what = f"{notice.area}{notice.hazard}{notice.level.zh}预警"
    return Wording(what, what, "注意防范。", f"{notice.hazard} warning", f"{notice.hazard} warning", "Take care.",
                   what[:60], what)
