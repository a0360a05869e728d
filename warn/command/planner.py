"""The planner: ``plan(state, events, now, setup=…) -> (state, actions)``.

Pure: no I/O, no clock, no database. ``cycle.py`` keeps the state, passes the events
of a cycle and the cycle's time, executes the returned actions and records them.

Events are taken in order. A :class:`LevelCrossing` updates its warning thread
(:mod:`warn.command.warnings`, recorded by a ``WarningChange``); the first warning of any hazard
opens the composite incident of the weather event (``INC-OPEN``, id ``INC-storm-<UTC time>``,
hazard :data:`~warn.vocab.STORM_INCIDENT`), which holds the threads of every hazard until the last
clears; every playbook whose trigger matches the thread starts a run (``PB-START``). After
each event, and at each :class:`Tick` and at ``now``, time advances: warnings past their
all-clear hold clear (an incident with no active warning of any hazard left closes,
``INC-CLOSE``), due steps whose condition holds are emitted (``PB-STEP``), unanswered
requests escalate (:mod:`warn.command.acks`), the mode
rules are reviewed (:mod:`warn.command.mode`), situation reports fall due
(:mod:`warn.command.reports`). Before the clock moves on, and at ``now``, the message threads
people read are reviewed (:mod:`warn.command.bulletins`: one per hazard, area and audience, a
``Broadcast`` when what they list changed, at most every ``min_interval`` unless a level rises).

The municipal centre's response (:class:`CityResponse`, read by the cycle from the city's store) goes to
:mod:`warn.command.mode` (``MODE-LINKED``). People's events: an :class:`AckAnswered` answers its request (an
accepted approval releases what waited for it); a :class:`ModeDecision` or :class:`ModeOrder` goes to
:mod:`warn.command.mode`; a :class:`ManualWarning` is recorded with who issued it
(``WARN-MANUAL``) and planned as its crossing, or — with an approver — recorded
(``WARN-MANUAL-ASK``) and held behind an approval request ``manual/<hazard>/<item>/<time>/approval``
(approver, then the commander) until it is approved (planned at the approval's time) or
refused (``WARN-MANUAL-REFUSED``). An answer needing support tells the post above
(``ACK-SUPPORT``, :mod:`warn.command.acks`). A :class:`DangerReport` is verified, dispatched or
closed (:mod:`warn.command.dangers`).

Playbook steps may fan out over the org tree (``Setup.org``) and cascade downwards after a call is
answered or its first deadline passes (:mod:`warn.command.playbooks`: ``owner: community.*.…``,
``after_answer``); a fan-out finding no unit is recorded (``ORG-EMPTY``), each cascade too
(``CASCADE``). Every notice, task, request and escalation of a step carries its warning's level.

Idempotency: every action's key comes from its cause, and the state remembers every key
emitted — an action whose key was emitted before is never returned again. Replaying
the same events through ``plan`` with the state it returned gives no action; a restart
from a stored state resumes a playbook where it was.

Org units in actions: ``district.<code>``, ``town.<zone id>``, ``community.<code>``, ``grid.<code>``,
``point.<point id>``. A fanned-out step's keys carry the addressed unit's code:
``<incident>/<run>/<step>/<unit code>/a0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypedDict

from warn.command import acks, bulletins, dangers, mode, reports
from warn.command.acks import AckRequest
from warn.command.bulletins import Bulletin, Publication
from warn.command.dangers import Danger, DangerParams, DangerStatus
from warn.command.mode import ModeParams, ModeState
from warn.command.model import (
    AckAnswered,
    AckKind,
    Action,
    Assignee,
    Channel,
    CityResponse,
    CloseIncident,
    CreateTask,
    DangerReport,
    Event,
    LevelCrossing,
    ManualWarning,
    ModeDecision,
    ModeOrder,
    Notify,
    OpenIncident,
    OrgUnit,
    Post,
    RecordTimeline,
    Role,
    Tick,
    TimelineKind,
    WarningChange,
    label,
)
from warn.command.org import OrgTree
from warn.command.playbooks import IN_COMMUNITY, Playbook, PostTemplate, Step, StepAction
from warn.command.reports import ReportDue, ReportParams, ReportState
from warn.command.roster import Roster
from warn.command.tracking import Dirty, ThreadIndex
from warn.command.warnings import WarningThread, apply_crossing, clear_due, thread_key
from warn.vocab import STORM_INCIDENT, STORM_INCIDENT_ZH, HazardName, ItemKind, Level, Mode, OrgLevel


def manual_proposal_key(approval: str) -> str:
    """Return the timeline key recording who proposed the manual warning approval request ``approval`` decides."""
    return f"{approval.removesuffix('/approval')}/warn-manual-ask"


#: How long the approver of a manual warning has before the request escalates to the commander.
MANUAL_APPROVAL_WAIT = timedelta(minutes=10)
#: How long the decider has to answer a mode proposal's approval request before it is recorded unanswered.
MODE_DECISION_WAIT = timedelta(minutes=15)


@dataclass(frozen=True)
class Setup:
    """What the planner is configured with (built from config.yaml by :mod:`warn.command.loading`).

    Attributes
    ----------
    district
        GB/T 2260 code of the district (``500112``).
    playbooks
        The validated playbooks.
    roster
        Who is on duty.
    mode
        Mode rules and switching settings.
    reports
        Situation-report deadlines.
    all_clear_hold
        How long a warning stays at level none before it is cleared.
    hazard_names
        The hazards' names for people by registry name (``{"landslide": "地质灾害"}``).
    publication
        Who reads which warnings, and how often a message may change.
    org
        The org tree below the district (the people directory's units): where steps fan out and
        calls go down.
    dangers
        Deadlines of reported dangers (verify, handle).
    """

    district: str
    playbooks: tuple[Playbook, ...]
    roster: Roster
    mode: ModeParams
    reports: ReportParams = ReportParams()
    all_clear_hold: timedelta = timedelta(hours=3)
    hazard_names: Mapping[str, str] = field(default_factory=dict)
    publication: Publication = Publication()
    org: OrgTree = OrgTree()
    dangers: DangerParams = DangerParams()

    def hazard_zh(self, hazard: HazardName) -> str:
        """Return the name people read for ``hazard`` (``地质灾害``); the registry name when none is given."""
        return self.hazard_names.get(hazard, hazard)

    @property
    def commander(self) -> Post:
        """The district commander's post (end of every chain)."""
        return Post(OrgUnit(OrgLevel.DISTRICT, self.district), Role.COMMANDER)


@dataclass(frozen=True)
class Incident:
    """An incident: id, hazard (:data:`~warn.vocab.STORM_INCIDENT`), when opened, when closed (``None`` while open)."""

    id: str
    hazard: HazardName
    opened_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Run:
    """A playbook running for one warning thread: which steps were emitted and when."""

    id: str
    playbook: str
    slot: str
    thread: str
    incident: str
    started_at: datetime
    emitted: Mapping[str, datetime] = field(default_factory=dict)
    ended: bool = False


@dataclass(frozen=True)
class State:
    """Everything the planner remembers between calls.

    The store keeps it; see the caveats in the package docstring. Treat the mappings as
    read-only: :func:`plan` returns new ones.
    """

    threads: Mapping[str, WarningThread] = field(default_factory=dict)
    incidents: Mapping[HazardName, Incident] = field(default_factory=dict)
    runs: Mapping[str, Run] = field(default_factory=dict)
    acks: Mapping[str, AckRequest] = field(default_factory=dict)
    manual: Mapping[str, LevelCrossing] = field(default_factory=dict)
    mode: ModeState = ModeState()
    reports: ReportState = ReportState()
    emitted: frozenset[str] = frozenset()
    clock: datetime | None = None
    bulletins: Mapping[str, Bulletin] = field(default_factory=dict)
    serial: int = 0
    instant: datetime | None = None
    instant_count: int = 0
    dangers: Mapping[str, Danger] = field(default_factory=dict)


def plan(state: State, events: Iterable[Event], now: datetime, *, setup: Setup) -> tuple[State, tuple[Action, ...]]:
    """Plan the actions that ``events`` and the passage of time to ``now`` call for.

    Parameters
    ----------
    state
        What was remembered (``State()`` at first).
    events
        Crossings, answers, decisions and ticks, in the order they happened.
    now
        The cycle's time (UTC); time advances to it after the events.
    setup
        Playbooks, roster, mode rules, report deadlines.

    Returns
    -------
    (state, actions)
        The new state, and the actions never emitted before, in order.
    """
    work = _Work(state, setup)
    for event in events:
        if isinstance(event, LevelCrossing):
            work.advance(event.at)
            work.crossing(event)
            work.advance(event.at)
        elif isinstance(event, AckAnswered):
            work.answer(event)
        elif isinstance(event, ModeDecision):
            work.decision(event)
            work.advance(event.at)
        elif isinstance(event, ModeOrder):
            work.order(event)
            work.advance(event.at)
        elif isinstance(event, ManualWarning):
            work.advance(event.crossing.at)
            work.manual_warning(event)
            work.advance(event.crossing.at)
        elif isinstance(event, DangerReport):
            work.advance(event.at)
            work.danger(event)
            work.advance(event.at)
        elif isinstance(event, CityResponse):
            work.advance(event.at)
            work.city(event)
            work.advance(event.at)
        elif isinstance(event, Tick):
            work.advance(event.now)
    work.advance(now)
    work.publish()
    return work.result()


class _Work:
    """The working copy of a state during one :func:`plan` call."""

    def __init__(self, state: State, setup: Setup) -> None:
        self.setup = setup
        self.threads = dict(state.threads)
        self.incidents = dict(state.incidents)
        self.runs = dict(state.runs)
        self.acks = dict(state.acks)
        self.manual = dict(state.manual)
        self.mode = state.mode
        self.reports = state.reports
        self.emitted = set(state.emitted)
        self.clock = state.clock
        self.bulletins = dict(state.bulletins)
        self.serial = state.serial
        self.instant, self.instant_count = state.instant, state.instant_count
        self.dangers = dict(state.dangers)
        self.actions: list[Action] = []
        self.index = ThreadIndex(self.threads, ((run_id, run.slot) for run_id, run in self.runs.items()))
        self.dirty = Dirty()

    def _thread(self, slot: str, thread: WarningThread) -> None:
        """Put ``thread`` in ``slot``: indexed, and it and its runs revisited at the next advance."""
        self.index.put(slot, self.threads.get(slot), thread)
        self.threads[slot] = thread
        self.dirty.slots.add(slot)
        self.dirty.runs.update(self.index.runs(slot))

    def result(self) -> tuple[State, tuple[Action, ...]]:
        state = State(self.threads, self.incidents, self.runs, self.acks, self.manual, self.mode, self.reports,
                      frozenset(self.emitted), self.clock, self.bulletins, self.serial, self.instant,
                      self.instant_count, self.dangers)
        return state, tuple(self.actions)

    def emit(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if action.key not in self.emitted:
                self.emitted.add(action.key)
                self.actions.append(action)

    # --- events -----------------------------------------------------------------------------

    def crossing(self, event: LevelCrossing) -> None:
        slot = thread_key(event.hazard, event.item_id)
        thread, rule = apply_crossing(self.threads.get(slot), event)
        if rule is None or thread is None:
            return
        self._thread(slot, thread)
        if rule in ("WARN-RAISE", "WARN-UP"):
            self.mode = mode.note_trigger(self.mode, event.at)
        incident = self._incident(event.hazard, event.at)
        where = self._unit(thread)
        change = f"{Level(event.from_level).zh}→{thread.level.zh} L{int(event.from_level)}→L{int(thread.level)}"
        summary = (f"{self.setup.hazard_zh(thread.hazard)}预警 {thread.item_id}：{change}"
                   + (f"（{event.reason}）" if event.reason else ""))
        self.emit([RecordTimeline(
            key=f"{thread.id}/v{thread.version}/timeline", at=event.at, incident=incident.id, rule_id=rule,
            label=label(rule, change), actor="warn", role=None, org_unit=where, entry=TimelineKind.WARNING,
            summary=summary,
            details={"thread": thread.id, "version": thread.version, "level": int(thread.level),
                     "drivers": ", ".join(thread.drivers), "reason": event.reason},
        )])
        self.emit([WarningChange(
            key=f"{thread.id}/v{thread.version}/warning", at=event.at, incident=incident.id, rule_id=rule,
            label=label(rule, change), thread=thread.id, version=thread.version, hazard=thread.hazard,
            item_id=thread.item_id, level=thread.level,
        )])
        for playbook in self.setup.playbooks:
            run_id = f"{playbook.id}@{playbook.version}:{thread.id}"
            if run_id not in self.runs and playbook.matches(thread.hazard, thread.item_kind, thread.level):
                self.runs[run_id] = Run(run_id, playbook.id, slot, thread.id, incident.id, event.at)
                self.index.add_run(run_id, slot)
                self.dirty.runs.add(run_id)
                self.emit([RecordTimeline(
                    key=f"{incident.id}/{run_id}/start", at=event.at, incident=incident.id, rule_id="PB-START",
                    label=label("PB-START", f"{playbook.id} v{playbook.version}"), actor="warn", role=None,
                    org_unit=where, entry=TimelineKind.PLAYBOOK,
                    summary=f"启动预案 {playbook.title}：{thread.item_id} {thread.level.zh}",
                    details={"playbook": playbook.id, "version": playbook.version, "thread": thread.id},
                )])

    def answer(self, event: AckAnswered) -> None:
        req = self.acks.get(event.request)
        if req is None:
            return
        self.dirty.everything = True
        req, actions = acks.answer(req, event, self.setup.roster, self._above(req))
        self.acks[req.id] = req
        self.emit(actions)
        pending = self.mode.pending
        if actions and pending is not None and pending.id == req.id:
            self.decision(ModeDecision(proposal=req.id, by=event.by, role=event.role, accept=event.accepted,
                                       reason=f"经{event.channel}审批 decided through {event.channel}", at=event.at))
        danger = next((d for d in self.dangers.values() if d.verify_request == req.id), None)
        if danger is not None and actions and danger.status is DangerStatus.REPORTED:
            self._verified(danger, event)
        crossing = self.manual.pop(req.id, None) if actions else None
        if crossing is not None and event.accepted:
            self.advance(event.at)
            self.crossing(replace(crossing, at=event.at))
        elif crossing is not None:
            self._manual_record(req.id, "WARN-MANUAL-REFUSED", crossing, event.by, event.role, req.targets[req.index],
                                event.at, f"人工预警未获批准，不发布：{crossing.item_id} {crossing.to_level.zh}")

    def order(self, event: ModeOrder) -> None:
        self.dirty.everything = True
        before = self.mode
        self.mode, actions = mode.order(self.mode, event, self.setup.mode, self.threads.values())
        self.emit(actions)
        self._mode_changed(before, event.at, (event.by, event.role))

    def city(self, event: CityResponse) -> None:
        """Follow the municipal centre's response (``MODE-LINKED``, :func:`warn.command.mode.linked`)."""
        before = self.mode
        self.mode, actions = mode.linked(self.mode, event, self.setup.mode)
        if self.mode != before:
            self.dirty.everything = True
        self.emit(actions)
        self._mode_changed(before, event.at)

    def manual_warning(self, event: ManualWarning) -> None:
        """Record who issued a warning by hand; plan it now, or ask for approval first."""
        self.dirty.everything = True
        crossing = event.crossing
        request = f"manual/{crossing.hazard}/{crossing.item_id}/{crossing.at.isoformat()}"
        hazard = self.setup.hazard_zh(crossing.hazard)
        what = f"{hazard}预警 {crossing.item_id} {crossing.to_level.zh}：{crossing.reason}"
        if event.approver is None:
            if apply_crossing(self.threads.get(thread_key(crossing.hazard, crossing.item_id)), crossing)[1] is None:
                return  # it would change nothing: nothing is recorded
            self._manual_record(request, "WARN-MANUAL", crossing, event.by, event.role, None, crossing.at,
                                f"{event.by} 人工发布{what}", event.org_unit)
            self.crossing(crossing)
            return
        self._manual_record(request, "WARN-MANUAL-ASK", crossing, event.by, event.role, event.approver, crossing.at,
                            f"{event.by} 人工发布{what}，待 {event.approver} 审批", event.org_unit)
        if f"{request}/approval" not in self.acks:
            self.manual[f"{request}/approval"] = crossing
            self._ask(f"{request}/approval", AckKind.APPROVAL, None, f"人工发布{what}",
                      (event.approver, self.setup.commander), MANUAL_APPROVAL_WAIT, crossing.at, crossing.to_level)

    def _manual_record(self, request: str, rule: str, crossing: LevelCrossing, by: str, role: Role,
                       post: Post | None, at: datetime, summary: str, org_unit: str | None = None) -> None:
        self.emit([RecordTimeline(
            key=f"{request}/{rule.lower()}", at=at, incident=None, rule_id=rule,
            label=label(rule, f"{crossing.item_id} {crossing.to_level.zh}"), actor=by, role=role,
            org_unit=org_unit or (str(post.org) if post else f"district.{self.setup.district}"),
            entry=TimelineKind.WARNING, summary=summary,
            details={"hazard": str(crossing.hazard), "item": crossing.item_id, "level": int(crossing.to_level),
                     "text": crossing.reason, "approver": str(post) if post else None},
        )])

    def decision(self, event: ModeDecision) -> None:
        self.dirty.everything = True
        before = self.mode
        self.mode, actions = mode.decide(self.mode, event, self.setup.mode, self.threads.values())
        self.emit(actions)
        self._mode_changed(before, event.at, (event.by, event.role))

    # --- time -------------------------------------------------------------------------------

    def advance(self, t: datetime) -> None:
        """Move the clock to ``t``: all-clears, due steps, escalations, the mode rules, reports.

        Advancing to the time the clock already has, with the mode as it was, revisits only the
        slots, runs and requests changed since (:class:`warn.command.tracking.Dirty`).
        """
        t = t if self.clock is None else max(t, self.clock)
        if self.clock is not None and t > self.clock:
            self.publish()
        self.clock = t
        dirty = self.dirty
        full = dirty.full(t, (self.mode.mode, self.mode.since))
        for slot in Dirty.take(dirty.slots, self.threads, full, self.index.order):
            cleared = clear_due(self.threads[slot], t, self.setup.all_clear_hold)
            if cleared is not None:
                self._clear(slot, cleared)
        for run_id in Dirty.take(dirty.runs, self.runs, full):
            self._steps(run_id, t)
        for request in Dirty.take(dirty.requests, self.acks, full):
            req, actions = acks.tick(self.acks[request], t, self.setup.roster, self.setup.commander)
            self.acks[request] = req
            self.emit(actions)
        before = self.mode
        self.mode, actions = mode.review(self.mode, self.index.representatives(), t, self.setup.mode)
        self.emit(actions)
        self._mode_changed(before, t)
        self.reports, due = reports.follow_ups(self.reports, t, self.setup.reports)
        self._report_tasks(due)

    def publish(self) -> None:
        """Review the message threads at the clock's time (:func:`warn.command.bulletins.review`)."""
        if self.clock is None:
            return
        open_id = self._open_incident()
        earlier = self.instant_count if self.instant == self.clock else 0
        self.bulletins, issued, self.serial = bulletins.review(
            self.bulletins, self.threads.values(), self.clock, rules=self.setup.publication,
            district=self.setup.district, incident=open_id, serial=self.serial, earlier=earlier,
            names=self.setup.hazard_names)
        if issued:
            self.instant, self.instant_count = self.clock, earlier + len(issued)
        self.emit(issued)

    def _clear(self, slot: str, thread: WarningThread) -> None:
        self._thread(slot, thread)
        at = thread.cleared_at
        assert at is not None, "only a cleared thread is cleared"
        incident = self.incidents[STORM_INCIDENT]
        hazard = self.setup.hazard_zh(thread.hazard)
        summary = f"{hazard}预警 {thread.item_id} 解除（无预警持续 {self.setup.all_clear_hold}）"
        common = _ActionFields(at=at, incident=incident.id, rule_id="WARN-CLEAR",
                               label=label("WARN-CLEAR", thread.item_id))
        self.emit([
            RecordTimeline(key=f"{thread.id}/v{thread.version}/timeline", **common, actor="warn", role=None,
                           org_unit=self._unit(thread), entry=TimelineKind.WARNING, summary=summary,
                           details={"thread": thread.id, "version": thread.version}),
            WarningChange(key=f"{thread.id}/v{thread.version}/warning", **common, thread=thread.id,
                          version=thread.version, hazard=thread.hazard, item_id=thread.item_id, level=Level.NONE,
                          cleared=True),
        ])
        for run_id in self.index.runs(slot):
            run = self.runs[run_id]
            if run.thread == thread.id:
                self.runs[run_id] = replace(run, ended=True)
        if not self.index.active:
            self.incidents[STORM_INCIDENT] = replace(incident, closed_at=at)
            text = f"{STORM_INCIDENT_ZH}事件关闭：全部预警已解除（最后解除：{hazard} {thread.item_id}）"
            self.emit([
                CloseIncident(key=f"{incident.id}/close", at=at, incident=incident.id, rule_id="INC-CLOSE",
                              label=label("INC-CLOSE", incident.id), hazard=STORM_INCIDENT),
                RecordTimeline(key=f"{incident.id}/close/timeline", at=at, incident=incident.id, rule_id="INC-CLOSE",
                               label=label("INC-CLOSE", incident.id), actor="warn", role=None,
                               org_unit=f"district.{self.setup.district}", entry=TimelineKind.INCIDENT, summary=text,
                               details={"hazard": STORM_INCIDENT, "last": str(thread.hazard)}),
            ])

    def _incident(self, hazard: HazardName, at: datetime) -> Incident:
        """Return the composite incident open now; ``hazard``'s first warning opens one when none is."""
        current = self.incidents.get(STORM_INCIDENT)
        if current is not None and current.closed_at is None:
            return current
        incident = Incident(f"INC-{STORM_INCIDENT}-{at.strftime('%Y%m%dT%H%MZ')}", STORM_INCIDENT, at)
        self.incidents[STORM_INCIDENT] = incident
        text = f"{STORM_INCIDENT_ZH}事件开启（首个预警：{self.setup.hazard_zh(hazard)}）"
        self.emit([
            OpenIncident(key=f"{incident.id}/open", at=at, incident=incident.id, rule_id="INC-OPEN",
                         label=label("INC-OPEN", incident.id), hazard=STORM_INCIDENT),
            RecordTimeline(key=f"{incident.id}/open/timeline", at=at, incident=incident.id, rule_id="INC-OPEN",
                           label=label("INC-OPEN", incident.id), actor="warn", role=None,
                           org_unit=f"district.{self.setup.district}", entry=TimelineKind.INCIDENT, summary=text,
                           details={"hazard": STORM_INCIDENT, "first": str(hazard)}),
        ])
        return incident

    # --- playbook steps ---------------------------------------------------------------------

    def _steps(self, run_id: str, t: datetime) -> None:
        run = self.runs[run_id]
        thread = self.threads[run.slot]
        if run.ended or thread.id != run.thread:
            return
        playbook = next(p for p in self.setup.playbooks if f"{p.id}@{p.version}:{thread.id}" == run_id)
        emitted = dict(run.emitted)
        progress = True
        while progress:
            progress = False
            for step in playbook.steps:
                if step.id in emitted:
                    continue
                if step.after_answer is not None:
                    progress |= self._cascade(playbook, step, run, thread, emitted, t)
                    continue
                at = self._due(step, run.started_at if step.after is None else emitted.get(step.after), thread, t)
                if at is not None:
                    emitted[step.id] = at
                    emitted.update(self._emit_step(playbook, step, run, thread, at))
                    progress = True
        if emitted != run.emitted:
            self.runs[run_id] = replace(run, emitted=emitted)

    def _due(self, step: Step, base: datetime | None, thread: WarningThread, t: datetime) -> datetime | None:
        """Return when ``step``, counting from ``base``, is emitted by ``t``.

        ``None`` while it is not due or its condition does not hold.
        """
        if (base is None or t < base + step.due
                or not step.applies(thread.level, self.mode.mode, dict(thread.attributes))):
            return None
        return min(t, max([base + step.due]
                          + [thread.as_of for c in step.condition if c.subject == "level"]
                          + [self.mode.since for c in step.condition
                             if c.subject == "mode" and self.mode.since is not None]))

    def _cascade(self, playbook: Playbook, step: Step, run: Run, thread: WarningThread,
                 emitted: dict[str, datetime], t: datetime) -> bool:
        """Emit the groups of an ``after_answer`` step whose call was answered or reached its first deadline.

        ``emitted`` gains ``<step>@<unit code>`` per unit above that cascaded on its own, ``<step>/<unit code>``
        per unit addressed, and ``<step>`` once the whole step is done. Returns whether anything was emitted.
        """
        call = next(s for s in playbook.steps if s.id == step.after_answer)
        assert call.ack is not None, "after_answer names an ack_request step (checked on load)"
        prefix = f"{run.incident}/{run.id}/{call.id}"
        # the call's requests by the unit they address, with when each was asked
        asked: dict[str, tuple[str, datetime]] = {}
        if call.owner.fans_out:
            for key, when in emitted.items():
                if key.startswith(f"{call.id}/"):
                    code = key.removeprefix(f"{call.id}/")
                    asked[code] = (f"{prefix}/{code}/a0", when)
        elif call.id in emitted:
            asked[""] = (f"{prefix}/a0", emitted[call.id])
        levels = list(OrgLevel)
        each = (bool(asked) and call.owner.fans_out and step.owner.fans_out
                and levels.index(step.owner.level) > levels.index(call.owner.level))
        groups: list[tuple[str, dict[str, tuple[str, datetime]], OrgUnit | None]]
        if each:
            groups = [(f"{step.id}@{code}", {code: request}, OrgUnit(call.owner.level, code))
                      for code, request in sorted(asked.items())]
        elif call.id in emitted:
            groups = [(step.id, asked, None)]
        else:
            return False
        progress = False
        for marker, requests, above in groups:
            if marker in emitted:
                continue
            triggers = [self._trigger(rid, when + call.ack, t) for rid, when in requests.values()]
            if None in triggers:
                continue
            base = max([x for x in triggers if x is not None], default=emitted.get(call.id))
            at = self._due(step, base, thread, t)
            if at is None:
                continue
            emitted[marker] = at
            if requests:  # a call that reached nobody was recorded (ORG-EMPTY); so is this step's fan-out
                self._record_cascade(playbook, step, run, [rid for rid, _ in requests.values()],
                                     above or self._area(thread), at)
            emitted.update(self._emit_step(playbook, step, run, thread, at, above))
            progress = True
        if call.id in emitted and step.id not in emitted and all(marker in emitted for marker, _, _ in groups):
            emitted[step.id] = max([emitted[marker] for marker, _, _ in groups], default=emitted[call.id])
            progress = True
        return progress

    def _trigger(self, request: str, first_deadline: datetime, t: datetime) -> datetime | None:
        """When ``request`` let the calls below it go: its answer, or its first deadline passing by ``t``."""
        req = self.acks.get(request)
        if req is None:
            return None
        if req.answer is not None:
            return min(req.answer.at, first_deadline)
        return first_deadline if t >= first_deadline else None

    def _record_cascade(self, playbook: Playbook, step: Step, run: Run, asked: list[str], area: OrgUnit,
                        at: datetime) -> None:
        """Record who cascaded to whom: the call(s) above, answered or not, and the posts now called."""
        reqs = [self.acks[rid] for rid in asked]
        answered = [r for r in reqs if r.answer is not None and r.answer.at <= at]
        if len(reqs) == 1:
            first = reqs[0].targets[0]
            how = (f"{answered[0].answer.by} 已应答" if answered and answered[0].answer is not None
                   else "首个时限已过未应答")
            source = f"{first}（{how}）"
        else:
            source = f"{step.after_answer}（{len(answered)}/{len(reqs)} 已应答，其余首个时限已过）"
        target = f"{step.owner}（{area}）" if step.owner.fans_out else str(step.owner)
        self.emit([RecordTimeline(
            key=f"{run.incident}/{run.id}/{step.id}/{area.code}/cascade", at=at, incident=run.incident,
            rule_id="CASCADE",
            label=label("CASCADE", f"{source} → {target}"), actor="warn", role=None, org_unit=str(area),
            entry=TimelineKind.PLAYBOOK, summary=f"{playbook.title} · 逐级叫应：{source} → {target}",
            details={"playbook": playbook.id, "step": step.id, "after": step.after_answer, "from": source,
                     "to": target, "answered": len(answered), "called": len(reqs)},
        )])

    def _emit_step(self, playbook: Playbook, step: Step, run: Run, thread: WarningThread, at: datetime,
                   above: OrgUnit | None = None) -> dict[str, datetime]:
        """Emit ``step`` (one action per addressed unit when it fans out, below ``above`` when given).

        Returns the run's marks of the units addressed (``<step>/<unit code>``: when).
        """
        prefix = f"{run.incident}/{run.id}/{step.id}"
        context = self._context(thread)
        if not step.owner.fans_out:
            self._emit_unit(playbook, step, run, thread, at, prefix, context, None)
            return {}
        area = above or self._area(thread)
        units = (area,) if area.level is step.owner.level else self.setup.org.below(area, step.owner.level)
        if not units:
            self._org_empty(playbook, step, run, thread, at, prefix + (f"@{above.code}" if above else ""), area,
                            step.owner)
            return {}
        for unit in units:
            self._emit_unit(playbook, step, run, thread, at, f"{prefix}/{unit.code}", context | self._place(unit),
                            unit)
        return {f"{step.id}/{unit.code}": at for unit in units}

    def _emit_unit(self, playbook: Playbook, step: Step, run: Run, thread: WarningThread, at: datetime,
                   prefix: str, context: Mapping[str, str], unit: OrgUnit | None) -> None:
        """Emit ``step`` for one addressed unit (``unit``; ``None`` when the step does not fan out)."""
        key = f"{prefix}/a0"
        resolved = step.owner.resolve(context, unit)
        if resolved is None:
            self._org_empty(playbook, step, run, thread, at, prefix, self._area(thread), step.owner)
            return
        targets = (resolved, *(p for p in (e.resolve(context) for e in step.escalate) if p is not None))
        text = step.text.format_map(_Fields(
            district=self.setup.district, town=context["town"], item=thread.item_id,
            hazard=self.setup.hazard_zh(thread.hazard), level=thread.level.colour, level_zh=thread.level.zh,
            drivers="、".join(thread.drivers) or "—", unit=self.setup.org.name(resolved.org),
            **{k: str(v) for k, v in thread.attributes}))
        common = _ActionFields(at=at, incident=run.incident, rule_id="PB-STEP",
                               label=label("PB-STEP", f"{playbook.id}.{step.phase}.{step.id}"))
        owner = targets[0]
        if step.action is StepAction.NOTIFY:
            assignee = self._assign(key, targets, at, run.incident)
            self.emit([Notify(key=key, **common, to=assignee, text=text, level=thread.level)])
            owner = assignee.post
        elif step.action is StepAction.TASK:
            assert step.within is not None, "a task step gives within (checked on load)"
            assignee = self._assign(key, targets, at, run.incident)
            self.emit([CreateTask(key=key, **common, task=key, owner=assignee, text=text, due=at + step.within,
                                  level=thread.level)])
            owner = assignee.post
            if step.ack is not None:
                self._ask(f"{key}/handoff", AckKind.TASK, run.incident, text,
                          targets[targets.index(owner):] if owner in targets else (owner,), step.ack, at, thread.level)
        elif step.action is StepAction.ACK_REQUEST:
            assert step.ack is not None, "an ack_request step gives ack (checked on load)"
            self._ask(key, AckKind.CALL, run.incident, text, targets, step.ack, at, thread.level)
        else:
            before = self.mode
            self.mode, actions = mode.propose(self.mode, Mode.WARTIME, step.response, "MODE-PROPOSE",
                                              f"{playbook.id}.{step.id} {text}", at, self.setup.mode)
            self.emit(actions)
            self._mode_changed(before, at)
        self.emit([RecordTimeline(
            key=f"{key}/timeline", **common, actor="warn", role=None, org_unit=str(owner.org),
            entry=TimelineKind.PLAYBOOK, summary=f"{playbook.title} · {step.id}（{step.action}）→ {owner}：{text}",
            details={"playbook": playbook.id, "version": playbook.version, "phase": step.phase, "step": step.id,
                     "action": str(step.action), "owner": str(owner), "thread": thread.id,
                     "level": int(thread.level)},
        )])

    def _org_empty(self, playbook: Playbook, step: Step, run: Run, thread: WarningThread, at: datetime,
                   prefix: str, area: OrgUnit, owner: PostTemplate) -> None:
        """Record that ``step`` found no unit to address in ``area`` (``ORG-EMPTY``)."""
        self.emit([RecordTimeline(
            key=f"{prefix}/org-empty", at=at, incident=run.incident, rule_id="ORG-EMPTY",
            label=label("ORG-EMPTY", f"{playbook.id}.{step.id} {owner}"), actor="warn", role=None,
            org_unit=str(area), entry=TimelineKind.ROSTER,
            summary=(f"{playbook.title} · {step.id}：组织架构中 {area} 无{owner.level.zh}可叫（{owner}），"
                     f"本步无人接收 no {owner.level} in the org tree for {owner}"),
            details={"playbook": playbook.id, "step": step.id, "owner": str(owner), "area": str(area),
                     "thread": thread.id, "level": int(thread.level)},
        )])

    def _context(self, thread: WarningThread) -> dict[str, str]:
        """Return the unit fields of a run: district, town, item and, for a point the tree places, its community."""
        context = {"district": self.setup.district, "town": thread.town or self.setup.district,
                   "item": thread.item_id}
        if thread.item_kind in IN_COMMUNITY:
            community = self.setup.org.ancestor(OrgUnit(OrgLevel.POINT, thread.item_id), OrgLevel.COMMUNITY)
            if community is not None:
                context["community"] = community.code
        return context

    def _place(self, unit: OrgUnit) -> dict[str, str]:
        """Return the unit fields of an addressed unit: its own town, community and grid, where the tree has them."""
        found = {level: self.setup.org.ancestor(unit, level)
                 for level in (OrgLevel.TOWN, OrgLevel.COMMUNITY, OrgLevel.GRID)}
        return {str(level): above.code for level, above in found.items() if above is not None}

    def _area(self, thread: WarningThread) -> OrgUnit:
        """Return the unit a fan-out addresses the units of: a point's community, a zone's town, else the district."""
        if thread.item_kind in IN_COMMUNITY:
            community = self.setup.org.ancestor(OrgUnit(OrgLevel.POINT, thread.item_id), OrgLevel.COMMUNITY)
            if community is not None:
                return community
        if thread.town:
            return OrgUnit(OrgLevel.TOWN, thread.town)
        return OrgUnit(OrgLevel.DISTRICT, self.setup.district)

    def _assign(self, key: str, targets: tuple[Post, ...], at: datetime, incident: str | None) -> Assignee:
        """Return the first post of ``targets`` with somebody on duty (the commander when none has).

        Every unfilled post passed over is recorded on the timeline.
        """
        roster = self.setup.roster
        for i, post in enumerate(targets):
            person = roster.who(post.role, post.org, at)
            if person is not None:
                return Assignee(post, person)
            following = targets[i + 1] if i + 1 < len(targets) else self.setup.commander
            self.emit([RecordTimeline(
                key=f"{key}/unfilled{i}/timeline", at=at, incident=incident, rule_id="ROSTER-UNFILLED",
                label=label("ROSTER-UNFILLED", f"{post} → {following}"), actor="warn", role=None,
                org_unit=str(post.org), entry=TimelineKind.ROSTER,
                summary=f"{post} 无人在岗，转 {following}", details={"post": str(post), "next": str(following)},
            )])
        commander = self.setup.commander
        return Assignee(commander, roster.who(commander.role, commander.org, at))

    def _ask(self, request: str, kind: AckKind, incident: str | None, subject: str, targets: tuple[Post, ...],
             wait: timedelta, at: datetime, level: Level = Level.NONE) -> None:
        if request in self.acks:
            return
        req, actions = acks.open_request(request, kind, incident, subject, targets, wait, at, self.setup.roster,
                                         self.setup.commander, level)
        self.acks[request] = req
        self.dirty.requests.add(request)
        self.emit(actions)

    def _above(self, req: AckRequest) -> Post:
        """Return where support goes after the last post of ``req``'s chain.

        Its town's duty officer for a post below the town, else the district duty officer (the commander for the
        district duty officer).
        """
        post = req.targets[min(req.index, len(req.targets) - 1)]
        centre = OrgUnit(OrgLevel.DISTRICT, self.setup.district)
        town = self.setup.org.ancestor(post.org, OrgLevel.TOWN) if post.org.level is not OrgLevel.DISTRICT else None
        options = [*([Post(town, Role.DUTY_OFFICER)] if town is not None else []), Post(centre, Role.DUTY_OFFICER),
                   self.setup.commander]
        return next(p for p in options if p != post)

    def _open_incident(self) -> str | None:
        """Return the id of the composite incident open now, ``None`` when none is."""
        current = self.incidents.get(STORM_INCIDENT)
        return current.id if current is not None and current.closed_at is None else None

    # --- reported dangers -------------------------------------------------------------------

    def danger(self, event: DangerReport) -> None:
        """Record a reported danger and ask its town to verify it (once per report id)."""
        if event.report in self.dangers:
            return
        self.dirty.everything = True
        danger = dangers.received(event, self.setup.org)
        self.dangers[danger.id] = danger
        incident = self._open_incident()
        entry = dangers.record(danger, "DANGER-REPORT", event.at, incident, f"险情上报：{danger.subject}",
                               actor=event.by, role=event.role)
        self.emit([replace(entry, details={**entry.details, "lon": event.lon, "lat": event.lat,
                                           "photo": event.photo})])
        self._ask(danger.verify_request, AckKind.VERIFY, incident, f"请核实{danger.subject}",
                  dangers.verifiers(danger, self.setup.district), self.setup.dangers.verify_within, event.at)

    def _verified(self, danger: Danger, event: AckAnswered) -> None:
        """Dispatch the task of a danger found true (``DANGER-DISPATCH``), or close one found untrue."""
        incident = self._open_incident()
        note = f"：{event.note}" if event.note else ""
        if not event.accepted:
            danger = replace(danger, status=DangerStatus.UNFOUNDED)
            self.dangers[danger.id] = danger
            self.emit([dangers.record(danger, "DANGER-UNFOUNDED", event.at, incident,
                                      f"险情核实不属实，关闭：{danger.subject}（{event.by} 核实{note}）",
                                      actor=event.by, role=event.role)])
            return
        danger = replace(danger, status=DangerStatus.VERIFIED)
        self.dangers[danger.id] = danger
        chain = dangers.handlers(danger, self.setup.org, self.setup.district)
        owner = self._assign(danger.task, chain, event.at, incident)
        due = event.at + self.setup.dangers.handle_within
        text = (f"处置险情 {danger.id}：{danger.what}" + (f"（{danger.place}）" if danger.place else "")
                + f"，{danger.by} 上报，{event.by} 核实属实{note}。处置后回报情况。"
                f"Handle reported danger {danger.id} and report back.")
        common = _ActionFields(at=event.at, incident=incident, rule_id="DANGER-DISPATCH",
                               label=label("DANGER-DISPATCH", f"{danger.id} → {owner.post}"))
        self.emit([
            CreateTask(key=danger.task, **common, task=danger.task, owner=owner, text=text, due=due),
            dangers.record(danger, "DANGER-DISPATCH", event.at, incident,
                           f"险情分拨：{danger.subject}，{event.by} 核实属实{note} → {owner.post}"
                           f"（{owner.person or '无人在岗'}），{due.isoformat()} 前处置",
                           org_unit=str(owner.post.org)),
        ])
        self._ask(f"{danger.task}/handoff", AckKind.TASK, incident, text,
                  chain[chain.index(owner.post):] if owner.post in chain else (owner.post,),
                  self.setup.dangers.verify_within, event.at)

    # --- mode and reports -------------------------------------------------------------------

    def _mode_changed(self, before: ModeState, at: datetime, by: tuple[str, Role] | None = None) -> None:
        """Follow a mode step: a new proposal asks the decider; a switch starts or ends the situation reports.

        ``by``: who decided or ordered at the desk (the CLI), closing the request of a proposal they settled.
        """
        self._decision_request(before, at, by)
        now = self.mode
        if before.mode is Mode.PEACETIME and now.mode is Mode.WARTIME:
            self.reports, due = reports.start(now.period, now.since or at, self.setup.reports)
            self._report_tasks(due)
            self.reports, due = reports.follow_ups(self.reports, at, self.setup.reports)
            self._report_tasks(due)
        elif before.mode is Mode.WARTIME and now.mode is Mode.PEACETIME:
            self.reports, due = reports.finish(self.reports, now.since or at, self.setup.reports)
            self._report_tasks(due)

    def _decision_request(self, before: ModeState, at: datetime, by: tuple[str, Role] | None) -> None:
        """Ask the decider's post to approve a new proposal; close the request of one settled at the desk.

        The approval request (``MODE_DECISION_WAIT``) reaches the decider on their channels and their answer
        decides the proposal (:meth:`answer`).
        """
        old, new = before.pending, self.mode.pending
        if new is not None and (old is None or old.id != new.id) and self.setup.mode.ask:
            target = f"{new.to_mode.zh}{'（' + new.response.zh + '）' if new.response else ''}"
            decider = Post(OrgUnit(OrgLevel.DISTRICT, self.setup.district), self.setup.mode.decider)
            self._ask(new.id, AckKind.APPROVAL, None, f"平急转换审批：建议转为{target}。{new.reason}", (decider,),
                      MODE_DECISION_WAIT, new.at)
        settled = old is not None and (new is None or new.id != old.id)
        if settled and by is not None and old is not None and old.id in self.acks and self.acks[old.id].waiting:
            self.answer(AckAnswered(request=old.id, by=by[0], role=by[1], channel=Channel.CLI, at=at,
                                    accepted=self.mode.mode is old.to_mode))

    def _report_tasks(self, due: list[ReportDue]) -> None:
        scribe = Post(OrgUnit(OrgLevel.DISTRICT, self.setup.district), Role.SCRIBE)
        chain = (scribe, Post(OrgUnit(OrgLevel.DISTRICT, self.setup.district), Role.LEADER_ON_DUTY))
        for report in due:
            owner = self._assign(report.key, chain, report.created, None)
            text = f"{report.title}：据时间线核对并报送（第 {self.reports.period} 次战时）"
            common = _ActionFields(at=report.created, incident=None, rule_id=report.rule_id,
                          label=label(report.rule_id, f"w{self.reports.period} #{report.number}"))
            self.emit([
                CreateTask(key=report.key, **common, task=report.key, owner=owner, text=text, due=report.due),
                RecordTimeline(key=f"{report.key}/timeline", **common, actor="warn", role=None,
                               org_unit=str(owner.post.org), entry=TimelineKind.REPORT,
                               summary=(f"{text}，{owner.post}（{owner.person or '无人在岗'}）"
                                        f"于 {report.due.isoformat()} 前"),
                               details={"report": report.key, "number": report.number,
                                        "due": report.due.isoformat()}),
            ])

    @staticmethod
    def _unit(thread: WarningThread) -> str:
        if thread.item_kind is ItemKind.POINT:
            return f"point.{thread.item_id}"
        return f"town.{thread.town}" if thread.town else f"district.{thread.item_id}"


class _ActionFields(TypedDict):
    """The fields every :class:`Action` carries beside its key, shared by the actions of one decision."""

    at: datetime
    incident: str | None
    rule_id: str
    label: str


class _Fields(dict[str, str]):
    """Text fields; an attribute the item does not carry reads 未知 (unknown), never breaks a step."""

    def __missing__(self, key: str) -> str:
        return "未知"
