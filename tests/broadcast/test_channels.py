"""Channels against real local receivers: webhook, DingTalk (signature verified), WeCom, SMS gateway
(split), SMTP (aiosmtpd), MQTT (Mosquitto on 127.0.0.1:1883) and the CAP drop folder (atomic)."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from tests.helpers import Hostile
from warn.broadcast.channels import (
    CHANNEL_KINDS,
    GSM_LIMIT,
    PERSON_JSON,
    UCS2_LIMIT,
    Channel,
    Delivery,
    DeliveryError,
    build_channels,
    file_name,
    split_sms,
)
from warn.command.directory import Contacts
from warn.config import ChannelSpec
from warn.errors import ConfigError, UnknownNameError
from warn.sim.server import LocalServer

NOW = datetime(2026, 7, 15, 8, 0, tzinfo=timezone.utc)
CAP = b'<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>'
TEXT = "## 暴雨橙色预警\n\n龙溪街道未来3小时降雨量将达50毫米以上，请做好防范。".encode()


class Capture(LocalServer):
    """Records every POST (path, raw path, query, headers, body); answers ``reply(request)`` → (status, JSON)."""

    def __init__(self, reply: Callable[[dict], tuple[int, dict]] = lambda _r: (200, {"errcode": 0})) -> None:
        self.requests: list[dict] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlsplit(self.path)
                request = {"path": url.path, "raw": self.path, "query": parse_qs(url.query),
                           "headers": dict(self.headers),
                           "body": self.rfile.read(int(self.headers.get("Content-Length", 0)))}
                capture.requests.append(request)
                status, answer = reply(request)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(Handler, host="127.0.0.1", port=0)


def one(spec: ChannelSpec, env: dict[str, str] | None = None) -> Channel:
    return build_channels({"c": spec}, env=env or {}, now=lambda: NOW)["c"]


def test_every_kind_is_registered() -> None:
    assert CHANNEL_KINDS.names() == ["dingtalk", "filedrop", "mqtt", "sms", "smtp", "voice", "webhook", "wecom",
                                     "wecom_app", "work_notice"]


def test_webhook_posts_cap_xml_and_json_with_the_key() -> None:
    with Capture() as server:
        channel = one(ChannelSpec(kind="webhook", target=f"{server.root}/cap/{{recipient}}",
                                  secrets={"token": "CITY_TOKEN"}), {"CITY_TOKEN": "t0ken"})
        channel.send(Delivery("cap:1", "city platform", CAP, "application/cap+xml"))
        channel.send(Delivery("json:1", "city", b'{"level": "orange"}', "application/json"))
    first, second = server.requests
    assert first["path"] == "/cap/city%20platform" and first["body"] == CAP
    assert first["headers"]["Content-Type"] == "application/cap+xml"
    assert first["headers"]["Idempotency-Key"] == "cap:1" and first["headers"]["Authorization"] == "Bearer t0ken"
    assert json.loads(second["body"]) == {"level": "orange"} and second["headers"]["Idempotency-Key"] == "json:1"


@pytest.mark.parametrize(("status", "permanent"), [(503, False), (429, False), (400, True), (404, True)])
def test_webhook_failures_say_whether_to_retry(status: int, permanent: bool) -> None:
    with Capture(lambda _r: (status, {})) as server, pytest.raises(DeliveryError, match=f"HTTP {status}") as err:
        one(ChannelSpec(kind="webhook", target=server.root)).send(Delivery("k", "r", b"{}", "application/json"))
    assert err.value.permanent is permanent


def test_unreachable_webhook_is_worth_another_attempt() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeliveryError, match="ConnectError") as err:
        one(ChannelSpec(kind="webhook", target=f"http://127.0.0.1:{port}/x", timeout=2)).send(
            Delivery("k", "r", b"{}", "application/json"))
    assert not err.value.permanent


def _dingtalk_receiver(secret: str, token: str) -> Callable[[dict], tuple[int, dict]]:
    """DingTalk's check: the access token, a timestamp within an hour, the HMAC-SHA256 signature."""

    def reply(request: dict) -> tuple[int, dict]:
        query = request["query"]
        timestamp = int(query["timestamp"][0])
        expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        if query["access_token"] != [token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if query["sign"] != [expected] or abs(timestamp - NOW.timestamp() * 1000) > 3_600_000:
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    return reply


def test_dingtalk_signature_is_verified_by_the_receiver() -> None:
    env = {"DT_TOKEN": "tok", "DT_SECRET": "SEC+/=secret"}

    def spec_of(url: str) -> ChannelSpec:
        return ChannelSpec(kind="dingtalk", target=url, secrets={"access_token": "DT_TOKEN", "secret": "DT_SECRET"})

    with Capture(_dingtalk_receiver("SEC+/=secret", "tok")) as server:
        one(spec_of(f"{server.root}/robot/send"), env).send(Delivery("d:1", "duty group", TEXT, "text/markdown"))
        with pytest.raises(DeliveryError, match="310000") as err:
            one(spec_of(f"{server.root}/robot/send"), {**env, "DT_SECRET": "wrong"}).send(
                Delivery("d:2", "duty group", TEXT, "text/markdown"))
    assert err.value.permanent
    body = json.loads(server.requests[0]["body"])
    assert body == {"msgtype": "markdown", "markdown": {"title": "暴雨橙色预警", "text": TEXT.decode()}}
    assert server.requests[0]["raw"].endswith("%3D")  # the base64 sign is URL-encoded in the query


def test_dingtalk_refuses_cap_xml_as_permanent() -> None:
    channel = one(ChannelSpec(kind="dingtalk", target="http://127.0.0.1:9/robot",
                              secrets={"access_token": "T", "secret": "S"}), {"T": "t", "S": "s"})
    with pytest.raises(DeliveryError, match="text/plain or text/markdown") as err:
        channel.send(Delivery("d", "g", CAP, "application/cap+xml"))
    assert err.value.permanent


def test_wecom_sends_markdown_with_its_key() -> None:
    with Capture() as server:
        one(ChannelSpec(kind="wecom", target=f"{server.root}/webhook/send", secrets={"key": "WX_KEY"}),
            {"WX_KEY": "k-123"}).send(Delivery("w:1", "duty", TEXT, "text/markdown"))
    request, = server.requests
    assert request["query"] == {"key": ["k-123"]}
    assert json.loads(request["body"]) == {"msgtype": "markdown", "markdown": {"content": TEXT.decode()}}


def test_wecom_busy_is_retried_other_errors_are_not() -> None:
    busy = Capture(lambda _r: (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    with busy as server, pytest.raises(DeliveryError, match="45009") as err:
        one(ChannelSpec(kind="wecom", target=server.root, secrets={"key": "K"}), {"K": "k"}).send(
            Delivery("w", "d", TEXT, "text/markdown"))
    assert not err.value.permanent


def test_sms_split_at_70_for_chinese_and_160_for_gsm_with_numbered_parts() -> None:
    assert split_sms("短信" * 35) == ["短信" * 35]
    chinese = split_sms("暴" * 150)
    assert [p[:5] for p in chinese] == ["(1/3)", "(2/3)", "(3/3)"]
    assert all(len(p) <= UCS2_LIMIT for p in chinese) and "".join(p[5:] for p in chinese) == "暴" * 150
    gsm = split_sms("Heavy rain. " * 30)
    assert all(len(p) <= GSM_LIMIT for p in gsm) and len(gsm) == 3
    assert "".join(p[5:] for p in gsm) == "Heavy rain. " * 30
    many = split_sms("雨" * 700)
    assert len(many) == 12 and many[9].startswith("(10/12)") and all(len(p) <= UCS2_LIMIT for p in many)
    assert "".join(p[p.index(")") + 1:] for p in many) == "雨" * 700


def test_sms_gateway_gets_each_part_in_order_with_its_own_key() -> None:
    text = "【渝北区预警】" + "龙溪街道积水点水位超过警戒，请绕行。" * 6
    with Capture(lambda _r: (200, {"ok": True})) as server:
        one(ChannelSpec(kind="sms", target=f"{server.root}/sms", secrets={"token": "SMS_TOKEN"}),
            {"SMS_TOKEN": "s3"}).send(Delivery("sms:1", "13800000000", text.encode(), "text/plain"))
    bodies = [json.loads(r["body"]) for r in server.requests]
    n = len(bodies)
    assert n == len(split_sms(text)) > 1
    assert [b["part"] for b in bodies] == list(range(1, n + 1)) and {b["parts"] for b in bodies} == {n}
    assert [r["headers"]["Idempotency-Key"] for r in server.requests] == [f"sms:1#{i}/{n}" for i in range(1, n + 1)]
    assert {b["to"] for b in bodies} == {"13800000000"}
    assert server.requests[0]["headers"]["Authorization"] == "Bearer s3"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list]]:
    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, _server, _session, envelope) -> str:
            received.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_smtp_delivers_text_and_cap_attachment_to_aiosmtpd(smtp_server: tuple[int, list]) -> None:
    port, received = smtp_server
    channel = one(ChannelSpec(kind="smtp", target=f"smtp://127.0.0.1:{port}", sender="warn@yubei.example"))
    channel.send(Delivery("mail:1", "duty@yubei.example", TEXT, "text/markdown"))
    channel.send(Delivery("mail:2", "city@cq.example", CAP, "application/cap+xml"))
    first, second = (email.message_from_bytes(e.content, policy=default_policy) for e in received)
    assert received[0].rcpt_tos == ["duty@yubei.example"] and received[0].mail_from == "warn@yubei.example"
    assert first["Subject"] == "暴雨橙色预警" and first["Idempotency-Key"] == "mail:1"
    assert first["Message-ID"] == f"<{hashlib.sha256(b'mail:1').hexdigest()[:40]}@warn>"
    assert first.get_content().replace("\r\n", "\n").strip() == TEXT.decode()
    attachment, = list(second.iter_attachments())
    assert attachment.get_content_type() == "application/cap+xml" and attachment.get_content() == CAP
    assert attachment.get_filename() == f"{file_name('mail:2')}.xml"


