"""Channels: small adapters that deliver one outbox row to one recipient.

A channel is built from its ``channels:`` entry in config.yaml
(:class:`warn.config.ChannelSpec`) by the factory registered under its kind in
:data:`CHANNEL_KINDS`; secrets are read from the environment variables the entry
names, never from the file. :meth:`Channel.send` returns when the receiver has
taken the message, or raises :class:`DeliveryError` saying whether to try again.

Every channel passes the outbox row's idempotency key to receivers that accept one:
the ``Idempotency-Key`` header (webhook, SMS gateway — one key per part), an MQTT
user property, the file name (drop folder), the ``Message-ID`` and an
``Idempotency-Key`` header (e-mail). DingTalk and WeCom robots accept none: a
message resent after a crash may show twice there.

The HTTP channels post within the network policy of their entry (:mod:`warn.netpolicy`:
``timeout`` per read, ``deadline_s`` for the whole exchange, the reply read up to
``max_reply_bytes``, no redirects); a 2xx reply past those limits leaves the delivery
uncertain and it is marked failed, never resent.

Kinds
-----
webhook
    POST the payload as it is (JSON, CAP XML, …) to ``target``.
dingtalk
    DingTalk group robot: signed webhook (``timestamp`` and
    ``sign`` = base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded), markdown body.
wecom
    WeCom (企业微信) group robot: markdown JSON.
sms
    A generic HTTP SMS gateway: JSON ``{to, text, part, parts, key}``, the text split
    at the SMS length (:func:`split_sms`); to a group alias (``duty``) or to a person.
smtp
    E-mail over SMTP (``smtp://host:port``; ``smtps://`` for TLS from the start).
mqtt
    Publish with QoS 1 to ``mqtt://host:port/topic`` (MQTT 5).
filedrop
    Write the payload into the folder ``target``, atomically, named after the key.
work_notice, wecom_app, voice
    A person's DingTalk / 渝快政 work notification, WeCom application message and voice call
    (:mod:`warn.broadcast.person_channels`).

Persons
-------
An outbox row to a person has the recipient ``person:{name}`` and a :data:`PERSON_JSON` payload
(:class:`PersonMessage`). The channel looks the person's contact point up in the contact book
given to :func:`build_channels` when it sends, so no phone number or user id is ever in the
outbox, a log or an error: a person without the contact point the channel needs is a permanent
:class:`DeliveryError` naming the person and the kind of contact point only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from warn.command.directory import ContactKind, Contacts
from warn.config import ChannelSpec
from warn.errors import ConfigError, Problem, WarnError
from warn.netpolicy import NetPolicy, NetRefusal, Reply, exchange
from warn.registry import Registry

#: HTTP statuses worth another attempt: the receiver, not the message, is at fault.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: DingTalk and WeCom robot error codes worth another attempt (system busy, too many messages).
ROBOT_RETRY_CODES = frozenset({-1, 130101, 45009})
#: SMS lengths: one GSM 7-bit message, one UCS-2 message (Chinese text).
GSM_LIMIT, UCS2_LIMIT = 160, 70
#: GSM 03.38 basic character set; a text with any other character goes as UCS-2.
GSM_BASIC = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                      "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
TEXT_TYPES = ("text/plain", "text/markdown")
#: The media type of a message to a person (:class:`PersonMessage`), and the recipient prefix of a person.
PERSON_JSON = "application/vnd.warn.person+json"
PERSON_PREFIX = "person:"
#: Where a person's contact points come from: their name → :class:`Contacts` (``None``: not in the directory).
ContactBook = Callable[[str], Contacts | None]


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Delivery:
    """What a channel delivers: one message to one recipient.

    Parameters
    ----------
    key
        The idempotency key (the outbox row's).
    recipient
        Phone number, e-mail address, group or topic part, as the channel reads it.
    payload
        The bytes; text is UTF-8.
    content_type
        Their media type.
    """

    key: str
    recipient: str
    payload: bytes
    content_type: str


class DeliveryError(WarnError):
    """A delivery failed; ``permanent`` when another attempt cannot help (refused message, bad config)."""

    def __init__(self, problem: Problem, *, permanent: bool = False) -> None:
        super().__init__(problem)
        self.permanent = permanent


class Channel(Protocol):
    """A built channel: its name, its spec, and how it sends."""

    name: str
    spec: ChannelSpec

    def send(self, delivery: Delivery) -> None:
        """Deliver, or raise :class:`DeliveryError`."""

    def close(self) -> None:
        """Release connections."""


#: A channel factory: (name, spec, secrets by role, clock, contact book) → channel.
ChannelFactory = Callable[[str, ChannelSpec, Mapping[str, str], Callable[[], datetime], ContactBook], Channel]
#: Channel kinds by name (``kind:`` in config); the person channels register themselves.
CHANNEL_KINDS: Registry[ChannelFactory] = Registry("channel kind", modules=("warn.broadcast.person_channels",))


def nobody(_person: str) -> Contacts | None:
    """The contact book of a deployment without a directory: nobody has a contact point."""
    return None


def build_channels(specs: Mapping[str, ChannelSpec], *, env: Mapping[str, str] | None = None,
                   now: Callable[[], datetime] = utc_now,
                   contacts: ContactBook | None = None) -> dict[str, Channel]:
    """Build every channel of ``channels:``, reading the secrets its entry names from ``env``.

    ``contacts`` gives the channels the contact points of the persons they deliver to
    (``person:{name}`` recipients); ``None``: nobody's.

    Raises
    ------
    UnknownNameError
        A kind is not registered.
    ConfigError
        A secret the kind needs is not named, or its variable is not set.
    """
    environ = os.environ if env is None else env
    built = {}
    for name, spec in specs.items():
        factory = CHANNEL_KINDS.get(spec.kind, where="config.yaml", key=f"channels.{name}.kind")
        secrets = {role: _secret(name, role, var, environ) for role, var in spec.secrets.items()}
        built[name] = factory(name, spec, secrets, now, contacts or nobody)
    return built


def _secret(channel: str, role: str, var: str, env: Mapping[str, str]) -> str:
    value = env.get(var, "")
    if not value:
        raise ConfigError(Problem("environment", var, f"the {role} of channel {channel!r}", "unset or empty",
                                  f"设置环境变量 {var} / set {var} before starting the service"))
    return value


def required_secrets(name: str, spec: ChannelSpec, secrets: Mapping[str, str], *roles: str) -> None:
    missing = [r for r in roles if r not in secrets]
    if missing:
        raise ConfigError(Problem("config.yaml", f"channels.{name}.secrets",
                                  f"the environment variable names of {', '.join(missing)} (a {spec.kind} needs them)",
                                  ", ".join(sorted(secrets)) or "none"))


def _text(name: str, delivery: Delivery) -> str:
    if delivery.content_type.split(";")[0].strip() not in TEXT_TYPES:
        raise DeliveryError(Problem(name, delivery.key, f"a payload of type {' or '.join(TEXT_TYPES)}",
                                    delivery.content_type), permanent=True)
    return delivery.payload.decode("utf-8")


def title_of(text: str, *, limit: int = 64) -> str:
    """The first non-empty line of ``text`` without markdown heading marks, at most ``limit`` characters."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip("#").strip()[:limit]


# -- persons --------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLink:
    """One signed link of a message to a person: its button label, the reply it gives, its URL."""

    label: str
    reply: str
    url: str

    @property
    def token(self) -> str:
        """The link's token: what follows the last ``/a/`` of its URL."""
        return self.url.rsplit("/a/", 1)[-1]

    @property
    def value(self) -> str:
        """What a card button carries back: ``{reply}|{token}``."""
        return f"{self.reply}|{self.token}"


@dataclass(frozen=True)
class PersonMessage:
    """A message to a person (:data:`PERSON_JSON`): each channel renders it its platform's way.

    Attributes
    ----------
    title
        A short title (card title, e-mail subject).
    text
        The body, zh-CN then English (markdown).
    links
        The one-tap links, one per button, in order.
    tts
        What a voice call speaks.
    sms
        One SMS text, without the link (the channel appends the first).
    """

    title: str
    text: str
    links: tuple[PersonLink, ...]
    tts: str
    sms: str

    @classmethod
    def of(cls, channel: str, delivery: Delivery) -> PersonMessage:
        """Read ``delivery``'s payload; a payload of another type or shape is a permanent :class:`DeliveryError`."""
        if delivery.content_type.split(";")[0].strip() != PERSON_JSON:
            raise DeliveryError(Problem(channel, delivery.key, f"a payload of type {PERSON_JSON}",
                                        delivery.content_type), permanent=True)
        try:
            data = json.loads(delivery.payload)
            return cls(str(data["title"]), str(data["text"]),
                       tuple(PersonLink(str(link["label"]), str(link["reply"]), str(link["url"]))
                             for link in data.get("links", [])),
                       str(data.get("tts", "")), str(data.get("sms", "")))
        except (ValueError, KeyError, TypeError) as err:
            raise DeliveryError(Problem(channel, delivery.key, "a person message: JSON with title, text and links "
                                        "of label, reply and url", f"{type(err).__name__}: {err}"),
                                permanent=True) from None

    def mail(self, key: str, address: str) -> Delivery:
        """The e-mail of this message to ``address``: the title, the text, then each link on its own line."""
        links = "\n".join(f"{link.label}: {link.url}" for link in self.links)
        return Delivery(key, address, f"{self.title}\n\n{self.text}\n\n{links}".rstrip().encode(), "text/plain")

    @property
    def sms_text(self) -> str:
        """The SMS: :attr:`sms` (or :attr:`text`) with the first link appended."""
        text = self.sms or self.text
        return f"{text} {self.links[0].url}" if self.links else text


def person_of(recipient: str) -> str | None:
    """The person's name of a ``person:{name}`` recipient; ``None`` for another recipient."""
    return recipient[len(PERSON_PREFIX):] if recipient.startswith(PERSON_PREFIX) else None


def contact_point(channel: str, delivery: Delivery, contacts: ContactBook, kind: ContactKind) -> str:
    """The ``kind`` contact point of the person ``delivery`` goes to.

    Raises
    ------
    DeliveryError
        Permanent: the recipient is not a person, or the person has no such contact point. The
        message names the person and the kind, never an address.
    """
    person = person_of(delivery.recipient)
    if person is None:
        raise DeliveryError(Problem(channel, delivery.key, f"a recipient {PERSON_PREFIX}{{name}}",
                                    delivery.recipient), permanent=True)
    found = contacts(person)
    address = None if found is None else found.get(kind)
    if not address:
        raise DeliveryError(Problem(channel, delivery.key, f"a {kind.value} contact point of {person}",
                                    "not in the directory" if found is None else "none in the directory",
                                    f"在人员名录中补充 {person} 的 {kind.value} / add it to the directory"),
                            permanent=True)
    return address


# -- HTTP -----------------------------------------------------------------------


def channel_policy(spec: ChannelSpec) -> NetPolicy:
    """The policy of a channel's exchanges: ``timeout`` to connect and per read, ``deadline_s`` in all,
    the reply read up to ``max_reply_bytes``, no redirects."""
    return NetPolicy(max_bytes=spec.max_reply_bytes, connect_s=spec.timeout, read_s=spec.timeout,
                     total_s=spec.deadline_s)


def http_request(name: str, client: httpx.Client, spec: ChannelSpec, url: str, key: str, *, method: str = "POST",
                 **kwargs: object) -> Reply:
    """POST (or ``method``) within the channel's network policy (:func:`channel_policy`).

    A transport error or a retryable status is a retryable :class:`DeliveryError`, another non-2xx a
    permanent one. A 2xx reply past the policy's limits (larger than ``max_reply_bytes``, or still
    coming at ``deadline_s``) leaves the delivery uncertain: a permanent :class:`DeliveryError`, so
    the row is marked failed with the reason and never resent (not twice to people).
    """
    shown = url.split("?")[0]
    try:
        response = exchange(client, method, url, channel_policy(spec), **kwargs)
    except httpx.TransportError as err:
        raise DeliveryError(Problem(name, key, f"a reply from {shown}", f"{type(err).__name__}: {err}")) from None
    except NetRefusal as err:
        if err.status is not None and not 200 <= err.status < 300:
            raise _status_error(name, key, shown, err.status, str(err.problems[0])) from None
        raise DeliveryError(Problem(name, key, f"a reply from {shown} within the channel's limits",
                                    str(err.problems[0]), "送达情况不明，不再重发 / delivery uncertain, not resent: "
                                    "check the receiver"), permanent=True) from None
    if not response.is_success:
        raise _status_error(name, key, shown, response.status_code, response.reason_phrase)
    return response


def header_key(key: str) -> str:
    """``key`` as an ``Idempotency-Key`` header value: HTTP headers are ASCII, so any other character
    (a person's name in a key) is percent-encoded as UTF-8; an ASCII key goes as it is."""
    return key if key.isascii() else quote(key, safe="".join(chr(c) for c in range(33, 127) if chr(c) != "%"))


def _status_error(name: str, key: str, shown: str, status: int, reason: str) -> DeliveryError:
    return DeliveryError(Problem(name, key, f"HTTP 2xx from {shown}", f"HTTP {status} {reason}".rstrip()),
                         permanent=status not in RETRY_STATUSES)


def robot_reply(name: str, key: str, response: Reply, *, retry: frozenset[int] = ROBOT_RETRY_CODES) -> dict[str, Any]:
    """DingTalk and WeCom answer HTTP 200 with ``errcode``; 0 is success, the codes in ``retry`` are worth
    another attempt. Returns the reply's JSON object."""
    try:
        reply = response.json()
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        reply = {"errcode": -1, "errmsg": response.text[:200]}
    code = reply.get("errcode", -1)
    if code != 0:
        raise DeliveryError(Problem(name, key, "errcode 0", f"errcode {code} {reply.get('errmsg', '')}"),
                            permanent=code not in retry)
    return reply


def _target(spec: ChannelSpec, recipient: str) -> str:
    return spec.target.replace("{recipient}", quote(recipient, safe=""))


@dataclass(frozen=True)
class WebhookChannel:
    """POST the payload as it is, with ``Idempotency-Key`` (and ``Authorization: Bearer`` given a ``token``)."""

    name: str
    spec: ChannelSpec
    token: str
    client: httpx.Client

    def send(self, delivery: Delivery) -> None:
        """POST to the target."""
        headers = {"Content-Type": delivery.content_type, "Idempotency-Key": header_key(delivery.key)}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        http_request(self.name, self.client, self.spec, _target(self.spec, delivery.recipient), delivery.key,
              content=delivery.payload, headers=headers)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


@dataclass(frozen=True)
class DingTalkChannel:
    """DingTalk group robot: signed webhook, markdown message."""

    name: str
    spec: ChannelSpec
    access_token: str
    secret: str
    client: httpx.Client
    now: Callable[[], datetime]

    def send(self, delivery: Delivery) -> None:
        """POST ``{"msgtype": "markdown", …}`` to ``target?access_token=…&timestamp=…&sign=…``."""
        text = _text(self.name, delivery)
        timestamp = int(self.now().timestamp() * 1000)
        url = (f"{self.spec.target}?access_token={quote(self.access_token, safe='')}&timestamp={timestamp}"
               f"&sign={dingtalk_sign(self.secret, timestamp)}")
        body = {"msgtype": "markdown", "markdown": {"title": title_of(text), "text": text}}
        robot_reply(self.name, delivery.key, http_request(self.name, self.client, self.spec, url, delivery.key, json=body))

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


@dataclass(frozen=True)
class WeComChannel:
    """WeCom group robot: ``target?key=…``, markdown message."""

    name: str
    spec: ChannelSpec
    key: str
    client: httpx.Client

    def send(self, delivery: Delivery) -> None:
        """POST ``{"msgtype": "markdown", "markdown": {"content": …}}``."""
        body = {"msgtype": "markdown", "markdown": {"content": _text(self.name, delivery)}}
        url = f"{self.spec.target}?key={quote(self.key, safe='')}"
        robot_reply(self.name, delivery.key, http_request(self.name, self.client, self.spec, url, delivery.key, json=body))

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def sms_limit(text: str) -> int:
    """Characters in one SMS for ``text``: 160 in the GSM 7-bit alphabet, else 70 (UCS-2)."""
    return GSM_LIMIT if set(text) <= GSM_BASIC else UCS2_LIMIT


def split_sms(text: str) -> list[str]:
    """``text`` as SMS parts of at most :func:`sms_limit` characters, numbered ``(i/n)`` when more than one.

    The number counts towards the limit, so every part is a whole SMS on its own.
    """
    limit = sms_limit(text)
    if len(text) <= limit:
        return [text]
    parts = 2
    while True:
        room = limit - len(f"({parts}/{parts})")
        chunks = [text[i:i + room] for i in range(0, len(text), room)]
        if len(chunks) <= parts:
            return [f"({i}/{len(chunks)}){chunk}" for i, chunk in enumerate(chunks, 1)]
        parts = len(chunks)


def part_key(key: str, part: int, parts: int) -> str:
    """The idempotency key of SMS part ``part`` of ``parts``: the row's key, with ``#i/n`` when split."""
    return key if parts == 1 else f"{key}#{part}/{parts}"


@dataclass(frozen=True)
class SmsChannel:
    """A generic HTTP SMS gateway: one POST per part, each with its own ``Idempotency-Key`` (key#i/n).

    To a group alias (``duty``) the text payload goes as it is; to a person (``person:{name}``) the
    :class:`PersonMessage`'s SMS text with its first link, to the person's mobile number.
    """

    name: str
    spec: ChannelSpec
    token: str
    client: httpx.Client
    contacts: ContactBook

    def send(self, delivery: Delivery) -> None:
        """POST ``{to, text, part, parts, key}`` for each part, in order."""
        if person_of(delivery.recipient) is None:
            to, text = delivery.recipient, _text(self.name, delivery)
        else:
            text = PersonMessage.of(self.name, delivery).sms_text
            to = contact_point(self.name, delivery, self.contacts, ContactKind.MOBILE)
        parts = split_sms(text)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for i, part in enumerate(parts, 1):
            key = part_key(delivery.key, i, len(parts))
            body = {"to": to, "text": part, "part": i, "parts": len(parts), "key": key}
            http_request(self.name, self.client, self.spec, self.spec.target, key, json=body,
                  headers={**headers, "Idempotency-Key": header_key(key)})

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


# -- SMTP -----------------------------------------------------------------------


def email_of(delivery: Delivery, sender: str) -> EmailMessage:
    """The e-mail of ``delivery``: text as the body, anything else attached; Message-ID from the key."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = delivery.recipient
    mail["Message-ID"] = f"<{hashlib.sha256(delivery.key.encode()).hexdigest()[:40]}@warn>"
    mail["Idempotency-Key"] = delivery.key
    kind = delivery.content_type.split(";")[0].strip()
    if kind in TEXT_TYPES:
        text = delivery.payload.decode("utf-8")
        mail["Subject"] = title_of(text) or delivery.key
        mail.set_content(text)
        return mail
    mail["Subject"] = f"预警消息 warning message {delivery.key}"
    mail.set_content("预警消息见附件。 / The warning message is attached.")
    maintype, _, subtype = kind.partition("/")
    mail.add_attachment(delivery.payload, maintype=maintype, subtype=subtype or "octet-stream",
                        filename=f"{file_name(delivery.key)}{_suffix(kind)}")
    return mail


@dataclass(frozen=True)
class SmtpChannel:
    """E-mail over SMTP: one connection per message; login when ``username`` and ``password`` are given.

    To a person (``person:{name}``): the :class:`PersonMessage` as text with its links, to their e-mail address.
    """

    name: str
    spec: ChannelSpec
    username: str
    password: str
    contacts: ContactBook

    def send(self, delivery: Delivery) -> None:
        """Send one e-mail; a 5xx refusal is permanent, anything else is worth another attempt."""
        if person_of(delivery.recipient) is not None:
            delivery = PersonMessage.of(self.name, delivery).mail(
                delivery.key, contact_point(self.name, delivery, self.contacts, ContactKind.EMAIL))
        url = urlsplit(self.spec.target)
        connect = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        try:
            with connect(url.hostname or "127.0.0.1", url.port or 25, timeout=self.spec.timeout) as smtp:
                smtp.ehlo()
                if url.scheme == "smtp" and self.username and smtp.has_extn("starttls"):
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email_of(delivery, self.spec.sender))
        except smtplib.SMTPResponseException as err:
            raise DeliveryError(Problem(self.name, delivery.key, f"the SMTP server at {url.netloc} to accept",
                                        f"{err.smtp_code} {err.smtp_error!r}"),
                                permanent=500 <= err.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(Problem(self.name, delivery.key, f"an SMTP server at {url.netloc}",
                                        f"{type(err).__name__}: {err}")) from None

    def close(self) -> None:
        """Nothing held between messages."""


# -- MQTT -----------------------------------------------------------------------


@dataclass(frozen=True)
class MqttChannel:
    """Publish with QoS 1 (MQTT 5): user property ``Idempotency-Key``, content type property."""

    name: str
    spec: ChannelSpec

    def send(self, delivery: Delivery) -> None:
        """Connect, publish, wait for PUBACK, disconnect."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        url = urlsplit(self.spec.target)
        topic = _target(self.spec, delivery.recipient).split("/", 3)[3]
        where = f"mqtt://{url.netloc}"
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("Idempotency-Key", delivery.key)]
        props.ContentType = delivery.content_type
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        try:
            client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
        except OSError as err:
            raise DeliveryError(Problem(where, topic, "a reachable MQTT broker", str(err))) from None
        client.loop_start()
        try:
            info = client.publish(topic, delivery.payload, qos=1, properties=props)
            info.wait_for_publish(self.spec.timeout)
            if not info.is_published():
                raise DeliveryError(Problem(where, topic, f"PUBACK within {self.spec.timeout} s", f"rc {info.rc}"))
        except (RuntimeError, ValueError) as err:
            raise DeliveryError(Problem(where, topic, "a published message", str(err))) from None
        finally:
            client.disconnect()
            client.loop_stop()

    def close(self) -> None:
        """Nothing held between messages."""


