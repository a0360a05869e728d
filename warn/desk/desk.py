"""The duty desk: who may act, and one act planned at a time, for the CLI, the pages and the API alike.

:class:`Desk` holds what every act needs — the deployment, the store, the planner's setup, the clock, the
links' secret — and the lock around plan-and-record (:func:`warn.cycle.command.advance`), shared with the
service's jobs when the web service runs inside ``warn run``. Its methods are the duty desk's acts: answer a
request (ack, approve, reject, an answer through a link or a gateway), acknowledge, finish and hand over a
task, put a note on the timeline, switch the mode, issue a warning by hand, report a danger. Each checks
the free text a person wrote (:func:`warn.freetext.check_text`, raising :class:`warn.errors.UsageError`) and
who may (:class:`warn.command.authority.Authority` at the time of the act) first, and raises
:class:`Refused` before writing anything when the act cannot be done; what it returns is what to tell the
person (:class:`Told`). The faces name a free-text field as they show it (``names``: the CLI's ``--reason``,
the API's ``reason``), so a refusal points at what the person typed.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warn.check import publish_status
from warn.command.authority import Authority
from warn import hazards
from warn.command.model import (
    AckAnswered,
    AckKind,
    Channel,
    DangerReport,
    ManualWarning,
    ModeOrder,
    OrgUnit,
    Post,
    Reply,
    Role,
)
from warn.command.planner import Setup, manual_proposal_key
from warn.config import Settings
from warn.cycle.command import PersonEvent, advance, load_state, quarantined_error, submit
from warn.desk.orders import check_hazard, manual_crossing, mode_wanted, stand_down
from warn.desk.refusal import Names, Refused, Told, allowed
from warn.errors import ConfigError, Problem
from warn.freetext import check_text
from warn.geo.layers import zone_layer
from warn.links import LinkClaims, LinkRefused, check, link_id_of, token_of
from warn.store import NewEntry, Store
from warn.store.command import HANDOFF
from warn.vocab import CapStatus, Mode, OrgLevel

#: CAP sender of what an act publishes into a store with no message yet (``warn run``'s default).
DEFAULT_SENDER = "warn@localhost"
#: Task states a person may still finish.
OPEN_TASKS = ("open", "acknowledged")


def link_secret(settings: Settings, env: dict[str, str]) -> bytes:
    """The links' HMAC secret from the environment variable ``serve.link_secret`` names.

    Raises
    ------
    ConfigError
        The variable is unset or shorter than 16 characters.
    """
    secret = env.get(settings.serve.link_secret, "")
    if len(secret) < 16:
        raise ConfigError(Problem("environment", settings.serve.link_secret,
                                  "the links' HMAC secret, at least 16 characters",
                                  "nothing" if not secret else f"{len(secret)} characters"))
    return secret.encode("utf-8")


def report_id(link_id: str, at: datetime) -> str:
    """The id of a danger reported through link ``link_id`` at ``at`` (``DR-20260715T083000-1a2b3c4d``)."""
    return f"DR-{at:%Y%m%dT%H%M%S}-{hashlib.sha256(link_id.encode()).hexdigest()[:8]}"


def _post(text: str) -> Post:
    """The post of its text form (``community.DEMO-T03-C01.community_lead``)."""
    unit, role = text.rsplit(".", 1)
    return post_of(unit, role)


def post_of(org_unit: str, role: str) -> Post:
    """The post of a stored ``org_unit`` (``town.DEMO-T03``) and ``role``."""
    level, code = org_unit.split(".", 1)
    return Post(OrgUnit(OrgLevel(level), code), Role(role))


@dataclass
class Desk:
    """The duty desk's acts on a deployment's store.

    Attributes
    ----------
    settings, store, setup
        The deployment, its migrated store, the planner's setup (roster, playbooks).
    clock
        The desk's clock (UTC-aware).
    secret
        The links' HMAC secret (empty for the CLI, which handles no links).
    config
        The config file (for :func:`warn.check.publish_status`).
    status, sender
        The CAP status and sender of what an act releases (the service's, inside ``warn run``); ``None``:
        those of the store's earlier messages, as the CLI's acts take them.
    lock
        Held around every plan-and-record, shared with the service's jobs.
    """

    settings: Settings
    store: Store
    setup: Setup
    clock: Callable[[], datetime]
    secret: bytes
    config: Path
    status: CapStatus | None = None
    sender: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authority(self, at: datetime) -> Authority:
        """Who may do what at ``at``."""
        return Authority(self.setup.roster, self.settings.deployment.district_code, at)

    def text(self, name: str, value: str, limit: str, names: Names, *, multiline: bool = False) -> str:
        """``value`` of field ``name`` when a person may write it (the ``text_limits`` named ``limit``).

        Raises
        ------
        UsageError
            A character no person's text may hold, or too long; named as ``names`` has it.
        """
        return check_text(names.get(name, name), value, limit=getattr(self.settings.text_limits, limit),
                          multiline=multiline)

    def claims(self, token: str, at: datetime) -> LinkClaims:
        """The claims of link ``token`` when it holds at ``at`` and is unused; :class:`Refused` otherwise: unknown,
        forged or altered (403), expired (410), used already (409)."""
        row = None
        try:
            row = self.store.links.row(link_id_of(token))
            claims = check(self.secret, token, row.claims if row else None, at)
        except LinkRefused as err:
            expired = row is not None and hmac.compare_digest(token, token_of(self.secret, row.claims))
            zh, _, en = err.reason.partition(" / ")
            raise Refused(410 if expired else 403, zh, en or zh) from None
        if row is not None and row.used_at is not None:
            raise Refused(409, f"此链接已于 {row.used_at.isoformat()} 使用过",
                          f"this link was used already at {row.used_at.isoformat()}")
        return claims

    def ack(self, target: str, person: str, channel: Channel, at: datetime, *, names: Names = {}) -> Told:
        """``person`` answers request ``target`` (as :meth:`answer`), or acknowledges task ``target`` — through
        its hand-off request when one waits, else directly (the person on duty in its owner post, or the
        district's duty officer, leader on duty or commander).

        Raises
        ------
        Refused
            No such task or request (404), not theirs (403), answered or not open (409).
        """
        self.text("target", target, "name", names)
        self.post_now(person, at)
        if self.store.ack_request(target) is not None:
            return self.answer(target, person, channel, at)
        if self.store.task(target) is None:
            raise Refused(404, f"无此任务或请求：{target}", f"no such task or request: {target}")
        handoff = self.store.ack_request(f"{target}{HANDOFF}")
        if handoff is not None and handoff.answered_at is None:
            return self.answer(handoff.request_id, person, channel, at)
        with self.lock:
            row, post = self._task(target, person, at)
            if not self.store.acknowledge_task(target, by=person, role=str(post.role), org_unit=str(post.org),
                                               at=at, via=str(channel)):
                raise Refused(409, f"任务状态为 {row.status}，无需签收：{target}",
                              f"the task is {row.status}, not open: {target}")
        return Told(f"已签收任务 {target}（{person}，{post}）", f"task {target} acknowledged by {person} ({post})")

    def decide(self, request: str, person: str, channel: Channel, at: datetime, *, accepted: bool,
               names: Names = {}) -> Told:
        """``person`` approves (``accepted``) or refuses approval ``request`` (as :meth:`answer`).

        Raises
        ------
        Refused
            No such request (404), not an approval (409), not theirs (403), answered already (409).
        """
        self.text("request", request, "name", names)
        self.post_now(person, at)
        return self.answer(request, person, channel, at, accepted=accepted, approval_only=True)

    def answer(self, request: str, person: str, channel: Channel, at: datetime, *, reply: Reply = Reply.RECEIVED,
               note: str = "", accepted: bool = True, approval_only: bool = False,
               use: Callable[[], bool] | None = None) -> Told:
        """``person`` answers ``request`` through ``channel`` at ``at``: checked, submitted and planned at once.

        The person on duty in the request's current post (or one it was delivered to them in before it
        escalated), or the district's leader on duty or commander on its behalf (an approval: the commander,
        never its proposer). ``approval_only``: refuse anything but an approval. ``use`` marks the link it
        came through used (``False``: used already) once the answer is allowed.

        Raises
        ------
        Refused
            No such request (404), not theirs to answer (403), answered already or the link used (409).
        """
        with self.lock:
            row = self.store.ack_request(request)
            if row is None:
                raise Refused(404, f"无此请求：{request}", f"no such request: {request}")
            kind = AckKind(row.kind)
            if approval_only and kind is not AckKind.APPROVAL:
                raise Refused(409, f"{request} 是{kind.zh}，不是审批（请用 warn ack）",
                              f"{request} is a {kind}, not an approval (use warn ack)")
            approval = kind is AckKind.APPROVAL  # a verification is answered as a call is
            proposer = self.store.raised_by(manual_proposal_key(request)) if approval else None
            earlier = [_post(d.post) for d in self.store.deliveries.of_request(request) if d.person == person]
            addressee = f"{row.org_unit}.{row.addressee_role}"
            verdict = self.authority(at).answer(person, post_of(row.org_unit, row.addressee_role), approval=approval,
                                                proposer=proposer, earlier=earlier)
            post = allowed(verdict)
            if row.answered_at is not None:
                raise Refused(409, f"已由 {row.answered_by} 于 {row.answered_at.isoformat()} 应答：{request}",
                              f"already answered by {row.answered_by} at {row.answered_at.isoformat()}: {request}")
            if use is not None and not use():
                raise Refused(409, "链接已使用过", "the link was used already")
            self.plan(AckAnswered(request=request, by=person, role=post.role, channel=channel, at=at,
                                   accepted=accepted, reply=reply, note=note), at)
        behalf_zh, behalf_en = (f"，代 {addressee}", f", on behalf of {addressee}") if verdict.on_behalf else ("", "")
        if approval:
            return Told(f"{'已同意' if accepted else '已不同意'} {request}（{person}{behalf_zh}）",
                        f"{'approved' if accepted else 'refused'} {request} ({person}{behalf_en})")
        return Told(f"已应答 {kind.zh} {request}（{person}{behalf_zh}）", f"answered {kind} {request} ({person}{behalf_en})")

    def done(self, task: str, person: str, channel: Channel, at: datetime, *, note: str, evidence: str = "",
             use: Callable[[], bool] | None = None, names: Names = {}) -> Told:
        """``person`` marks ``task`` done through ``channel`` at ``at`` with ``note`` and ``evidence`` (the person on
        duty in its owner post, or the district's duty officer, leader on duty or commander); ``use`` marks the
        link it came through used (``False``: used already) once it is allowed.

        Raises
        ------
        Refused
            No such task (404), not theirs (403), closed already or the link used (409).
        """
        self.text("note", note, "note", names, multiline=True)
        self.text("task", task, "name", names)
        self.post_now(person, at)
        with self.lock:
            row, post = self.check_task(task, person, at)
            if use is not None and not use():
                raise Refused(409, "链接已使用过", "the link was used already")
            if not self.store.finish_task(task, by=person, role=str(post.role), at=at, note=note,
                                          evidence=evidence, via=str(channel)):
                raise Refused(409, f"任务已是 {row.status}：{task}", f"the task is already {row.status}: {task}")
        return Told(f"任务已办结 {task}（{person}）", f"task {task} done ({person})")

    def check_task(self, task: str, person: str, at: datetime) -> tuple[Any, Post]:
        """The ``tasks`` row of open ``task`` and the post ``person`` may finish it in now; :class:`Refused`
        otherwise: no such task (404), not theirs (403), closed already (409)."""
        row, post = self._task(task, person, at)
        if row.status not in OPEN_TASKS:
            raise Refused(409, f"任务已是 {row.status}：{task}", f"the task is already {row.status}: {task}")
        return row, post

    def _task(self, task: str, person: str, at: datetime) -> tuple[Any, Post]:
        """The ``tasks`` row of ``task`` and the post ``person`` may handle it in now; :class:`Refused` otherwise."""
        row = self.store.task(task)
        if row is None:
            raise Refused(404, f"无此任务：{task}", f"no such task: {task}")
        return row, allowed(self.authority(at).handle_task(person, post_of(row.org_unit, row.owner_role)))

    def assign(self, task: str, person: str, channel: Channel, at: datetime, *, to: str, reason: str = "",
               names: Names = {}) -> Told:
        """``person`` (the district's duty officer, leader on duty or commander) hands ``task`` over to ``to``:
        a post (``town.DEMO-T03.duty_officer``), a role of the task's org unit, or a person (their first post),
        with somebody on duty there now.

        Raises
        ------
        Refused
            No such task or no such post on duty (404), not theirs to reassign (403), closed or already that
            post's (409).
        """
        self.text("to", to, "name", names)
        self.text("reason", reason, "reason", names)
        self.text("task", task, "name", names)
        self.post_now(person, at)
        with self.lock:
            row = self.store.task(task)
            if row is None:
                raise Refused(404, f"无此任务：{task}", f"no such task: {task}")
            authority = self.authority(at)
            post = allowed(authority.assign(person))
            target = authority.resolve(to, post_of(row.org_unit, row.owner_role).org)
            if target is None:
                raise Refused(404, f"无法确定岗位或无人在岗：{to}",
                              f"not a post with somebody on duty, nor a person on the roster: {to}")
            holder = self.setup.roster.who(target.role, target.org, at)
            if not self.store.assign_task(task, to_role=str(target.role), to_org_unit=str(target.org), person=holder,
                                          by=person, role=str(post.role), org_unit=str(post.org), at=at,
                                          reason=reason, via=str(channel)):
                raise Refused(409, f"任务为 {row.status} 或已属 {target}：{task}",
                              f"the task is {row.status} or already {target}'s")
        return Told(f"任务 {task} 已改派给 {target}（{holder}）", f"task {task} handed over to {target} ({holder})")

    def note(self, text: str, person: str, channel: Channel, at: datetime, *, incident: str | None = None,
             names: Names = {}) -> Told:
        """``person`` (anyone on the roster) puts ``text`` on the timeline, of ``incident`` when given.

        Raises
        ------
        Refused
            Not on the roster now (403).
        """
        self.text("text", text, "note", names, multiline=True)
        if incident is not None:
            self.text("incident", incident, "name", names)
        post = self.post_now(person, at)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        self.store.timeline.append([NewEntry(
            occurred_at=at, actor=person, role=str(post.role), kind="note", org_unit=str(post.org),
            incident=incident, key=f"note/{person}/{at.isoformat()}/{digest}", summary=text,
            details={"by": person, "post": str(post), "via": str(channel)})])
        return Told(f"已记录（{person}，{post}）", f"noted ({person}, {post})")

    def mode(self, to: str, person: str, channel: Channel, at: datetime, *, level: str | None = None,
             reason: str, override: bool = False, names: Names = {}) -> Told:
        """``person`` (the deciding role, the commander) switches to mode ``to`` (``wartime`` at response ``level``
        IV…I, or ``peacetime``) for ``reason``; a pending proposal to the same mode and level is accepted, another
        one rejected as superseded. A stand-down is refused while warnings that refuse it are active, unless the
        overriding role gives ``override`` and a reason (:func:`warn.desk.orders.stand_down`).

        Raises
        ------
        Refused
            Mode and level that do not fit (422), not the decider (403), already in that mode, warnings active or
            below the city's response in force (409).
        """
        target, response = mode_wanted(to, level, override, names)
        self.text("reason", reason, "reason", names)
        self.post_now(person, at)
        with self.lock:
            authority = self.authority(at)
            post = allowed(authority.order_mode(person, self.setup.mode.decider))
            state = load_state(self.store)
            name_zh = f"{target.zh}{response.zh if response else ''}"
            name_en = f"{target}{' ' + response.name if response else ''}"
            if state.mode.mode is target and state.mode.response == response:
                raise Refused(409, f"已是{name_zh}", f"already {name_en}")
            city = state.mode.city
            if city is not None and city.holds_up(target, response):  # MODE-LINKED-REFUSED, warn.command.mode
                raise Refused(409, f"低于市级响应，不执行：{city.text}",
                              f"below the city's response {city.response.name} ({city.order})")
            overridden = stand_down(self.setup.mode, state.threads.values(), authority, person, override=override,
                                    reason=reason) if target is Mode.PEACETIME else 0
            self.plan(ModeOrder(to_mode=target, response=response, by=person, role=post.role, reason=reason, at=at,
                                override=override), at)
        return Told(f"已转为{name_zh}（{person}）：{reason}" + (f"（越过未解除的预警 {overridden} 条）" if overridden else ""),
                    f"now {name_en} ({person}): {reason}" + (f" (over {overridden} active warnings)" if overridden else ""))

    def broadcast(self, hazard: str, zone: str, colour: str, text: str, person: str, channel: Channel, at: datetime,
                  *, names: Names = {}) -> Told:
        """``person`` issues a warning of ``hazard`` in ``colour`` for ``zone`` (a town/street, or the district
        code) by hand, through the planner, CAP and outbox: the district's leader on duty or commander at once,
        its duty officer for the leader on duty's approval.

        Raises
        ------
        Refused
            An unknown hazard or colour (422), not theirs to issue (403), no such zone (404), the zone's warning
            at that level already or just updated by the model (409).
        """
        to_level = check_hazard(hazard, colour, names)
        self.text("zone", zone, "name", names)
        self.text("text", text, "text", names, multiline=True)
        self.post_now(person, at)
        verdict, approver = self.authority(at).broadcast(person)
        post = allowed(verdict)
        district = self.settings.deployment.district_code
        spec, towns = zone_layer(self.settings, self.settings.areas.towns)
        if zone != district and zone not in set(towns[spec.id_field].astype(str)):
            raise Refused(404, f"无此镇街：{zone}", f"no such zone: {zone}")
        with self.lock:
            crossing = manual_crossing(load_state(self.store).threads, hazard, zone, district, to_level, text, at)
            self.plan(ManualWarning(crossing=crossing, by=person, role=post.role, org_unit=str(post.org),
                                    approver=approver), at)
        if approver is None:
            return Told(f"已发布 {zone} {hazards.names_zh()[hazard]}{to_level.zh}预警",
                        f"{hazard} warning {to_level.colour} issued for {zone}")
        request = f"manual/{hazard}/{zone}/{at.isoformat()}/approval"
        return Told(f"已提交，待 {approver} 审批：{request}", f"submitted; awaiting {approver}'s approval: {request}")

    def report(self, person: str, link_id: str, at: datetime, *, what: str, place: str, lon: float | None,
               lat: float | None, photo: str | None, use: Callable[[], bool]) -> Told:
        """``person`` reports a danger through link ``link_id`` at ``at`` (险情上报).

        Recorded by ``store.dangers`` in the post the person holds now, with its timeline entry naming the
        channel, and planned at once (a :class:`~warn.command.model.DangerReport`: the town is asked to verify it).

        Raises
        ------
        Refused
            Not on the roster now (403), the link used already (409).
        """
        with self.lock:
            post = self.post_now(person, at)
            if not use():
                raise Refused(409, "链接已使用过", "the link was used already")
            report = report_id(link_id, at)
            self.store.dangers.record(report, person, str(post.role), str(post.org), at, what, place, lon, lat, photo,
                                      str(Channel.LINK))
            self.plan(DangerReport(report=report, by=person, role=post.role, org_unit=str(post.org), at=at, what=what,
                                   place=place, lon=lon, lat=lat, photo=photo), at)
            return Told(f"险情已上报：{report}（{person}，{post}）", f"danger reported: {report} ({person}, {post})")

    def post_now(self, person: str, at: datetime) -> Post:
        """The post ``person`` acts in now (their first on the roster); :class:`Refused` (403) when none."""
        return allowed(self.authority(at).identify(person))

    def plan(self, event: PersonEvent, at: datetime) -> None:
        """Submit ``event`` and plan it now (the caller holds the lock); a quarantined event is refused (500).

        What it releases is published with the desk's CAP status and sender, else those of the store's earlier
        messages (a drill store stays Exercise), as :func:`warn.check.publish_status` allows.
        """
        status, sender = self.store.cap_identity() or (str(CapStatus.ACTUAL), DEFAULT_SENDER)
        allowed = publish_status(self.status or CapStatus(status), self.settings, self.config, self.store)
        submit(self.store, event)
        advanced = advance(self.store, self.settings, self.setup, (), at, status=allowed,
                           sender=self.sender or sender)
        error = quarantined_error(self.store, event) if advanced.quarantined else None
        if error is not None:
            raise Refused(500, f"该事件无法执行，已隔离待值班员处理（warn status）：{error}",
                          f"the event could not be carried out and was quarantined for the duty officer "
                          f"(warn status): {error}")