def test_smtp_to_a_person_uses_their_address_from_the_contact_book(smtp_server: tuple[int, list]) -> None:
    port, received = smtp_server
    spec = ChannelSpec(kind="smtp", target=f"smtp://127.0.0.1:{port}", sender="warn@yubei.example")
    channel = build_channels({"c": spec}, env={}, contacts={"张三": Contacts(email="zs@yubei.example")}.get)["c"]
    message = {"title": "叫应", "text": "请确认。", "links": [{"label": "收到", "reply": "received",
                                                            "url": "http://serve.example/a/T.m"}]}
    channel.send(Delivery("req/张三", "person:张三", json.dumps(message).encode(), PERSON_JSON))
    (mail,) = received
    body = email.message_from_bytes(mail.content, policy=default_policy)
    assert mail.rcpt_tos == ["zs@yubei.example"] and body["Subject"] == "叫应"
    assert "收到: http://serve.example/a/T.m" in body.get_content()
    with pytest.raises(DeliveryError, match="email contact point of 李四") as err:
        channel.send(Delivery("req/李四", "person:李四", json.dumps(message).encode(), PERSON_JSON))
    assert err.value.permanent


def test_smtp_needs_a_sender() -> None:
    with pytest.raises(ConfigError, match="channels.c.sender"):
        one(ChannelSpec(kind="smtp", target="smtp://127.0.0.1:25"))


