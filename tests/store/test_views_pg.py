""":class:`warn.store.views.Views` reads through the DB-API driver itself: the same answers on SQLite
and on PostgreSQL, for a store filled through :class:`warn.store.Store` (``store_url`` runs each
test on both; the PostgreSQL case is skipped with the reason when the server does not answer)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from warn.command.model import (
    AckKind,
    Action,
    Assignee,
    Broadcast,
    BroadcastKind,
    ChangeMode,
    CreateTask,
    Listed,
    Notify,
    OpenIncident,
    OrgUnit,
    Post,
    RequestAck,
    Role,
    WarningChange,
)
from warn.vocab import Audience, ItemKind, Level, Mode, OrgLevel, ResponseLevel
from warn.errors import StoreError
from warn.store import ItemLevel, Store
from tests.store.conftest import reading
from warn.store.incidents import NewCapMessage
from warn.store.views import (
    CycleView,
    EntryView,
    FeedView,
    ModeView,
    Views,
    WarningView,
    ZoneView,
)

T0 = datetime(2026, 7, 15, 12, tzinfo=UTC)
AT = T0 + timedelta(hours=1)
INCIDENT = "landslide-20260715"
TOWN = Post(OrgUnit(OrgLevel.TOWN, "DEMO-T03"), Role.TOWN_LEADER)
DISTRICT = Post(OrgUnit(OrgLevel.DISTRICT, "500112"), Role.DUTY_OFFICER)
MINUTE = timedelta(minutes=1)


def _actions() -> list[Action]:
    why = {"rule_id": "TEST", "label": "测试 test"}
    return [
        ChangeMode(key="mode/1", at=T0, incident=None, proposal="p1", from_mode=Mode.PEACETIME, to_mode=Mode.WARTIME,
                   response=ResponseLevel.IV, decided_by="指挥长甲", role=Role.COMMANDER, reason="红色预警", **why),
        OpenIncident(key=f"{INCIDENT}/open", at=T0, incident=INCIDENT, hazard="landslide", **why),
        CreateTask(key=f"{INCIDENT}/t1", at=T0, incident=INCIDENT, task="t1", owner=Assignee(TOWN, "镇长乙"),
                   text="转移群众", due=T0 + 30 * MINUTE, **why),
        CreateTask(key=f"{INCIDENT}/t2", at=T0 + 5 * MINUTE, incident=INCIDENT, task="t2",
                   owner=Assignee(TOWN, None), text="巡查隐患点", due=T0 + 2 * 60 * MINUTE, **why),
        RequestAck(key=f"{INCIDENT}/c1", at=T0, incident=INCIDENT, request="c1", ack=AckKind.CALL,
                   to=Assignee(TOWN, "镇长乙"), subject="叫应", deadline=T0 + 10 * MINUTE, chain=(TOWN, DISTRICT),
                   **why),
        WarningChange(key="landslide:T1/v1", at=T0 + 5 * MINUTE, incident=INCIDENT, thread="landslide:T1",
                      version=1, hazard="landslide", item_id="T1", level=Level.ORANGE, **why),
        Broadcast(key="landslide:T1:public/v1", at=T0 + 6 * MINUTE, incident=INCIDENT, thread="landslide:T1:public",
                  version=1, serial=1, broadcast=BroadcastKind.RAISE, hazard="landslide", area="T1",
                  audience=Audience.PUBLIC, level=Level.ORANGE,
                  listed=(Listed("landslide:T1", "T1", ItemKind.ZONE, Level.ORANGE),), text="甲镇地质灾害橙色预警", **why),
        Notify(key=f"{INCIDENT}/n1", at=T0 + 90 * MINUTE, incident=INCIDENT, to=Assignee(DISTRICT, None),
               text="稍后", **why),
    ]


@pytest.fixture
def views(store: Store, store_url: str) -> Iterator[Views]:
    """Views over a store holding a wartime incident, two tasks, a 叫应 call, an orange warning,
    three feeds (ok, stale, never), two cycles (done at T0, running at T0 + 1 h) and the levels they
    recorded."""
    store.execute_actions(_actions())
    # the message a publication sends (here without the publisher)
    store.warnings.record_messages([NewCapMessage("landslide:T1:public", "Alert", int(Level.ORANGE), T0 + 6 * MINUTE,
                                                  "id-1", "<alert/>")])
    store.levels.record(T0, [ItemLevel("landslide", "zone", "T1", "now", 3),
                             ItemLevel("landslide", "zone", "T2", "now", 1),
                             ItemLevel("landslide", "zone", "T1", "24h", 4)], {})
    store.levels.record(AT, [ItemLevel("landslide", "zone", "T2", "now", 2)], {})
    store.beat("feed:ok", last_seen=T0 + 55 * MINUTE, expected=10 * MINUTE, stale=False)
    store.beat("feed:stale", last_seen=T0 - 60 * MINUTE, expected=10 * MINUTE, stale=True, detail="停报")
    store.beat("feed:never", last_seen=None, expected=10 * MINUTE, stale=True)
    store.cycles.begin(T0)
    store.cycles.finish(T0, inputs={}, items=1, crossings=1, actions=7, applied=7, messages=1)
    store.cycles.begin(AT)
    with Views.open(store_url) as opened:
        yield opened


def test_zones_as_the_cycles_left_them(views: Views) -> None:
    assert views.zones(T0) == [ZoneView("landslide", "zone", "T1", 3, T0), ZoneView("landslide", "zone", "T2", 1, T0)]
    assert views.zones(AT) == [ZoneView("landslide", "zone", "T1", 3, T0), ZoneView("landslide", "zone", "T2", 2, AT)]
    assert views.zones(T0 - MINUTE) == []


def test_zones_walk_every_hazard_kind_and_item_as_grouping_them_would(store: Store, store_url: str) -> None:
    """Items of several hazards and kinds, recorded in some cycles only, one with no level now, one only
    after the time asked: each item's last level now, as the cycles by then left it."""
    rows = {T0: [ItemLevel("flood", "point", "P2", "now", 1), ItemLevel("flood", "point", "P1", "now", 2),
                 ItemLevel("landslide", "zone", "T1", "now", 3), ItemLevel("landslide", "point", "H1", "now", 0),
                 ItemLevel("landslide", "zone", "T9", "24h", 4)],
            T0 + MINUTE: [ItemLevel("flood", "point", "P1", "now", -1), ItemLevel("river", "gauge", "G1", "now", 2)],
            AT: [ItemLevel("landslide", "zone", "T1", "now", 4), ItemLevel("landslide", "zone", "T0", "now", 1)]}
    for at, levels in rows.items():
        store.levels.record(at, levels, {})
    with Views.open(store_url) as views:
        assert views.zones(T0 + MINUTE) == [
            ZoneView("landslide", "zone", "T1", 3, T0), ZoneView("river", "gauge", "G1", 2, T0 + MINUTE),
            ZoneView("flood", "point", "P2", 1, T0), ZoneView("landslide", "point", "H1", 0, T0),
            ZoneView("flood", "point", "P1", -1, T0 + MINUTE)]
        assert [(z.item_id, z.level) for z in views.zones(AT)] == [("T1", 4), ("G1", 2), ("P2", 1), ("T0", 1),
                                                                    ("H1", 0), ("P1", -1)]


