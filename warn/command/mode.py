"""平急转换: peacetime ↔ wartime and the response level IV → I, with who decided and why.

Rules:

- ``MODE-PROPOSE``: in peacetime, a mode rule of the deployment matches (e.g.
  ``MODE-RED-ZONE`` any red zone, ``MODE-ORANGE-TOWNS`` three or more towns at orange
  or above): a proposal to switch to wartime at the rule's response level. The proposal
  names the matching rule (its id and label are in the reason).
- ``MODE-RAISE``: in wartime, a rule with a stronger response matches: a proposal to
  raise the response level.
- ``MODE-STEP-DOWN``: in wartime, no fresh trigger (a warning raised or going up) for
  ``max_quiet`` (default one day) and no warning active that refuses the stand-down (below):
  a proposal to stand down to peacetime — the all-clear, which is a decision like the
  switch. Held back by such a warning, it is proposed when the last of them goes below.
- ``MODE-STAND-DOWN-REFUSED``: a decision or order to go to peacetime while any warning
  thread at ``stand_down.refuse_while`` (default orange) or above is active is refused and
  recorded with the warnings it names; an accepted step-down proposal is withdrawn (proposed
  again once they are gone). ``MODE-OVERRIDE``: an order with ``override`` by the
  ``stand_down.override`` role (the commander) stands down anyway, the reason and the
  warnings on the timeline; an override by another role is ``MODE-NOT-AUTHORISED``.
- ``MODE-CHANGE``: the commander role accepts a proposal (:class:`ModeDecision`);
  ``MODE-REJECT``: rejects it — the same proposal is not made again until a fresh
  trigger (step-down: until another ``max_quiet``); ``MODE-NOT-AUTHORISED``: a decision
  by another role is recorded and ignored.
- ``MODE-ORDER``: the commander role orders a mode directly (:class:`ModeOrder`, ``warn
  mode``): a pending proposal to the same mode and response is accepted (``MODE-CHANGE``);
  another pending proposal is rejected as superseded (``MODE-REJECT``) and the order takes
  effect as a proposal of its own; an order by another role is recorded and ignored
  (``MODE-NOT-AUTHORISED``); an order to the current mode and response changes nothing.
- ``MODE-AUTO``: with automatic switching configured, a proposal takes effect at once.
- ``MODE-LINKED``: the municipal centre is in wartime at a response level above the district's
  (:class:`~warn.command.model.CityResponse`, 城市 → 区县 linked response): a proposal (or, when
  automatic, the change) to wartime at the city's level, the reason naming the city's order. Made
  once per order of the city: rejected, it is not made again until the city orders anew.
  ``MODE-LINKED-REFUSED``: while the city is at a level, a decision or order taking the district below
  it (peacetime, or a weaker response) is refused and recorded, and a step-down is not proposed.

One proposal is pending at a time; a decision names the proposal it decides, so a
replayed or stale decision changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from warn.command.model import (
    Action,
    ChangeMode,
    CityResponse,
    ModeDecision,
    ModeOrder,
    ProposeMode,
    RecordTimeline,
    Role,
    TimelineKind,
    label,
)
from warn.command.warnings import WarningThread
from warn.vocab import ItemKind, Level, Mode, ResponseLevel


@dataclass(frozen=True)
class ModeRule:
    """Propose wartime at ``response`` when enough places are under warning.

    Enough: ``places`` or more towns (the district counts as one place) have an active warning
    of an item of a kind in ``scope`` at ``level`` or above.
    """

    id: str
    label: str
    level: Level
    places: int
    scope: tuple[ItemKind, ...]
    response: ResponseLevel

    def matches(self, threads: Iterable[WarningThread], district: str) -> bool:
        """Whether the rule holds over the active ``threads``."""
        places = {t.town or district for t in threads
                  if t.active and t.level >= self.level and t.item_kind in self.scope}
        return len(places) >= self.places


@dataclass(frozen=True)
class StandDown:
    """When the step-down to peacetime is refused (``command.stand_down`` of config.yaml).

    Attributes
    ----------
    refuse_while
        Any active warning thread at this level or above refuses the stand-down.
    override
        The role that may stand down anyway, giving a reason that goes on the timeline.
    """

    refuse_while: Level = Level.ORANGE
    override: Role = Role.COMMANDER

    def blockers(self, threads: Iterable[WarningThread]) -> list[WarningThread]:
        """Return the active ``threads`` that refuse the stand-down, highest level first."""
        return sorted((t for t in threads if t.active and t.level >= self.refuse_while),
                      key=lambda t: (-t.level, t.hazard, t.item_id))


@dataclass(frozen=True)
class ModeParams:
    """Mode rules and switching settings (``command:`` of config.yaml).

    ``hazard_names`` are the hazards' names people read (``{"landslide": "地质灾害"}``), for the
    warnings a refused stand-down names. ``ask``: a proposal goes to the decider as an approval request
    that reaches them on their channels (``False``: it waits for a decision at the desk).
    """

    rules: tuple[ModeRule, ...]
    district: str
    automatic: bool = False
    max_quiet: timedelta = timedelta(hours=24)
    decider: Role = Role.COMMANDER
    stand_down: StandDown = StandDown()
    hazard_names: Mapping[str, str] = field(default_factory=dict)
    ask: bool = True

    def describe(self, threads: Sequence[WarningThread]) -> str:
        """Write the warnings ``threads`` as people read them: ``地质灾害 DEMO-T11 红色、…``."""
        return "、".join(f"{self.hazard_names.get(t.hazard, t.hazard)} {t.item_id} {t.level.zh}" for t in threads)


@dataclass(frozen=True)
class Proposal:
    """A pending proposal: id ``mode/p<n>``, target mode and response, the rule and reason, when."""

    id: str
    to_mode: Mode
    response: ResponseLevel | None
    rule_id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class ModeState:
    """The centre's mode.

    Attributes
    ----------
    mode, response
        Current mode; response level in wartime (``None`` in peacetime).
    since
        When the current mode took effect (``None``: peacetime from the start).
    last_trigger
        Time of the last fresh trigger (a warning raised or going up).
    pending
        The proposal awaiting a decision.
    proposals
        How many proposals were made (numbers the ids).
    period
        How many wartime periods began (numbers situation reports).
    settled_at
        When the last proposal was rejected or wartime stood down: wartime (or a stronger
        response) is proposed again only after a fresh trigger.
    held_at
        The last time a step-down that was due was held back by a warning that refuses it.
    city
        The municipal centre's order in force: its id, response level and readable form
        (``None``: the city is in peacetime, or not linked).
    linked
        The city's order the district last proposed (or switched) to follow (``MODE-LINKED``).
    """

    mode: Mode = Mode.PEACETIME
    response: ResponseLevel | None = None
    since: datetime | None = None
    last_trigger: datetime | None = None
    pending: Proposal | None = None
    proposals: int = 0
    period: int = 0
    settled_at: datetime | None = None
    held_at: datetime | None = None
    city: CityOrder | None = None
    linked: str | None = None


@dataclass(frozen=True)
class CityOrder:
    """The municipal centre's response in force: the order's id, its level, and how people read it."""

    order: str
    response: ResponseLevel
    text: str

    def holds_up(self, to_mode: Mode, response: ResponseLevel | None) -> bool:
        """Whether going to ``to_mode`` at ``response`` would take the district below this order."""
        return to_mode is Mode.PEACETIME or response is None or response < self.response


def note_trigger(state: ModeState, at: datetime) -> ModeState:
    """Remember a fresh trigger at ``at``."""
    if state.last_trigger is not None and state.last_trigger >= at:
        return state
    return replace(state, last_trigger=at)


def linked(state: ModeState, city: CityResponse, params: ModeParams) -> tuple[ModeState, list[Action]]:
    """Follow the municipal centre's ``city`` response (``MODE-LINKED``, module notes) at ``city.at``."""
    if city.mode is not Mode.WARTIME or city.response is None:
        return replace(state, city=None), []
    text = (f"市级（{city.city}）{city.decided_by} 决定{Mode.WARTIME.zh}（{city.response.zh}）"
            f"{city.decided_at.isoformat()}：{city.reason}（{city.order}）")
    state = replace(state, city=CityOrder(city.order, city.response, text))
    below = state.mode is Mode.PEACETIME or state.response is None or state.response < city.response
    if not below or state.linked == city.order or state.pending is not None:
        return state, []
    reason = f"{text}；区县响应不低于市级 the district follows the city's response {city.response.name}"
    after, actions = propose(state, Mode.WARTIME, city.response, "MODE-LINKED", reason, city.at, params)
    return (replace(after, linked=city.order) if actions else after), actions


