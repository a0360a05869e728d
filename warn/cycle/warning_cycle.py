"""One warning cycle at time ``at``: pull → score → crossings → plan/execute/publish → record.

:func:`run` is the single entry point of a cycle (DESIGN.md: ``cycle.run(at)``), live and in
replays alike. In order:

1. **Claim.** The cycle's row in ``cycles`` (:meth:`warn.store.Store.cycles`): a cycle
   already done at ``at`` is not run again (nothing is written; the report says
   ``repeated``); one left running by a killed process, or failed, runs again.
2. **Pull** (:func:`warn.cycle.inputs.pull`): the due forecast run, the sensor feeds — or
   the run handed in (``rain``: an archived run, a hindcast). With ``observed:``, the run is the
   one composed at the latest observed hour (:mod:`warn.cycle.now`), and every rain hazard's state is
   first advanced through the hours observed since the previous cycle's (a pass that saves the states
   and leaves the remembered levels alone); the drivers then say what the state and the leads follow.
3. **Score** every hazard of the deployment through one orchestrator
   (:func:`warn.cycle.hazards.score`), with ``persist=True``. A hazard that reads the run is
   not scored without one, which is a data outage, not "all clear". The official bulletins
   in force (OPERATIONS.md "Warning levels") go to the hazard they are about; a hazard
   judged only on the run and its official floors is rescored when either changed since the
   levels it has. The run's hourly rain per zone is recorded (``store.rain``) for the reports.
4. **Crossings.** Each item's ``now`` level is compared with its last one recorded before ``at``
   (``store.levels``: every cycle records the levels it produced at every lead, and per hazard
   the run and official floors they were scored from). A changed level is
   a :class:`~warn.command.model.LevelCrossing` (a crossing to ``unknown`` is passed on: the
   planner keeps the thread's level). An item seen for the first time crosses from
   ``none`` only when its level is blue or above.
5. **Command** (:func:`warn.cycle.command.advance`): the people's events from the inbox,
   the crossings and the clock are planned, executed and published; with ``anchors:`` in
   config.yaml the timeline's head is then signed and sent to the witnesses
   (:mod:`warn.cycle.anchoring`), a failure being one more data notice.
6. **Notices.** Data-quality and data-outage notices (a silent feed or sensor, a gauge
   without a stage, no forecast run) are kept in force in ``store.notices``, recorded on the
   timeline when they begin and end, and sent to the duty officers' channels (the
   non-public text channels) when they begin.
7. **Record.** The cycle's row is closed with its inputs and their age and its counts; a
   cycle that changed something also gets one timeline entry, key ``cycle/<at ISO>``.

A cycle that fails part-way is recorded ``failed`` with the error, and the error is
raised: every write before it was a whole transaction, and running the cycle again
repeats nothing (the baseline levels of a rerun are the ones the cycle started from,
and the store's idempotency keys keep every action, message and entry single).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import xarray as xr

from warn import hazards
from warn.command.model import LevelCrossing
from warn.command.planner import Setup
from warn.compute import Compute
from warn.config import Settings
from warn.cycle.anchoring import anchor_head
from warn.broadcast.channels import UCS2_LIMIT
from warn.broadcast.wording import sms_length
from warn.cycle.broadcast import TEXT_KINDS
from warn.cycle.command import advance
from warn.cycle.now import advance_state, keep
from warn.cycle.hazards import Item, Scores, floors_by_hazard, place, places, score
from warn.cycle.inputs import Inputs, Sources, pull
from warn.cycle.rain import record_zone_rain
from warn.rainarray import issued_at
from warn.risk.chunks import here
from warn.hazards.spec import ScoredItem
from warn.store import CycleStatus, LevelBasis, NewEntry, Store
from warn.store.levels import NOW, digest, stored_probability
from warn.store.levelsets import LevelSet
from warn.store.outbox import NewMessage
from warn.vocab import CapStatus, Level

#: Timeline entry kinds of a cycle's summary and of a data notice.
ENTRY_KIND = "cycle"
NOTICE_KIND = "notice"


@dataclass(frozen=True)
class CycleReport:
    """What one :func:`run` did.

    Attributes
    ----------
    at
        The cycle's time (UTC).
    key
        The timeline key of the cycle (``cycle/<at ISO>``).
    repeated
        The cycle had already been done: nothing was run or written.
    items
        Items scored (landslide + waterlogging).
    crossings
        The level crossings given to the planner.
    actions, applied, repeated_actions
        Actions planned, applied by the executor, and already recorded.
    messages
        Identifiers of the CAP messages recorded (and queued) by this cycle.
    notes, notices
        The scorers' notes (cold start, spin-up) and the data notices in force (stale
        sensors, gauges without a stage, no forecast).
    inputs
        The inputs used and their age (as recorded in ``cycles``).
    """

    at: datetime
    key: str
    repeated: bool = False
    items: int = 0
    crossings: tuple[LevelCrossing, ...] = ()
    actions: int = 0
    applied: int = 0
    repeated_actions: int = 0
    messages: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)


def cycle_key(at: datetime) -> str:
    """Timeline key of the cycle at ``at``."""
    return f"cycle/{_utc(at).isoformat()}"


def run(settings: Settings, store: Store, at: datetime, *, sources: Sources | None = None,
        rain: xr.DataArray | None = None, status: CapStatus = CapStatus.ACTUAL, sender: str,
        setup: Setup | None = None, compute: Compute | None = None) -> CycleReport:
    """Run one warning cycle at ``at``.

    Parameters
    ----------
    settings
        The deployment (layers, models, ``command``, channels).
    store
        A migrated store.
    at
        The cycle's time (timezone-aware; UTC is used).
    sources
        Where to pull the forecast run and sensor readings from (:func:`warn.cycle.inputs.open_sources`).
    rain
        Instead of ``sources``: the forecast run in hand (rainfall contract array with
        ``issued_at``), e.g. an archived run in a hindcast.
    status
        CAP status of the messages (``Exercise`` for drills and the demo).
    sender
        CAP ``sender``.
    setup
        The planner's setup; loaded from ``settings.command`` when ``None``.
    compute
        Where the gridded steps and an ensemble's members run (the service's, :mod:`warn.compute`);
        ``None``: in this process. The same levels either way.

    Returns
    -------
    CycleReport

    Raises
    ------
    ValueError
        Neither or both of ``sources`` and ``rain`` given, or ``at`` naive.
    WarnError, and any other error
        The cycle failed part-way; it is recorded ``failed`` with the error first.
    """
    if (sources is None) == (rain is None):
        raise ValueError("a cycle needs exactly one of sources (to pull from) and rain (a run in hand)")
    at = _utc(at)
    key = cycle_key(at)
    if store.cycles.begin(at) is CycleStatus.DONE:
        return CycleReport(at=at, key=key, repeated=True)
    inputs: Inputs | None = None
    try:
        inputs = pull(settings, store, sources, at, compute) if sources is not None else _in_hand(settings, rain, at)
        report = _cycle(settings, store, at, inputs, status=status, sender=sender, setup=setup, compute=compute)
    except Exception as err:
        store.cycles.fail(at, f"{type(err).__name__}: {err}", inputs=inputs.record if inputs else None)
        raise
    store.cycles.finish(at, inputs=report.inputs, items=report.items, crossings=len(report.crossings),
                        actions=report.actions, applied=report.applied, messages=len(report.messages))
    return report


def _cycle(settings: Settings, store: Store, at: datetime, inputs: Inputs, *, status: CapStatus, sender: str,
           setup: Setup | None, compute: Compute | None) -> CycleReport:
    """Steps 3–7 of :func:`run` on the pulled ``inputs``."""
    if setup is None:
        from warn.command.loading import load_setup

        setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                           roster_limit=settings.files.max_roster_bytes)
    bases = _bases(store, settings, at)
    run = _run_id(inputs)
    advanced = advance_state(settings, store, inputs.now, at, compute) if inputs.now is not None else []
    now, rain = inputs.now, inputs.rain  # a composed run: its composition's lines follow its hazards' drivers
    scores = score(settings, store, inputs, at, rescore=_rescored(settings, inputs, run, bases), compute=compute,
                   added=now.drivers if now is not None and rain is not None else None)
    if now is not None and rain is not None:
        keep(store, now, rain)
    items, notes, notices = scores.items, [*advanced, *scores.notes], scores.notices
    record_zone_rain(settings, store, inputs.rain, workers=compute or here)
    records = places(settings) if items else {}
    wanted = tuple(dict.fromkeys(a for playbook in setup.playbooks for a in playbook.attributes))
    before = _levels_before(store, at, items)
    crossings = tuple(c for item in items if (c := _crossing(item, before, at, records, wanted)) is not None)
    _save_levels(store, at, scores, run)
    planned = advance(store, settings, setup, crossings, at, status=status, sender=sender)
    notices = [*inputs.problems, *notices, *anchor_head(settings, store, at)]
    began = _notices(store, settings, at, notices, status)
    report = CycleReport(at=at, key=cycle_key(at), items=len(items), crossings=crossings,
                         actions=len(planned.actions), applied=planned.report.applied,
                         repeated_actions=planned.report.repeated, messages=planned.messages, notes=tuple(notes),
                         notices=tuple(notices), inputs=dict(inputs.record) | {"inbox": planned.inbox})
    if crossings or planned.report.applied or began:
        _record(store, settings, report)
    return report


def _in_hand(settings: Settings, rain: xr.DataArray, at: datetime) -> Inputs:
    """The inputs of a cycle given its run: the run's source and issue time, nothing polled — so the
    official warnings of the configured sources are unknown, not none."""
    issued = issued_at(rain)
    run = {"source": str(rain.attrs.get("source", "")), "issued": issued.isoformat()}
    record = {"forecast": run | {"age_min": round((at - issued).total_seconds() / 60.0, 1)}, "sensors": {},
              "problems": []}
    return Inputs(rain, run, True, 0, record, (),
                  official_unknown=frozenset(spec.hazard for spec in settings.official.values()))


def _record(store: Store, settings: Settings, report: CycleReport) -> None:
    """The cycle's timeline entry (only for a cycle that changed something)."""
    at = report.at
    details = {"items": report.items, "crossings": len(report.crossings), "actions": report.actions,
               "applied": report.applied, "repeated": report.repeated_actions, "messages": len(report.messages),
               "crossed": [f"{c.hazard}:{c.item_id}:{int(c.from_level)}->{int(c.to_level)}"
                           for c in report.crossings],
               "message_ids": list(report.messages), "inputs": json.dumps(report.inputs, ensure_ascii=False,
                                                                          sort_keys=True, default=str)}
    summary = (f"预警周期 {at:%Y-%m-%d %H:%M}Z：评估 {report.items} 项，等级变化 {len(report.crossings)} 次，"
               f"行动 {report.actions} 项（新执行 {report.applied}），发布 {len(report.messages)} 条消息 / "
               f"warning cycle {at:%Y-%m-%d %H:%MZ}: {report.items} items scored, {len(report.crossings)} "
               f"crossings, {report.actions} actions ({report.applied} applied), {len(report.messages)} messages "
               f"queued")
    store.timeline.append([NewEntry(occurred_at=at, actor="cycle", role="system", kind=ENTRY_KIND,
                                    summary=summary, org_unit=f"district.{settings.deployment.district_code}",
                                    details=details, key=report.key)])


