"""What the gateways post back: delivery receipts and people's answers, each sender verified its platform's way.

The service routes ``POST /callbacks/{channel}`` (and ``GET`` where a platform verifies its URL) to
the parser of the channel's kind in :data:`PARSERS`, with the channel's spec, its secrets by role
(read from the environment variables its ``secrets:`` names), the request and the time. A parser
returns what came in (:class:`Parsed`) or raises :class:`Forged` — the sender could not be
verified; the route answers 403 and writes nothing. A verified request that does not read as the
platform's format raises :class:`Malformed` (a kind of :class:`Forged`: nothing is written either).
No error says more than what failed: never the body, a phone number or a user id.

Kinds and their schemes
-----------------------
sms
    The generic gateway (:class:`~warn.broadcast.channels.SmsChannel`) posts a JSON list of status
    reports, modelled on Aliyun's SmsReport — ``{phone_number, send_time, report_time, success,
    err_code, err_msg, out_id}``, ``out_id`` the part's key — and of 上行 replies, modelled on SmsUp —
    ``{phone_number, send_time, content, dest_code, sequence_id}`` (an item with ``content`` is a
    reply). Times ``YYYY-MM-DD HH:MM:SS`` Beijing time (or ISO 8601 with an offset). Signed with the
    **generic gateway scheme** (:func:`gateway_signature`): header ``X-Warn-Timestamp`` (Unix
    seconds) and ``X-Warn-Signature`` = base64(HMAC-SHA256(the ``callback`` secret,
    ``"{timestamp}\\n"`` + body)); a timestamp more than :data:`MAX_SKEW` from now is refused (replay).
voice
    The voice gateway posts call results ``{key, to, status, digits, at}`` (one object or a list;
    ``status`` one of answered, no_answer, failed, busy; ``at`` ISO 8601), the same scheme with the
    voice channel's ``callback`` secret. A result with digits is an answer (VOICE, the digit) and a
    delivered receipt; answered without digits a delivered receipt; the others a failed one.
wecom_app
    WeCom's callback (``WXBizMsgCrypt``, :mod:`warn.broadcast.wxcrypto`) with the secrets
    ``callback_token``, ``aes_key`` (EncodingAESKey) and ``corp_id``: ``GET ?msg_signature&timestamp
    &nonce&echostr`` verifies the URL (the reply is the decrypted echostr); ``POST`` the same query and
    ``<xml><ToUserName/><Encrypt/><AgentID/></xml>``. The event ``template_card_event`` is a button
    pressed: ``FromUserName`` (the user id) and ``EventKey`` (the button's ``{reply}|{token}``).
work_notice
    DingTalk's HTTP event callback (``DingCallbackCrypto``) with ``callback_token``, ``aes_key`` and
    ``app_key`` (the plaintext's owner): query ``signature`` (or ``msg_signature``), ``timestamp``
    (ms), ``nonce``; body ``{"encrypt": …}``. Events: ``check_url``; ``card_callback``, modelled on
    the interactive card's action callback — ``userId`` and ``content`` =
    ``{"cardPrivateData": {"params": {"value": "{reply}|{token}"}}}``. The reply is the encrypted
    ``"success"``: ``{"msg_signature", "timeStamp", "nonce", "encrypt"}``.

Both card platforms' timestamps are also held to :data:`MAX_SKEW`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from secrets import token_hex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from lxml import etree

from warn.broadcast import wxcrypto
from warn.command.model import Channel
from warn.config import ChannelSpec
from warn.errors import ConfigError, Problem, WarnError

#: Largest difference between a callback's timestamp and now (a replay, or a clock far off).
MAX_SKEW = timedelta(minutes=5)
#: The generic gateway scheme's headers.
TIMESTAMP_HEADER, SIGNATURE_HEADER = "x-warn-timestamp", "x-warn-signature"
#: Beijing time, the zone of the SMS gateways' naive times.
BEIJING = timezone(timedelta(hours=8))
#: A split SMS's part suffix on its key (:func:`warn.broadcast.channels.part_key`).
PART = re.compile(r"#\d+/\d+$")
#: Voice call statuses that reached the person.
ANSWERED = "answered"
VOICE_STATUSES = frozenset({ANSWERED, "no_answer", "failed", "busy"})


@dataclass(frozen=True)
class CallbackRequest:
    """One HTTP request to ``/callbacks/{channel}``: header names lower-case, the body's bytes as received."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Receipt:
    """A delivery report: the outbox row's key the platform echoes, whether it arrived, when, and the platform's words."""

    key: str
    delivered: bool
    at: datetime
    detail: str


