"""The people directory: the org tree, persons and their contact points, standing posts, points' communities.

Contact points are personal data: they stay in the directory files and the store, and reach only the
channels that deliver to their person; logs, CAP messages and reports name a person by name and post.

An operator exports the directory from the city platform in one of two forms with one schema
(:class:`DirectoryFile`), read by :func:`warn.command.loading.load_directory`:

- one JSON file ``{"source": …, "units": [...], "persons": [...], "posts": [...], "points": [...]}``;
- a folder of CSV files (UTF-8, a header row, an empty cell is an absent value): ``units.csv``
  (``code, level, name, parent``), ``persons.csv`` (``name, unit, mobile, dingtalk, wecom, email``),
  ``posts.csv`` (``role, org, person, from, to``), ``points.csv`` (``item_id, community, monitor,
  households, people``) and ``source.txt`` (one line: where it was exported from).

The sections:

``units``
    Every town/street, community/village and grid: ``code`` (unique; a town's code is its zone id in
    the towns layer, ``DEMO-T03``; communities and grids ``DEMO-T03-C01``, ``DEMO-T03-C01-G1``),
    ``level`` (``town``, ``community`` or ``grid``), ``name`` and ``parent`` — the code of the unit
    one level up; a town's parent is the district's code (GB/T 2260, ``500112``), which is implicit.
``persons``
    ``name`` (unique: the identity the roster and the timeline use), ``unit`` (the code of the
    person's home unit, the district's code for district staff) and the contact points, each
    optional: ``mobile`` (a mainland mobile number, 11 digits starting with 1), ``dingtalk`` (the
    DingTalk/渝快政 user id), ``wecom`` (the WeCom user id), ``email``. No two persons share a
    contact point.
``posts``
    Standing posts like the roster's shifts: ``role``, ``org`` (``community.DEMO-T03-C01``,
    ``grid.DEMO-T03-C01-G1``, ``point.DEMO-H001`` …, a unit the directory knows), ``person``, and
    ``from`` / ``to`` (ISO 8601 with a zone), each optional: a post without them is open-ended.
``points``
    Every hazard point, waterlogging point, river gauge and small catchment of the hazard layers:
    ``item_id``, ``community`` (the code of the community it lies in), ``monitor`` (the person who
    watches it, 群测群防员; optional) and the ``households`` and ``people`` it threatens. A point's
    monitor holds the standing post ``point.<item_id>.monitor``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import AwareDatetime, Field, model_validator

from warn.command.model import OrgUnit, Post, Role
from warn.command.org import OrgTree
from warn.command.roster import Shift
from warn.declarative import Strict
from warn.errors import Problem
from warn.vocab import OrgLevel

T = TypeVar("T")

#: A mainland mobile number: 11 digits starting with 1.
MOBILE = r"^1[0-9]{10}$"
#: A DingTalk/渝快政 or WeCom user id: a token of letters, digits and ``_ . @ -``.
USER_ID = r"^[A-Za-z0-9_.@-]{1,64}$"
#: An e-mail address, as far as a directory needs to tell one.
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
#: A unit's or a point's code.
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
#: The start and end of an open-ended post.
ALWAYS = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
#: The level one up from each level a unit of the directory may have.
LEVEL_ABOVE = {OrgLevel.TOWN: OrgLevel.DISTRICT, OrgLevel.COMMUNITY: OrgLevel.TOWN, OrgLevel.GRID: OrgLevel.COMMUNITY}


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


@dataclass(frozen=True)
class Person:
    """A person of the directory: their name (their identity), contact points and home unit."""

    name: str
    contacts: Contacts
    unit: OrgUnit


@dataclass(frozen=True)
class PointRecord:
    """A watched point (hazard point, waterlogging point, gauge, catchment): its community and monitor.

    Attributes
    ----------
    item_id
        The point's id in its hazard layer (``DEMO-H001``).
    community
        The community/village it lies in.
    monitor
        The person who watches it (群测群防员); ``None`` when nobody does.
    households, people
        Households and people it threatens (counts).
    """

    item_id: str
    community: OrgUnit
    monitor: str | None
    households: int
    people: int


@dataclass(frozen=True)
class Directory:
    """The people directory, loaded and cross-checked (:func:`warn.command.loading.load_directory`).

    Attributes
    ----------
    source
        Where it was exported from.
    persons
        Every person by name.
    org
        Every unit (town, community, grid) and every point (``point.<id>`` → its community), with names.
    posts
        Standing posts as shifts (open-ended ones from :data:`ALWAYS`), then each point's monitor.
    points
        Every watched point by item id.
    """

    source: str
    persons: Mapping[str, Person]
    org: OrgTree
    posts: tuple[Shift, ...]
    points: Mapping[str, PointRecord]

    def contacts(self, person: str) -> Contacts | None:
        """Return the contact points of ``person``; ``None`` for a name the directory does not know."""
        found = self.persons.get(person)
        return found.contacts if found is not None else None

    def person_by(self, kind: ContactKind, address: str) -> str | None:
        """Return the person whose contact point of ``kind`` is ``address`` (a callback's sender), or ``None``.

        A mobile number may come with the country code (``+8619900000001``, ``8619900000001``).
        """
        if kind is ContactKind.MOBILE and len(address) == 13 + address.startswith("+"):
            address = address.removeprefix("+").removeprefix("86")
        return next((p.name for p in self.persons.values() if p.contacts.get(kind) == address), None)


# --- the file schema ----------------------------------------------------------------------------


class UnitSpec(Strict):
    """One unit: a town/street, a community/village or a grid."""

    code: str = Field(pattern=CODE, description="unique code: a town's zone id, DEMO-T03-C01, DEMO-T03-C01-G1")
    level: Literal["town", "community", "grid"]
    name: str = Field(min_length=1)
    parent: str = Field(pattern=CODE, description="the code of the unit one level up (the district's for a town)")


class PersonSpec(Strict):
    """One person and their contact points (each optional)."""

    name: str = Field(min_length=1)
    unit: str = Field(pattern=CODE, description="the code of the home unit (the district's for district staff)")
    mobile: str | None = Field(None, pattern=MOBILE, description="mainland mobile number, 11 digits")
    dingtalk: str | None = Field(None, pattern=USER_ID, description="DingTalk/渝快政 user id")
    wecom: str | None = Field(None, pattern=USER_ID, description="WeCom user id")
    email: str | None = Field(None, pattern=EMAIL)

    def contacts(self) -> Contacts:
        """Return the frozen contact points."""
        return Contacts(self.mobile, self.dingtalk, self.wecom, self.email)


class PostSpec(Strict):
    """One standing post: open-ended without ``from`` / ``to``."""

    role: Role
    org: str = Field(pattern=r"^(district|town|community|grid|point)\.[A-Za-z0-9][A-Za-z0-9_-]*$",
                     description="org level and unit code: community.DEMO-T03-C01, point.DEMO-H001")
    person: str = Field(min_length=1)
    from_: AwareDatetime | None = Field(None, alias="from")
    to: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PostSpec:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError(f"'to' after 'from' (from {self.from_.isoformat()}, to {self.to.isoformat()})")
        return self

    def unit(self) -> OrgUnit:
        """Return the post's org unit."""
        level, code = self.org.split(".", 1)
        return OrgUnit(OrgLevel(level), code)

    def shift(self) -> Shift:
        """Return the post as a shift (from :data:`ALWAYS` where open)."""
        return Shift(Post(self.unit(), self.role), self.person, self.from_ or ALWAYS[0], self.to or ALWAYS[1])


class PointSpec(Strict):
    """One watched point: the community it lies in, its monitor, who it threatens."""

    item_id: str = Field(pattern=CODE, description="the point's id in its hazard layer")
    community: str = Field(pattern=CODE, description="the code of the community/village it lies in")
    monitor: str | None = Field(None, min_length=1, description="the person who watches it")
    households: int = Field(ge=0, description="households threatened")
    people: int = Field(ge=0, description="people threatened")


#: Where a problem of one row is: ``(section, row index, key)`` → ``(where, key)`` of a :class:`Problem`.
Locate = Callable[[str, int, str], tuple[str, str]]


class DirectoryFile(Strict):
    """A directory file (or folder of CSV files): its source, units, persons, posts and points."""

    source: str = Field(min_length=1)
    units: list[UnitSpec] = Field(min_length=1)
    persons: list[PersonSpec] = Field(min_length=1)
    posts: list[PostSpec] = Field(default_factory=list)
    points: list[PointSpec] = Field(default_factory=list)

    def district(self) -> str | None:
        """Return the district's code: the parent the towns name most (``None`` without towns)."""
        parents = Counter(u.parent for u in self.units if u.level == "town")
        return parents.most_common(1)[0][0] if parents else None

    def problems(self, locate: Locate, district: str) -> list[Problem]:
        """Return every cross-reference inside the directory that does not hold, located by ``locate``.

        Unit codes and person names are unique, every unit's parent exists one level up (a town's is
        ``district``), every person's home unit exists, no two persons share a contact point, every post
        names a person and a unit (or point) of the directory, every point a community and a person.
        """
        def at(section: str, index: int, key: str, expected: str, got: str, hint: str = "") -> Problem:
            return Problem(*locate(section, index, key), expected, got, hint)

        levels = {u.code: OrgLevel(u.level) for u in self.units} | {district: OrgLevel.DISTRICT}
        names = {p.name for p in self.persons}
        points = {p.item_id for p in self.points}
        problems = [at("units", i, "code", "a code no other unit (nor the district) has", repr(u.code))
                    for i, u in [*_repeated(self.units, lambda u: u.code),
                                 *((i, u) for i, u in enumerate(self.units) if u.code == district)]]
        for i, unit in enumerate(self.units):
            above, found = LEVEL_ABOVE[OrgLevel(unit.level)], levels.get(unit.parent)
            if found is not above or (above is OrgLevel.DISTRICT and unit.parent != district):
                what = f"the district's code {district}" if above is OrgLevel.DISTRICT else f"the code of a {above}"
                problems.append(at("units", i, "parent", f"{what} (one level above a {unit.level})", repr(unit.parent),
                                   f"that is a {found} unit" if found is not None else "no unit has that code"))
        problems += [at("persons", i, "name", "a name no other person has", repr(p.name))
                     for i, p in _repeated(self.persons, lambda p: p.name)]
        problems += [at("persons", i, "unit", "the code of a unit of the directory, or the district's", repr(p.unit))
                     for i, p in enumerate(self.persons) if p.unit not in levels]
        problems += [at("persons", i, kind.value, f"a {kind.value} no other person has", "one another person has too",
                        "每人的联系方式应唯一 / one contact point, one person") for kind, i in self._shared_contacts()]
        for i, post in enumerate(self.posts):
            org = post.unit()
            if not (org.code in points if org.level is OrgLevel.POINT else levels.get(org.code) is org.level):
                problems.append(at("posts", i, "org", "a unit or point of the directory", repr(post.org)))
            if post.person not in names:
                problems.append(at("posts", i, "person", "a person of persons", repr(post.person)))
        problems += [at("points", i, "item_id", "an id no other point has", repr(p.item_id))
                     for i, p in _repeated(self.points, lambda p: p.item_id)]
        for i, point in enumerate(self.points):
            if levels.get(point.community) is not OrgLevel.COMMUNITY:
                problems.append(at("points", i, "community", "the code of a community unit", repr(point.community)))
            if point.monitor is not None and point.monitor not in names:
                problems.append(at("points", i, "monitor", "a person of persons", repr(point.monitor)))
        return problems

    def _shared_contacts(self) -> list[tuple[ContactKind, int]]:
        """Return each contact point a person shares with an earlier one: its kind and the person's index."""
        found = []
        for kind in ContactKind:
            seen: set[str] = set()
            for index, person in enumerate(self.persons):
                value = person.contacts().get(kind)
                if value is not None and value in seen:
                    found.append((kind, index))
                seen.add(value or "")
        return found

    def directory(self, district: str) -> Directory:
        """Return the frozen directory (call after :meth:`problems` found none)."""
        level = {u.code: OrgLevel(u.level) for u in self.units} | {district: OrgLevel.DISTRICT}

        def unit(code: str) -> OrgUnit:
            return OrgUnit(level[code], code)

        points = {p.item_id: PointRecord(p.item_id, unit(p.community), p.monitor, p.households, p.people)
                  for p in self.points}
        parents = {unit(u.code): unit(u.parent) for u in self.units}
        parents |= {OrgUnit(OrgLevel.POINT, p.item_id): p.community for p in points.values()}
        monitors = tuple(Shift(Post(OrgUnit(OrgLevel.POINT, p.item_id), Role.MONITOR), p.monitor, *ALWAYS)
                         for p in points.values() if p.monitor is not None)
        return Directory(
            source=self.source,
            persons={p.name: Person(p.name, p.contacts(), unit(p.unit)) for p in self.persons},
            org=OrgTree(parents, {unit(u.code): u.name for u in self.units}),
            posts=tuple(p.shift() for p in self.posts) + monitors,
            points=points,
        )


def _repeated(rows: Sequence[T], key: Callable[[T], object]) -> list[tuple[int, T]]:
    """Return the rows (with their index) whose ``key`` an earlier row has already."""
    seen: set[object] = set()
    found = []
    for index, row in enumerate(rows):
        value = key(row)
        if value in seen:
            found.append((index, row))
        seen.add(value)
    return found