# --- data notices -------------------------------------------------------------------------------


def _notices(store: Store, settings: Settings, at: datetime, notices: Iterable[str], status: CapStatus) -> list[str]:
    """Record the notices that began and ended since the previous cycle; send the new ones to the
    duty channels. Returns the notices that began."""
    current = sorted(set(notices))
    before = set(store.notices.in_force())
    began = [n for n in current if n not in before]
    ended = sorted(before - set(current))
    district = f"district.{settings.deployment.district_code}"
    entries = [NewEntry(occurred_at=at, actor="cycle", role="system", kind=NOTICE_KIND, org_unit=district,
                        summary=f"数据告警 / data notice: {text}", details={"notice": text, "state": "began"},
                        key=f"notice/{digest(text)}/{at.isoformat()}/began") for text in began]
    entries += [NewEntry(occurred_at=at, actor="cycle", role="system", kind=NOTICE_KIND, org_unit=district,
                         summary=f"数据恢复 / data recovered: {text}", details={"notice": text, "state": "ended"},
                         key=f"notice/{digest(text)}/{at.isoformat()}/ended") for text in ended]
    if entries:
        store.timeline.append(entries)
    for text in began:
        _send_notice(store, settings, at, text, status)
    store.notices.replace(at, current)
    return began


def _send_notice(store: Store, settings: Settings, at: datetime, text: str, status: CapStatus) -> None:
    """One outbox row per duty channel (a non-public text channel) for a notice that began: the whole notice to
    the robots, one SMS segment (:func:`notice_sms`) to the SMS gateway."""
    body = f"### 数据告警 Data notice {at:%Y-%m-%d %H:%M}Z\n\n{text}\n".encode()
    for name, spec in settings.channels.items():
        if spec.public or spec.kind not in TEXT_KINDS:
            continue
        payload = notice_sms(settings, text).encode() if spec.kind == "sms" else body
        for recipient in spec.recipients or ("duty",):
            store.outbox.enqueue(NewMessage(channel=name, recipient=recipient, payload=payload,
                                            content_type=TEXT_KINDS[spec.kind], public=False,
                                            idempotency_key=f"notice/{digest(text)}/{at.isoformat()}/{name}/{recipient}",
                                            cap_status=CapStatus(status)))


