"""The channels to one person: DingTalk / 渝快政 work notification, WeCom application message, voice call.

Each takes an outbox row to ``person:{name}`` with a :class:`~warn.broadcast.channels.PersonMessage`
payload, looks the person's user id or mobile number up in the contact book when it sends, and
renders the message its platform's way. (The SMS gateway, which also carries group messages, is
:class:`~warn.broadcast.channels.SmsChannel`.) Their callbacks are parsed in :mod:`warn.broadcast.callbacks`.

Kinds
-----
work_notice
    DingTalk 工作通知 (渝快政 runs the same open API), ``target`` the API root
    (``https://oapi.dingtalk.com``): ``GET /gettoken?appkey&appsecret`` (the token kept until
    ``expires_in`` runs out), then ``POST /topapi/message/corpconversation/asyncsend_v2?access_token``
    with ``agent_id``, ``userid_list`` and an ``action_card`` — the markdown text and one button per
    link (``btn_json_list``: ``title``, ``action_url``). Secrets: ``app_key``, ``app_secret``.
wecom_app
    WeCom 应用消息, ``target`` the API root (``https://qyapi.weixin.qq.com``): ``GET
    /cgi-bin/gettoken?corpid&corpsecret``, then ``POST /cgi-bin/message/send?access_token`` with
    ``touser``, ``agentid`` and a ``template_card`` of ``card_type`` ``button_interaction``: one
    button per link whose ``key`` is ``{reply}|{token}``, and a ``task_id`` from the outbox key
    (WeCom refuses a task id twice, so a resent row shows once). Secrets: ``corp_id``, ``corp_secret``.
voice
    A voice-notification gateway (modelled on Aliyun / Tencent Cloud 语音通知): ``POST
    {target}/voice/call`` JSON ``{to, tts, key, digits}``, ``Authorization: Bearer`` the ``token``
    secret and ``Idempotency-Key``; the text spoken ends with the keys to press (:data:`DIGITS`). The
    call's result comes back to the callback (:mod:`warn.broadcast.callbacks`).

Both platform APIs answer HTTP 200 with ``errcode``: an expired or refused access token
(:data:`TOKEN_CODES`) drops the kept token and is worth another attempt, as are the robots' busy codes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from warn.broadcast.channels import (
    CHANNEL_KINDS,
    ROBOT_RETRY_CODES,
    Channel,
    ContactBook,
    Delivery,
    DeliveryError,
    PersonMessage,
    required_secrets,
    contact_point,
    header_key,
    http_client,
    http_request,
    robot_reply,
)
from warn.command.directory import ContactKind
from warn.command.model import Reply
from warn.config import ChannelSpec
from warn.errors import ConfigError, Problem

#: errcodes of an invalid or expired access token (DingTalk and WeCom alike): fetch a new one and retry.
TOKEN_CODES = frozenset({40001, 40014, 42001})
#: A kept access token is dropped this long before its ``expires_in`` runs out.
TOKEN_MARGIN = timedelta(minutes=5)
#: The keys a voice call asks for, and what each answers.
DIGITS = {"1": Reply.RECEIVED, "2": Reply.NEED_SUPPORT}
#: What a voice call says after the message.
VOICE_PROMPT = "按1收到，按2需要支援。"
#: The characters of a WeCom ``task_id`` and its longest length.
TASK_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-@")
TASK_ID_MAX = 128


@dataclass
class AccessToken:
    """An application's access token: fetched with ``GET url`` and kept until shortly before it expires.

    Parameters
    ----------
    name, spec, client
        The channel's, for the request and its errors.
    url
        The ``gettoken`` URL with the app's credentials in its query (never shown in errors).
    now
        The clock.
    """

    name: str
    spec: ChannelSpec
    client: httpx.Client
    url: str
    now: Callable[[], datetime]
    _value: str = ""
    _until: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> str:
        """The kept token, or a fresh one; a refusal is a :class:`DeliveryError` on the row ``key``."""
        with self._lock:
            now = self.now()
            if self._value and self._until is not None and now < self._until:
                return self._value
            reply = robot_reply(self.name, key, http_request(self.name, self.client, self.spec, self.url, key,
                                                             method="GET"), retry=ROBOT_RETRY_CODES)
            token = str(reply.get("access_token", ""))
            if not token:
                raise DeliveryError(Problem(self.name, key, "an access_token from gettoken", "none"))
            expires = timedelta(seconds=int(reply.get("expires_in", 7200)))
            self._value, self._until = token, now + max(expires - TOKEN_MARGIN, timedelta(0))
            return token

    def forget(self) -> None:
        """Drop the kept token: the next message fetches a new one."""
        with self._lock:
            self._value, self._until = "", None


@dataclass(frozen=True)
class AppChannel:
    """What the two card platforms' channels hold: the app's AgentId, an HTTP client, its access token, the
    contact book."""

    name: str
    spec: ChannelSpec
    agent_id: int
    client: httpx.Client
    token: AccessToken
    contacts: ContactBook

    def post(self, path: str, key: str, body: dict[str, Any]) -> None:
        """POST ``body`` to ``{target}{path}?access_token=…`` and check its errcode, dropping a refused token."""
        url = f"{self.spec.target.rstrip('/')}{path}?access_token={quote(self.token.get(key), safe='')}"
        response = http_request(self.name, self.client, self.spec, url, key, json=body)
        try:
            robot_reply(self.name, key, response, retry=ROBOT_RETRY_CODES | TOKEN_CODES)
        except DeliveryError:
            self.token.forget()
            raise

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


@dataclass(frozen=True)
class WorkNoticeChannel(AppChannel):
    """DingTalk / 渝快政 work notification (工作通知) to one user: an action card, one button per link
    (markdown when the message has no link)."""

    def send(self, delivery: Delivery) -> None:
        """POST ``asyncsend_v2`` with the person's DingTalk user id."""
        message = PersonMessage.of(self.name, delivery)
        user = contact_point(self.name, delivery, self.contacts, ContactKind.DINGTALK)
        msg: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}}
        if message.links:
            msg = {"msgtype": "action_card", "action_card": {
                "title": message.title, "markdown": message.text, "btn_orientation": "1",
                "btn_json_list": [{"title": link.label, "action_url": link.url} for link in message.links]}}
        body = {"agent_id": self.agent_id, "userid_list": user, "msg": msg}
        self.post("/topapi/message/corpconversation/asyncsend_v2", delivery.key, body)