def test_an_items_levels_are_each_hazard_kind_and_leads_last_by_the_time_asked(store: Store, store_url: str) -> None:
    """T1 as a landslide zone (three leads, the 24 h one in one cycle only), a landslide point and a flood point,
    beside other items: each (hazard, kind, lead)'s last row by the time asked, with its score and drivers."""
    rows = {T0: [ItemLevel("landslide", "zone", "T1", "now", 1, 40.0, ("SWI 80 mm",)),
                 ItemLevel("landslide", "zone", "T1", "24h", 3), ItemLevel("landslide", "zone", "T2", "now", 4),
                 ItemLevel("flood", "point", "T1", "now", 2)],
            T0 + MINUTE: [ItemLevel("landslide", "zone", "T1", "now", 2, 55.5), ItemLevel("landslide", "zone", "T1", "2h", 4),
                          ItemLevel("landslide", "point", "T1", "now", 0), ItemLevel("flood", "point", "T0", "now", 1)],
            AT: [ItemLevel("landslide", "zone", "T1", "now", -1), ItemLevel("flood", "point", "T1", "now", 3)]}
    for at, levels in rows.items():
        store.levels.record(at, levels, {})
    with Views.open(store_url) as views:
        def seen(at: datetime) -> list[tuple]:
            return [(v.hazard, v.kind, v.lead, v.level, v.score, v.drivers, v.cycle_at) for v in views.item_levels("T1", at)]

        assert seen(T0 - MINUTE) == []
        assert seen(T0) == [("flood", "point", "now", 2, None, [], T0),
                            ("landslide", "zone", "24h", 3, None, [], T0),
                            ("landslide", "zone", "now", 1, 40.0, ["SWI 80 mm"], T0)]
        assert seen(T0 + MINUTE) == [("flood", "point", "now", 2, None, [], T0),
                                     ("landslide", "point", "now", 0, None, [], T0 + MINUTE),
                                     ("landslide", "zone", "24h", 3, None, [], T0),
                                     ("landslide", "zone", "2h", 4, None, [], T0 + MINUTE),
                                     ("landslide", "zone", "now", 2, 55.5, [], T0 + MINUTE)]
        assert [(h, k, lead, level) for h, k, lead, level, *_ in seen(AT)] == [
            ("flood", "point", "now", 3), ("landslide", "point", "now", 0), ("landslide", "zone", "24h", 3),
            ("landslide", "zone", "2h", 4), ("landslide", "zone", "now", -1)]
        assert views.item_levels("nowhere", AT) == []