def notice_sms(settings: Settings, text: str) -> str:
    """A data notice in one SMS segment: ``【<short issuer>】数据告警：<zh-CN text>``, the text cut with ``…``
    and a pointer to ``warn status`` when it does not fit :data:`~warn.broadcast.channels.UCS2_LIMIT`."""
    head = f"【{settings.deployment.issuer.short or settings.deployment.issuer.zh}】数据告警："
    zh = text.split(" / ")[0].strip()
    if sms_length(head + zh) <= UCS2_LIMIT:
        return head + zh
    tail = "…详见值班系统"
    room = UCS2_LIMIT - sms_length(head + tail)
    cut = ""
    for char in zh:
        if sms_length(cut + char) > room:
            break
        cut += char
    return head + cut + tail


# --- the levels of the previous cycle -----------------------------------------------------------


def _bases(store: Store, settings: Settings, at: datetime) -> dict[str, LevelBasis]:
    """Per hazard judged on its run and official floors alone, the run and floors its levels came from
    at the last cycle before ``at``."""
    return {name: basis for name in settings.hazards if (basis := store.levels.basis(name, at)) is not None}


def _levels_before(store: Store, at: datetime, items: Sequence[Item]) -> dict[str, int]:
    """What a cycle compares with: the last ``now`` level of each of ``items`` recorded before ``at``, by slot
    (``hazard:item:item_id``) — so a rerun of ``at`` after an interruption compares with what the cycle
    found, not with its own first attempt."""
    return {f"{hazard}:{kind}:{item_id}": level for (hazard, kind, item_id), level in
            store.levels.baseline(at, [(item.hazard, item.item, item.item_id) for item in items]).items()}


