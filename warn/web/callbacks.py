"""The gateways' callbacks: ``POST /callbacks/{channel}`` (and ``GET`` where a platform checks its URL).

``{channel}`` is a ``channels:`` entry of a kind :data:`warn.broadcast.callbacks.PARSERS` reads (sms,
voice, work_notice, wecom_app). The entry's parser verifies the sender with the entry's secrets (each
read from the environment variable ``secrets:`` names); one that cannot be verified is answered 403 and
nothing is written. What a verified callback brings:

- receipts → ``store.deliveries.receipt`` (delivered or failed, with the platform's words);
- answers → :meth:`warn.desk.Desk.answer`, planned at once with the channel on the timeline, and the
  delivery marked answered (``store.deliveries.answered``):

  - SMS (上行): ``1`` = 收到, ``2 …`` = 需要支援 with the rest as the note, ``3`` = 已到岗; the request is the
    newest one still waiting that was delivered to the person owning the mobile;
  - voice: the digit pressed, as an SMS reply, for the request of the call's delivery (its key);
  - a card button (work_notice, wecom_app): ``{reply}|{token}`` — the token is checked as a link's is and
    must be the platform user's own; the link is used up in the same step.

An answer that matches nothing — an unknown sender, no waiting request, a text that is not an answer, a
person not allowed to answer — goes on the timeline as unmatched (kind ``inbound``) naming the person when
known, else "unknown sender", never the mobile or user id; the platform is answered as it expects, so it
does not send again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from warn.broadcast.callbacks import PARSERS, CallbackRequest, Forged, Inbound, Parsed
from warn.command.directory import ContactKind
from warn.command.model import Channel, Reply
from warn.errors import ConfigError, UsageError
from warn.freetext import check_text
from warn.links import Purpose
from warn.store import NewEntry
from warn.desk import Desk, Refused

log = logging.getLogger(__name__)

#: Largest callback body read (bytes): the platforms post a few kilobytes.
MAX_BODY = 256 * 1024
#: The contact kind each channel's answers name their person by.
CONTACT_OF = {Channel.SMS: ContactKind.MOBILE, Channel.VOICE: ContactKind.MOBILE,
              Channel.WORK_NOTICE: ContactKind.DINGTALK, Channel.WECOM: ContactKind.WECOM}
#: What a digit means, first thing in an SMS reply or pressed on a call.
DIGITS = {"1": Reply.RECEIVED, "2": Reply.NEED_SUPPORT, "3": Reply.ON_SITE}
#: Who is behind a contact point: (kind, address) → the person's name (``Directory.person_by``).
People = Callable[[ContactKind, str], str | None]
UNKNOWN = "unknown sender"


class Unmatched(Exception):  # noqa: N818 - an answer that matches nothing, said on the timeline
    """An inbound answer that matches nothing: why, zh-CN and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