def _held_up(state: ModeState, to_mode: Mode, response: ResponseLevel | None, by: str, role: Role, at: datetime,
             key: str, params: ModeParams) -> RecordTimeline | None:
    """Return the refusal of going below the city's order in force (``MODE-LINKED-REFUSED``), if it is below."""
    city = state.city
    if city is None or not city.holds_up(to_mode, response):
        return None
    target = f"{to_mode.zh}{'（' + response.zh + '）' if response else ''}"
    summary = (f"{by}（{role}）转为{target}未执行：低于市级响应 below the city's response {city.response.name}："
               f"{city.text}")
    return _record(params, key, at, "MODE-LINKED-REFUSED", target, by, role, summary,
                   {"to_mode": str(to_mode), "response": response.name if response else None,
                    "city_order": city.order, "city_response": city.response.name})


def review(state: ModeState, threads: Iterable[WarningThread], now: datetime,
           params: ModeParams) -> tuple[ModeState, list[Action]]:
    """Propose a switch, a stronger response or a step-down when a rule says so."""
    if state.pending is not None:
        return state, []
    threads = list(threads)
    matching = [r for r in params.rules if r.matches(threads, params.district)]
    if matching:
        rule = max(matching, key=lambda r: r.response)
        stronger = state.mode is Mode.PEACETIME or (state.response is not None and rule.response > state.response)
        fresh = state.settled_at is None or (state.last_trigger is not None and state.last_trigger > state.settled_at)
        if stronger and fresh:
            kind = "MODE-PROPOSE" if state.mode is Mode.PEACETIME else "MODE-RAISE"
            return propose(state, Mode.WARTIME, rule.response, kind, f"{rule.id} {rule.label}", now, params)
    if state.mode is Mode.WARTIME and state.city is None:
        quiet_from = max(t for t in (state.since, state.last_trigger, state.settled_at) if t is not None)
        due = quiet_from + params.max_quiet
        if now >= due:
            if params.stand_down.blockers(threads):
                return replace(state, held_at=now), []
            reason = f"自 {quiet_from.isoformat()} 起无新触发 no fresh trigger for {params.max_quiet}"
            held = state.held_at is not None and state.held_at >= due
            if held:
                reason += (f"，{params.stand_down.refuse_while.zh}及以上预警已全部解除 "
                           "the warnings that held it back are gone")
            return propose(state, Mode.PEACETIME, None, "MODE-STEP-DOWN", reason, now if held else due, params)
    return state, []