def _save_levels(store: Store, at: datetime, scores: Scores, run: str | None) -> None:
    """Record every scored item's level at every lead (with its ensemble probabilities where the run has
    members) and, for each hazard scored from the run, the run and official floors it was scored from."""
    store.levels.record_sets(at, dict(_level_sets(scores)),
                             {hazard: LevelBasis(run, dict(floors)) for hazard, floors in scores.floors.items()})


def _level_sets(scores: Scores) -> Iterator[tuple[tuple[str, str, str], LevelSet]]:
    """Each scored hazard's items as one :class:`~warn.store.levelsets.LevelSet` per item kind and lead, by
    (hazard, kind, lead), built column by column (a city cycle records 42,000 levels)."""
    for hazard, scored in scores.scored.items():
        kinds: dict[str, list[ScoredItem]] = {}
        for item in scored.items:
            kinds.setdefault(item.item, []).append(item)
        for kind, items in kinds.items():
            for lead in dict.fromkeys(lead for item in items for lead in item.levels):
                at_lead = [item for item in items if lead in item.levels]
                scores_ = [None if lead != NOW or math.isnan(item.score_now) else item.score_now for item in at_lead]
                yield (hazard, kind, lead), LevelSet(
                    [item.item_id for item in at_lead], [int(item.levels[lead]) for item in at_lead], scores_,
                    [scores.drivers(hazard, item, lead) for item in at_lead],
                    [stored_probability(item.probability.get(lead)) for item in at_lead])


def _rescored(settings: Settings, inputs: Inputs, run: str | None, bases: Mapping[str, LevelBasis]
              ) -> frozenset[str]:
    """The hazards judged on their run and official floors alone whose run or floors changed since
    the levels they have (all of them without a run: none is scored then anyway)."""
    return frozenset(name for name, floors in floors_by_hazard(settings, inputs).items()
                     if bases.get(name) != LevelBasis(run, floors))


def _run_id(inputs: Inputs) -> str | None:
    """The identity of the cycle's run (its checksum, else source and issue time; with observations also the
    hour and the nowcast it was composed at); ``None`` without one."""
    if inputs.run is None:
        return None
    run = str(inputs.run.get("checksum") or f"{inputs.run['source']}@{inputs.run['issued']}")
    return f"{run};{inputs.run['basis']}" if inputs.run.get("basis") else run


def _crossing(item: Item, baseline: Mapping[str, int], at: datetime,
              records: Mapping[tuple[str, str, str], Mapping[str, Any]], wanted: tuple[str, ...]
              ) -> LevelCrossing | None:
    before = baseline.get(item.slot)
    if before is None:
        if item.level < Level.BLUE:
            return None
        previous = Level.NONE
    else:
        previous = Level(before)
        if previous == item.level:
            return None
    town, attributes = place(item, records, wanted)
    return LevelCrossing(
        hazard=item.hazard, item_id=item.item_id, item_kind=item.kind, town=town,
        from_level=previous, to_level=item.level, at=at, drivers=item.drivers, attributes=attributes,
        reason=f"{previous.zh}→{item.level.zh} L{int(previous)}→L{int(item.level)}",
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the cycle's time must be timezone-aware")
    return moment.astimezone(UTC)