def _mqtt_reachable() -> str:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError as err:
        return f"Mosquitto not reachable at 127.0.0.1:1883: {err}"
    return ""


@pytest.mark.skipif(bool(_mqtt_reachable()), reason=_mqtt_reachable() or "reachable")
def test_mqtt_publishes_qos1_with_the_key_as_user_property() -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = f"warn/test/{os.getpid()}/{threading.get_ident()}"
    got: queue.Queue = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_connect = lambda c, *_a: c.subscribe(f"{topic}/#", qos=1)
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.on_message = lambda _c, _u, msg: got.put(msg)
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        one(ChannelSpec(kind="mqtt", target=f"mqtt://127.0.0.1:1883/{topic}/{{recipient}}")).send(
            Delivery("mq:1", "speaker-07", CAP, "application/cap+xml"))
        msg = got.get(timeout=10)
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert msg.topic == f"{topic}/speaker-07" and msg.payload == CAP and msg.qos == 1
    assert ("Idempotency-Key", "mq:1") in msg.properties.UserProperty
    assert msg.properties.ContentType == "application/cap+xml"


def test_filedrop_writes_atomically_named_after_the_key(tmp_path: Path) -> None:
    channel = one(ChannelSpec(kind="filedrop", target=str(tmp_path / "drop")))
    key = "yubei.warn:rain/longxi.v3"
    channel.send(Delivery(key, "city", CAP, "application/cap+xml"))
    channel.send(Delivery(key, "city", CAP, "application/cap+xml"))  # a resend replaces, never duplicates
    files = sorted(p.name for p in (tmp_path / "drop").iterdir())
    assert files == [f"{file_name(key)}.xml"] and file_name(key).startswith("yubei.warn_rain_longxi.v3-")
    assert (tmp_path / "drop" / files[0]).read_bytes() == CAP
    assert file_name("a/b") != file_name("a_b")


