"""The callback parsers: a genuine callback reads, a forged one — wrong signature, wrong key, stale timestamp,
wrong corp id / app key — raises Forged and says what failed, never the body."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from warn.broadcast import wxcrypto
from warn.broadcast.callbacks import (
    PARSERS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackRequest,
    Forged,
    Malformed,
    gateway_signature,
    row_key,
)
from warn.command.model import Channel
from warn.config import ChannelSpec
from warn.errors import ConfigError

NOW = datetime(2026, 7, 15, 8, 0, tzinfo=timezone.utc)
KEY = "kWvJ2X0eV9fGmT4h8Qx1cN7bR3yZ5pA6sD2fG8hJ0kL"  # 43 characters, an EncodingAESKey
OTHER_KEY = "A" * 42 + "E"
SMS = ChannelSpec(kind="sms", target="http://gw/sms", secrets={"token": "T", "callback": "CB"})
VOICE = ChannelSpec(kind="voice", target="http://gw", secrets={"callback": "CB"})
WECOM = ChannelSpec(kind="wecom_app", target="http://wx", agent_id=1, secrets={})
DINGTALK = ChannelSpec(kind="work_notice", target="http://dt", agent_id=1, secrets={})
GW_SECRETS = {"token": "t", "callback": "s3cret"}
WX_SECRETS = {"callback_token": "tok", "aes_key": KEY, "corp_id": "ww-corp"}
DT_SECRETS = {"callback_token": "tok", "aes_key": KEY, "app_key": "ding-app"}
PHONE = "13900000001"


def signed(body: object, *, secret: str = "s3cret", at: datetime = NOW) -> CallbackRequest:
    data = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(at.timestamp()))
    return CallbackRequest("POST", "/callbacks/x", {}, {TIMESTAMP_HEADER: stamp,
                                                       SIGNATURE_HEADER: gateway_signature(secret, stamp, data)}, data)


def wecom_event(*, key: str = KEY, corp: str = "ww-corp", token: str = "tok", at: datetime = NOW) -> CallbackRequest:
    inner = (f"<xml><ToUserName>{corp}</ToUserName><FromUserName>wx-user</FromUserName>"
             f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType>event</MsgType>"
             "<Event>template_card_event</Event><EventKey>received|TOK.mac</EventKey></xml>")
    encrypted = wxcrypto.encrypt(key, inner, corp)
    stamp = str(int(at.timestamp()))
    query = {"msg_signature": wxcrypto.signature(token, stamp, "n1", encrypted), "timestamp": stamp, "nonce": "n1"}
    body = f"<xml><ToUserName>{corp}</ToUserName><Encrypt>{encrypted}</Encrypt><AgentID>1</AgentID></xml>"
    return CallbackRequest("POST", "/callbacks/wecom_app", query, {}, body.encode())


def dingtalk_event(*, key: str = KEY, owner: str = "ding-app", token: str = "tok", at: datetime = NOW,
                   event: dict | None = None) -> CallbackRequest:
    ms = int(at.timestamp() * 1000)
    event = event or {"EventType": "card_callback", "userId": "dt-user", "TimeStamp": ms,
                      "content": json.dumps({"cardPrivateData": {"params": {"value": "on_site|TOK.mac"}}})}
    encrypted = wxcrypto.encrypt(key, json.dumps(event), owner)
    query = {"signature": wxcrypto.signature(token, str(ms), "n2", encrypted), "timestamp": str(ms), "nonce": "n2"}
    return CallbackRequest("POST", "/callbacks/work_notice", query, {}, json.dumps({"encrypt": encrypted}).encode())


def test_crypto_round_trip_and_padding() -> None:
    for message in ("", "x", "收到" * 40):
        encrypted = wxcrypto.encrypt(KEY, message, "corp")
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert wxcrypto.decrypt(KEY, encrypted, "corp") == message


def test_sms_reports_and_replies() -> None:
    parsed = PARSERS["sms"](SMS, GW_SECRETS, signed([
        {"phone_number": PHONE, "send_time": "2026-07-15 15:59:00", "report_time": "2026-07-15 16:00:00",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "out_id": "req/1#2/3"},
        {"phone_number": PHONE, "send_time": "2026-07-15 16:00:00", "content": " 2 需要沙袋 ", "dest_code": "1069",
         "sequence_id": 7}]), NOW)
    (receipt,), (answer,) = parsed.receipts, parsed.inbound
    assert (receipt.key, receipt.delivered, receipt.at) == ("req/1", True, NOW)
    assert (answer.channel, answer.contact, answer.text, answer.key, answer.at) == (Channel.SMS, PHONE, "2 需要沙袋",
                                                                                    None, NOW)
    assert json.loads(parsed.reply) == {"code": 0, "msg": "成功"}
    assert row_key("a#b") == "a#b"


@pytest.mark.parametrize("kind", ["sms", "voice"])
def test_gateway_scheme_refuses_forgeries(kind: str) -> None:
    parse, spec = PARSERS[kind], SMS if kind == "sms" else VOICE
    body = [{"key": "k", "to": PHONE, "status": "answered", "digits": "1", "at": NOW.isoformat()}]
    with pytest.raises(Forged, match="signature"):
        parse(spec, GW_SECRETS, signed(body, secret="guess"), NOW)
    with pytest.raises(Forged, match="within 5 minutes"):
        parse(spec, GW_SECRETS, signed(body, at=NOW - timedelta(minutes=6)), NOW)
    unsigned = signed(body)
    with pytest.raises(Forged, match="headers"):
        parse(spec, GW_SECRETS, CallbackRequest("POST", "/", {}, {}, unsigned.body), NOW)
    tampered = CallbackRequest("POST", "/", {}, unsigned.headers, unsigned.body.replace(b'"1"', b'"2"'))
    with pytest.raises(Forged) as err:
        parse(spec, GW_SECRETS, tampered, NOW)
    assert PHONE not in str(err.value)
    with pytest.raises(ConfigError, match="callback"):
        parse(spec, {"token": "t"}, unsigned, NOW)


def test_voice_results() -> None:
    parsed = PARSERS["voice"](VOICE, GW_SECRETS, signed([
        {"key": "c1", "to": PHONE, "status": "answered", "digits": "2", "at": NOW.isoformat()},
        {"key": "c2", "to": PHONE, "status": "busy", "digits": "", "at": NOW.isoformat()}]), NOW)
    assert [(r.key, r.delivered, r.detail) for r in parsed.receipts] == [("c1", True, "answered 2"),
                                                                          ("c2", False, "busy")]
    assert [(i.channel, i.text, i.key) for i in parsed.inbound] == [(Channel.VOICE, "2", "c1")]
    with pytest.raises(Malformed, match="status"):
        PARSERS["voice"](VOICE, GW_SECRETS, signed({"key": "c", "to": PHONE, "status": "ok", "at": "x"}), NOW)


def test_wecom_event_and_forgeries() -> None:
    parse = PARSERS["wecom_app"]
    (answer,) = parse(WECOM, WX_SECRETS, wecom_event(), NOW).inbound
    assert (answer.channel, answer.contact, answer.text, answer.at) == (Channel.WECOM, "wx-user", "received|TOK.mac",
                                                                        NOW)
    with pytest.raises(Forged, match="signature"):
        parse(WECOM, WX_SECRETS, wecom_event(token="other"), NOW)
    with pytest.raises(Forged, match="padding|length|UTF-8|corp id"):
        parse(WECOM, WX_SECRETS, wecom_event(key=OTHER_KEY), NOW)
    with pytest.raises(Forged, match="corp id"):
        parse(WECOM, WX_SECRETS, wecom_event(corp="ww-other"), NOW)
    with pytest.raises(Forged, match="within 5 minutes"):
        parse(WECOM, WX_SECRETS, wecom_event(at=NOW - timedelta(hours=1)), NOW)


def test_wecom_url_verification() -> None:
    encrypted = wxcrypto.encrypt(KEY, "echo-1234", "ww-corp")
    stamp = str(int(NOW.timestamp()))
    query = {"msg_signature": wxcrypto.signature("tok", stamp, "n", encrypted), "timestamp": stamp, "nonce": "n",
             "echostr": encrypted}
    parsed = PARSERS["wecom_app"](WECOM, WX_SECRETS, CallbackRequest("GET", "/", query, {}, b""), NOW)
    assert parsed.reply == b"echo-1234" and not parsed.inbound
    with pytest.raises(Forged):
        PARSERS["wecom_app"](WECOM, WX_SECRETS, CallbackRequest("GET", "/", {**query, "nonce": "m"}, {}, b""), NOW)


def test_dingtalk_card_callback_and_forgeries() -> None:
    parse = PARSERS["work_notice"]
    parsed = parse(DINGTALK, DT_SECRETS, dingtalk_event(), NOW)
    (answer,) = parsed.inbound
    assert (answer.channel, answer.contact, answer.text, answer.at) == (Channel.WORK_NOTICE, "dt-user",
                                                                        "on_site|TOK.mac", NOW)
    reply = json.loads(parsed.reply)
    assert wxcrypto.decrypt(KEY, reply["encrypt"], "ding-app") == "success"
    assert wxcrypto.signature("tok", reply["timeStamp"], reply["nonce"], reply["encrypt"]) == reply["msg_signature"]
    check = parse(DINGTALK, DT_SECRETS, dingtalk_event(event={"EventType": "check_url"}), NOW)
    assert not check.inbound and json.loads(check.reply)["encrypt"]
    with pytest.raises(Forged, match="signature"):
        parse(DINGTALK, DT_SECRETS, dingtalk_event(token="other"), NOW)
    with pytest.raises(Forged):
        parse(DINGTALK, DT_SECRETS, dingtalk_event(key=OTHER_KEY), NOW)
    with pytest.raises(Forged, match="app key"):
        parse(DINGTALK, DT_SECRETS, dingtalk_event(owner="ding-other"), NOW)
    with pytest.raises(Forged, match="within 5 minutes"):
        parse(DINGTALK, DT_SECRETS, dingtalk_event(at=NOW + timedelta(minutes=10)), NOW)
    with pytest.raises(Malformed, match="card_callback"):
        parse(DINGTALK, DT_SECRETS, dingtalk_event(event={"EventType": "card_callback", "userId": "u"}), NOW)