def test_tasks_as_they_stood(views: Views) -> None:
    overdue = views.tasks(AT, overdue=True)
    assert [(t.task_id, t.status, t.overdue_s, t.due_at) for t in overdue] == [("t1", "open", 1800.0, T0 + 30 * MINUTE)]
    assert overdue[0].due_at.tzinfo is UTC and overdue[0].summary == "转移群众"
    assert [t.task_id for t in views.tasks(AT)] == ["t1", "t2"]
    assert [t.task_id for t in views.tasks(T0 + 4 * MINUTE)] == ["t1"]  # t2 not yet created
    assert views.tasks(T0 + 10 * MINUTE, overdue=True) == []


def test_the_open_call(views: Views) -> None:
    [call] = views.calls(AT)
    assert (call.request_id, call.addressee, call.escalation_step, call.deadline, call.created_at, call.overdue_s) == (
        "c1", "town.DEMO-T03.town_leader", 0, T0 + 10 * MINUTE, T0, 3000.0)
    assert views.calls(T0 - MINUTE) == []


def test_mode_warnings_and_incidents(views: Views) -> None:
    assert views.mode(AT) == ModeView("wartime", 1, T0, "指挥长甲", 0)
    assert views.mode(T0 - MINUTE) == ModeView("peacetime", 0, None, None, 0)
    assert views.warnings(AT) == [WarningView("landslide:T1", "landslide", "T1", 3, 1, T0 + 5 * MINUTE,
                                              T0 + 5 * MINUTE, INCIDENT)]
    assert views.warnings(T0 + 4 * MINUTE) == []  # not yet raised
    [incident] = views.incidents(AT)
    assert (incident.incident_id, incident.mode, incident.response_level, incident.open_tasks, incident.warnings,
            incident.closed_at) == (INCIDENT, "wartime", 1, 2, 1, None)


