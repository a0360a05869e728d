"""Reaching persons: every notice, 叫应 call, approval request and task goes to its person on their channels.

What the planner addresses to a person on duty is kept when its action is applied (``person_messages``,
:mod:`warn.store.command`). :func:`reach` — run by the service after every cycle and tick — turns each
new one into deliveries (``store.deliveries``, each with its outbox row) and follows the deliveries up:

- **Order.** The person's channels are those of the first ``reach.rules`` entry naming their role (or
  the first without roles), in order, keeping only the channels the person has a contact point for in
  the directory (a DingTalk user id for ``work_notice``, a mobile number for ``sms`` and ``voice`` …).
  A person with none is recorded on the timeline (``REACH-NONE``): they were not reached, and the
  request escalates at its deadline as it would.
- **First channel.** The message goes on the first channel at once; a 叫应 call at ``voice_from`` or
  above also rings on ``reach.voice`` (when the person has a mobile number).
- **Fallback.** The next channel is tried (``REACH-FALLBACK`` on the timeline) when the last one
  failed — the gateway's receipt or the outbox gave up — or, for a request nobody has answered, when the
  last one has not been answered within ``fallback_after`` (shortened so that every channel is tried
  before the request's deadline). Notices and tasks move on failure only.
- **Links.** Every message carries signed one-tap links (:mod:`warn.links`) bound to the person and the
  request or task, valid for ``serve.link_ttl``: answer (收到 / 已到岗 / 需要支援), the task's page, my
  tasks, and — for the community, grid and point posts — 险情上报.

The payload of a delivery is a :class:`~warn.broadcast.channels.PersonMessage` (JSON, :data:`~warn.broadcast.channels.PERSON_JSON`): ``title``, ``text`` (zh-CN then
English), ``links`` (``label``, ``reply``, ``url``), ``tts`` and ``sms``; each person channel renders it
its platform's way. Rows name the person, never their contact point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from warn.broadcast.channels import PERSON_JSON, PERSON_PREFIX, PersonLink, PersonMessage
from warn.command.directory import ContactKind, Directory
from warn.command.model import AckKind, ActionKind, Reply, Role
from warn.config import ChannelSpec, ReachSpec, Settings
from warn.errors import ConfigError, Problem
from warn.links import LinkClaims, Purpose, new_link_id, token_of
from warn.store import NewEntry, Store
from warn.store.deliveries import DeliveryRow, DeliveryStatus, NewDelivery, Addressed
from warn.store.outbox import NewMessage
from warn.vocab import CapStatus, Level, OrgLevel

#: The contact point each person channel kind delivers to.
CONTACT_OF: Mapping[str, ContactKind] = {"work_notice": ContactKind.DINGTALK, "wecom_app": ContactKind.WECOM,
                                         "sms": ContactKind.MOBILE, "voice": ContactKind.MOBILE,
                                         "smtp": ContactKind.EMAIL}
#: The org levels whose people may report a danger from where they are.
REPORTING_LEVELS = frozenset({OrgLevel.COMMUNITY, OrgLevel.GRID, OrgLevel.POINT})
#: How long a failed notice or task is followed up with the person's next channel.
FOLLOW_WITHIN = timedelta(hours=12)
#: A bilingual text: Chinese up to a full stop, then English to the end.
_ENGLISH_TAIL = re.compile(r"^(.*?[。！？])\s*[A-Za-z][^\u4e00-\u9fff]*$", re.S)
#: The answers a 叫应 call offers, in order (label, reply).
CALL_REPLIES: tuple[tuple[str, Reply], ...] = ((f"{Reply.RECEIVED.zh} Received", Reply.RECEIVED),
                                               (f"{Reply.ON_SITE.zh} On site", Reply.ON_SITE),
                                               (f"{Reply.NEED_SUPPORT.zh} Need support", Reply.NEED_SUPPORT))


@dataclass(frozen=True)
class Reach:
    """How one deployment reaches its persons.

    Attributes
    ----------
    spec
        The ``reach:`` settings.
    channels
        The ``channels:`` entries, by name.
    directory
        The people directory (contact points); ``None``: every channel is tried for everyone.
    secret
        The links' HMAC secret.
    public_url
        Where people's phones reach ``warn serve``.
    ttl
        How long a link works.
    status
        CAP status of the run (``Exercise`` in drills): the outbox rows carry it.
    issuer
        Who speaks in SMS and voice (the deployment issuer's short name).
    tz
        The deployment's time zone (times people read).
    """

    spec: ReachSpec
    channels: Mapping[str, ChannelSpec]
    directory: Directory | None
    secret: bytes
    public_url: str
    ttl: timedelta
    status: CapStatus
    issuer: str
    tz: ZoneInfo


@dataclass(frozen=True)
class ReachReport:
    """What one :func:`reach` did: deliveries planned first, fallbacks, persons with no channel, rows synced."""

    planned: int = 0
    fallbacks: int = 0
    unreachable: int = 0
    synced: int = 0


def open_reach(settings: Settings, directory: Directory | None, *, env: Mapping[str, str],
               status: CapStatus) -> Reach | None:
    """The :class:`Reach` of ``settings``; ``None`` when the deployment has no ``reach:`` section.

    Raises
    ------
    ConfigError
        A rule names a channel that is not configured, or the links' secret is not in ``env``.
    """
    spec = settings.reach
    if spec is None:
        return None
    named = [*(c for rule in spec.rules for c in rule.channels), *([spec.voice] if spec.voice else [])]
    unknown = sorted({c for c in named if c not in settings.channels})
    if unknown:
        raise ConfigError(Problem("config.yaml", "reach", f"channels among {', '.join(settings.channels)}",
                                  ", ".join(unknown)))
    secret = env.get(settings.serve.link_secret, "")
    if len(secret) < 16:
        raise ConfigError(Problem("environment", settings.serve.link_secret,
                                  "the links' HMAC secret, at least 16 characters", "nothing" if not secret
                                  else f"{len(secret)} characters"))
    issuer = settings.deployment.issuer.short or settings.deployment.issuer.zh
    return Reach(spec, dict(settings.channels), directory, secret.encode("utf-8"),
                 settings.serve.public_url.rstrip("/"), settings.serve.link_ttl, status, issuer, settings.tz)


def reach(store: Store, how: Reach, now: datetime) -> ReachReport:
    """Deliver what is new, take over the outbox's results, and move unanswered or failed chains on.

    Parameters
    ----------
    store
        A migrated store.
    how
        The deployment's reach.
    now
        The time of the step (UTC).
    """
    planned = unreachable = 0
    for message in store.deliveries.unreached():
        if not _covered(store, message):
            count = _first(store, how, message, now)
            planned += count or 0
            unreachable += count is None
        store.deliveries.reached(message.id, now)
    synced = store.deliveries.sync(now)
    fallbacks = _fallbacks(store, how, now)
    return ReachReport(planned, fallbacks, unreachable, synced)


def channels_for(how: Reach, person: str, role: Role) -> list[str]:
    """The channels that reach ``person`` in ``role``, in order: the rule's, less those without a contact."""
    rule = next((r for r in how.spec.rules if role in r.roles), None) \
        or next((r for r in how.spec.rules if not r.roles), None)
    if rule is None:
        return []
    return [name for name in rule.channels if _reachable(how, person, name)]


def _reachable(how: Reach, person: str, channel: str) -> bool:
    kind = CONTACT_OF.get(how.channels[channel].kind)
    if kind is None or how.directory is None:
        return kind is not None
    contacts = how.directory.contacts(person)
    return contacts is not None and contacts.get(kind) is not None


def _covered(store: Store, message: Addressed) -> bool:
    """Whether ``message`` needs no delivery of its own: a task whose hand-off request carries it."""
    return message.kind == ActionKind.CREATE_TASK and store.ack_request(f"{message.task_id}/handoff") is not None


def _first(store: Store, how: Reach, message: Addressed, now: datetime) -> int | None:
    """Plan the first channel (and the voice call) of ``message``: the number of deliveries planned, ``None``
    when no channel reaches its person."""
    role = Role(message.post.rsplit(".", 1)[1])
    order = channels_for(how, message.person, role)
    if not order:
        _record(store, message, now, "REACH-NONE", "无可用联系渠道，未能送达 no channel reaches this person",
                {"channels": ""})
        return None
    payload = _payload(store, how, message, now)
    count = int(_plan(store, how, message, order[0], 0, payload, now))
    if how.spec.voice and _rings(store, how, message) and _reachable(how, message.person, how.spec.voice):
        count += int(_plan(store, how, message, how.spec.voice, 0, payload, now))
    return count


def _rings(store: Store, how: Reach, message: Addressed) -> bool:
    """Whether ``message`` is a 叫应 call at ``voice_from`` or above."""
    if message.request_id is None or message.level < Level.of_colour(how.spec.voice_from):
        return False
    row = store.ack_request(message.request_id)
    return row is not None and row.kind == AckKind.CALL


def _plan(store: Store, how: Reach, message: Addressed, channel: str, step: int, payload: bytes,
          now: datetime) -> bool:
    spec = how.channels[channel]
    delivery = NewDelivery(subject=message.key, request_id=message.request_id, task_id=message.task_id,
                           incident_id=message.incident_id, person=message.person, post=message.post,
                           org_level=message.post.split(".", 1)[0], channel=channel, channel_kind=spec.kind, step=step)
    outbox = NewMessage(channel=channel, recipient=f"{PERSON_PREFIX}{message.person}", payload=payload,
                        content_type=PERSON_JSON, idempotency_key=f"person/{message.key}/{channel}",
                        public=False, cap_status=how.status)
    return store.deliveries.plan(delivery, outbox, now)


def _fallbacks(store: Store, how: Reach, now: datetime) -> int:
    """Move every chain whose last channel failed, or went unanswered too long, to its next channel."""
    chains: dict[tuple[str, str], list[DeliveryRow]] = {}
    for row in store.deliveries.pending_chains(now, FOLLOW_WITHIN):
        if how.spec.voice is None or row.channel != how.spec.voice:
            chains.setdefault((row.subject, row.person), []).append(row)
    moved = 0
    for rows in chains.values():
        last = max(rows, key=lambda r: r.step)
        message = store.deliveries.message(last.subject)
        if message is None:
            continue
        order = channels_for(how, message.person, Role(message.post.rsplit(".", 1)[1]))
        tried = {r.channel for r in rows}
        rest = [c for c in order if c not in tried]
        if not rest or not _due(how, message, last, len(order), now):
            continue
        why = f"{last.channel} 失败 failed: {last.detail}" if last.status is DeliveryStatus.FAILED \
            else f"{last.channel} 未应答 unanswered"
        if _plan(store, how, message, rest[0], last.step + 1, _payload(store, how, message, now), now):
            moved += 1
            _record(store, message, now, "REACH-FALLBACK", f"改经 {rest[0]} 送达（{why}）",
                    {"from": last.channel, "to": rest[0], "step": last.step + 1})
    return moved


def _due(how: Reach, message: Addressed, last: DeliveryRow, channels: int, now: datetime) -> bool:
    """Whether the chain whose last delivery is ``last`` moves on at ``now``."""
    if last.status is DeliveryStatus.FAILED:
        return True
    if message.request_id is None or message.deadline is None:
        return False
    wait = min(how.spec.fallback_after, (message.deadline - message.at) / max(channels, 1))
    since = last.delivered_at or last.sent_at or last.queued_at
    return now >= since + wait


def _payload(store: Store, how: Reach, message: Addressed, now: datetime) -> bytes:
    """The JSON a person channel renders: title, text, links, TTS and SMS text."""
    what = _what(store, message)
    zh = zh_part(message.text)
    due = ""
    if message.deadline is not None:
        local = message.deadline.astimezone(how.tz)
        due = f"（{local:%H:%M} 前{'应答' if message.request_id else '完成'} by {local:%H:%M}）"
    sms = f"【{how.issuer}】{what.zh}：{zh}{due}"
    if message.request_id is not None and store.ack_request(message.request_id) is not None:
        sms += " 回复1收到，2需要支援，3已到岗"
    return PersonMessage(title=f"{what.zh} {what.en}", text=f"{what.zh} {what.en}：{message.text}{due}",
                         links=_links(store, how, message, now), tts=f"{how.issuer}{what.zh}。{zh}。收到请按1，需要支援请按2。",
                         sms=sms).encode()


def zh_part(text: str) -> str:
    """The Chinese part of a bilingual text that ends in English (``…请加强监测。Watch closely.`` → ``…请加强监测。``)."""
    found = _ENGLISH_TAIL.match(text)
    return found.group(1) if found else text


@dataclass(frozen=True)
class _What:
    zh: str
    en: str


def _what(store: Store, message: Addressed) -> _What:
    if message.request_id is not None:
        row = store.ack_request(message.request_id)
        kind = AckKind(row.kind) if row is not None else AckKind.CALL
        names = {AckKind.CALL: "call", AckKind.APPROVAL: "approval", AckKind.TASK: "task hand-off",
                 AckKind.VERIFY: "verify a reported danger"}
        prefix = ("转来" if message.kind == ActionKind.ESCALATE else "", "escalated " if message.kind ==
                  ActionKind.ESCALATE else "")
        return _What(f"{prefix[0]}{kind.zh}", f"{prefix[1]}{names[kind]}")
    if message.task_id is not None:
        return _What("任务", "task")
    return _What("通知", "notice")


def _links(store: Store, how: Reach, message: Addressed, now: datetime) -> tuple[PersonLink, ...]:
    """The message's one-tap links, each minted for the person and recorded in the store."""
    links: list[PersonLink] = []
    if message.request_id is not None:
        url = _mint(store, how, Purpose.ANSWER, message.request_id, message.person, now)
        row = store.ack_request(message.request_id)
        if row is not None and row.kind == AckKind.TASK:
            # a hand-off is answered 收到 (by SMS: 1); its first link — the one an SMS carries — is the task's page
            task = message.request_id.removesuffix("/handoff")
            links.append(PersonLink("查看任务 Task", "", _mint(store, how, Purpose.TASK, task, message.person, now)))
        if row is not None and row.kind == AckKind.CALL:
            links += [PersonLink(label, str(reply), url) for label, reply in CALL_REPLIES]
        else:
            links.append(PersonLink("应答 Answer", "", url))
    elif message.task_id is not None:
        links.append(PersonLink("反馈办结 Report done", "",
                                _mint(store, how, Purpose.TASK, message.task_id, message.person, now)))
    links.append(PersonLink("我的任务 My tasks", "", _mint(store, how, Purpose.TASKS, "", message.person, now)))
    if OrgLevel(message.post.split(".", 1)[0]) in REPORTING_LEVELS:
        links.append(PersonLink("险情上报 Report a danger", "",
                                _mint(store, how, Purpose.REPORT, "", message.person, now)))
    return tuple(links)


def _mint(store: Store, how: Reach, purpose: Purpose, subject: str, person: str, now: datetime) -> str:
    claims = LinkClaims(new_link_id(), purpose, subject, person, now + how.ttl)
    store.links.issue(claims, now)
    return f"{how.public_url}/a/{token_of(how.secret, claims)}"


def _record(store: Store, message: Addressed, now: datetime, rule: str, text: str,
            details: Mapping[str, str | int]) -> None:
    """A timeline entry about reaching ``message``'s person (names the person and post, never a contact)."""
    post = message.post
    store.timeline.append([NewEntry(
        occurred_at=now, actor="warn", role="system", kind="notify", org_unit=post.rsplit(".", 1)[0],
        incident=message.incident_id, summary=f"{message.person}（{post}）：{text}",
        details={"subject": message.key, "person": message.person, "post": post, "rule_id": rule, **details},
        key=f"reach/{message.key}/{rule}/{details.get('step', 0)}")])
