"""The duty roster (值班表): which person holds a role in an org unit at a time.

A roster is a list of shifts ``(role, org unit, person, from, to)``; the org unit code
``*`` stands for every unit of its level (``point.*.monitor``: the monitor of any
hazard point without a shift of its own). :meth:`Roster.who` answers a lookup; an
unfilled post is not an error here — the planner passes the step on to the next role
of its chain and records it (rule ``ROSTER-UNFILLED``).

The file schema (YAML; a CSV with the same columns ``role, org, person, from, to`` is
read by :mod:`warn.command.loading`) is :class:`RosterFile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from pydantic import AwareDatetime, Field, model_validator

from warn.command.model import OrgUnit, Post, Role
from warn.declarative import Strict
from warn.vocab import OrgLevel

#: Code standing for every org unit of a level.
ANY_UNIT = "*"


@dataclass(frozen=True)
class Shift:
    """``person`` holds ``post`` from ``start`` (inclusive) to ``end`` (exclusive), UTC-aware."""

    post: Post
    person: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Roster:
    """A duty roster: shifts, looked up by post and time."""

    shifts: tuple[Shift, ...] = ()

    def who(self, role: Role, org_unit: OrgUnit, at: datetime) -> str | None:
        """Return the person holding ``role`` in ``org_unit`` at ``at``; ``None`` when nobody does.

        A shift of the unit itself wins over a ``*`` shift of its level; among several
        shifts of one kind, the one that started last.
        """
        by_post = self._by_post
        for post in (Post(org_unit, role), Post(OrgUnit(org_unit.level, ANY_UNIT), role)):
            found = [s for s in by_post.get(post, ()) if s.start <= at < s.end]
            if found:
                return max(found, key=lambda s: s.start).person
        return None

    @cached_property
    def _by_post(self) -> dict[Post, list[Shift]]:
        """The shifts of each post, in roster order (built on the first lookup)."""
        found: dict[Post, list[Shift]] = {}
        for shift in self.shifts:
            found.setdefault(shift.post, []).append(shift)
        return found

    def posts(self, person: str, at: datetime) -> tuple[Post, ...]:
        """Return the posts ``person`` holds at ``at`` (their shifts covering it), in roster order."""
        return tuple(dict.fromkeys(s.post for s in self.shifts if s.person == person and s.start <= at < s.end))

    def people(self) -> frozenset[str]:
        """Everyone the roster names, at any time (for ``warn check`` and issuing tokens)."""
        return frozenset(s.person for s in self.shifts)

    def covers(self, role: Role, level: OrgLevel) -> bool:
        """Whether any shift names ``role`` at org level ``level`` (for ``warn check``)."""
        return any(s.post.role is role and s.post.org.level is level for s in self.shifts)


class ShiftSpec(Strict):
    """One shift of the roster file."""

    role: Role
    org: str = Field(pattern=r"^(district|town|community|grid|point)\.([A-Za-z0-9-]+|\*)$",
                     description="org level and unit code: district.500112, town.DEMO-T01, point.*")
    person: str = Field(min_length=1)
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> ShiftSpec:
        if self.to <= self.from_:
            raise ValueError(f"'to' after 'from' (from {self.from_.isoformat()}, to {self.to.isoformat()})")
        return self

    def shift(self) -> Shift:
        """Return the frozen shift."""
        level, code = self.org.split(".", 1)
        return Shift(Post(OrgUnit(OrgLevel(level), code), self.role), self.person, self.from_, self.to)


class RosterFile(Strict):
    """A roster file: where the names come from, and the shifts."""

    source: str = Field(min_length=1)
    shifts: list[ShiftSpec] = Field(min_length=1)

    def roster(self) -> Roster:
        """Return the frozen roster."""
        return Roster(tuple(s.shift() for s in self.shifts))