def test_feeds_and_the_last_cycle(views: Views) -> None:
    never = "从未收到 / never heard"
    assert views.feeds(AT)[1:] == [
        FeedView("feed:ok", T0 + 55 * MINUTE, 300.0, 600.0, "ok", ""),
        FeedView("feed:stale", T0 - 60 * MINUTE, 7200.0, 600.0, "stale", ""),
        FeedView("sensor:R1", None, None, 300.0, "never", never),
        FeedView("sensor:S1", None, None, 300.0, "never", never),
        FeedView("sensor:S2", None, None, 300.0, "never", never),
    ]
    assert views.feeds(AT)[0].health == "unknown"  # its one beat, without data, was written after AT
    assert views.last_cycle(AT) == CycleView(AT, "running", 0.0, 600.0, False)
    assert views.last_cycle(T0 + 30 * MINUTE) == CycleView(T0, "done", 1800.0, 600.0, True)
    assert views.last_cycle(T0 + 30 * MINUTE, every=30 * MINUTE) == CycleView(T0, "done", 1800.0, 1800.0, False)
    assert views.last_cycle(T0 - MINUTE) is None


def test_feed_health_is_judged_at_the_time_asked(views: Views, store: Store) -> None:
    """Attack: ``warn feeds --at T`` showed the stored flag of the latest beat whatever T was."""
    store.write_readings([reading("S1", 12 * 60 + 50, 1.0), reading("S1", 13 * 60 + 5, 1.1)])  # T0 + 50', AT + 5'
    # (each arriving 30 s later)
    sensor = {f.source: f for f in views.feeds(AT)}["sensor:S1"]
    assert (sensor.last_seen, sensor.age_s, sensor.health) == (T0 + 50 * MINUTE, 600.0, "ok")
    assert {f.source: f.health for f in views.feeds(T0 + 50 * MINUTE)}["sensor:S1"] == "never"  # not arrived yet
    later = {f.source: f for f in views.feeds(AT + 60 * MINUTE)}
    assert (later["sensor:S1"].last_seen, later["sensor:S1"].health) == (AT + 5 * MINUTE, "stale")  # 55 min > 3 × 5
    assert later["feed:ok"].health == "stale"  # its beat said ok, but it has been silent for 65 min since
    assert later["sensor:S2"].health == "never"
    before = {f.source: f.health for f in views.feeds(T0 - 90 * MINUTE)}
    assert before["feed:ok"] == before["feed:stale"] == "unknown"  # only later beats are kept
    assert "feed:ok" in [f.source for f in views.status(AT + 60 * MINUTE).stale_feeds]


def test_a_cycle_older_than_twice_the_interval_is_late(views: Views) -> None:
    assert not views.last_cycle(AT + 20 * MINUTE).late  # 2 × PT10M: not yet
    assert views.last_cycle(AT + 20 * MINUTE + timedelta(seconds=1)).late
    assert views.status(AT + 3230 * 60 * MINUTE).last_cycle.late


def test_the_feed_of_the_timeline(views: Views, store: Store) -> None:
    recorded = [EntryView(e.seq, e.occurred_at, e.incident, e.actor, e.role, e.kind, e.summary)
                for e in store.timeline.entries() if e.occurred_at <= AT]
    # the broadcast and the CAP message's record; the notice at T0 + 90 min is later
    assert views.timeline(AT) == recorded and [e.kind for e in recorded] == ["broadcast", "message"]
    assert views.timeline(AT, incident=INCIDENT, since=T0, limit=1) == recorded[:1]
    assert views.timeline(AT, incident="other") == []
    assert [e.kind for e in views.timeline(T0 + 2 * 60 * MINUTE)] == ["broadcast", "notify", "message"]


def test_status_is_the_same_summary(views: Views) -> None:
    status = views.status(AT)
    assert status.warnings == {"landslide": {3: 1}}
    assert [t.task_id for t in status.overdue_tasks] == ["t1"]
    assert [c.request_id for c in status.unanswered_calls] == ["c1"]
    assert [f.source for f in status.stale_feeds] == ["feed:never", "feed:stale", "sensor:R1", "sensor:S1",
                                                      "sensor:S2"]


def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError, match="a reachable database") as err:
        Views.open("postgresql+psycopg://warn:s3cret@127.0.0.1:1/warn?connect_timeout=2")
    assert "s3cret" not in str(err.value) and "warn:***@127.0.0.1:1" in str(err.value)
