"""The person channels against the local stand-in gateways, and the stand-ins' callbacks through the parsers.

Everything over real HTTP on 127.0.0.1: the channels send to :class:`warn.sim.gateways.Gateways`, whose
people act (reply, press, click) by posting signed callbacks to :class:`CallbackSink` — a small server
doing what ``warn serve``'s callback route does with :data:`warn.broadcast.callbacks.PARSERS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

import pytest

from warn.broadcast import wxcrypto
from warn.broadcast.callbacks import PARSERS, CallbackRequest, Forged, Parsed
from warn.broadcast.channels import PERSON_JSON, Channel, Delivery, DeliveryError, build_channels
from warn.broadcast.person_channels import VOICE_PROMPT
from warn.command.directory import Contacts
from warn.command.model import Channel as Via
from warn.config import ChannelSpec
from warn.sim.demo import channel_secrets
from warn.sim.gateways import Gateways, gateways_for
from warn.sim.server import LocalServer

NOW = datetime(2026, 7, 15, 8, 0, tzinfo=timezone.utc)
MOBILE, DEAD, DT_USER, WX_USER = "13900000001", "13900000099", "dt-user-01", "wx-user-01"
BOOK = {"张三": Contacts(mobile=MOBILE, dingtalk=DT_USER, wecom=WX_USER),
        "李四": Contacts(mobile=DEAD), "王五": Contacts()}
LINKS = [{"label": "收到 Received", "reply": "received", "url": "http://serve.example/a/TOKEN1.mac"},
         {"label": "需要支援 Need support", "reply": "need_support", "url": "http://serve.example/a/TOKEN2.mac"}]
MESSAGE = json.dumps({"title": "叫应：暴雨橙色预警", "text": "请确认收到。Please confirm.", "links": LINKS,
                      "tts": "渝北区防汛指挥部叫应：暴雨橙色预警。", "sms": "【渝北防汛】叫应：暴雨橙色预警，请回复1收到"}).encode()


def specs(root: str) -> dict[str, ChannelSpec]:
    """The person channels of a drill, pointed at the stand-ins under ``root``."""
    return {
        "duty_sms": ChannelSpec(kind="sms", target=f"{root}/sms", secrets={"token": "SMS_T", "callback": "SMS_CB"}),
        "work_notice": ChannelSpec(kind="work_notice", target=f"{root}/dingtalk", agent_id=2900001, secrets={
            "app_key": "DT_KEY", "app_secret": "DT_SECRET", "callback_token": "DT_CB", "aes_key": "DT_AES_KEY"}),
        "wecom_app": ChannelSpec(kind="wecom_app", target=f"{root}/wecom", agent_id=1000002, secrets={
            "corp_id": "WX_CORP", "corp_secret": "WX_SECRET", "callback_token": "WX_CB", "aes_key": "WX_AES_KEY"}),
        "voice": ChannelSpec(kind="voice", target=root, secrets={"token": "VOICE_T", "callback": "VOICE_CB"}),
    }


@dataclass
class Clock:
    """A settable clock."""

    at: datetime = NOW

    def now(self) -> datetime:
        return self.at


@dataclass
class Seen:
    """What the sink parsed (or refused), by channel."""

    parsed: list[tuple[str, Parsed]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def inbound(self) -> list:
        return [item for _, parsed in self.parsed for item in parsed.inbound]

    def receipts(self) -> list:
        return [item for _, parsed in self.parsed for item in parsed.receipts]


class CallbackSink(LocalServer):
    """``/callbacks/{channel}``: what ``warn serve`` does with a callback — parse it, answer 403 when forged."""

    def __init__(self, channels: dict[str, ChannelSpec], env: dict[str, str], clock: Clock) -> None:
        self.seen = Seen()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urlsplit(self.path)
                name = url.path.rsplit("/", 1)[-1]
                spec = channels[name]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = CallbackRequest(self.command, url.path, dict(parse_qsl(url.query)),
                                          {k.lower(): v for k, v in self.headers.items()}, body)
                secrets = {role: env[var] for role, var in spec.secrets.items()}
                try:
                    parsed = PARSERS[spec.kind](spec, secrets, request, clock.now())
                except Forged as err:
                    sink.seen.refused.append((name, str(err)))
                    status, kind, data = 403, "text/plain", b"forged"
                else:
                    sink.seen.parsed.append((name, parsed))
                    status, kind, data = 200, parsed.content_type, parsed.reply
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(Handler, host="127.0.0.1", port=0)


@dataclass
class World:
    clock: Clock
    gateways: Gateways
    sink: CallbackSink
    channels: dict[str, Channel]
    env: dict[str, str]
    specs: dict[str, ChannelSpec]


@pytest.fixture
def world() -> Iterator[World]:
    clock = Clock()
    draft = specs("http://127.0.0.1:9")
    env = channel_secrets(draft)
    with gateways_for(draft, env, now=clock.now) as gateways:
        real = specs(gateways.root)
        with CallbackSink(real, env, clock) as sink:
            gateways.callback_base = sink.root
            channels = build_channels(real, env=env, now=clock.now, contacts=BOOK.get)
            yield World(clock, gateways, sink, channels, env, real)
            for channel in channels.values():
                channel.close()


def to(person: str, key: str = "req-1/person/张三/1") -> Delivery:
    return Delivery(key, f"person:{person}", MESSAGE, PERSON_JSON)


def test_sms_to_a_person_receipts_and_replies(world: World) -> None:
    world.channels["duty_sms"].send(to("张三"))
    world.channels["duty_sms"].send(to("李四", "req-1/person/李四/1"))
    (sms,) = world.gateways.sms.inbox(MOBILE)
    assert sms.text.endswith(" http://serve.example/a/TOKEN1.mac") and sms.text.startswith("【渝北防汛】")
    assert world.gateways.records() == [{"path": "/sms", "key": "req-1/person/张三/1"},
                                        {"path": "/sms", "key": "req-1/person/李四/1"}]  # what a drill counts
    world.clock.at += timedelta(seconds=40)
    world.gateways.sms.unreachable.add(DEAD)
    assert world.gateways.sms.flush() is not None
    receipts = {r.key: r for r in world.sink.seen.receipts()}
    assert receipts["req-1/person/张三/1"].delivered and receipts["req-1/person/张三/1"].at == world.clock.at
    world.gateways.sms.unreachable.clear()
    assert world.gateways.sms.reply(MOBILE, "2 需要沙袋").status_code == 200
    (answer,) = world.sink.seen.inbound()
    assert (answer.channel, answer.contact, answer.text, answer.key) == (Via.SMS, MOBILE, "2 需要沙袋", None)


def test_sms_unreachable_number_is_reported_failed(world: World) -> None:
    world.gateways.sms.unreachable.add(DEAD)
    world.channels["duty_sms"].send(to("李四", "k-dead"))
    world.gateways.sms.flush()
    (receipt,) = world.sink.seen.receipts()
    assert receipt.key == "k-dead" and not receipt.delivered and "MOBILE_NOT_ON_SERVICE" in receipt.detail


def test_sms_to_the_duty_alias_is_unchanged(world: World) -> None:
    world.channels["duty_sms"].send(Delivery("notice-1", "duty", "数据告警".encode(), "text/plain"))
    assert [m.text for m in world.gateways.sms.inbox("duty")] == ["数据告警"]


def test_work_notice_card_and_its_callback(world: World) -> None:
    world.channels["work_notice"].send(to("张三"))
    (card,) = world.gateways.dingtalk.cards(DT_USER)
    assert card.title == "叫应：暴雨橙色预警" and [b.value for b in card.buttons] == [
        "received|TOKEN1.mac", "need_support|TOKEN2.mac"]
    response = world.gateways.dingtalk.click(DT_USER, card, 1)
    assert response.status_code == 200
    (answer,) = world.sink.seen.inbound()
    assert (answer.channel, answer.contact, answer.text) == (Via.WORK_NOTICE, DT_USER, "need_support|TOKEN2.mac")
    reply = response.json()
    assert set(reply) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert wxcrypto.signature_holds(world.env["DT_CB"], reply["timeStamp"], reply["nonce"], reply["encrypt"],
                                    reply["msg_signature"])
    assert wxcrypto.decrypt(world.env["DT_AES_KEY"], reply["encrypt"], world.env["DT_KEY"]) == "success"


def test_work_notice_token_is_kept_and_renewed_when_refused(world: World) -> None:
    channel = world.channels["work_notice"]
    channel.send(to("张三", "a"))
    channel.send(to("张三", "b"))
    assert len(world.gateways.dingtalk.tokens) == 1
    world.gateways.dingtalk.tokens.clear()  # the platform forgot it (expired early)
    with pytest.raises(DeliveryError) as err:
        channel.send(to("张三", "c"))
    assert not err.value.permanent and "40014" in str(err.value)
    channel.send(to("张三", "c"))
    assert len(world.gateways.dingtalk.cards(DT_USER)) == 3
    world.clock.at += timedelta(hours=3)  # past expires_in: a new token without a refusal
    channel.send(to("张三", "d"))
    assert len(world.gateways.dingtalk.tokens) == 2


def test_wecom_card_once_per_key_and_its_callback(world: World) -> None:
    world.channels["wecom_app"].send(to("张三"))
    world.channels["wecom_app"].send(to("张三"))  # resent after a crash: the task_id makes it one card
    (card,) = world.gateways.wecom.cards(WX_USER)
    assert world.gateways.wecom.click(WX_USER, card, "收到 Received").status_code == 200
    (answer,) = world.sink.seen.inbound()
    assert (answer.channel, answer.contact, answer.text, answer.at) == (Via.WECOM, WX_USER, "received|TOKEN1.mac",
                                                                        NOW)


def test_wecom_url_verification_echoes(world: World) -> None:
    response = world.gateways.wecom.verify_url()
    assert response.status_code == 200 and len(response.text) == 16


def test_voice_call_pressed_and_unanswered(world: World) -> None:
    world.channels["voice"].send(to("张三", "call-1"))
    world.channels["voice"].send(to("张三", "call-2"))
    first, second = world.gateways.voice.calls(MOBILE)
    assert first.tts.endswith(VOICE_PROMPT) and first.digits == {"1": "received", "2": "need_support"}
    world.clock.at += timedelta(minutes=1)
    world.gateways.voice.press(first, "1")
    world.gateways.voice.no_answer(MOBILE)
    (answer,) = world.sink.seen.inbound()
    assert (answer.channel, answer.contact, answer.text, answer.key, answer.at) == (
        Via.VOICE, MOBILE, "1", "call-1", world.clock.at)
    assert [(r.key, r.delivered) for r in world.sink.seen.receipts()] == [("call-1", True), ("call-2", False)]


@pytest.mark.parametrize("kind", ["duty_sms", "work_notice", "wecom_app", "voice"])
def test_person_without_the_contact_point_fails_permanently(world: World, kind: str,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DeliveryError) as err:
        world.channels[kind].send(to("王五"))
    assert err.value.permanent and "王五" in str(err.value)
    with pytest.raises(DeliveryError, match="not in the directory"):
        world.channels[kind].send(to("赵六"))


def test_a_person_channel_takes_only_persons_and_person_messages(world: World) -> None:
    with pytest.raises(DeliveryError, match="person:") as err:
        world.channels["voice"].send(Delivery("k", "duty", MESSAGE, PERSON_JSON))
    assert err.value.permanent
    with pytest.raises(DeliveryError, match="vnd.warn.person"):
        world.channels["work_notice"].send(Delivery("k", "person:张三", b"text", "text/plain"))


def test_no_contact_point_in_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name, channel in world.channels.items():
        channel.send(to("张三", f"log/{name}"))
        with pytest.raises(DeliveryError) as err:
            channel.send(to("王五", f"log/{name}/none"))
        logging.getLogger("warn").warning("delivery failed: %s", err.value)
    world.gateways.sms.reply(MOBILE, "1")
    world.gateways.sms.flush()
    text = caplog.text
    assert text and not any(secret in text for secret in (MOBILE, DT_USER, WX_USER))


def test_forged_callbacks_are_refused_over_http(world: World) -> None:
    """The stand-ins with other secrets than the service's: every callback is refused, nothing parsed."""
    other = {var: value + "x" if not var.endswith("AES_KEY") else value[::-1] for var, value in world.env.items()}
    with gateways_for(world.specs, other, now=world.clock.now) as forger:
        forger.callback_base = world.sink.root
        world.channels["voice"].send(to("张三", "call-f"))
        forger.voice.placed.extend(world.gateways.voice.calls(MOBILE))
        responses = [forger.sms.reply(MOBILE, "1"), forger.voice.press(forger.voice.calls(MOBILE)[0], "1"),
                     forger.wecom.verify_url()]
    assert [r.status_code for r in responses] == [403, 403, 403] and world.sink.seen.parsed == []
    assert {name for name, _ in world.sink.seen.refused} == {"duty_sms", "voice", "wecom_app"}


def test_outbox_rows_name_the_person_never_the_contact_point(world: World, store_url: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    from warn.broadcast.outbox import Dispatcher
    from warn.store import Store

    caplog.set_level(logging.DEBUG)
    with Store.connect(store_url, now=world.clock.now) as store:
        store.upgrade()
        dispatcher = Dispatcher(store, world.channels, clock=world.clock.now)
        for name in world.channels:
            for person in ("张三", "王五"):
                dispatcher.enqueue(name, f"person:{person}", MESSAGE, PERSON_JSON, f"req-9/{name}/{person}")
        for _ in range(3):  # one message a channel at a time (token bucket)
            dispatcher.dispatch_once()
            world.clock.at += timedelta(minutes=1)
        rows = store.outbox.rows()
    assert {row.status.value for row in rows} == {"sent", "failed"} and len(rows) == 8
    stored = " ".join(f"{row.message} {row.last_error}" for row in rows) + caplog.text
    assert "王五" in stored and not any(secret in stored for secret in (MOBILE, DT_USER, WX_USER))
