"""The local webhook receiver: records every POST in memory and as JSON lines, and satisfies the channels."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from warn.broadcast.channels import Delivery, DingTalkChannel, WebhookChannel, build_channels
from warn.config import ChannelSpec
from warn.sim.receiver import WebhookReceiver

CAP = ('<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
       "<headline>暴雨橙色预警</headline></alert>").encode()
ROBOT = {"msgtype": "markdown", "markdown": {"title": "暴雨橙色预警", "text": "## 暴雨橙色预警\n\n龙溪街道请做好防范。"}}


def test_records_cap_xml_and_robot_json_in_memory_and_as_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "received.jsonl"
    with WebhookReceiver(log=log) as receiver:
        assert receiver.url.startswith("http://127.0.0.1:") and not receiver.url.endswith(":0")
        cap = httpx.post(f"{receiver.url}/cap/city", content=CAP, headers={"Content-Type": "application/cap+xml"})
        robot = httpx.post(f"{receiver.url}/robot/send?access_token=tok&timestamp=1", json=ROBOT)
        binary = httpx.post(f"{receiver.url}/raw", content=b"\xff\xfe\x00",
                            headers={"Content-Type": "application/octet-stream"})
    for response in (cap, robot, binary):
        assert response.status_code == 200 and response.json() == {"errcode": 0, "errmsg": "ok"}

    first, second, third = receiver.records()
    assert first["path"] == "/cap/city" and first["query"] == ""
    assert first["content_type"] == "application/cap+xml" and first["body"] == CAP.decode()
    assert first["encoding"] == "utf-8"
    assert second["path"] == "/robot/send" and second["query"] == "access_token=tok&timestamp=1"
    assert second["content_type"] == "application/json" and json.loads(second["body"]) == ROBOT
    assert third["encoding"] == "base64" and base64.b64decode(third["body"]) == b"\xff\xfe\x00"
    received_at = datetime.fromisoformat(first["received_at"])
    assert received_at.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - received_at).total_seconds()) < 60

    text = log.read_text(encoding="utf-8")
    assert "暴雨橙色预警" in text  # ensure_ascii=False: the Chinese is readable in the log
    assert [json.loads(line) for line in text.splitlines()] == receiver.records()


def test_without_a_log_it_keeps_the_records_in_memory_only() -> None:
    with WebhookReceiver() as receiver:
        httpx.post(receiver.url, content=b"{}", headers={"Content-Type": "application/json"})
    assert receiver.log is None
    assert [(r["path"], r["body"]) for r in receiver.records()] == [("/", "{}")]


def test_webhook_and_dingtalk_channels_deliver_to_it(tmp_path: Path) -> None:
    log = tmp_path / "city.jsonl"
    with WebhookReceiver(log=log) as receiver:
        specs = {
            "city": ChannelSpec(kind="webhook", target=f"{receiver.url}/cap/{{recipient}}",
                                secrets={"token": "CITY_TOKEN"}),
            "duty": ChannelSpec(kind="dingtalk", target=f"{receiver.url}/robot/send",
                                secrets={"access_token": "DT_TOKEN", "secret": "DT_SECRET"}),
        }
        channels = build_channels(specs, env={"CITY_TOKEN": "t0ken", "DT_TOKEN": "tok", "DT_SECRET": "sec"})
        try:
            assert isinstance(channels["city"], WebhookChannel) and isinstance(channels["duty"], DingTalkChannel)
            channels["city"].send(Delivery("cap:1", "platform", CAP, "application/cap+xml"))
            channels["duty"].send(Delivery("dt:1", "duty group", ROBOT["markdown"]["text"].encode(), "text/markdown"))
        finally:
            for channel in channels.values():
                channel.close()
    webhook, robot = receiver.records()
    assert webhook["path"] == "/cap/platform" and webhook["body"] == CAP.decode()
    assert robot["path"] == "/robot/send" and "access_token=tok" in robot["query"] and "sign=" in robot["query"]
    assert json.loads(robot["body"])["markdown"]["text"] == ROBOT["markdown"]["text"]
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_a_drill_makes_it_fail_hang_and_trickle_and_it_records_only_what_it_answered(tmp_path: Path) -> None:
    from warn.sim.receiver import HANG_S, REPLY, TRICKLE_S

    with WebhookReceiver() as receiver:
        receiver.fault = "fail"
        failed = httpx.post(f"{receiver.url}/cap", content=CAP, headers={"Idempotency-Key": "k1"})
        receiver.fault = "hang"
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{receiver.url}/cap", content=CAP, headers={"Idempotency-Key": "k2"}, timeout=HANG_S / 4)
        receiver.fault = "trickle"
        began = time.monotonic()
        trickled = httpx.post(f"{receiver.url}/cap", content=CAP, headers={"Idempotency-Key": "k3"})
        took = time.monotonic() - began
        receiver.fault = None
        answered = httpx.post(f"{receiver.url}/cap", content=CAP)
        records = receiver.records()
    assert failed.status_code == 503
    assert trickled.status_code == 200 and trickled.content == REPLY and took >= len(REPLY) * TRICKLE_S * 0.9
    assert answered.status_code == 200
    assert [r["key"] for r in records] == ["k3", ""]