@dataclass(frozen=True)
class Inbound:
    """An answer from a person, as the platform names them.

    Attributes
    ----------
    channel
        SMS (``contact`` the mobile, ``text`` the reply, ``key`` None), VOICE (the mobile, the digit
        pressed, the call's key), WORK_NOTICE or WECOM (the platform user id, the button's value
        ``{reply}|{token}``, None).
    contact
        The sender's contact point: look the person up with the directory, never log it.
    text
        What they answered.
    key
        The outbox key of the message answered, when the platform says.
    at
        When they answered (UTC-aware).
    """

    channel: Channel
    contact: str
    text: str
    key: str | None
    at: datetime


@dataclass(frozen=True)
class Parsed:
    """What one callback brought, and what the platform expects back."""

    receipts: tuple[Receipt, ...] = ()
    inbound: tuple[Inbound, ...] = ()
    reply: bytes = b"ok"
    content_type: str = "text/plain"


class Forged(WarnError):
    """The sender of a callback could not be verified: answer 403 and write nothing."""


class Malformed(Forged):
    """A verified callback that does not read as its platform's format: nothing is written."""


#: A parser: (the channel's spec, its secrets by role, the request, now) → what came in.
Parser = Callable[[ChannelSpec, Mapping[str, str], CallbackRequest, datetime], Parsed]


def _forged(what: str, expected: str, found: str = "") -> Forged:
    return Forged(Problem("callback", what, expected, found))


def _malformed(what: str, expected: str, found: str = "") -> Malformed:
    return Malformed(Problem("callback", what, expected, found))


def _secrets(spec: ChannelSpec, secrets: Mapping[str, str], *roles: str) -> list[str]:
    missing = [role for role in roles if not secrets.get(role)]
    if missing:
        raise ConfigError(Problem("config.yaml", "channels.*.secrets", f"{', '.join(missing)} for the callbacks "
                                  f"of a {spec.kind} channel", ", ".join(sorted(secrets)) or "none"))
    return [secrets[role] for role in roles]


def _fresh(stamp: datetime, now: datetime) -> None:
    if abs(now - stamp) > MAX_SKEW:
        raise _forged("timestamp", f"within {int(MAX_SKEW.total_seconds() // 60)} minutes of now", stamp.isoformat())


def _stamp(text: str, *, unit_s: float) -> datetime:
    try:
        return datetime.fromtimestamp(int(text) * unit_s, timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise _forged("timestamp", "an integer timestamp", repr(text[:20])) from None


# -- the generic gateway scheme (SMS, voice) ------------------------------------------------


def gateway_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The generic gateway scheme: base64(HMAC-SHA256(``secret``, ``"{timestamp}\\n"`` + ``body``))."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).digest()
                            ).decode()


def _verified_json(spec: ChannelSpec, secrets: Mapping[str, str], request: CallbackRequest, now: datetime) -> Any:
    """The JSON body of a request signed with the generic gateway scheme; :class:`Forged` otherwise."""
    (secret,) = _secrets(spec, secrets, "callback")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not given:
        raise _forged("headers", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER}", "missing")
    if not hmac.compare_digest(gateway_signature(secret, timestamp, request.body), given):
        raise _forged(SIGNATURE_HEADER, "HMAC-SHA256 of the timestamp and body with the callback secret",
                      "another signature")
    _fresh(_stamp(timestamp, unit_s=1), now)
    try:
        return json.loads(request.body)
    except ValueError:
        raise _malformed("body", "JSON") from None


