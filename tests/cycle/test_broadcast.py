"""Publishing the planner's Broadcast actions: CAP messages recorded, queued to the channels of their
audience, delivered; idempotent; geocodes only for the district; Exercise refused by public channels;
``warn dispatch --once``."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cap.codec import Certainty, MsgType, ResponseType, Scope, parse, validate
from warn.broadcast.channels import build_channels
from warn.broadcast.outbox import Dispatcher
from warn.check import check_deployment
from warn.cli.main import app
from warn.command.model import Broadcast, BroadcastKind, Listed
from warn.config import load_settings
from warn.cycle.broadcast import publish
from warn.store import Store
from warn.store.outbox import OutboxStatus
from warn.store.schema import warning_messages
from warn.vocab import Audience, CapStatus, ItemKind, Level

T0 = datetime(2026, 7, 15, 12, tzinfo=UTC)
SENDER = "warn@yubei.example"


def _config(deployment: Path, channels: dict) -> Path:
    """The deployment with ``channels`` and the committed command section and playbooks (the message templates)."""
    shutil.copytree(ROOT / "playbooks", deployment.parent / "playbooks", dirs_exist_ok=True)
    data = yaml.safe_load(deployment.read_text(encoding="utf-8"))
    data["command"] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["command"]
    data["channels"] = channels
    deployment.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return deployment


def _listed(item: str, level: Level, kind: ItemKind = ItemKind.ZONE) -> tuple[Listed, ...]:
    return (Listed(f"landslide:{item}:20260715T1200Z", item, kind, level),)


def _thread(thread: str = "landslide:T1:restricted", *, area: str = "T1",
            audience: Audience = Audience.RESTRICTED) -> list[Broadcast]:
    common = {"incident": None, "hazard": "landslide", "area": area, "thread": thread, "audience": audience}
    return [
        Broadcast(key=f"{thread}/v1", at=T0, rule_id="PUB-ALERT", label="发布 issued", version=1, serial=1,
                  broadcast=BroadcastKind.RAISE, level=Level.RED, listed=_listed(area, Level.RED),
                  text="甲镇地质灾害红色预警", **common),
        Broadcast(key=f"{thread}/v2", at=T0 + timedelta(hours=1), rule_id="PUB-UPDATE", label="更新 updated",
                  version=2, serial=2, broadcast=BroadcastKind.UPDATE, level=Level.ORANGE,
                  listed=_listed(area, Level.ORANGE), text="甲镇降为橙色", **common),
        Broadcast(key=f"{thread}/v3", at=T0 + timedelta(hours=5), rule_id="PUB-CLEAR", label="解除 cleared",
                  version=3, serial=3, broadcast=BroadcastKind.ALL_CLEAR, level=Level.NONE, listed=(),
                  text="甲镇预警解除", **common),
    ]


def _messages(store: Store) -> list:
    with store.engine.connect() as conn:
        return conn.execute(select(warning_messages).order_by(warning_messages.c.id)).all()


def test_thread_alert_update_all_clear(deployment: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    settings = load_settings(_config(deployment, {"drop": {"kind": "filedrop", "burst": 10, "target": str(drop)}}))
    actions = _thread()
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions(actions)
        published = publish(store, settings, actions, sender=SENDER)
        assert len(published) == 3
        rows = _messages(store)
        assert [r.kind for r in rows] == ["Alert", "Update", "Update"]
        alerts = [parse(r.body.encode()) for r in rows]
        for row in rows:
            assert validate(row.body.encode()) == []
        assert [a.msg_type for a in alerts] == [MsgType.ALERT, MsgType.UPDATE, MsgType.UPDATE]
        assert alerts[2].infos[0].response_types == (ResponseType.ALL_CLEAR,)
        assert [r.identifier for r in alerts[1].references] == [alerts[0].identifier]
        assert [r.identifier for r in alerts[2].references] == [alerts[0].identifier, alerts[1].identifier]
        assert all(r.sender == SENDER for r in alerts[2].references)
        assert alerts[0].infos[0].areas[0].geocodes == ()  # a town's area is not the district's code
        assert alerts[2].infos[0].areas[0].polygons == alerts[0].infos[0].areas[0].polygons  # the all-clear's area
        assert {(a.scope, bool(a.restriction)) for a in alerts} == {(Scope.RESTRICTED, True)}
        # GB/T 35965.1: district code, unit code (sector 000, defaults 000 00), Beijing time, number in the second
        assert [a.identifier for a in alerts] == ["50011200000000_20260715200000_0", "50011200000000_20260715210000_0",
                                                  "50011200000000_20260716010000_0"]

        report = Dispatcher(store, build_channels(settings.channels)).dispatch_once()
        assert report.sent == 3
        files = sorted(drop.glob("*.xml"))
        assert len(files) == 3
        assert {f.read_bytes() for f in files} == {r.body.encode() for r in rows}

        before = len(store.outbox.rows())
        assert publish(store, settings, actions, sender=SENDER) == []
        assert len(_messages(store)) == 3
        assert len(store.outbox.rows()) == before


def test_point_item_gets_a_buffer_polygon(deployment: Path, tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    gpd.GeoDataFrame({"point_id": ["P1"], "name": ["丙点"]}, geometry=[Point(106.55, 29.65)],
                     crs="EPSG:4326").to_file(tmp_path / "geodata" / "points.gpkg", layer="hazard_points")
    data = yaml.safe_load(deployment.read_text(encoding="utf-8"))
    data["layers"]["hazard_points"] = {"path": "geodata/points.gpkg", "layer": "hazard_points", "id_field": "point_id"}
    deployment.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = load_settings(_config(deployment, {}))
    action = Broadcast(key="p/v1", at=T0, incident=None, rule_id="PUB-ALERT", label="issued",
                       thread="landslide:T1:public", version=1, serial=1, broadcast=BroadcastKind.RAISE,
                       hazard="landslide", area="T1", audience=Audience.PUBLIC, level=Level.ORANGE,
                       listed=_listed("P1", Level.ORANGE, ItemKind.POINT), text="丙点橙色预警")
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions([action])
        publish(store, settings, [action], sender=SENDER)
        alert = parse(_messages(store)[0].body.encode())
    area = alert.infos[0].areas[0]
    assert area.desc == "甲（丙点）" and area.geocodes == ()
    lats = [lat for lat, _ in area.polygons[0]]
    assert len(area.polygons[0]) >= 4
    assert 0.002 < max(lats) - min(lats) < 0.006  # about 400 m across


def test_exercise_refused_by_public_channel(deployment: Path, tmp_path: Path) -> None:
    public, private = tmp_path / "public", tmp_path / "private"
    settings = load_settings(_config(deployment, {
        "public_drop": {"kind": "filedrop", "burst": 10, "target": str(public), "public": True},
        "duty_drop": {"kind": "filedrop", "burst": 10, "target": str(private)},
    }))
    actions = [*_thread("landslide:T1:public", audience=Audience.PUBLIC)[:1], replace(_thread()[0], index=1)]
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions(actions)
        publish(store, settings, actions, sender=SENDER, status=CapStatus.EXERCISE)
        report = Dispatcher(store, build_channels(settings.channels)).dispatch_once()
        assert (report.sent, report.refused) == (1, 1)
        assert [r.status for r in store.outbox.rows("public_drop")] == [OutboxStatus.REFUSED]
        assert [r.status for r in store.outbox.rows("duty_drop")] == [OutboxStatus.SENT]
    assert not list(public.glob("*.xml")) if public.exists() else True
    (body,) = [f.read_bytes() for f in private.glob("*.xml")]
    assert parse(body).status is CapStatus.EXERCISE


def test_publish_before_execute_is_refused(deployment: Path) -> None:
    from warn.errors import WarnError

    settings = load_settings(_config(deployment, {}))
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        with pytest.raises(WarnError):
            publish(store, settings, _thread()[:1], sender=SENDER)


def test_each_channel_carries_its_audience(deployment: Path, tmp_path: Path) -> None:
    """A public message goes to the channels of the public audience only (also a drill's non-public
    platform marked audience public), the responsible people's message to theirs only."""
    folders = {name: tmp_path / name for name in ("platform", "duty")}
    settings = load_settings(_config(deployment, {
        "platform": {"kind": "filedrop", "burst": 10, "target": str(folders["platform"]), "audience": "public"},
        "duty": {"kind": "filedrop", "burst": 10, "target": str(folders["duty"])},
    }))
    actions = [*_thread("landslide:T1:public", audience=Audience.PUBLIC)[:1], replace(_thread()[0], index=1)]
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions(actions)
        publish(store, settings, actions, sender=SENDER, status=CapStatus.EXERCISE)
        Dispatcher(store, build_channels(settings.channels)).dispatch_once()
    scopes = {name: [parse(f.read_bytes()).scope for f in folder.glob("*.xml")] for name, folder in folders.items()}
    assert scopes == {"platform": [Scope.PUBLIC], "duty": [Scope.RESTRICTED]}