def test_filedrop_failure_leaves_no_file_and_no_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    channel = one(ChannelSpec(kind="filedrop", target=str(tmp_path)))

    def broken(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(DeliveryError, match="No space left") as err:
        channel.send(Delivery("k", "city", CAP, "application/cap+xml"))
    assert not err.value.permanent and list(tmp_path.iterdir()) == []


def test_secrets_come_from_named_variables_only() -> None:
    spec = ChannelSpec(kind="wecom", target="http://127.0.0.1:9/x", secrets={"key": "WARN_WECOM_KEY"})
    with pytest.raises(ConfigError, match="WARN_WECOM_KEY.*unset"):
        build_channels({"duty": spec}, env={})
    with pytest.raises(ConfigError, match=r"channels.duty.secrets.*key"):
        build_channels({"duty": ChannelSpec(kind="wecom", target="http://127.0.0.1:9/x")}, env={})
    with pytest.raises(ValidationError, match="NAME of an environment variable"):
        ChannelSpec(kind="wecom", target="http://x", secrets={"key": "693a-91f6-secret"})
    with pytest.raises(UnknownNameError, match=r"channels.duty.kind.*did you mean 'webhook'"):
        build_channels({"duty": ChannelSpec(kind="webhok", target="http://x")}, env={})


def test_config_yaml_channels_build_with_their_variables_set() -> None:
    from warn.config import load_settings

    channels = load_settings().channels
    names = {var for spec in channels.values() for var in spec.secrets.values()}
    built = build_channels(channels, env={var: "x" for var in names})
    assert set(built) == set(channels) and {c.spec.kind for c in built.values()} == set(CHANNEL_KINDS.names())
    for channel in built.values():
        channel.close()


def test_delivery_clock_is_injected() -> None:
    seen: list[int] = []

    def reply(request: dict) -> tuple[int, dict]:
        seen.append(int(request["query"]["timestamp"][0]))
        return 200, {"errcode": 0}

    with Capture(reply) as server:
        later = NOW + timedelta(hours=5)
        build_channels({"d": ChannelSpec(kind="dingtalk", target=server.root,
                                         secrets={"access_token": "T", "secret": "S"})},
                       env={"T": "t", "S": "s"}, now=lambda: later)["d"].send(Delivery("k", "g", TEXT, "text/plain"))
    assert seen == [int(later.timestamp() * 1000)]


def test_a_webhook_trickling_its_reply_is_cut_at_the_deadline_as_uncertain() -> None:
    with Hostile(trickle_s=0.5) as hostile, pytest.raises(DeliveryError) as err:
        one(ChannelSpec(kind="webhook", target=f"{hostile.root}/trickle", deadline_s=1)).send(
            Delivery("k", "r", b"{}", "application/json"))
    assert err.value.permanent and "expected the whole reply within 1 s" in str(err.value)


def test_a_robot_redirecting_elsewhere_is_not_followed() -> None:
    with Hostile() as hostile, Hostile(host="127.0.0.2") as elsewhere, pytest.raises(DeliveryError) as err:
        one(ChannelSpec(kind="wecom", target=f"{hostile.root}/to/{elsewhere.root}/x", secrets={"key": "K"}),
            {"K": "secret-key"}).send(Delivery("k", "r", TEXT, "text/markdown"))
    assert elsewhere.requests == [] and "secret-key" not in str(err.value)
    assert err.value.permanent and "expected HTTP 2xx" in str(err.value) and "got HTTP 302" in str(err.value)