def propose(state: ModeState, to_mode: Mode, response: ResponseLevel | None, rule_id: str, reason: str,
            at: datetime, params: ModeParams) -> tuple[ModeState, list[Action]]:
    """Make a proposal (or, when automatic, the change itself); nothing if one is pending or it changes nothing."""
    if state.pending is not None or (to_mode is state.mode and (
            to_mode is Mode.PEACETIME or (response is not None and state.response is not None
                                          and response <= state.response))):
        return state, []
    n = state.proposals + 1
    proposal = Proposal(f"mode/p{n}", to_mode, response, rule_id, reason, at)
    state = replace(state, proposals=n, pending=proposal)
    if params.automatic:
        return _apply(state, proposal, "warn", None, "自动转换 automatic switching", at, "MODE-AUTO", params)
    target = f"{to_mode.zh}{'（' + response.zh + '）' if response else ''}"
    summary = f"建议转为{target}：{reason}，待{params.decider}决定"
    return state, [
        ProposeMode(key=proposal.id, at=at, incident=None, rule_id=rule_id, label=label(rule_id, target),
                    proposal=proposal.id, to_mode=to_mode, response=response, reason=reason, decide_by=params.decider),
        _record(params, f"{proposal.id}/timeline", at, rule_id, target, "warn", None, summary,
                {"proposal": proposal.id, "to_mode": str(to_mode), "response": response.name if response else None,
                 "reason": reason}),
    ]