def test_two_messages_numbered_alike_in_one_second_are_refused(deployment: Path, tmp_path: Path) -> None:
    """The planner numbers the messages of one instant; were two alike, the second would be another thread's."""
    from warn.errors import WarnError

    settings = load_settings(_config(deployment, {}))
    actions = [*_thread("landslide:T1:public", audience=Audience.PUBLIC)[:1], *_thread()[:1]]
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions(actions)
        with pytest.raises(WarnError, match="numbered alike"):
            publish(store, settings, actions, sender=SENDER)


def test_only_the_district_area_carries_the_district_geocode(deployment: Path, tmp_path: Path) -> None:
    settings = load_settings(_config(deployment, {"drop": {"kind": "filedrop", "burst": 10,
                                                           "target": str(tmp_path / "d")}}))
    actions = _thread("landslide:500112:restricted", area="500112")[:1]
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions(actions)
        publish(store, settings, actions, sender=SENDER)
        alert = parse(_messages(store)[0].body.encode())
    assert alert.infos[0].areas[0].geocodes == (("GB/T2260", "500112"),)


def test_warn_dispatch_once_delivers(deployment: Path, tmp_path: Path) -> None:
    drop = tmp_path / "cli-drop"
    config = _config(deployment, {"drop": {"kind": "filedrop", "burst": 10, "target": str(drop)}})
    settings = load_settings(config)
    actions = _thread()
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.execute_actions(actions)
        publish(store, settings, actions, sender=SENDER)
    result = CliRunner().invoke(app, ["dispatch", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "sent 3" in result.output
    assert len(list(drop.glob("*.xml"))) == 3


def test_dispatch_without_secret_exits_2(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARN_TEST_HOOK_TOKEN", raising=False)
    config = _config(deployment, {"hook": {"kind": "webhook", "target": "http://127.0.0.1:9/x",
                                           "secrets": {"token": "WARN_TEST_HOOK_TOKEN"}}})
    result = CliRunner().invoke(app, ["dispatch", "--once", "--config", str(config)])
    assert result.exit_code == 2


def test_check_channels_without_secrets(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARN_TEST_DING_TOKEN", raising=False)
    config = _config(deployment, {
        "ok": {"kind": "dingtalk", "target": "https://example.invalid/robot",
               "secrets": {"access_token": "WARN_TEST_DING_TOKEN", "secret": "WARN_TEST_DING_SECRET"}},
        "nosecret": {"kind": "wecom", "target": "https://example.invalid/wecom"},
        "mail": {"kind": "smtp", "target": "smtp://127.0.0.1:25"},
        "odd": {"kind": "pigeon", "target": "x"},
    })
    keys = {p.key for p in check_deployment(config)}
    assert {"channels.nosecret.secrets", "channels.mail.sender", "channels.odd.kind"} <= keys
    assert not any(k.startswith("channels.ok") for k in keys)


def test_certainty_follows_the_ensembles_probability_of_the_warned_level(deployment: Path, tmp_path: Path) -> None:
    """Red at T0 with 35 % of the members red: Possible (by colour alone it would be Likely); orange an hour
    later with 80 % of the members orange or above: Likely; without an ensemble: by colour; all-clear: Observed."""
    from warn.store import ItemLevel

    settings = load_settings(_config(deployment, {}))
    actions = _thread()

    def probability(*fractions: float) -> dict[Level, float]:
        return dict(zip((Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED), fractions, strict=True))

    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.levels.record(T0, [ItemLevel("landslide", "zone", "T1", "now", 4, None, (),
                                           probability(1.0, 0.9, 0.6, 0.35))], {})
        store.levels.record(T0 + timedelta(hours=1), [ItemLevel("landslide", "zone", "T1", "now", 3, None, (),
                                                                probability(1.0, 1.0, 0.8, 0.2))], {})
        store.execute_actions(actions)
        publish(store, settings, actions, sender=SENDER)
        rows = _messages(store)
        for row in rows:
            assert validate(row.body.encode()) == []
        infos = [parse(r.body.encode()).infos for r in rows]
        assert [[i.certainty for i in pair] for pair in infos] == [[Certainty.POSSIBLE] * 2, [Certainty.LIKELY] * 2,
                                                                  [Certainty.OBSERVED] * 2]
        (zh, en), (update, _), (clear, _) = infos
        assert "集合预报红色概率35%" in zh.description and "ensemble red probability 35 %" in en.description
        assert "集合预报橙色概率80%" in update.description
        assert "概率" not in clear.description

        single = replace(_thread("landslide:T2:restricted", area="T2")[0], at=T0 + timedelta(hours=2))
        store.levels.record(single.at, [ItemLevel("landslide", "zone", "T2", "now", 4)], {})
        store.execute_actions([single])
        publish(store, settings, [single], sender=SENDER)
        alone = parse(_messages(store)[-1].body.encode()).infos[0]
        assert alone.certainty is Certainty.LIKELY and "概率" not in alone.description  # red by colour


def test_a_message_says_how_much_rain_the_forecast_gives_its_town(deployment: Path, tmp_path: Path) -> None:
    """The town's forecast rain over the next 3 h (the runs the cycles recorded); unknown hours: not said."""
    from warn.store import ZoneRain

    settings = load_settings(_config(deployment, {}))
    actions = _thread()[:1]
    hours = [ZoneRain("T1", T0 + timedelta(hours=h), mm, mm) for h, mm in ((1, 20.0), (2, 25.4), (3, 12.0))]
    wetter = [ZoneRain("T2", T0 + timedelta(hours=h), 100.0, 100.0) for h in (1, 2, 3)]  # another town's: not said
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        store.rain.record("demo", T0 - timedelta(hours=1), "towns", hours + wetter)
        store.execute_actions(actions)
        publish(store, settings, actions, sender=SENDER)
        alert = parse(_messages(store)[0].body.encode())
        assert "预计未来3小时累计雨量约57毫米" in alert.infos[0].description
        store.rain.record("demo", T0 - timedelta(hours=1), "towns", hours[:2])
        later = replace(_thread()[1], at=T0 + timedelta(hours=1))
        store.execute_actions([later])
        publish(store, settings, [later], sender=SENDER)
        assert "预计" not in parse(_messages(store)[1].body.encode()).infos[0].description
