"""What a hazard's warnings are in CAP 1.2: the ``category`` and ``event`` (light: no XML libraries)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """CAP ``category``."""

    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


@dataclass(frozen=True)
class Event:
    """What a hazard's warnings are in CAP: its ``category``, the ``event`` stem in both languages
    (the producer adds 预警 / warning) and extra ``eventCode`` pairs (valueName, value).

    Each hazard declares its own (:attr:`warn.hazards.spec.HazardSpec.cap`) with the source of
    every code it uses.
    """

    category: Category
    zh: str
    en: str
    codes: tuple[tuple[str, str], ...] = ()
