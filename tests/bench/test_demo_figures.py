"""bench/demo_figures.py: each figure and check on a tiny drill built here through the store's functions
(threads, CAP messages produced and parsed by the codec, levels, zone rain, incidents, mode entries), not
the whole demo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.demo_figures import Delivery, Drill, as_json, district_rain, issued_messages, measure, owners, render
from warn import hazards
from warn.cap.codec import Area, CapWarning, MsgType, Reference, ResponseType, build, parse, serialise
from warn.errors import WarnError
from warn.command.model import Broadcast, BroadcastKind, Listed, OpenIncident, Role, WarningChange
from warn.store import ItemLevel, LevelBasis, NewEntry, Store, ZoneRain
from warn.vocab import Audience, CapStatus, ItemKind, Level
from warn.store.incidents import NewCapMessage

T0 = datetime(2026, 7, 15, tzinfo=UTC)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
SENDER, MET = "warn-test@yubei.example", "met-test@example.cn"
DISTRICT = "500112"
#: The met office's signal the district relays (what the demo world's feed folder holds).
SIGNAL = parse(serialise(build(CapWarning(
    sender=MET, thread="rainstorm-signal", version=1, msg_type=MsgType.ALERT, status=CapStatus.EXERCISE,
    hazard="rainstorm", event=hazards.get("rainstorm").cap, level=Level.ORANGE, sent=T0, onset=T0,
    expires=T0 + 12 * HOUR, area_name="渝北区", polygons=(((106.5, 29.7), (106.6, 29.7), (106.6, 29.8), (106.5, 29.7)),),
    geocode=DISTRICT, incident="", sender_zh="渝北区气象台", sender_en="Yubei observatory",
    headline_zh="渝北区气象台发布暴雨橙色预警信号", headline_en="rainstorm orange",
    description_zh="", description_en="", instruction_zh="", instruction_en="", response_type=ResponseType.PREPARE))))
SQUARE = (((106.5, 29.7), (106.51, 29.7), (106.51, 29.71), (106.5, 29.7)),)


def _body(store: Store, thread: str, version: int, level: Level, at: datetime, *, geocode: bool = True,
          headline: str = "甲镇地质灾害预警，24小时雨量50 mm，隐患点DEMO-H001", relays: tuple[Reference, ...] = ()) -> str:
    """A CAP message of ``thread`` as the codec writes it (areas without geocode when ``geocode`` is false)."""
    hazard = thread.split(":")[0]
    earlier = tuple(Reference(SENDER, m.identifier, m.sent_at) for m in store.warnings.messages([thread]))
    alert = build(CapWarning(
        sender=SENDER, thread=thread, version=version, msg_type=MsgType.UPDATE if earlier else MsgType.ALERT,
        status=CapStatus.EXERCISE, hazard=hazard, event=hazards.get(hazard).cap, level=level, sent=at, onset=at,
        expires=at + 6 * HOUR, area_name="甲镇", polygons=SQUARE, geocode=DISTRICT, incident="", sender_zh="区防汛办", sender_en="office",
        headline_zh=headline,
        headline_en="a warning", description_zh="", description_en="", instruction_zh="注意防范。",
        instruction_en="Take care.", response_type=ResponseType.MONITOR, references=earlier + relays))
    if not geocode:
        alert = replace(alert, infos=tuple(replace(i, areas=tuple(Area(a.desc, a.polygons) for a in i.areas))
                                           for i in alert.infos))
    return serialise(alert).decode("utf-8")


def _thread(store: Store, thread: str, item: str, level: Level, at: datetime) -> None:
    """A warning thread of ``item`` and the message thread (same id) that lists it."""
    hazard, why = thread.split(":")[0], {"rule_id": "TEST", "label": "测试 test"}
    store.execute_actions([
        WarningChange(key=f"{thread}/v1/warning", at=at, incident=None, thread=thread, version=1, hazard=hazard,
                      item_id=item, level=level, **why),
        Broadcast(key=f"{thread}/v1", at=at, incident=None, thread=thread, version=1, serial=1,
                  broadcast=BroadcastKind.RAISE, hazard=hazard, area=item, audience=Audience.PUBLIC, level=level,
                  listed=(Listed(thread, item, ItemKind.POINT, level),), text="预警", **why)])


def _message(store: Store, thread: str, version: int, level: Level, at: datetime, **kwargs: Any) -> bytes:
    body = _body(store, thread, version, level, at, **kwargs)
    store.warnings.record_messages([NewCapMessage(thread, "Alert" if version == 1 else "Update", int(level), at,
                                                  parse(body.encode()).identifier, body)])
    return body.encode()


def _stand_down(store: Store, at: datetime, rule_id: str, reason: str) -> None:
    store.timeline.append([NewEntry(occurred_at=at, actor="指挥长甲", role=str(Role.COMMANDER), kind="mode",
                                    summary="战时 → 平时", key=f"stand-down/{rule_id}",
                                    details={"to_mode": "peacetime", "decided_by": "指挥长甲", "rule_id": rule_id,
                                             "reason": reason})])


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    """Two towns A (1 km²) and B (3 km²), rain stopping at T0 + 2 h; town A red until T0 + 5 h; a landslide
    thread updated three times in 30 minutes (its first blue, in public); a point with the district's
    geocode; the rainstorm issued once and relayed once; a stand-down over red and one overridden."""
    with Store.connect(f"sqlite:///{tmp_path / 'warn.db'}") as store:
        store.upgrade()
        means = {"A": [4.0, 2.0, 0.4, 0.0], "B": [4.0, 0.2, 0.4, 0.0]}  # district: 4, 0.65, 0.4, 0 mm
        store.rain.record("demo", T0, "towns", [ZoneRain(z, T0 + (h + 1) * HOUR, mm, mm)
                                                for z, series in means.items() for h, mm in enumerate(series)])
        for at, a, p in ((1, Level.RED, Level.RED), (2, Level.RED, Level.NONE), (3, Level.RED, Level.NONE),
                         (5, Level.YELLOW, Level.NONE)):
            store.levels.record(T0 + at * HOUR, [ItemLevel("landslide", "zone", "A", "now", a, None, ()),
                                                 ItemLevel("waterlogging", "point", "P1", "now", p, None, ())],
                                {"landslide": LevelBasis("r", {})})
        store.execute_actions([OpenIncident(key="i/open", at=T0, incident="INC-1", hazard="landslide",
                                            rule_id="TEST", label="测试 test")])
        _thread(store, "landslide:A", "A", Level.BLUE, T0 + HOUR)
        _thread(store, "waterlogging:P1", "P1", Level.YELLOW, T0 + HOUR)
        _thread(store, f"rainstorm:{DISTRICT}", DISTRICT, Level.ORANGE, T0)
        public = [_message(store, "landslide:A", 1, Level.BLUE, T0 + HOUR, geocode=False),
                  _message(store, "landslide:A", 2, Level.RED, T0 + HOUR + 10 * MINUTE, geocode=False,
                           headline="甲镇地质灾害红色预警（L0→L4 WARN-RAISE 预警发布）"),
                  _message(store, "waterlogging:P1", 1, Level.YELLOW, T0 + HOUR),
                  _message(store, f"rainstorm:{DISTRICT}", 1, Level.ORANGE, T0),
                  _message(store, f"rainstorm:{DISTRICT}", 2, Level.ORANGE, T0 + HOUR,
                           relays=(Reference(MET, SIGNAL.identifier, SIGNAL.sent),))]
        restricted = _message(store, "landslide:A", 3, Level.RED, T0 + HOUR + 40 * MINUTE, geocode=False)
        _thread(store, "landslide:B", "B", Level.YELLOW, T0 + 3 * HOUR)
        _message(store, "landslide:B", 1, Level.YELLOW, T0 + 3 * HOUR)  # town B with the district's geocode
        _stand_down(store, T0 + 2 * HOUR, "MODE-CHANGE", "同意")
        _stand_down(store, T0 + 2 * HOUR, "MODE-OVERRIDE", "险情已排除，现场核实")
        threads = store.warnings.threads()
        messages = store.warnings.messages()
        yield Drill(
            deliveries=[*(Delivery("city", True, body) for body in public), Delivery("drop", True, public[0]),
                        Delivery("duty", False, restricted)],
            sms={"ok": "渝北区甲镇地质灾害红色预警，请立即撤离。", "long": "暴雨" * 50}, sms_parts_received=3,
            threads=threads, issued=issued_messages(owners(store), messages), messages=messages,
            levels=store.levels.history(), rain=district_rain(store.rain.hourly("towns", T0, T0 + 5 * HOUR),
                                                              {"A": 1.0, "B": 3.0}),
            incidents=store.command.incidents(), mode_entries=store.timeline.entries(kinds=["mode"]),
            met=[SIGNAL], admin_units=frozenset({DISTRICT, "A", "B"}))


def test_each_figure(drill: Drill) -> None:
    figures, _ = measure(drill, "rainstorm")
    assert figures.public_cap_messages == 5  # the blue one twice, on two public channels, counted once
    assert figures.public_cap_by_scope == {"Public": 5}
    assert figures.cap_messages_recorded == 7
    assert (figures.sms_sent, figures.sms_segments, figures.sms_parts_received) == (2, 3, 3)
    assert figures.threads_per_hazard == {"landslide": 2, "rainstorm": 1, "waterlogging": 1}
    assert figures.message_threads_per_hazard == figures.threads_per_hazard
    assert (figures.most_updates_in_an_hour, figures.busiest_thread) == (3, "landslide:A")
    assert figures.rain_stopped_at == (T0 + 2 * HOUR).isoformat()
    assert (figures.hours_red_after_rain, figures.reddest_item) == (3.0, "landslide zone A")
    assert (figures.incidents, figures.incidents_per_hazard) == (1, {"landslide": 1})


def test_each_check_names_its_offenders(drill: Drill) -> None:
    _, checks = measure(drill, "rainstorm")
    found = {c.key: c.offenders for c in checks}
    assert found["sms_one_segment"] == ["long: 2 segments"]
    assert len(found["zh_no_latin"]) == 1 and found["zh_no_latin"][0].endswith("landslide:A.v2: L0 L4 RAISE WARN")
    assert [o.split(": ", 1)[1] for o in found["geocode_only_for_its_unit"]] == [
        "item P1 (a point or village), geocode 500112", "item B (a unit, geocode of another), geocode 500112"]
    assert len(found["no_public_blue_geohazard"]) == 1 and "landslide:A.v1" in found["no_public_blue_geohazard"][0]
    assert len(found["no_met_name"]) == 1 and f"rainstorm:{DISTRICT}.v1: " in found["no_met_name"][0]
    assert found["public_recorded"] == []
    assert len(found["no_stand_down_over_orange"]) == 1
    assert found["no_stand_down_over_orange"][0].startswith(f"{(T0 + 2 * HOUR).isoformat()} by 指挥长甲: 1 orange, 1 red")


def test_a_drill_keeping_the_rules_passes_every_check(drill: Drill) -> None:
    kept = [m for m in drill.issued if m.identifier.endswith(("landslide:A.v3", f"rainstorm:{DISTRICT}.v2"))]
    clean = replace(drill, sms={"ok": drill.sms["ok"]}, issued=kept,
                    deliveries=[Delivery("city", True, serialise(m.alert)) for m in kept],
                    mode_entries=[e for e in drill.mode_entries if e.details["rule_id"] == "MODE-OVERRIDE"])
    assert [c.key for c in measure(clean, "rainstorm")[1] if not c.passed] == []
    unrecorded = replace(clean, issued=kept[1:])
    assert [c.key for c in measure(unrecorded, "rainstorm")[1] if not c.passed] == ["public_recorded"]


def test_rain_missing_for_a_town_is_an_error_not_a_dry_hour() -> None:
    with pytest.raises(WarnError, match="the rain of every town, got none for B"):
        district_rain([ZoneRain("A", T0, 1.0, 1.0), ZoneRain("B", T0, None, None)], {"A": 1.0, "B": 1.0})


def test_the_table_shows_the_baseline_beside_and_three_examples_a_check(drill: Drill) -> None:
    figures, checks = measure(drill, "rainstorm")
    baseline = json.loads(json.dumps(as_json(figures, checks), ensure_ascii=False))["figures"]
    lines = render(figures, checks, baseline).splitlines()
    assert lines[0].split() == ["指标", "figure", "基线", "baseline", "本次", "this", "run"]
    assert lines[1].split()[-2:] == ["5", "5"]  # public CAP messages, baseline and this run
    assert "FAIL  每条短信仅一条（不分条） / every SMS is one segment — 1" in lines
    assert "PASS  公众消息均已记录 / every public message recorded" in lines