async def callback(request: Request) -> Response:
    """``/callbacks/{channel}``: verify, record receipts and answers, answer the platform."""
    desk: Desk = request.app.state.desk
    name = request.path_params["channel"]
    spec = desk.settings.channels.get(name)
    if spec is None or spec.kind not in PARSERS:
        return PlainTextResponse(f"无此回调渠道 / no callback channel {name!r}", status_code=404)
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return PlainTextResponse("内容过大 / body too large", status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY:
        return PlainTextResponse("内容过大 / body too large", status_code=413)
    env: Mapping[str, str] = request.app.state.env
    secrets = {role: env.get(variable, "") for role, variable in spec.secrets.items()}
    incoming = CallbackRequest(request.method, request.url.path, dict(request.query_params),
                               {key.lower(): value for key, value in request.headers.items()}, body)
    try:
        parsed = PARSERS[spec.kind](spec, secrets, incoming, desk.clock())
    except Forged as err:
        log.warning("回调被拒 / callback refused on %s: %s", name, err.problems[0] if err.problems else "forged")
        return PlainTextResponse("拒绝：无法验证发送方 / refused: the sender could not be verified", status_code=403)
    except ConfigError as err:
        log.error("回调渠道 %s 配置不全 / callback channel %s misconfigured: %s", name, name, err.problems[0])
        return PlainTextResponse("服务配置不全 / the service is not configured for this channel", status_code=503)
    await run_in_threadpool(record, desk, name, parsed, request.app.state.people)
    return Response(parsed.reply, media_type=parsed.content_type)


def record(desk: Desk, name: str, parsed: Parsed, people: People | None) -> None:
    """Record what a verified callback of channel ``name`` brought: its receipts, then its answers."""
    for receipt in parsed.receipts:
        desk.store.deliveries.receipt(receipt.key, delivered=receipt.delivered, at=receipt.at, detail=receipt.detail)
    for inbound in parsed.inbound:
        at = desk.clock()
        person = people(CONTACT_OF[inbound.channel], inbound.contact) if people is not None else None
        try:
            _answer(desk, name, inbound, person, at)
        except (Unmatched, Refused) as why:
            _unmatched(desk, name, inbound, person, at, why.zh, why.en)


def _answer(desk: Desk, name: str, inbound: Inbound, person: str | None, at: datetime) -> None:
    """Plan ``inbound`` as its person's answer; :class:`Unmatched` or :class:`Refused` when it is none."""
    if inbound.channel in (Channel.WORK_NOTICE, Channel.WECOM):
        _card(desk, name, inbound, person, at)
        return
    if inbound.channel is Channel.VOICE:
        delivery = desk.store.deliveries.by_key(inbound.key or "")
        if delivery is None or delivery.request_id is None:
            raise Unmatched("按键回复找不到对应的呼叫", "a keypress for no known call")
        if person is not None and person != delivery.person:
            raise Unmatched(f"按键来自 {person}，呼叫是给 {delivery.person} 的", "a keypress from another person")
        person, request = delivery.person, delivery.request_id
        reply, note = _digits(inbound.text)
    else:
        if person is None:
            raise Unmatched("短信发送方不在通讯录中", "an SMS from a number not in the directory")
        waiting = desk.store.deliveries.waiting_for(person)
        if not waiting or waiting[0].request_id is None:
            raise Unmatched(f"{person} 没有待应答的请求", f"{person} has no request waiting for an answer")
        request = waiting[0].request_id
        reply, note = _digits(inbound.text)
    _plan(desk, name, inbound.channel, request, person, at, reply, note)


def _card(desk: Desk, name: str, inbound: Inbound, person: str | None, at: datetime) -> None:
    """A card button: ``{reply}|{token}``, the token the platform user's own."""
    value, bar, token = inbound.text.partition("|")
    if not bar or (value and value not in Reply.__members__.values()):
        raise Unmatched("卡片按钮的值无法识别", "a card button's value that is not {reply}|{token}")
    claims = desk.claims(token, at)
    if claims.purpose is not Purpose.ANSWER:
        raise Unmatched("卡片按钮的链接不是应答链接", "a card button whose link is not an answer link")
    if person != claims.person:
        raise Unmatched(f"按钮由 {person or UNKNOWN} 按下，链接属于 {claims.person}",
                        "a card button pressed by another person than the link's")
    _plan(desk, name, inbound.channel, claims.subject, claims.person, at, Reply(value or Reply.RECEIVED), "",
          use=lambda: desk.store.links.use(claims.link_id, at, str(inbound.channel)))


def _digits(text: str) -> tuple[Reply, str]:
    """The reply an SMS text or a keypress means (``2 需要沙袋`` → 需要支援, ``需要沙袋``)."""
    digit, note = text[:1], text[1:].strip()
    if digit not in DIGITS:
        raise Unmatched("回复不是 1、2 或 3", "a reply that is not 1, 2 or 3")
    return DIGITS[digit], note


def _plan(desk: Desk, name: str, channel: Channel, request: str, person: str, at: datetime, reply: Reply, note: str,
          *, use: Callable[[], bool] | None = None) -> None:
    try:
        check_text("note", note, limit=desk.settings.text_limits.note)
    except UsageError as err:
        raise Unmatched("回复中含有不能记录的字符或过长", f"a reply that cannot be recorded: {err.problems[0]}") from None
    desk.answer(request, person, channel, at, reply=reply, note=note, use=use)
    desk.store.deliveries.answered(request, person, name, at)


def _unmatched(desk: Desk, name: str, inbound: Inbound, person: str | None, at: datetime, zh: str, en: str) -> None:
    """Put an answer that matched nothing on the timeline: the person if known, never the contact point."""
    digest = hashlib.sha256("\x1f".join((name, inbound.at.isoformat(), inbound.text, inbound.key or "")
                                        ).encode("utf-8")).hexdigest()[:16]
    who = person or UNKNOWN
    post = desk.authority(at).identify(person).post if person else None
    desk.store.timeline.append([NewEntry(
        occurred_at=at, actor=who, role=str(post.role) if post else "unknown", kind="inbound",
        org_unit=str(post.org) if post else f"district.{desk.settings.deployment.district_code}",
        key=f"inbound/{name}/{digest}",
        summary=f"未匹配的回复（{name}，{who}）：{zh} / unmatched answer via {name} from {who}: {en}",
        details={"channel": name, "via": str(inbound.channel), "person": person, "reason": en})])