def task_id(key: str) -> str:
    """A WeCom ``task_id`` for the outbox key ``key``: its allowed characters and a hash, at most 128."""
    safe = "".join(c if c in TASK_ID_CHARS else "_" for c in key)[:TASK_ID_MAX - 17]
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class WeComAppChannel(AppChannel):
    """WeCom application message (应用消息) to one user: a button-interaction template card."""

    def send(self, delivery: Delivery) -> None:
        """POST ``message/send`` with the person's WeCom user id."""
        message = PersonMessage.of(self.name, delivery)
        user = contact_point(self.name, delivery, self.contacts, ContactKind.WECOM)
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "source": {"desc": "防汛指挥 flood command"},
            "main_title": {"title": message.title[:36]},
            "sub_title_text": message.text,
            "task_id": task_id(delivery.key),
            "button_list": [{"text": link.label, "style": 1, "key": link.value} for link in message.links],
        }
        if message.links:
            card["card_action"] = {"type": 1, "url": message.links[0].url}
        body = {"touser": user, "msgtype": "template_card", "agentid": self.agent_id, "template_card": card}
        self.post("/cgi-bin/message/send", delivery.key, body)


@dataclass(frozen=True)
class VoiceChannel:
    """A voice-notification call to one mobile number: text to speech, the answer by keypress."""

    name: str
    spec: ChannelSpec
    token: str
    client: httpx.Client
    contacts: ContactBook

    def send(self, delivery: Delivery) -> None:
        """POST ``{to, tts, key, digits}`` to ``{target}/voice/call``."""
        message = PersonMessage.of(self.name, delivery)
        to = contact_point(self.name, delivery, self.contacts, ContactKind.MOBILE)
        body = {"to": to, "tts": f"{message.tts or message.title}{VOICE_PROMPT}", "key": delivery.key,
                "digits": {digit: reply.value for digit, reply in DIGITS.items()}}
        headers = {"Idempotency-Key": header_key(delivery.key)}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        http_request(self.name, self.client, self.spec, f"{self.spec.target.rstrip('/')}/voice/call", delivery.key,
                     json=body, headers=headers)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _agent_id(name: str, spec: ChannelSpec) -> int:
    if spec.agent_id is None:
        raise ConfigError(Problem("config.yaml", f"channels.{name}.agent_id",
                                  f"the application's AgentId (a {spec.kind} needs it)", "none"))
    return spec.agent_id


def _card_app(name: str, spec: ChannelSpec, secrets: Mapping[str, str], now: Callable[[], datetime],
              contacts: ContactBook) -> Channel:
    """A work_notice or wecom_app channel: its class, and its ``gettoken`` URL from the app's credentials."""
    cls, path, (id_param, id_role), (secret_param, secret_role) = _APPS[spec.kind]
    required_secrets(name, spec, secrets, id_role, secret_role)
    client = http_client(spec)
    url = (f"{spec.target.rstrip('/')}{path}?{id_param}={quote(secrets[id_role], safe='')}"
           f"&{secret_param}={quote(secrets[secret_role], safe='')}")
    return cls(name, spec, _agent_id(name, spec), client, AccessToken(name, spec, client, url, now), contacts)


def _voice(name: str, spec: ChannelSpec, secrets: Mapping[str, str], _now: Callable[[], datetime],
           contacts: ContactBook) -> Channel:
    return VoiceChannel(name, spec, secrets.get("token", ""), http_client(spec), contacts)


#: The card platforms by kind: channel class, ``gettoken`` path, and (query name, secret role) of the app's id
#: and of its secret.
_APPS: Mapping[str, tuple[type[WorkNoticeChannel | WeComAppChannel], str, tuple[str, str], tuple[str, str]]] = {
    "work_notice": (WorkNoticeChannel, "/gettoken", ("appkey", "app_key"), ("appsecret", "app_secret")),
    "wecom_app": (WeComAppChannel, "/cgi-bin/gettoken", ("corpid", "corp_id"), ("corpsecret", "corp_secret")),
}

for _kind, _factory in (("work_notice", _card_app), ("wecom_app", _card_app), ("voice", _voice)):
    CHANNEL_KINDS.add(_kind, _factory)
