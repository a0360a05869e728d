"""The desk behind the web service: who may act, and one answer planned at a time.

:class:`Desk` holds what every request needs — the deployment, the store, the planner's setup, the
clock, the links' secret — and the lock around plan-and-record (:func:`warn.cycle.command.advance`),
shared with the service's jobs when the web service runs inside ``warn run``. Its methods are the
service's acts: answer a request, finish a task, report a danger; each checks who may first
(:class:`warn.command.authority.Authority` at the time of the request) and raises :class:`Refused`
before writing anything when the person may not.
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
from warn.command.authority import Authority, Verdict
from warn.command.model import AckAnswered, AckKind, Channel, DangerReport, OrgUnit, Post, Reply, Role
from warn.command.planner import Setup, manual_proposal_key
from warn.config import Settings
from warn.cycle.command import PersonEvent, advance, quarantined_error, submit
from warn.errors import ConfigError, Problem
from warn.links import LinkClaims, LinkRefused, check, link_id_of, token_of
from warn.store import Store
from warn.vocab import CapStatus, OrgLevel

#: CAP sender of what an answer publishes into a store with no message yet (as the CLI's).
DEFAULT_SENDER = "warn@localhost"
#: Task states a person may still finish.
OPEN_TASKS = ("open", "acknowledged")


class Refused(Exception):  # noqa: N818 - a refusal said to a person, not a failure of the code
    """What a person asked cannot be done: an HTTP status and the reason, zh-CN and English."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status, self.zh, self.en = status, zh, en


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
    """What the web service acts with.

    Attributes
    ----------
    settings, store, setup
        The deployment, its migrated store, the planner's setup (roster, playbooks).
    clock
        The service's clock (UTC-aware).
    secret
        The links' HMAC secret.
    config
        The config file (for :func:`warn.check.publish_status`).
    status, sender
        The CAP status and sender of what an answer releases (the service's, inside ``warn run``); ``None``:
        those of the store's earlier messages, as the CLI's answers take them.
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

    def answer(self, request: str, person: str, channel: Channel, at: datetime, *, reply: Reply = Reply.RECEIVED,
               note: str = "", accepted: bool = True, use: Callable[[], bool] | None = None) -> Verdict:
        """``person`` answers ``request`` through ``channel`` at ``at``: checked, submitted and planned at once.

        ``use`` marks the link it came through used (``False``: used already) once the answer is allowed.

        Raises
        ------
        Refused
            No such request (404), answered already or the link used (409), not theirs to answer (403).
        """
        with self.lock:
            row = self.store.ack_request(request)
            if row is None:
                raise Refused(404, f"无此请求：{request}", f"no such request: {request}")
            if row.answered_at is not None:
                raise Refused(409, f"已由 {row.answered_by} 于 {row.answered_at.isoformat()} 应答",
                              f"already answered by {row.answered_by} at {row.answered_at.isoformat()}")
            approval = AckKind(row.kind) is AckKind.APPROVAL  # a verification is answered as a call is
            proposer = self.store.raised_by(manual_proposal_key(request)) if approval else None
            earlier = [_post(d.post) for d in self.store.deliveries.of_request(request) if d.person == person]
            verdict = self.authority(at).answer(person, post_of(row.org_unit, row.addressee_role), approval=approval,
                                                proposer=proposer, earlier=earlier)
            if verdict.post is None:
                raise Refused(403, verdict.zh, verdict.en)
            if use is not None and not use():
                raise Refused(409, "链接已使用过", "the link was used already")
            self._plan(AckAnswered(request=request, by=person, role=verdict.post.role, channel=channel, at=at,
                                   accepted=accepted, reply=reply, note=note), at)
            return verdict

    def finish_task(self, task: str, person: str, at: datetime, *, note: str, evidence: str,
                    use: Callable[[], bool]) -> Post:
        """``person`` marks ``task`` done through a link at ``at`` with ``note`` and ``evidence``.

        Raises
        ------
        Refused
            No such task (404), not theirs (403), closed already or the link used (409).
        """
        with self.lock:
            row, post = self.check_task(task, person, at)
            if not use():
                raise Refused(409, "链接已使用过", "the link was used already")
            if not self.store.finish_task(task, by=person, role=str(post.role), at=at, note=note,
                                          evidence=evidence, via=str(Channel.LINK)):
                raise Refused(409, f"任务已是 {row.status}", f"the task is {row.status} already")
            return post

    def check_task(self, task: str, person: str, at: datetime) -> tuple[Any, Post]:
        """The ``tasks`` row of ``task`` and the post ``person`` may finish it in now; :class:`Refused` otherwise."""
        row = self.store.task(task)
        if row is None:
            raise Refused(404, f"无此任务：{task}", f"no such task: {task}")
        verdict = self.authority(at).handle_task(person, post_of(row.org_unit, row.owner_role))
        if verdict.post is None:
            raise Refused(403, verdict.zh, verdict.en)
        if row.status not in OPEN_TASKS:
            raise Refused(409, f"任务已是 {row.status}", f"the task is {row.status} already")
        return row, verdict.post

    def report(self, person: str, link_id: str, at: datetime, *, what: str, place: str, lon: float | None,
               lat: float | None, photo: str | None, use: Callable[[], bool]) -> tuple[str, str]:
        """``person`` reports a danger through link ``link_id`` at ``at`` (险情上报); what to tell them (zh, en).

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
            self._plan(DangerReport(report=report, by=person, role=post.role, org_unit=str(post.org), at=at, what=what,
                                    place=place, lon=lon, lat=lat, photo=photo), at)
            return f"险情已上报：{report}（{person}，{post}）", f"danger reported: {report} ({person}, {post})"

    def post_now(self, person: str, at: datetime) -> Post:
        """The post ``person`` acts in now (their first on the roster); :class:`Refused` (403) when none."""
        verdict = self.authority(at).identify(person)
        if verdict.post is None:
            raise Refused(403, verdict.zh, verdict.en)
        return verdict.post

    def _plan(self, event: PersonEvent, at: datetime) -> None:
        """Submit ``event`` and plan it now (the caller holds the lock); a quarantined event is refused (500)."""
        status, sender = self.store.cap_identity() or (str(CapStatus.ACTUAL), DEFAULT_SENDER)
        allowed = publish_status(self.status or CapStatus(status), self.settings, self.config, self.store)
        submit(self.store, event)
        advanced = advance(self.store, self.settings, self.setup, (), at, status=allowed,
                           sender=self.sender or sender)
        error = quarantined_error(self.store, event) if advanced.quarantined else None
        if error is not None:
            raise Refused(500, f"该事件无法执行，已隔离待值班员处理：{error}",
                          f"the event could not be carried out and was quarantined for the duty officer: {error}")
