"""Dangers reported from below (险情上报 → 核实 → 分拨 → 处置 → 反馈): who verifies, who handles, the records.

A person below the district reports a danger from the phone page (a :class:`DangerReport`). The
planner (:mod:`warn.command.planner`) then

- records it (``DANGER-REPORT``) and asks the duty officer of the reporter's town to verify it (a
  :class:`~warn.command.model.AckKind.VERIFY` request ``danger/<id>/verify``, chain: the town leader,
  the district duty officer; :attr:`DangerParams.verify_within` per post). A reporter the org tree
  does not place in a town is verified by the district duty officer, then the leader on duty;
- on an answer that accepts it (属实) dispatches a task 处置险情 ``danger/<id>/task`` (``DANGER-DISPATCH``)
  to the responsible person of the reporter's community (the town duty officer when the tree knows
  no community above the reporter, or nobody holds the post), to be done within
  :attr:`DangerParams.handle_within`, with a hand-off request (``danger/<id>/task/handoff``) in
  ``verify_within``; its owner finishing it is the feedback (反馈), recorded by the store;
- on an answer that does not (不属实) closes it (``DANGER-UNFOUNDED``).

Every record names the report id. The state of each report is a :class:`Danger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from warn.command.model import DangerReport, OrgUnit, Post, RecordTimeline, Role, TimelineKind, label
from warn.command.org import OrgTree
from warn.vocab import OrgLevel


class DangerStatus(StrEnum):
    """Where a reported danger is: reported (being verified), verified (dispatched), unfounded (closed)."""

    REPORTED = "reported"
    VERIFIED = "verified"
    UNFOUNDED = "unfounded"


@dataclass(frozen=True)
class DangerParams:
    """Deadlines of a reported danger (config.yaml ``command.dangers``).

    Attributes
    ----------
    verify_within
        Time each post of the verification chain has to answer, and the handler has to take the task.
    handle_within
        Time from the dispatch to the task's due time.
    """

    verify_within: timedelta = timedelta(minutes=30)
    handle_within: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class Danger:
    """A reported danger (the columns of the store's ``planner_dangers``).

    Attributes
    ----------
    id
        The report's id.
    org_unit
        The reporter's unit (``grid.DEMO-T03-C01-G1``).
    town
        Code of the reporter's town; ``None`` when the org tree does not place the unit in one.
    by, at
        Who reported it, when (UTC).
    what, place
        What they saw and where, in their words.
    status
        Reported, verified or unfounded.
    """

    id: str
    org_unit: str
    town: str | None
    by: str
    at: datetime
    what: str
    place: str
    status: DangerStatus = DangerStatus.REPORTED

    @property
    def verify_request(self) -> str:
        """Id of the request asking its town to verify it."""
        return f"danger/{self.id}/verify"

    @property
    def task(self) -> str:
        """Id of the task dispatched to handle it."""
        return f"danger/{self.id}/task"

    @property
    def subject(self) -> str:
        """What people read about it (险情 …)."""
        return f"险情 {self.id}：{self.what}" + (f"（{self.place}）" if self.place else "") + f"，{self.by} 上报"


def unit_of(text: str) -> OrgUnit | None:
    """Return the org unit written ``level.code`` (``grid.DEMO-T03-C01-G1``); ``None`` when it is not one."""
    level, _, code = text.partition(".")
    if not code or level not in OrgLevel.__members__.values():
        return None
    return OrgUnit(OrgLevel(level), code)


def received(event: DangerReport, org: OrgTree) -> Danger:
    """Return the danger ``event`` reports, placed in its town by the org tree."""
    unit = unit_of(event.org_unit)
    town = org.ancestor(unit, OrgLevel.TOWN) if unit is not None else None
    return Danger(event.report, event.org_unit, town.code if town else None, event.by, event.at, event.what,
                  event.place)


def verifiers(danger: Danger, district: str) -> tuple[Post, ...]:
    """Who verifies ``danger``, in order: its town's duty officer and leader, then the district duty officer."""
    centre = OrgUnit(OrgLevel.DISTRICT, district)
    if danger.town is None:
        return Post(centre, Role.DUTY_OFFICER), Post(centre, Role.LEADER_ON_DUTY)
    town = OrgUnit(OrgLevel.TOWN, danger.town)
    return Post(town, Role.DUTY_OFFICER), Post(town, Role.TOWN_LEADER), Post(centre, Role.DUTY_OFFICER)


def handlers(danger: Danger, org: OrgTree, district: str) -> tuple[Post, ...]:
    """Who handles ``danger``, in order: its community's responsible person, then who verifies it."""
    unit = unit_of(danger.org_unit)
    community = org.ancestor(unit, OrgLevel.COMMUNITY) if unit is not None else None
    lead = (Post(community, Role.COMMUNITY_LEAD),) if community is not None else ()
    return (*lead, *verifiers(danger, district))


def record(danger: Danger, rule: str, at: datetime, incident: str | None, summary: str, *,
           actor: str = "warn", role: Role | None = None, org_unit: str | None = None) -> RecordTimeline:
    """Return the timeline entry of one step of ``danger`` (``rule``: DANGER-REPORT, -DISPATCH, -UNFOUNDED)."""
    return RecordTimeline(
        key=f"danger/{danger.id}/{rule.lower()}", at=at, incident=incident, rule_id=rule,
        label=label(rule, danger.id), actor=actor, role=role, org_unit=org_unit or danger.org_unit,
        entry=TimelineKind.DANGER, summary=summary,
        details={"report": danger.id, "by": danger.by, "org_unit": danger.org_unit, "town": danger.town,
                 "what": danger.what, "place": danger.place, "status": str(danger.status)},
    )