# -- drop folder ----------------------------------------------------------------


def file_name(key: str) -> str:
    """A file name for ``key``: its safe characters and a hash, so distinct keys never share a name."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in key)[:80]
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _suffix(content_type: str) -> str:
    return {"application/cap+xml": ".xml", "application/xml": ".xml", "application/json": ".json",
            "text/markdown": ".md", "text/plain": ".txt"}.get(content_type, ".bin")


@dataclass(frozen=True)
class FileDropChannel:
    """Write each payload into the folder ``target``: a hidden temporary file, fsync, then rename.

    A reader of the folder sees a whole file or none; a resend replaces the file with the same bytes.
    """

    name: str
    spec: ChannelSpec

    def send(self, delivery: Delivery) -> None:
        """Write ``<file_name(key)><suffix>`` atomically."""
        folder = Path(self.spec.target)
        final = folder / f"{file_name(delivery.key)}{_suffix(delivery.content_type.split(';')[0].strip())}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(folder, final, delivery.payload)
        except OSError as err:
            raise DeliveryError(Problem(str(folder), delivery.key, "a writable folder", str(err))) from None

    def close(self) -> None:
        """Nothing held between messages."""


def _write_atomically(folder: Path, final: Path, payload: bytes) -> None:
    """Write a hidden ``.part`` file, fsync it, rename it to ``final``, fsync the folder; remove it on failure."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".", suffix=".part", delete=False) as tmp:
        part = Path(tmp.name)
        try:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        except OSError:
            part.unlink(missing_ok=True)
            raise
    try:
        os.replace(part, final)
    except OSError:
        part.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the registry -----------------------------------------------------------------