def decide(state: ModeState, decision: ModeDecision, params: ModeParams,
           threads: Iterable[WarningThread]) -> tuple[ModeState, list[Action]]:
    """Apply the commander's decision on the pending proposal it names; ``threads``: the warnings now."""
    pending = state.pending
    if pending is None or decision.proposal != pending.id:
        return state, []
    if decision.role is not params.decider:
        summary = f"{decision.by}（{decision.role}）无权决定 {pending.id}，须由{params.decider}决定"
        key = f"{pending.id}/not-authorised/{decision.by}/{decision.at.isoformat()}"
        return state, [_record(params, key, decision.at, "MODE-NOT-AUTHORISED", pending.id, decision.by, decision.role,
                               summary, _decision_details(pending, decision))]
    refused = _held_up(state, pending.to_mode, pending.response, decision.by, decision.role, decision.at,
                       f"{pending.id}/linked-refused", params) if decision.accept else None
    if refused is not None:
        return replace(state, pending=None), [refused]
    blockers = params.stand_down.blockers(threads) if pending.to_mode is Mode.PEACETIME else []
    if decision.accept and blockers:
        state = replace(state, pending=None)
        return state, [_refuse_stand_down(params, f"{pending.id}/refused", decision.by, decision.role, decision.at,
                                          blockers, _decision_details(pending, decision))]
    return _settle(state, pending, decision, "MODE-CHANGE", params)


def _decision_details(pending: Proposal, decision: ModeDecision) -> dict[str, str | int | float | None]:
    return {"proposal": pending.id, "by": decision.by, "role": str(decision.role), "reason": decision.reason}


def _settle(state: ModeState, pending: Proposal, decision: ModeDecision, rule_id: str, params: ModeParams,
            overridden: Sequence[WarningThread] = ()) -> tuple[ModeState, list[Action]]:
    """Accept (``rule_id``) or reject the pending proposal as ``decision`` says."""
    if decision.accept:
        return _apply(state, pending, decision.by, decision.role, decision.reason, decision.at, rule_id, params,
                      overridden)
    details = _decision_details(pending, decision)
    summary = f"{decision.by}（{decision.role}）不同意 {pending.id}：{decision.reason}"
    state = replace(state, pending=None, settled_at=decision.at)
    return state, [_record(params, f"{pending.id}/rejected", decision.at, "MODE-REJECT", pending.id, decision.by,
                           decision.role, summary, details)]


def order(state: ModeState, event: ModeOrder, params: ModeParams,
          threads: Iterable[WarningThread]) -> tuple[ModeState, list[Action]]:
    """Apply a direct order (module notes, ``MODE-ORDER``, ``MODE-OVERRIDE``); ``threads``: the warnings now."""
    target = f"{event.to_mode.zh}{'（' + event.response.zh + '）' if event.response else ''}"
    details: dict[str, str | int | float | None] = {"to_mode": str(event.to_mode), "by": event.by,
                                                    "role": str(event.role), "reason": event.reason}
    who = f"{event.by}/{event.at.isoformat()}"
    if event.role is not params.decider:
        summary = f"{event.by}（{event.role}）无权下令转为{target}，须由{params.decider}决定"
        return state, [_record(params, f"mode/order/not-authorised/{who}", event.at, "MODE-NOT-AUTHORISED", target,
                               event.by, event.role, summary, details)]
    if event.to_mode is state.mode and event.response == state.response:
        return state, []
    refused = _held_up(state, event.to_mode, event.response, event.by, event.role, event.at,
                       f"mode/order/linked-refused/{who}", params)
    if refused is not None:
        return state, [refused]
    blockers = params.stand_down.blockers(threads) if event.to_mode is Mode.PEACETIME else []
    if blockers and not event.override:
        return state, [_refuse_stand_down(params, f"mode/order/refused/{who}", event.by, event.role, event.at, blockers,
                                          details)]
    if blockers and event.role is not params.stand_down.override:
        summary = (f"{event.by}（{event.role}）无权越过未解除的预警转为{target}，须由{params.stand_down.override}"
                   f"说明理由：{params.describe(blockers)}")
        return state, [_record(params, f"mode/order/not-authorised/{who}", event.at, "MODE-NOT-AUTHORISED", target,
                               event.by, event.role, summary, details)]
    rule_id = "MODE-OVERRIDE" if blockers else "MODE-ORDER"
    pending = state.pending
    actions: list[Action] = []
    if pending is not None:
        same = pending.to_mode is event.to_mode and pending.response == event.response
        why = event.reason if same else f"由直接命令取代 superseded by the order: {event.reason}"
        decision = ModeDecision(pending.id, event.by, event.role, same, why, event.at)
        state, actions = _settle(state, pending, decision, "MODE-OVERRIDE" if blockers else "MODE-CHANGE", params,
                                 blockers)
        if same:
            return state, actions
    n = state.proposals + 1
    proposal = Proposal(f"mode/p{n}", event.to_mode, event.response, rule_id, event.reason, event.at)
    state, applied = _apply(replace(state, proposals=n), proposal, event.by, event.role, event.reason, event.at,
                            rule_id, params, blockers)
    return state, [*actions, *applied]


