"""The reach step: person messages become deliveries on the person's channels, with links; fallback and voice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from warn.command.directory import Contacts, Directory, Person
from warn.command.model import AckKind, Assignee, CreateTask, Notify, OrgUnit, Post, RequestAck, Role
from warn.command.org import OrgTree
from warn.config import ChannelSpec, ReachRule, ReachSpec
from warn.broadcast.channels import PERSON_JSON
from warn.cycle.reach import Reach, reach, zh_part
from warn.links import check, link_id_of
from warn.store import Store
from warn.store.deliveries import DeliveryStatus
from warn.vocab import CapStatus, Level, OrgLevel

T0 = datetime(2026, 7, 20, 2, 0, tzinfo=UTC)
LEAD = "演示村社负责人0301"
WORKER = "演示网格员030101"
NOBODY = "演示无联系方式人员"
COMMUNITY = OrgUnit(OrgLevel.COMMUNITY, "DEMO-T03-C01")
SECRET = b"test-link-secret-0123456789"
MOBILE = "19900000301"
DINGTALK = "demo-dt-0301"


@pytest.fixture
def store(tmp_path):
    with Store.connect(f"sqlite:///{tmp_path / 'warn.db'}", now=lambda: T0) as s:
        s.upgrade()
        yield s


@pytest.fixture
def how() -> Reach:
    persons = {LEAD: Person(LEAD, Contacts(mobile=MOBILE, dingtalk=DINGTALK), COMMUNITY),
               WORKER: Person(WORKER, Contacts(mobile="19900030101"), COMMUNITY),
               NOBODY: Person(NOBODY, Contacts(), COMMUNITY)}
    directory = Directory(source="test", persons=persons, org=OrgTree(), posts=(), points={})
    channels = {"work": ChannelSpec(kind="work_notice", target="http://127.0.0.1:1"),
                "sms": ChannelSpec(kind="sms", target="http://127.0.0.1:1"),
                "voice": ChannelSpec(kind="voice", target="http://127.0.0.1:1")}
    spec = ReachSpec(rules=[ReachRule(channels=["work", "sms"])], voice="voice", voice_from="orange",
                     fallback_after=timedelta(minutes=5))
    return Reach(spec, channels, directory, SECRET, "http://127.0.0.1:8790", timedelta(hours=24),
                 CapStatus.EXERCISE, "渝北区治理中心", ZoneInfo("Asia/Shanghai"))


def _call(store: Store, person: str = LEAD, level: Level = Level.ORANGE, request: str = "INC/run/call/a0",
          kind: AckKind = AckKind.CALL) -> None:
    post = Post(COMMUNITY, Role.COMMUNITY_LEAD)
    store.execute_actions([RequestAck(
        key=f"{request}/ask", at=T0, incident=None, rule_id="ACK-ASK", label="ask", request=request, ack=kind,
        to=Assignee(post, person), subject="地质灾害橙色预警叫应：请应答。Orange landslide warning call: answer.",
        deadline=T0 + timedelta(minutes=30), chain=(), level=level)])


def test_a_call_goes_on_the_first_channel_and_rings_with_links_bound_to_the_person(store, how):
    _call(store)
    report = reach(store, how, T0)
    rows = store.deliveries.all()
    assert report.planned == 2 and {(r.channel, r.step) for r in rows} == {("work", 0), ("voice", 0)}
    assert {r.org_level for r in rows} == {"community"} and {r.person for r in rows} == {LEAD}
    head = store.outbox.heads(T0)[0].message
    assert head.recipient == f"person:{LEAD}" and head.content_type == PERSON_JSON
    payload = json.loads(head.payload)
    replies = [link["reply"] for link in payload["links"] if link["reply"]]
    assert replies == ["received", "on_site", "need_support"]
    token = payload["links"][0]["url"].rsplit("/a/", 1)[1]
    claims = check(SECRET, token, store.links.claims(link_id_of(token)), T0)
    assert claims.person == LEAD and claims.subject == "INC/run/call/a0"
    assert any(link["label"].startswith("险情上报") for link in payload["links"])  # community post reports dangers
    assert "回复1收到" in payload["sms"] and "按1" in payload["tts"]
    assert reach(store, how, T0).planned == 0  # nothing twice


def test_below_voice_from_nothing_rings(store, how):
    _call(store, level=Level.YELLOW)
    reach(store, how, T0)
    assert [r.channel for r in store.deliveries.all()] == ["work"]


def test_a_failed_channel_moves_to_the_next_one_at_once(store, how):
    _call(store, level=Level.BLUE)
    reach(store, how, T0)
    first = store.deliveries.all()[0]
    store.deliveries.receipt(first.outbox_key, delivered=False, at=T0 + timedelta(seconds=30), detail="用户未激活")
    report = reach(store, how, T0 + timedelta(minutes=1))
    assert report.fallbacks == 1
    assert [(r.channel, r.step) for r in store.deliveries.all()] == [("work", 0), ("sms", 1)]
    fallback = [e for e in store.timeline.entries() if e.details.get("rule_id") == "REACH-FALLBACK"]
    assert len(fallback) == 1 and "用户未激活" in fallback[0].summary


def test_an_unanswered_call_moves_on_before_its_deadline_and_an_answered_one_does_not(store, how):
    _call(store, level=Level.BLUE)
    _call(store, level=Level.BLUE, request="INC/run/other/a0")
    reach(store, how, T0)
    for row in store.deliveries.all():
        store.deliveries.receipt(row.outbox_key, delivered=True, at=T0)
    store.deliveries.answered("INC/run/other/a0", LEAD, "work", T0 + timedelta(minutes=2))
    assert reach(store, how, T0 + timedelta(minutes=4)).fallbacks == 0
    assert reach(store, how, T0 + timedelta(minutes=5)).fallbacks == 1
    moved = [r for r in store.deliveries.all() if r.step == 1]
    assert [(r.request_id, r.channel) for r in moved] == [("INC/run/call/a0", "sms")]
    assert moved[0].queued_at < T0 + timedelta(minutes=30)


def test_a_notice_moves_on_failure_only(store, how):
    post = Post(COMMUNITY, Role.GRID_WORKER)
    store.execute_actions([Notify(key="INC/run/notify/a0", at=T0, incident=None, rule_id="PB-STEP", label="n",
                                  to=Assignee(post, LEAD), text="请关注。Watch.")])
    reach(store, how, T0)
    store.deliveries.receipt(store.deliveries.all()[0].outbox_key, delivered=True, at=T0)
    assert reach(store, how, T0 + timedelta(hours=1)).fallbacks == 0
    store.execute_actions([Notify(key="INC/run/notify/a1", at=T0, incident=None, rule_id="PB-STEP", label="n",
                                  to=Assignee(post, LEAD), text="请关注。Watch.")])
    reach(store, how, T0)
    failed = next(r for r in store.deliveries.all() if r.subject == "INC/run/notify/a1")
    store.deliveries.receipt(failed.outbox_key, delivered=False, at=T0, detail="用户不存在")
    assert reach(store, how, T0 + timedelta(minutes=1)).fallbacks == 1


def test_a_person_without_any_channel_is_recorded_not_reached(store, how):
    _call(store, person=NOBODY)
    report = reach(store, how, T0)
    assert report.unreachable == 1 and store.deliveries.all() == []
    none = [e for e in store.timeline.entries() if e.details.get("rule_id") == "REACH-NONE"]
    assert len(none) == 1 and NOBODY in none[0].summary


def test_a_task_with_a_hand_off_goes_once_with_its_answer_and_task_links(store, how):
    post = Post(COMMUNITY, Role.COMMUNITY_LEAD)
    task = "INC/run/evacuate/a0"
    store.execute_actions([
        CreateTask(key=task, at=T0, incident=None, rule_id="PB-STEP", label="t", task=task,
                   owner=Assignee(post, LEAD), text="组织撤离。Evacuate.", due=T0 + timedelta(hours=1)),
        RequestAck(key=f"{task}/handoff/ask", at=T0, incident=None, rule_id="ACK-ASK", label="ask",
                   request=f"{task}/handoff", ack=AckKind.TASK, to=Assignee(post, LEAD), subject="组织撤离。",
                   deadline=T0 + timedelta(minutes=15), chain=()),
    ])
    reach(store, how, T0)
    rows = store.deliveries.all()
    assert [(r.subject, r.channel) for r in rows] == [(f"{task}/handoff/ask", "work")]
    labels = [link["label"] for link in json.loads(store.outbox.heads(T0)[0].message.payload)["links"]]
    assert labels[:2] == ["查看任务 Task", "应答 Answer"]


def test_no_contact_point_is_written_anywhere_but_the_directory(store, how):
    _call(store)
    reach(store, how, T0)
    row = store.deliveries.all()[0]
    store.deliveries.receipt(row.outbox_key, delivered=False, at=T0, detail="failed")
    reach(store, how, T0 + timedelta(minutes=1))
    written = [m.message for m in store.outbox.heads(T0 + timedelta(hours=1))]
    texts = [m.recipient for m in written] + [m.payload.decode() for m in written]
    texts += [e.summary + json.dumps(e.details, ensure_ascii=False) for e in store.timeline.entries()]
    texts += [str(r) for r in store.deliveries.all()]
    assert not [t for t in texts if MOBILE in t or DINGTALK in t]
    assert all(r.status in (DeliveryStatus.QUEUED, DeliveryStatus.FAILED) for r in store.deliveries.all())


def test_zh_part():
    assert zh_part("请加强监测，受威胁群众 12 人。Hazard point at yellow: watch closely.") == "请加强监测，受威胁群众 12 人。"
    assert zh_part("只有中文。") == "只有中文。"
