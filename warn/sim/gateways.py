"""Local stand-ins of the gateways that reach people: SMS, voice, DingTalk / 渝快政 work notices, WeCom app messages.

:class:`Gateways` is one threaded HTTP server on 127.0.0.1 serving each platform under its own path,
and behaving like the real one towards the person channels (:mod:`warn.broadcast.person_channels`)
and the callbacks (:mod:`warn.broadcast.callbacks`):

``/sms`` — :class:`SmsGateway`
    Takes ``{to, text, part, parts, key}`` with the bearer token (once per key), keeps an inbox per
    number, and queues a status report per part: delivered, or failed for the numbers in
    :attr:`SmsGateway.unreachable`. :meth:`SmsGateway.flush` posts the queued reports (also
    ``report_after`` seconds after a send, when set); :meth:`SmsGateway.reply` posts a 上行 reply.
``/voice/call`` — :class:`VoiceGateway`
    Takes ``{to, tts, key, digits}``; the call rings until :meth:`VoiceGateway.press` or
    :meth:`VoiceGateway.no_answer` posts its result.
``/dingtalk`` — :class:`DingTalkApi`
    ``gettoken`` and ``topapi/message/corpconversation/asyncsend_v2``; keeps each user's cards;
    :meth:`DingTalkApi.click` posts the encrypted card callback.
``/wecom`` — :class:`WeComApi`
    ``cgi-bin/gettoken`` and ``cgi-bin/message/send`` (template cards, once per ``task_id``);
    :meth:`WeComApi.click` posts the encrypted ``template_card_event``, :meth:`WeComApi.verify_url`
    the URL check.

The drill's people act only through these methods, each of which makes the real, signed HTTP
callback to ``{callback_base}/callbacks/{channel}``; time stamps come from the injected clock (the
drill's simulated clock). :func:`gateways_for` builds the stand-ins of a drill's channels from their
specs and secrets::

    with gateways_for(settings.sim.channels, env, now=clock.now) as gateways:
        urls["gateways"] = gateways.root          # fills {gateways} in the channels' targets
        gateways.callback_base = serve_url
        gateways.sms.reply(number, "1")
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from secrets import token_hex
from abc import abstractmethod
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from warn.broadcast import wxcrypto
from warn.broadcast.callbacks import BEIJING, SIGNATURE_HEADER, TIMESTAMP_HEADER, gateway_signature
from warn.command.model import Reply
from warn.config import ChannelSpec
from warn.errors import ConfigError, Problem
from warn.sim.server import LocalServer

#: What a handler returns: HTTP status, content type, body.
Answer = tuple[int, str, bytes]
#: How long a stand-in's access token lives (s), as the platforms say.
TOKEN_LIFE_S = 7200
#: errcode of an unknown access token (DingTalk and WeCom).
BAD_TOKEN = 40014


def _json(status: int, data: object) -> Answer:
    return status, "application/json", json.dumps(data, ensure_ascii=False).encode()


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Platform:
    """What every stand-in shares: its channel's name, where callbacks go, the clock, a lock."""

    channel: str
    now: Callable[[], datetime]
    callback_base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def callback_url(self) -> str:
        """``{callback_base}/callbacks/{channel}``."""
        if not self.callback_base:
            raise RuntimeError(f"the {self.channel} stand-in has no callback_base to post to")
        return f"{self.callback_base.rstrip('/')}/callbacks/{self.channel}"

    def post(self, body: bytes, *, headers: Mapping[str, str] | None = None,
             params: Mapping[str, str] | None = None, method: str = "POST") -> httpx.Response:
        """Make the callback request; the response is the service's."""
        return self.client().request(method, self.callback_url, content=body if method == "POST" else None,
                                     headers=dict(headers or {}), params=dict(params or {}))

    def client(self) -> httpx.Client:
        """The one HTTP client of the stand-in's callbacks, made on first use (a client per request would
        build a TLS context every time)."""
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(timeout=10.0)
            return self._client

    def close(self) -> None:
        """Close the callbacks' client (a later callback makes a new one)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @abstractmethod
    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Answer:
        """Answer one API request (``path`` below the platform's prefix)."""

    def sent_key(self, path: str, body: bytes) -> str | None:
        """The idempotency key a request to ``path`` sent a message with (``""``: a send without one); ``None``
        when the request is no send (a token, a lookup)."""
        return str(json.loads(body).get("key", "")) if path == self.send_path else None

    #: The path (below the prefix) a message is sent to.
    send_path: ClassVar[str] = ""


@dataclass
class SignedPlatform(Platform):
    """A gateway of the generic scheme (SMS, voice): bearer token in, HMAC-signed callbacks out."""

    token: str = ""
    callback_secret: str = ""

    def authorised(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries the bearer token (any request, when there is none)."""
        return not self.token or headers.get("authorization", "") == f"Bearer {self.token}"

    def post_signed(self, data: object) -> httpx.Response:
        """POST ``data`` as JSON, signed with the generic gateway scheme at the clock's time."""
        body = json.dumps(data, ensure_ascii=False).encode()
        stamp = str(int(self.now().timestamp()))
        return self.post(body, headers={"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                                        SIGNATURE_HEADER: gateway_signature(self.callback_secret, stamp, body)})


@dataclass(frozen=True)
class Sms:
    """One SMS part in a phone's inbox."""

    key: str
    text: str
    at: datetime


@dataclass
class SmsGateway(SignedPlatform):
    """The SMS gateway: per-number inboxes, status reports, 上行 replies.

    Attributes
    ----------
    unreachable
        Numbers whose messages are reported failed.
    report_after
        Seconds after a send when its report is posted by itself; ``None``: only on :meth:`flush`.
    """

    unreachable: set[str] = field(default_factory=set)
    report_after: float | None = None
    inboxes: dict[str, list[Sms]] = field(default_factory=lambda: defaultdict(list))
    pending: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Answer:
        """``POST`` a message part."""
        if not self.authorised(headers):
            return _json(401, {"code": "Unauthorized"})
        data = json.loads(body)
        key, to = str(data["key"]), str(data["to"])
        at = self.now()
        with self.lock:
            if key not in self.seen:
                self.seen.add(key)
                self.inboxes[to].append(Sms(key, str(data["text"]), at))
                failed = to in self.unreachable
                self.pending.append({"phone_number": to, "send_time": _beijing(at), "success": not failed,
                                     "err_code": "MOBILE_NOT_ON_SERVICE" if failed else "DELIVERED",
                                     "err_msg": "停机或空号" if failed else "用户接收成功", "out_id": key})
        if self.report_after is not None:
            threading.Timer(self.report_after, self.flush).start()
        return _json(200, {"code": "OK", "key": key})

    def inbox(self, number: str) -> list[Sms]:
        """The messages ``number`` received, oldest first."""
        with self.lock:
            return list(self.inboxes.get(number, []))

    def flush(self) -> httpx.Response | None:
        """Post the queued status reports (one request); ``None`` when there were none."""
        with self.lock:
            reports, self.pending = self.pending, []
        if not reports:
            return None
        stamp = _beijing(self.now())
        return self.post_signed([{**report, "report_time": stamp} for report in reports])

    def reply(self, number: str, text: str) -> httpx.Response:
        """Post a 上行 reply from ``number``."""
        return self.post_signed([{"phone_number": number, "send_time": _beijing(self.now()), "content": text,
                                  "dest_code": "1069", "sequence_id": int(time.time_ns() // 1000)}])


@dataclass
class Call:
    """One voice call: its key, number, what it speaks, the keys it takes, when, and how it ended."""

    key: str
    to: str
    tts: str
    digits: Mapping[str, str]
    at: datetime
    status: str = "ringing"


@dataclass
class VoiceGateway(SignedPlatform):
    """The voice-notification gateway: calls ring until pressed or unanswered."""

    placed: list[Call] = field(default_factory=list)
    send_path: ClassVar[str] = "/call"

    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Answer:
        """``POST /call``."""
        if not self.authorised(headers):
            return _json(401, {"code": "Unauthorized"})
        data = json.loads(body)
        with self.lock:
            if all(call.key != data["key"] for call in self.placed):
                self.placed.append(Call(str(data["key"]), str(data["to"]), str(data["tts"]),
                                        dict(data.get("digits", {})), self.now()))
        return _json(200, {"code": "OK", "call_id": data["key"]})

    def calls(self, number: str) -> list[Call]:
        """The calls to ``number``, oldest first."""
        with self.lock:
            return [call for call in self.placed if call.to == number]

    def press(self, call: Call, digit: str) -> httpx.Response:
        """The callee picks up and presses ``digit``: the result is posted."""
        return self._end(call, "answered", digit)

    def no_answer(self, number: str) -> httpx.Response:
        """The latest ringing call to ``number`` goes unanswered: the result is posted."""
        ringing = [call for call in self.calls(number) if call.status == "ringing"]
        if not ringing:
            raise LookupError("no ringing call to that number")
        return self._end(ringing[-1], "no_answer", "")

    def _end(self, call: Call, status: str, digits: str) -> httpx.Response:
        call.status = status
        return self.post_signed({"key": call.key, "to": call.to, "status": status, "digits": digits,
                                 "at": self.now().isoformat()})


@dataclass(frozen=True)
class Button:
    """A card's button: its label and the value it carries back (``{reply}|{token}``)."""

    label: str
    value: str


@dataclass(frozen=True)
class Card:
    """A card in a user's DingTalk or WeCom inbox."""

    task_id: str
    user: str
    title: str
    text: str
    buttons: tuple[Button, ...]
    at: datetime


@dataclass
class CardPlatform(Platform):
    """What DingTalk and WeCom share: app credentials, tokens, per-user cards, encrypted callbacks."""

    app_id: str = ""
    app_secret: str = ""
    callback_token: str = ""
    aes_key: str = ""
    agent_id: int = 0
    tokens: set[str] = field(default_factory=set)
    inboxes: dict[str, list[Card]] = field(default_factory=lambda: defaultdict(list))
    #: The platform's paths (token, send), the gettoken query names of the app's id and secret, and the
    #: send body's name of the agent id.
    token_path: ClassVar[str]
    send_path: ClassVar[str]
    id_params: ClassVar[tuple[str, str]]
    agent_field: ClassVar[str]

    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Answer:
        """``GET`` the token path, ``POST`` the send path with a token this stand-in issued and the app's agent id."""
        if path == self.token_path:
            return self.issue(query.get(self.id_params[0], ""), query.get(self.id_params[1], ""))
        if path != self.send_path:
            return _json(404, {"errcode": 404, "errmsg": "not found"})
        if query.get("access_token") not in self.tokens:
            return _json(200, {"errcode": BAD_TOKEN, "errmsg": "invalid access_token"})
        data = json.loads(body)
        if data.get(self.agent_field) != self.agent_id:
            return _json(200, {"errcode": 40056, "errmsg": "invalid agentid"})
        return self.take(data)

    @abstractmethod
    def take(self, data: dict[str, Any]) -> Answer:
        """Keep the message a send request carries."""

    def sent_key(self, path: str, body: bytes) -> str | None:
        """A send carries no idempotency key (``""``); other requests are no sends (``None``)."""
        return "" if path == self.send_path else None

    def issue(self, app_id: str, secret: str) -> Answer:
        """A fresh access token for the right credentials."""
        if app_id != self.app_id or secret != self.app_secret:
            return _json(200, {"errcode": 40001, "errmsg": "invalid credential"})
        token = token_hex(16)
        with self.lock:
            self.tokens.add(token)
        return _json(200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_LIFE_S})

    def keep(self, users: list[str], card: Card) -> None:
        """Put ``card`` into each user's inbox."""
        with self.lock:
            for user in users:
                self.inboxes[user].append(Card(card.task_id, user, card.title, card.text, card.buttons, card.at))

    def cards(self, user: str) -> list[Card]:
        """The cards ``user`` received, oldest first."""
        with self.lock:
            return list(self.inboxes.get(user, []))

    def button(self, card: Card, which: int | str) -> Button:
        """The button of ``card`` at index ``which``, or the first whose label starts with it (``"收到"``)."""
        if isinstance(which, int):
            return card.buttons[which]
        for button in card.buttons:
            if button.label.startswith(which):
                return button
        raise LookupError(f"no button {which!r} on the card")

    def sealed(self, message: str, ms: bool) -> tuple[dict[str, str], str]:
        """``message`` encrypted for the app, with the signed query (timestamp in s, or ms)."""
        moment = self.now().timestamp()
        stamp, nonce = str(int(moment * 1000) if ms else int(moment)), token_hex(8)
        encrypted = wxcrypto.encrypt(self.aes_key, message, self.app_id)
        return {"timestamp": stamp, "nonce": nonce,
                "signature": wxcrypto.signature(self.callback_token, stamp, nonce, encrypted)}, encrypted


def _reply_of(label: str) -> str:
    """The reply a DingTalk button labelled ``label`` gives (its label starts with the reply's Chinese name)."""
    return next((reply.value for reply in Reply if label.startswith(reply.zh)), Reply.RECEIVED.value)


@dataclass
class DingTalkApi(CardPlatform):
    """DingTalk / 渝快政 open API: ``app_id`` is the app key, the callbacks' owner."""

    sent: int = 0
    token_path, send_path = "/gettoken", "/topapi/message/corpconversation/asyncsend_v2"
    id_params, agent_field = ("appkey", "appsecret"), "agent_id"

    def take(self, data: dict[str, Any]) -> Answer:
        """An ``asyncsend_v2``: an action card (or markdown) to each user of ``userid_list``."""
        msg = data["msg"]
        if msg["msgtype"] == "action_card":
            card = msg["action_card"]
            title, text = card["title"], card["markdown"]
            buttons = tuple(Button(b["title"], f"{_reply_of(b['title'])}|{b['action_url'].rsplit('/a/', 1)[-1]}")
                            for b in card.get("btn_json_list", []))
        else:
            title, text, buttons = msg["markdown"]["title"], msg["markdown"]["text"], ()
        with self.lock:
            self.sent += 1
            task = str(self.sent)
        self.keep(str(data["userid_list"]).split(","), Card(task, "", title, text, buttons, self.now()))
        return _json(200, {"errcode": 0, "errmsg": "ok", "task_id": int(task), "request_id": token_hex(8)})

    def click(self, user: str, card: Card, button: int | str) -> httpx.Response:
        """``user`` presses a button of ``card``: the encrypted card callback is posted."""
        value = self.button(card, button).value
        event = {"EventType": "card_callback", "userId": user, "outTrackId": card.task_id,
                 "TimeStamp": int(self.now().timestamp() * 1000),
                 "content": json.dumps({"cardPrivateData": {"actionIds": [value.split("|")[0]],
                                                            "params": {"value": value}}})}
        query, encrypted = self.sealed(json.dumps(event, ensure_ascii=False), ms=True)
        return self.post(json.dumps({"encrypt": encrypted}).encode(), params=query,
                         headers={"Content-Type": "application/json"})


@dataclass
class WeComApi(CardPlatform):
    """WeCom (企业微信) API: ``app_id`` is the corp id, the callbacks' receive id."""

    tasks: set[str] = field(default_factory=set)
    token_path, send_path = "/cgi-bin/gettoken", "/cgi-bin/message/send"
    id_params, agent_field = ("corpid", "corpsecret"), "agentid"

    def take(self, data: dict[str, Any]) -> Answer:
        """A ``message/send`` of a template card to each user of ``touser``, once per ``task_id``."""
        card = data["template_card"]
        with self.lock:
            fresh = card["task_id"] not in self.tasks
            self.tasks.add(card["task_id"])
        if fresh:
            buttons = tuple(Button(b["text"], b["key"]) for b in card.get("button_list", []))
            self.keep(str(data["touser"]).split("|"), Card(card["task_id"], "", card["main_title"]["title"],
                                                           card.get("sub_title_text", ""), buttons, self.now()))
        return _json(200, {"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    def click(self, user: str, card: Card, button: int | str) -> httpx.Response:
        """``user`` presses a button of ``card``: the encrypted ``template_card_event`` is posted."""
        key = self.button(card, button).value
        event = (f"<xml><ToUserName><![CDATA[{self.app_id}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
                 f"</FromUserName><CreateTime>{int(self.now().timestamp())}</CreateTime><MsgType><![CDATA[event]]>"
                 f"</MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
                 f"<TaskId><![CDATA[{card.task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
                 f"<ResponseCode><![CDATA[{token_hex(8)}]]></ResponseCode><AgentID>{self.agent_id}</AgentID></xml>")
        signed, encrypted = self.sealed(event, ms=False)
        query = {"msg_signature": signed["signature"], "timestamp": signed["timestamp"], "nonce": signed["nonce"]}
        outer = (f"<xml><ToUserName><![CDATA[{self.app_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]>"
                 f"</Encrypt><AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>")
        return self.post(outer.encode(), params=query, headers={"Content-Type": "text/xml"})

    def verify_url(self) -> httpx.Response:
        """WeCom's check of the callback URL: ``GET`` with an encrypted ``echostr``."""
        signed, encrypted = self.sealed(token_hex(8), ms=False)
        return self.post(b"", method="GET", params={"msg_signature": signed["signature"],
                                                    "timestamp": signed["timestamp"], "nonce": signed["nonce"],
                                                    "echostr": encrypted})


class Gateways(LocalServer):
    """One local server for the stand-ins, each under its path prefix.

    Parameters
    ----------
    sms, voice, dingtalk, wecom
        The stand-ins served (``None``: that platform is not).
    host, port
        Where to bind; port 0 picks a free one (see :attr:`root`).
    """

    def __init__(self, *, sms: SmsGateway | None = None, voice: VoiceGateway | None = None,
                 dingtalk: DingTalkApi | None = None, wecom: WeComApi | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self._sms, self._voice, self._dingtalk, self._wecom = sms, voice, dingtalk, wecom
        self.routes: dict[str, Platform] = {prefix: platform for prefix, platform in (
            ("/sms", sms), ("/voice", voice), ("/dingtalk", dingtalk), ("/wecom", wecom)) if platform is not None}
        self._sent: list[dict[str, str]] = []
        self._sent_lock = threading.Lock()
        super().__init__(_handler_for(self), host=host, port=port)

    def stop(self) -> None:
        """Stop serving and close the stand-ins' callback clients."""
        super().stop()
        for platform in self.routes.values():
            platform.close()

    def records(self) -> list[dict[str, str]]:
        """Every send taken, in order: ``{path: the platform's prefix, key: its idempotency key or ""}`` (the
        webhook receiver's record shape, so a drill counts both alike)."""
        with self._sent_lock:
            return list(self._sent)

    def took(self, prefix: str, key: str) -> None:
        """Note a send taken at ``prefix`` with ``key``."""
        with self._sent_lock:
            self._sent.append({"path": prefix, "key": key})

    @property
    def sms(self) -> SmsGateway:
        """The SMS gateway."""
        return _served(self._sms, "sms")

    @property
    def voice(self) -> VoiceGateway:
        """The voice gateway."""
        return _served(self._voice, "voice")

    @property
    def dingtalk(self) -> DingTalkApi:
        """The DingTalk / 渝快政 API."""
        return _served(self._dingtalk, "work_notice")

    @property
    def wecom(self) -> WeComApi:
        """The WeCom API."""
        return _served(self._wecom, "wecom_app")

    @property
    def callback_base(self) -> str:
        """Where the stand-ins post their callbacks (the service's root URL)."""
        return next(iter(self.routes.values())).callback_base if self.routes else ""

    @callback_base.setter
    def callback_base(self, url: str) -> None:
        for platform in self.routes.values():
            platform.callback_base = url


P = TypeVar("P", bound=Platform)


def _served(platform: P | None, kind: str) -> P:
    if platform is None:
        raise LookupError(f"no {kind} stand-in is served")
    return platform


def _handler_for(gateways: Gateways) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "warn-gateways"

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            prefix = next((p for p in gateways.routes if parts.path == p or parts.path.startswith(p + "/")), None)
            if prefix is None:
                status, kind, data = _json(404, {"errcode": 404, "errmsg": "not found"})
            else:
                headers = {name.lower(): value for name, value in self.headers.items()}
                platform, below = gateways.routes[prefix], parts.path[len(prefix):]
                try:
                    status, kind, data = platform.handle(self.command, below, dict(parse_qsl(parts.query)), headers,
                                                         body)
                    key = platform.sent_key(below, body) if status == 200 and self.command == "POST" else None
                except (ValueError, KeyError, TypeError) as err:
                    status, kind, data = _json(400, {"errcode": 400, "errmsg": type(err).__name__})
                    key = None
                if key is not None and json.loads(data).get("errcode", 0) == 0:
                    gateways.took(prefix, key)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815 (http.server's naming)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            """Silence the default stderr log (it would show numbers and user ids)."""

    return Handler


def gateways_for(channels: Mapping[str, ChannelSpec], env: Mapping[str, str], *,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 callback_base: str = "") -> Gateways:
    """The stand-ins of the person channels among ``channels`` (kinds work_notice, wecom_app, voice, and an sms
    channel with a ``callback`` secret), each knowing its channel's name and secrets (read from ``env``).

    Raises
    ------
    ConfigError
        Two channels of one kind, a secret unset, or no agent_id.
    """
    found: dict[str, Any] = {}

    def secret(name: str, spec: ChannelSpec, role: str) -> str:
        value = env.get(spec.secrets.get(role, ""), "")
        if not value:
            raise ConfigError(Problem("config.yaml", f"sim.channels.{name}.secrets.{role}",
                                      "an environment variable that is set", spec.secrets.get(role, "none")))
        return value

    for name, spec in channels.items():
        kind = {"sms": "sms" if "callback" in spec.secrets else "", "voice": "voice", "work_notice": "dingtalk",
                "wecom_app": "wecom"}.get(spec.kind, "")
        if not kind:
            continue
        if kind in found:
            raise ConfigError(Problem("config.yaml", f"sim.channels.{name}",
                                      f"one {spec.kind} channel for the stand-ins", f"also {found[kind].channel}"))
        if kind in ("sms", "voice"):
            cls = SmsGateway if kind == "sms" else VoiceGateway
            found[kind] = cls(name, now, callback_base, token=env.get(spec.secrets.get("token", ""), ""),
                              callback_secret=secret(name, spec, "callback"))
            continue
        ids = ("app_key", "app_secret") if kind == "dingtalk" else ("corp_id", "corp_secret")
        api = DingTalkApi if kind == "dingtalk" else WeComApi
        found[kind] = api(name, now, callback_base, app_id=secret(name, spec, ids[0]),
                          app_secret=secret(name, spec, ids[1]), callback_token=secret(name, spec, "callback_token"),
                          aes_key=secret(name, spec, "aes_key"), agent_id=spec.agent_id or 0)
    return Gateways(sms=found.get("sms"), voice=found.get("voice"), dingtalk=found.get("dingtalk"),
                    wecom=found.get("wecom"))