def _time(text: object, field: str) -> datetime:
    """A gateway's time: ``YYYY-MM-DD HH:MM:SS`` Beijing time, or ISO 8601 (an offset, else Beijing)."""
    try:
        moment = datetime.fromisoformat(str(text).replace(" ", "T", 1))
    except ValueError:
        raise _malformed(field, "a time YYYY-MM-DD HH:MM:SS or ISO 8601", repr(str(text)[:40])) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)).astimezone(timezone.utc)


def _items(data: Any) -> list[dict[str, Any]]:
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise _malformed("body", "a JSON object or a list of objects")
    return items


def row_key(part: str) -> str:
    """The outbox row's key of an SMS part's key (``key#i/n`` → ``key``)."""
    return PART.sub("", part)


def parse_sms(spec: ChannelSpec, secrets: Mapping[str, str], request: CallbackRequest, now: datetime) -> Parsed:
    """Status reports and 上行 replies from the SMS gateway (the generic gateway scheme)."""
    receipts, inbound = [], []
    try:
        for item in _items(_verified_json(spec, secrets, request, now)):
            if "content" in item:
                inbound.append(Inbound(Channel.SMS, str(item["phone_number"]), str(item["content"]).strip(), None,
                                       _time(item["send_time"], "send_time")))
            else:
                detail = " ".join(str(item.get(k) or "") for k in ("err_code", "err_msg")).strip()
                receipts.append(Receipt(row_key(str(item["out_id"])), bool(item["success"]),
                                        _time(item["report_time"], "report_time"), detail))
    except KeyError as err:
        raise _malformed("body", "SmsReport {phone_number, report_time, success, out_id} or SmsUp "
                         "{phone_number, send_time, content}", f"no {err}") from None
    return Parsed(tuple(receipts), tuple(inbound), json.dumps({"code": 0, "msg": "成功"}).encode(), "application/json")


def parse_voice(spec: ChannelSpec, secrets: Mapping[str, str], request: CallbackRequest, now: datetime) -> Parsed:
    """Call results from the voice gateway (the generic gateway scheme)."""
    receipts, inbound = [], []
    try:
        for item in _items(_verified_json(spec, secrets, request, now)):
            status, digits, key = str(item["status"]), str(item.get("digits") or ""), str(item["key"])
            if status not in VOICE_STATUSES:
                raise _malformed("status", f"one of {', '.join(sorted(VOICE_STATUSES))}", repr(status[:20]))
            at = _time(item["at"], "at")
            answered = status == ANSWERED
            receipts.append(Receipt(key, answered, at, f"{status} {digits}".strip()))
            if answered and digits:
                inbound.append(Inbound(Channel.VOICE, str(item["to"]), digits, key, at))
    except KeyError as err:
        raise _malformed("body", "a call result {key, to, status, digits, at}", f"no {err}") from None
    return Parsed(tuple(receipts), tuple(inbound), json.dumps({"code": 0}).encode(), "application/json")


# -- WeCom and DingTalk ------------------------------------------------------------------------


def _decrypted(token: str, aes_key: str, receive_id: str, timestamp: str, nonce: str, encrypted: str,
               given: str) -> str:
    if not (timestamp and nonce and encrypted and given):
        raise _forged("query", "signature, timestamp, nonce and a ciphertext", "missing")
    if not wxcrypto.signature_holds(token, timestamp, nonce, encrypted, given):
        raise _forged("signature", "SHA-1 of the callback token, timestamp, nonce and ciphertext", "another signature")
    try:
        return wxcrypto.decrypt(aes_key, encrypted, receive_id)
    except wxcrypto.CryptoRefused as err:
        raise _forged("encrypt", str(err)) from None


def _xml(data: bytes | str, what: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             dtd_validation=False, remove_pis=True)
    try:
        return etree.fromstring(data.encode() if isinstance(data, str) else data, parser)
    except etree.XMLSyntaxError:
        raise _malformed(what, "XML <xml>…</xml>") from None


