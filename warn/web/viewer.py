"""Who is looking: the person behind a request to the centre's pages or API, and what they may see.

The gate (:mod:`warn.web.auth`) establishes a :class:`Viewer` for every request that needs one — from a
session cookie (the pages) or a bearer token (the API) — and puts it on ``request.state.viewer``; the routes
read it with :func:`viewer`. What a viewer sees is bounded by the town(s) their posts lie in, found through
the org tree (:func:`scope_of`): a district post sees the whole district, a town, community, grid or point
post only its town's items. A token may be narrowed further when it is issued (:func:`narrowed`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from warn.command.model import OrgUnit
from warn.command.org import OrgTree
from warn.command.roster import Roster
from warn.vocab import OrgLevel


@dataclass(frozen=True)
class Viewer:
    """A person looking at the centre's pages or calling its API.

    Attributes
    ----------
    person
        Their name, as the roster and the directory spell it.
    towns
        The towns/streets (codes, ``DEMO-T03``) whose items they may see and act on; ``None``: the whole
        district (a district post).
    via
        How they were established: ``session`` (a login in the browser), ``token`` (an API bearer token).
    address
        The client address of the request (for the timeline).
    """

    person: str
    towns: frozenset[str] | None
    via: str
    address: str

    def sees(self, town: str | None) -> bool:
        """Whether an item of ``town`` is theirs to see; ``None``: a district item, seen by district viewers only."""
        if self.towns is None:
            return True
        return town is not None and town in self.towns


def viewer(request: Request) -> Viewer:
    """The viewer the gate established for ``request`` (the gate refuses a request without one first)."""
    found = getattr(request.state, "viewer", None)
    if not isinstance(found, Viewer):
        raise RuntimeError(f"no viewer on {request.url.path}: the route is not behind the gate")
    return found


def town_of(org: OrgTree, unit: OrgUnit) -> str | None:
    """The town/street code ``unit`` lies in (itself for a town); ``None`` for the district or an unknown unit."""
    if unit.level is OrgLevel.TOWN:
        return unit.code
    town = org.ancestor(unit, OrgLevel.TOWN)
    return None if town is None else town.code


def scope_of(roster: Roster, org: OrgTree, person: str, at: datetime) -> frozenset[str] | None:
    """The towns ``person`` may see at ``at``: ``None`` (all) when they hold a district post, else the towns of
    their posts (empty when they hold none)."""
    return _towns((post.org for post in roster.posts(person, at)), org)


def narrowed(scope: frozenset[str] | None, units: Iterable[OrgUnit], org: OrgTree) -> frozenset[str] | None:
    """``scope`` narrowed to the towns of ``units`` (a token issued for some units only); no units: ``scope``."""
    units = tuple(units)
    wanted = _towns(units, org) if units else None
    if wanted is None:
        return scope
    return wanted if scope is None else scope & wanted


def _towns(units: Iterable[OrgUnit], org: OrgTree) -> frozenset[str] | None:
    """``None`` when any unit is the district, else the towns the units lie in."""
    towns: set[str] = set()
    for unit in units:
        if unit.level is OrgLevel.DISTRICT:
            return None
        town = town_of(org, unit)
        if town is not None:
            towns.add(town)
    return frozenset(towns)
