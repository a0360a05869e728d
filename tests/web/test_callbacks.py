"""The gateways' callbacks on a real server, posted by the real stand-ins (warn.sim.gateways) with real signatures."""

from __future__ import annotations

import json

import pytest

from tests.web.serving import CALL04, ENV, LEADER04, MOBILE04, NOW, SINCE, WECOM04, Served
from warn.links import Purpose, link_id_of
from warn.sim.gateways import Button, Call, Card, SmsGateway, VoiceGateway, WeComApi
from warn.store.deliveries import NewDelivery
from warn.store.outbox import NewMessage

POST04 = "town.DEMO-T04.town_leader"


def deliver(served: Served, channel: str, kind: str, key: str) -> str:
    """The reach step's record of the call to the town leader on ``channel``: its outbox row's key (``key``, unless the
    drill's own reach step delivered the call there already)."""
    served.store.deliveries.plan(
        NewDelivery(subject=f"{CALL04}/ask", request_id=CALL04, task_id=None, incident_id=None, person=LEADER04,
                    post=POST04, org_level="town", channel=channel, channel_kind=kind, step=0),
        NewMessage(channel=channel, recipient=f"person:{LEADER04}", payload=b"{}",
                   content_type="application/vnd.warn.person+json", idempotency_key=key), NOW)
    [found] = [d.outbox_key for d in served.store.deliveries.of_request(CALL04)
               if d.person == LEADER04 and d.channel == channel]
    return found


def sms(served: Served, secret: str = ENV["WARN_SMS_CALLBACK_SECRET"]) -> SmsGateway:
    return SmsGateway("sms", lambda: NOW, served.url, callback_secret=secret)


def answered(served: Served) -> list[tuple]:
    return served.query("select answered_by, channel from ack_requests where request_id = ?", CALL04)


def test_an_sms_reply_answers_the_persons_waiting_call(served):
    deliver(served, "sms", "sms", "k-sms")
    gateway = sms(served)  # the report of the part it sent (queued as its send does)
    gateway.pending.append({"phone_number": MOBILE04, "send_time": "2026-07-15 13:04:00", "success": True,
                            "err_code": "DELIVERED", "err_msg": "用户接收成功", "out_id": "k-sms#1/1"})
    assert gateway.flush().status_code == 200
    assert served.query("select status from deliveries where outbox_key = 'k-sms'") == [("delivered",)]
    response = gateway.reply(MOBILE04, "2 需要沙袋 200 袋")
    assert response.status_code == 200 and response.json()["code"] == 0
    assert answered(served) == [(LEADER04, "sms")]
    [(summary, details)] = served.query("select summary, details from timeline where kind = 'ack' and actor = ? "
                                        "order by seq desc limit 1", LEADER04)
    assert "sms" in summary and json.loads(details)["channel"] == "sms"
    assert served.query("select answered_at is not null from deliveries where outbox_key = 'k-sms'") == [(1,)]
    assert MOBILE04 not in str(served.query("select summary, details from timeline"))


def test_a_forged_sms_callback_is_refused_and_writes_nothing(served):
    deliver(served, "sms", "sms", "k-sms")
    before = served.snapshot()
    response = sms(served, secret="not-the-secret").reply(MOBILE04, "1")
    assert response.status_code == 403
    assert served.snapshot() == before and answered(served) == [(None, None)]


def test_an_unknown_sender_is_on_the_timeline_without_the_number(served):
    response = sms(served).reply("13700000000", "1")
    assert response.status_code == 200
    [(actor, summary, details)] = served.query(f"select actor, summary, details from timeline where kind = 'inbound' "
                                               f"and {SINCE}")
    assert actor == "unknown sender" and "13700000000" not in summary + details
    sms(served).reply(MOBILE04, "随便说说")  # the town leader, but not an answer (and no call delivered)
    assert served.query(f"select actor from timeline where kind = 'inbound' and {SINCE} order by seq") == [
        ("unknown sender",), (LEADER04,)]
    assert answered(served) == [(None, None)]


def test_a_keypress_answers_the_call_it_was_made_for(served):
    key = deliver(served, "voice", "voice", "k-voice")
    gateway = VoiceGateway("voice", lambda: NOW, served.url, callback_secret=ENV["WARN_VOICE_CALLBACK_SECRET"])
    response = gateway.press(Call(key, MOBILE04, "叫应", {"1": "received"}, NOW), "3")
    assert response.status_code == 200
    assert answered(served) == [(LEADER04, "voice")]
    assert served.query("select status from deliveries where outbox_key = ?", key) == [("delivered",)]


@pytest.mark.parametrize("user, answers", [(WECOM04, True), ("somebody-else", False)])
def test_a_wecom_card_button_answers_with_the_persons_own_link(served, user, answers):
    token = served.link(Purpose.ANSWER, CALL04, LEADER04)
    api = WeComApi("wecom_app", lambda: NOW, served.url, app_id=ENV["WARN_WECOM_CORP_ID"],
                   callback_token=ENV["WARN_WECOM_CALLBACK_TOKEN"], aes_key=ENV["WARN_WECOM_AES_KEY"], agent_id=1000002)
    assert api.verify_url().status_code == 200
    card = Card("t1", user, "叫应", "", (Button("已到岗", f"on_site|{token}"),), NOW)
    assert api.click(user, card, 0).status_code == 200
    if answers:
        assert answered(served) == [(LEADER04, "wecom")]
        assert served.query("select used_via from links where link_id = ?", link_id_of(token)) == [("wecom",)]
    else:
        assert answered(served) == [(None, None)]
        assert served.query("select used_at from links where link_id = ?", link_id_of(token)) == [(None,)]
        assert served.query(f"select actor from timeline where kind = 'inbound' and {SINCE}") == [("unknown sender",)]


def test_a_forged_wecom_callback_and_an_unknown_channel_are_refused(served):
    api = WeComApi("wecom_app", lambda: NOW, served.url, app_id=ENV["WARN_WECOM_CORP_ID"],
                   callback_token="another-token", aes_key=ENV["WARN_WECOM_AES_KEY"], agent_id=1000002)
    card = Card("t1", WECOM04, "叫应", "", (Button("收到", f"received|{served.link(Purpose.ANSWER, CALL04, LEADER04)}"),),
                NOW)
    before = served.snapshot()
    assert api.click(WECOM04, card, 0).status_code == 403
    assert served.client.post("/callbacks/city_cap", content=b"{}").status_code == 404
    assert served.client.post("/callbacks/nosuch", content=b"{}").status_code == 404
    assert served.snapshot() == before