def _refuse_stand_down(params: ModeParams, key: str, by: str, role: Role, at: datetime,
                       blockers: Sequence[WarningThread],
                       details: Mapping[str, str | int | float | None]) -> RecordTimeline:
    """Record a stand-down refused while ``blockers`` are active (``MODE-STAND-DOWN-REFUSED``)."""
    level = params.stand_down.refuse_while
    summary = (f"{by}（{role}）转为平时未执行：{level.zh}及以上预警未解除（{len(blockers)} 条）："
               f"{params.describe(blockers)}；待其解除，或由{params.stand_down.override}说明理由越过"
               f"（warn mode peacetime --override --reason …）")
    return _record(params, key, at, "MODE-STAND-DOWN-REFUSED", f"{len(blockers)}", by, role, summary,
                   {**details, "refuse_while": level.colour, "warnings": ", ".join(t.id for t in blockers)})


def _apply(state: ModeState, proposal: Proposal, by: str, role: Role | None, reason: str, at: datetime,
           rule_id: str, params: ModeParams,
           overridden: Sequence[WarningThread] = ()) -> tuple[ModeState, list[Action]]:
    before = state.mode
    period = state.period + (before is Mode.PEACETIME and proposal.to_mode is Mode.WARTIME)
    since = at if proposal.to_mode is not before else state.since
    settled = at if proposal.to_mode is Mode.PEACETIME else None
    state = replace(state, mode=proposal.to_mode, response=proposal.response, since=since, pending=None,
                    period=period, settled_at=settled)
    target = f"{proposal.to_mode.zh}{'（' + proposal.response.zh + '）' if proposal.response else ''}"
    summary = f"{before.zh} → {target}，{by} 决定：{reason}（{proposal.rule_id} {proposal.reason}）"
    if overridden:
        summary += f"；越过未解除的预警 {len(overridden)} 条：{params.describe(overridden)}"
    details: dict[str, str | int | float | None] = {
        "proposal": proposal.id, "from_mode": str(before), "to_mode": str(proposal.to_mode),
        "response": proposal.response.name if proposal.response else None, "decided_by": by,
        "proposed_by_rule": proposal.rule_id, "reason": reason}
    if overridden:
        details["overridden_warnings"] = ", ".join(t.id for t in overridden)
    return state, [
        ChangeMode(key=f"{proposal.id}/change", at=at, incident=None, rule_id=rule_id, label=label(rule_id, target),
                   proposal=proposal.id, from_mode=before, to_mode=proposal.to_mode, response=proposal.response,
                   decided_by=by, role=role, reason=reason),
        _record(params, f"{proposal.id}/change/timeline", at, rule_id, target, by, role, summary, details),
    ]


def _record(params: ModeParams, key: str, at: datetime, rule_id: str, detail: str, actor: str, role: Role | None,
            summary: str, details: Mapping[str, str | int | float | None]) -> RecordTimeline:
    return RecordTimeline(key=key, at=at, incident=None, rule_id=rule_id, label=label(rule_id, detail), actor=actor,
                          role=role, org_unit=f"district.{params.district}", entry=TimelineKind.MODE, summary=summary,
                          details=details)