def parse_wecom(spec: ChannelSpec, secrets: Mapping[str, str], request: CallbackRequest, now: datetime) -> Parsed:
    """WeCom's URL verification (GET) and its encrypted events (POST): a card button → an answer."""
    token, aes_key, corp_id = _secrets(spec, secrets, "callback_token", "aes_key", "corp_id")
    query = request.query
    timestamp, nonce, given = query.get("timestamp", ""), query.get("nonce", ""), query.get("msg_signature", "")
    if request.method.upper() == "GET":
        echo = _decrypted(token, aes_key, corp_id, timestamp, nonce, query.get("echostr", ""), given)
        _fresh(_stamp(timestamp, unit_s=1), now)
        return Parsed(reply=echo.encode())
    outer = _xml(request.body, "body")
    plain = _decrypted(token, aes_key, corp_id, timestamp, nonce, outer.findtext("Encrypt") or "", given)
    _fresh(_stamp(timestamp, unit_s=1), now)
    event = _xml(plain, "the decrypted message")
    if event.findtext("MsgType") != "event" or event.findtext("Event") != "template_card_event":
        return Parsed(reply=b"")
    user, value = event.findtext("FromUserName") or "", event.findtext("EventKey") or ""
    if not user or not value:
        raise _malformed("template_card_event", "FromUserName and EventKey")
    at = _stamp(event.findtext("CreateTime") or timestamp, unit_s=1)
    return Parsed(inbound=(Inbound(Channel.WECOM, user, value, None, at),), reply=b"")


def dingtalk_success(token: str, aes_key: str, owner: str, now: datetime) -> bytes:
    """DingTalk's expected reply: the encrypted ``"success"`` with its signature, timestamp (ms) and nonce."""
    timestamp, nonce = str(int(now.timestamp() * 1000)), token_hex(8)
    encrypted = wxcrypto.encrypt(aes_key, "success", owner)
    return json.dumps({"msg_signature": wxcrypto.signature(token, timestamp, nonce, encrypted),
                       "timeStamp": timestamp, "nonce": nonce, "encrypt": encrypted}).encode()


def parse_work_notice(spec: ChannelSpec, secrets: Mapping[str, str], request: CallbackRequest,
                      now: datetime) -> Parsed:
    """DingTalk's encrypted event callback: ``check_url``, and a card button → an answer."""
    token, aes_key, owner = _secrets(spec, secrets, "callback_token", "aes_key", "app_key")
    query = request.query
    timestamp, nonce = query.get("timestamp", query.get("timeStamp", "")), query.get("nonce", "")
    given = query.get("signature", query.get("msg_signature", ""))
    try:
        body = json.loads(request.body)
        encrypted = str(body["encrypt"]) if isinstance(body, dict) else ""
    except (ValueError, KeyError):
        encrypted = ""
    plain = _decrypted(token, aes_key, owner, timestamp, nonce, encrypted, given)
    _fresh(_stamp(timestamp, unit_s=0.001), now)
    reply = dingtalk_success(token, aes_key, owner, now)
    try:
        event = json.loads(plain)
        if not isinstance(event, dict) or event.get("EventType") != "card_callback":
            return Parsed(reply=reply, content_type="application/json")
        content = json.loads(event["content"])
        value = str(content["cardPrivateData"]["params"]["value"])
        user = str(event["userId"])
    except (ValueError, KeyError, TypeError):
        raise _malformed("card_callback", "userId and content.cardPrivateData.params.value") from None
    at = _stamp(str(event.get("TimeStamp", timestamp)), unit_s=0.001)
    return Parsed(inbound=(Inbound(Channel.WORK_NOTICE, user, value, None, at),), reply=reply,
                  content_type="application/json")


#: The parsers by channel kind.
PARSERS: Mapping[str, Parser] = {"sms": parse_sms, "voice": parse_voice, "wecom_app": parse_wecom,
                                 "work_notice": parse_work_notice}