def http_client(spec: ChannelSpec) -> httpx.Client:
    return channel_policy(spec).client()


def _webhook(name: str, spec: ChannelSpec, secrets: Mapping[str, str], _now: Callable[[], datetime],
             _contacts: ContactBook) -> Channel:
    return WebhookChannel(name, spec, secrets.get("token", ""), http_client(spec))


def _dingtalk(name: str, spec: ChannelSpec, secrets: Mapping[str, str], now: Callable[[], datetime],
              _contacts: ContactBook) -> Channel:
    required_secrets(name, spec, secrets, "access_token", "secret")
    return DingTalkChannel(name, spec, secrets["access_token"], secrets["secret"], http_client(spec), now)


def _wecom(name: str, spec: ChannelSpec, secrets: Mapping[str, str], _now: Callable[[], datetime],
             _contacts: ContactBook) -> Channel:
    required_secrets(name, spec, secrets, "key")
    return WeComChannel(name, spec, secrets["key"], http_client(spec))


def _sms(name: str, spec: ChannelSpec, secrets: Mapping[str, str], _now: Callable[[], datetime],
         contacts: ContactBook) -> Channel:
    return SmsChannel(name, spec, secrets.get("token", ""), http_client(spec), contacts)


def _smtp(name: str, spec: ChannelSpec, secrets: Mapping[str, str], _now: Callable[[], datetime],
          contacts: ContactBook) -> Channel:
    if not spec.sender:
        raise ConfigError(Problem("config.yaml", f"channels.{name}.sender", "the From address of an smtp channel"))
    return SmtpChannel(name, spec, secrets.get("username", ""), secrets.get("password", ""), contacts)


def _mqtt(name: str, spec: ChannelSpec, _secrets: Mapping[str, str], _now: Callable[[], datetime],
             _contacts: ContactBook) -> Channel:
    if urlsplit(spec.target).scheme != "mqtt" or spec.target.count("/") < 3:
        raise ConfigError(Problem("config.yaml", f"channels.{name}.target", "mqtt://host:port/topic", spec.target))
    return MqttChannel(name, spec)


def _filedrop(name: str, spec: ChannelSpec, _secrets: Mapping[str, str], _now: Callable[[], datetime],
             _contacts: ContactBook) -> Channel:
    return FileDropChannel(name, spec)


for _kind, _factory in (("webhook", _webhook), ("dingtalk", _dingtalk), ("wecom", _wecom), ("sms", _sms),
                        ("smtp", _smtp), ("mqtt", _mqtt), ("filedrop", _filedrop)):
    CHANNEL_KINDS.add(_kind, _factory)
