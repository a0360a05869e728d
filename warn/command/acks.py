"""One primitive for 叫应, approvals and task hand-offs: ask, wait, escalate, record.

A request has an ordered list of targets — the addressee, then its escalation chain —
and a wait per target. Rules:

- ``ACK-ASK``: the addressee is asked (a :class:`RequestAck`), deadline ``at + wait``.
- ``ROSTER-UNFILLED``: the current target's post has nobody on the roster → at once
  to the next target (an :class:`Escalate`).
- ``ACK-ESCALATE``: the deadline passed without an answer → to the next target,
  deadline ``previous deadline + wait``. Escalations happen *at* the deadlines, so a
  late tick gives the same escalations (same times, same keys) as punctual ones.
- ``ACK-UNANSWERED``: after the last target → a final notification to the
  commander and a timeline record; the request is exhausted. The chain always ends.
- ``ACK-ANSWER`` / ``ACK-REFUSED``: an answer records who, when, through which
  channel, what they replied (收到 / 已到岗 / 需要支援) and their note (a late answer to an
  exhausted request is recorded too); later answers and repeated answers change nothing.
- ``ACK-SUPPORT``: an answer needing support (:attr:`~warn.command.model.Reply.NEED_SUPPORT`)
  also notifies, with the note, the next post of the chain — after the last one, the post the
  caller names (the town's or the district's duty officer).

Every :class:`RequestAck`, :class:`Escalate` and :class:`Notify` of a request carries the level of
the warning it is about (:attr:`AckRequest.level`): how loudly its addressee is called.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from warn.command.model import (
    AckAnswered,
    AckKind,
    Action,
    Assignee,
    Channel,
    Escalate,
    Notify,
    Post,
    RecordTimeline,
    Reply,
    RequestAck,
    Role,
    TimelineKind,
    label,
)
from warn.command.roster import Roster
from warn.vocab import Level


@dataclass(frozen=True)
class Answer:
    """Who answered, when, through which channel, and whether they accepted."""

    by: str
    role: Role
    channel: Channel
    at: datetime
    accepted: bool


@dataclass(frozen=True)
class AckRequest:
    """The state of one acknowledgement request.

    Attributes
    ----------
    id
        Request id (the idempotency key of its cause).
    kind, incident, subject
        What it is and what it is about.
    targets
        The addressee, then the escalation chain, in order.
    wait
        Time each target has to answer.
    index
        Position of the current target in ``targets``.
    deadline
        When the current target's time runs out.
    answer
        The answer, ``None`` until one comes.
    exhausted
        Every target was tried and nobody answered in time.
    level
        The level of the warning it is about (``NONE`` when none): how loudly each target is called.
    """

    id: str
    kind: AckKind
    incident: str | None
    subject: str
    targets: tuple[Post, ...]
    wait: timedelta
    index: int
    deadline: datetime
    answer: Answer | None
    exhausted: bool
    level: Level = Level.NONE

    @property
    def waiting(self) -> bool:
        """Still waiting for an answer from a target."""
        return self.answer is None and not self.exhausted


def open_request(request: str, kind: AckKind, incident: str | None, subject: str, targets: tuple[Post, ...],
                 wait: timedelta, at: datetime, roster: Roster, commander: Post,
                 level: Level = Level.NONE) -> tuple[AckRequest, list[Action]]:
    """Ask ``targets[0]``; pass at once along the chain while posts are unfilled.

    Parameters
    ----------
    request
        Id of the request (its idempotency key).
    targets
        Addressee then escalation chain; at least one.
    wait
        Answer deadline per target.
    at
        When it is asked (UTC).
    roster
        Who is on duty.
    commander
        Where the final "unanswered" notice goes.
    level
        The level of the warning it is about (``NONE`` when none).
    """
    first = targets[0]
    req = AckRequest(request, kind, incident, subject, targets, wait, 0, at + wait, None, False, level)
    person = roster.who(first.role, first.org, at)
    actions: list[Action] = [
        RequestAck(key=f"{request}/ask", at=at, incident=incident, rule_id="ACK-ASK",
                   label=label("ACK-ASK", f"{kind.zh} → {first}"), request=request, ack=kind,
                   to=Assignee(first, person), subject=subject, deadline=req.deadline, chain=targets[1:], level=level),
        _record(req, f"{request}/ask", at, "ACK-ASK", first,
                f"{kind.zh}：{subject}（{first}，{person or '无人在岗'}）"),
    ]
    if person is None:
        req, more = _move(req, at, "ROSTER-UNFILLED", roster, commander)
        actions += more
    return req, actions


def tick(req: AckRequest, now: datetime, roster: Roster, commander: Post) -> tuple[AckRequest, list[Action]]:
    """Escalate at every deadline up to ``now`` that passed without an answer."""
    actions: list[Action] = []
    while req.waiting and now >= req.deadline:
        req, more = _move(req, req.deadline, "ACK-ESCALATE", roster, commander)
        actions += more
    return req, actions


def answer(req: AckRequest, event: AckAnswered, roster: Roster, last: Post) -> tuple[AckRequest, list[Action]]:
    """Record ``event`` as the answer (once); a second answer changes nothing.

    An answer needing support notifies the next post of the chain, or ``last`` after the chain's
    end (``ACK-SUPPORT``), whoever holds it on ``roster`` at the answer's time.
    """
    if req.answer is not None:
        return req, []
    done = Answer(event.by, event.role, event.channel, event.at, event.accepted)
    rule = "ACK-ANSWER" if event.accepted or req.kind is not AckKind.APPROVAL else "ACK-REFUSED"
    post = req.targets[min(req.index, len(req.targets) - 1)]
    late = "（链路用尽后应答 answered after the chain was exhausted）" if req.exhausted else ""
    verdict = ({True: "，属实", False: "，不属实"}[event.accepted] if req.kind is AckKind.VERIFY
               else "" if rule == "ACK-ANSWER" else "，不同意")
    said = f"「{event.reply.zh}」" + (f"：{event.note}" if event.note else "")
    summary = (f"{req.kind.zh}已应答{verdict}{said}：{event.by}（{event.role}）经 {event.channel} "
               f"于 {event.at.isoformat()}{late}")
    actions: list[Action] = [RecordTimeline(
        key=f"{req.id}/answer", at=event.at, incident=req.incident, rule_id=rule, label=label(rule, str(post)),
        actor=event.by, role=event.role, org_unit=str(post.org), entry=TimelineKind.ACK, summary=summary,
        details={"request": req.id, "ack": str(req.kind), "by": event.by, "role": str(event.role),
                 "channel": str(event.channel), "answered_at": event.at.isoformat(),
                 "accepted": int(event.accepted), "attempt": req.index, "reply": str(event.reply),
                 "note": event.note},
    )]
    if event.reply is Reply.NEED_SUPPORT:
        actions += _support(req, event, post, roster, last)
    return replace(req, answer=done), actions


def _support(req: AckRequest, event: AckAnswered, post: Post, roster: Roster, last: Post) -> list[Action]:
    """Tell the post above the one that answered that support is needed (``ACK-SUPPORT``)."""
    above = req.targets[req.index + 1] if req.index + 1 < len(req.targets) else last
    person = roster.who(above.role, above.org, event.at)
    text = (f"需要支援：{event.by}（{post}）应答{req.kind.zh}「{req.subject}」时请求支援"
            + (f"：{event.note}" if event.note else "") + f"。Support needed by {event.by} ({post}).")
    return [
        Notify(key=f"{req.id}/support", at=event.at, incident=req.incident, rule_id="ACK-SUPPORT",
               label=label("ACK-SUPPORT", f"{post} → {above}"), to=Assignee(above, person), text=text,
               level=req.level),
        _record(req, f"{req.id}/support", event.at, "ACK-SUPPORT", above,
                f"{text}（转 {above}，{person or '无人在岗'}）"),
    ]


def _move(req: AckRequest, at: datetime, rule: str, roster: Roster, commander: Post) -> tuple[AckRequest, list[Action]]:
    """Pass ``req`` from its current target to the next one at ``at`` (or end the chain)."""
    actions: list[Action] = []
    while True:
        previous, index = req.targets[req.index], req.index + 1
        if index >= len(req.targets):
            req = replace(req, exhausted=True)
            person = roster.who(commander.role, commander.org, at)
            text = f"{req.kind.zh}无人应答，链路已用尽：{req.subject}"
            actions += [
                Notify(key=f"{req.id}/unanswered", at=at, incident=req.incident, rule_id="ACK-UNANSWERED",
                       label=label("ACK-UNANSWERED", str(previous)), to=Assignee(commander, person), text=text,
                       level=req.level),
                _record(req, f"{req.id}/unanswered", at, "ACK-UNANSWERED", commander, text),
            ]
            return req, actions
        target = req.targets[index]
        person = roster.who(target.role, target.org, at)
        req = replace(req, index=index, deadline=at + req.wait)
        why = "无人在岗" if rule == "ROSTER-UNFILLED" else "超时未应"
        key = f"{req.id}/attempt{index}"
        actions += [
            Escalate(key=key, at=at, incident=req.incident, rule_id=rule,
                     label=label(rule, f"{previous} → {target}"), request=req.id, attempt=index, previous=previous,
                     to=Assignee(target, person), subject=req.subject, deadline=req.deadline, level=req.level),
            _record(req, key, at, rule, target,
                    f"{req.kind.zh}{why}，转 {target}（{person or '无人在岗'}）：{req.subject}"),
        ]
        if person is not None:
            return req, actions
        rule = "ROSTER-UNFILLED"


def _record(req: AckRequest, key: str, at: datetime, rule: str, post: Post, summary: str) -> RecordTimeline:
    return RecordTimeline(
        key=f"{key}/timeline", at=at, incident=req.incident, rule_id=rule, label=label(rule, str(post)),
        actor="warn", role=None, org_unit=str(post.org), entry=TimelineKind.ACK, summary=summary,
        details={"request": req.id, "ack": str(req.kind), "target": str(post), "attempt": req.index,
                 "deadline": req.deadline.isoformat()},
    )
