"""The national CAP profile, GB/T 35965.1-2018 (应急信息交互协议 第1部分：预警信息): identifiers and event codes.

**Identifier** (annex A, A.1.1–A.1.3, as quoted by public copies of the standard):
``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N``, 31 characters —

- ``ZZZZZZDDDUUUXX`` the issuing unit's code (A.1.2): ``ZZZZZZ`` the 6-digit administrative
  code (GB/T 2260), ``DDD`` the 3-digit sector code of the organisation (机构行业编码, GB/T
  4657), ``UUU`` the unit's internal second-level code (default ``000``), ``XX`` an extension
  (default ``00``);
- ``YYYYMMDDhhmmss`` the time the message was entered, Beijing time (A.1.3);
- ``N`` the serial number, 0–9, of messages of one unit entered in the same second.

Messages of the national release system show the pattern (``23062241600000_20200813132751``:
230622, 416 — the sector code every met-office message found carries —, 000, 00 — without the serial, which the standard's text
requires). The identifier contains only digits and ``_``, so it is a valid CAP identifier.

**Event codes**: ``national_events.yaml`` beside this module holds, per hazard, the event-type
code with its source, or ``code: null`` and why it could not be verified; only verified codes
are sent (:func:`event_codes`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import Field, model_validator

from warn.declarative import Strict, parse_file
from warn.errors import ConfigError, Problem, WarnError

#: China Standard Time (Beijing), the time zone of the identifier's time.
BEIJING = timezone(timedelta(hours=8))
#: The committed event-code file.
EVENTS_FILE = Path(__file__).with_name("national_events.yaml")
#: Length of an identifier by the standard.
IDENTIFIER_LENGTH = 31
#: An identifier of the national profile.
IDENTIFIER = re.compile(r"\d{14}_\d{14}_\d", re.ASCII)
_ADMIN = re.compile(r"\d{6}", re.ASCII)
_UNIT = re.compile(r"\d{3}(\d{5})?", re.ASCII)
_DEFAULT_REST = "000" + "00"  # UUU and XX when only the sector code DDD is given


def gbt_identifier(admin_code: str, unit_code: str, sent: datetime, serial: int) -> str:
    """The GB/T 35965.1 identifier of a message: ``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N``.

    Parameters
    ----------
    admin_code
        6-digit GB/T 2260 administrative code of the issuing unit (``500112``).
    unit_code
        The unit's ``DDDUUUXX`` (8 digits), or its 3-digit GB/T 4657 sector code ``DDD`` alone
        (``UUU`` and ``XX`` then take the standard's defaults ``000`` and ``00``).
    sent
        When the message was entered; timezone-aware (written in Beijing time, to the second).
    serial
        0–9: which of the unit's messages entered in the same second this is.

    Raises
    ------
    WarnError
        A code of the wrong shape, a naive time, or a serial outside 0–9 (each problem named).
    """
    where = "GB/T 35965.1 identifier"
    problems = []
    if not _ADMIN.fullmatch(admin_code):
        problems.append(Problem(where, "admin_code", "6 digits (GB/T 2260)", repr(admin_code)))
    if not _UNIT.fullmatch(unit_code):
        problems.append(Problem(where, "unit_code", "3 digits DDD (GB/T 4657) or 8 digits DDDUUUXX", repr(unit_code)))
    if sent.utcoffset() is None:
        problems.append(Problem(where, "sent", "a timezone-aware time", sent.isoformat()))
    if not 0 <= serial <= 9:
        problems.append(Problem(where, "serial", "0-9 (messages of one unit in one second)", str(serial)))
    if problems:
        raise WarnError(*problems)
    unit = unit_code if len(unit_code) == 8 else unit_code + _DEFAULT_REST
    return f"{admin_code}{unit}_{sent.astimezone(BEIJING):%Y%m%d%H%M%S}_{serial}"


class EventCode(Strict):
    """One hazard's national event-type code, or why there is none."""

    zh: str = Field(min_length=1)
    code: str | None = Field(pattern=r"^\d{2}[A-Z]\d{2}$")
    verified: bool
    source: str = ""
    why: str = ""

    @model_validator(mode="after")
    def _sourced(self) -> EventCode:
        if self.verified and (self.code is None or not self.source):
            raise ValueError("a verified code with its source (code and source set)")
        if not self.verified and not self.why:
            raise ValueError("why the code could not be verified (why: …)")
        return self


class EventsFile(Strict):
    """``national_events.yaml``."""

    version: int = Field(ge=1)
    standard: str = Field(min_length=1)
    value_name: str = Field(pattern=r"^[^\s,&<]+$")
    hazards: dict[str, EventCode]


def load_event_codes(path: Path = EVENTS_FILE) -> EventsFile:
    """Read and validate an event-code file (default the committed one).

    Raises
    ------
    ConfigError
        Naming the file and key: a verified code without a source, an unverified one without why.
    """
    return parse_file(EventsFile, path)


def event_codes(hazard: str, events: EventsFile) -> tuple[tuple[str, str], ...]:
    """CAP ``eventCode`` pairs (valueName, value) of ``hazard``: its national code when verified, else none.

    Raises
    ------
    ConfigError
        ``hazard`` has no entry in the file (every hazard must say what its code is, or why none).
    """
    entry = events.hazards.get(hazard)
    if entry is None:
        raise ConfigError(Problem(str(EVENTS_FILE.name), f"hazards.{hazard}", "an entry for the hazard "
                                  "(its code, or code: null and why)", "none"))
    return ((events.value_name, entry.code),) if entry.verified and entry.code else ()

