"""Official warnings (CAP 1.2) in the cycle: read by event colour, parameter, geocode or polygon; a
geohazard bulletin is a floor under the zones' landslide levels; a rainstorm signal is the district's
rainstorm warning, ended by Cancel or expiry; a failing source is a notice and its last bulletins hold
until they expire; `warn check` names a bad official section."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import ROOT
from tests.helpers import Hostile, edit_yaml, messages
from warn.cap.codec import MsgType, ResponseType, outline, parse
from warn.config import OfficialSpec, load_settings
from warn.cycle import open_sources, run
from warn.cycle.inputs import Sources
from warn.geo.layers import zone_layer
from warn.errors import SourceError
from warn.sim.demo import OFFICIAL_TOWNS, Published, official_message
from warn.sim.feedserver import FeedServer
from warn.netpolicy import NetPolicy
from warn.sources.http import HttpGetter
from warn.sources.official import Reading, fetch_bulletins, in_force, read_bulletin
from warn.store import Store
from warn.store.schema import warning_messages, warnings
from warn.vocab import CapStatus, Level

DATA = ROOT / "tests" / "data" / "official"
DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
ISSUED = datetime(2026, 7, 15, tzinfo=UTC)
SENDER = "warn@yubei.example"
DISTRICT = "500112"
SOURCES = {"met": OfficialSpec(url="{feed}/rainstorm.json", hazard="rainstorm", retries=0),
           "geo": OfficialSpec(url="{feed}/geohazard.json", hazard="landslide", retries=0)}


@pytest.fixture
def towns(committed_config):
    settings = load_settings(committed_config)
    return zone_layer(settings, "towns")[1]


def reading(towns, hazard="rainstorm") -> Reading:
    return Reading("met", hazard, ("warn:level", "GB/T35965.1:color"), "GB/T2260", timedelta(hours=24),
                   dict(zip(towns["zone_id"], towns.geometry.representative_point(), strict=True)), DISTRICT)


def signal(towns, version: int, sent: datetime, *, msg_type=MsgType.ALERT, level=Level.ORANGE,
           expires: timedelta = timedelta(hours=12), replaces: Published | None = None) -> Published:
    return official_message("rainstorm", "signal", version, msg_type, level, sent, sent + expires, "渝北区",
                            outline(towns.union_all()), DISTRICT, f"暴雨{level.zh}预警信号（测试用合成）",
                            f"rainstorm {level.colour} signal (synthetic test)",
                            ResponseType.ALL_CLEAR if msg_type is MsgType.CANCEL else ResponseType.PREPARE,
                            replaces=replaces)


def geohazard(towns, sent: datetime, expires: timedelta) -> Published:
    chosen = towns[towns["zone_id"].isin(OFFICIAL_TOWNS)]
    return official_message("landslide", "geo", 1, MsgType.ALERT, Level.YELLOW, sent, sent + expires, "三镇街",
                            outline(chosen.union_all()), DISTRICT, "地质灾害气象风险黄色预警（测试用合成）",
                            "geohazard risk yellow (synthetic test)", ResponseType.MONITOR)


def publish(feed: Path, index: str, *messages: Published) -> None:
    for message in messages:
        (feed / message.name).write_bytes(message.data)
    (feed / index).write_text(json.dumps([m.name for m in messages]), encoding="utf-8")


# --- reading ------------------------------------------------------------------------------------


def test_cma_style_message_level_from_event_area_from_district_geocode(towns):
    bulletin = read_bulletin((DATA / "cma_style_orange.xml").read_bytes(), reading(towns))
    assert bulletin.level is Level.ORANGE and bulletin.district and len(bulletin.zones) == len(towns)
    assert bulletin.expires == datetime(2026, 7, 15, 12, 10, tzinfo=UTC)
    assert bulletin.msg_type == "Alert" and bulletin.status == "Actual"


def test_message_without_a_level_is_refused_not_read_as_none(towns):
    data = (DATA / "cma_style_orange.xml").read_bytes().replace("暴雨橙色预警信号".encode(), "暴雨预警信号".encode())
    data = data.replace("发布暴雨橙色".encode(), "发布暴雨".encode())
    with pytest.raises(SourceError, match="a level"):
        read_bulletin(data, reading(towns))


def test_polygons_cover_the_towns_they_cover_and_not_the_district(towns):
    message = geohazard(towns, ISSUED, timedelta(hours=6))
    bulletin = read_bulletin(message.data, reading(towns, "landslide"))
    assert bulletin.zones == OFFICIAL_TOWNS and not bulletin.district
    assert bulletin.level is Level.YELLOW and b"SYNTHETIC" in message.data


def test_in_force_latest_update_wins_cancel_and_expiry_end(towns):
    r = reading(towns)
    alert = signal(towns, 1, ISSUED, level=Level.YELLOW)
    update = signal(towns, 2, ISSUED + timedelta(hours=1), msg_type=MsgType.UPDATE, replaces=alert)
    cancel = signal(towns, 3, ISSUED + timedelta(hours=2), msg_type=MsgType.CANCEL, replaces=update)
    bulletins = [read_bulletin(m.data, r) for m in (alert, update, cancel)]
    exercise = {"Actual", "Exercise"}
    assert [b.level for b in in_force(bulletins, ISSUED + timedelta(minutes=30), exercise)] == [Level.YELLOW]
    assert [b.level for b in in_force(bulletins, ISSUED + timedelta(minutes=90), exercise)] == [Level.ORANGE]
    assert in_force(bulletins, ISSUED + timedelta(minutes=150), exercise) == []
    assert in_force(bulletins[:2], ISSUED + timedelta(hours=14), exercise) == []  # expired
    assert in_force(bulletins, ISSUED + timedelta(minutes=30), {"Actual"}) == []  # an exercise is not real


# --- the cycle ----------------------------------------------------------------------------------


@pytest.fixture
def served(committed_config, tmp_path, towns):
    """The committed deployment without sensors, with two official sources; its demo run and the
    official messages served from one folder; a fresh store."""
    settings = load_settings(committed_config).model_copy(update={"sensors": None, "official": SOURCES, "observed": None})
    feed = tmp_path / "feed"
    feed.mkdir()
    shutil.copy(DEMO, feed / DEMO.name)
    publish(feed, "rainstorm.json")
    publish(feed, "geohazard.json")
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.db'}")
    store.upgrade()
    with FeedServer(feed) as server:
        yield settings, store, server, feed
    store.close()


def sources(settings, store, server) -> Sources:
    return open_sources(settings, store, urls={"feed": server.url}, now=lambda: ISSUED, exercise=True)


def cycle(settings, store, server, at):
    return run(settings, store, at, sources=sources(settings, store, server), status=CapStatus.EXERCISE, sender=SENDER)


def crossed(report, hazard: str) -> dict[str, tuple[Level, Level]]:
    return {c.item_id: (c.from_level, c.to_level) for c in report.crossings if c.hazard == hazard}


def test_geohazard_bulletin_is_a_floor_under_the_zone_levels_until_it_expires(served, towns):
    settings, store, server, feed = served
    first = cycle(settings, store, server, ISSUED + timedelta(minutes=10))
    assert not crossed(first, "landslide")  # cold start: every level unknown
    publish(feed, "geohazard.json", geohazard(towns, ISSUED + timedelta(minutes=15), timedelta(hours=2)))
    floored = cycle(settings, store, server, ISSUED + timedelta(minutes=20))  # same run: rescored for the floors
    assert crossed(floored, "landslide") == {zone: (Level.UNKNOWN, Level.YELLOW) for zone in OFFICIAL_TOWNS}
    assert {item["zones"][0] for item in floored.inputs["official"]["in_force"]} == {OFFICIAL_TOWNS[0]}
    assert floored.inputs["official"]["in_force"][0]["age_min"] == 5.0
    same = cycle(settings, store, server, ISSUED + timedelta(minutes=30))
    assert not crossed(same, "landslide")
    expired = cycle(settings, store, server, ISSUED + timedelta(hours=2, minutes=30))
    assert crossed(expired, "landslide") == {zone: (Level.YELLOW, Level.UNKNOWN) for zone in OFFICIAL_TOWNS}


def test_rainstorm_signal_raises_and_clears_a_district_warning_with_cap(served, towns):
    settings, store, server, feed = served
    start = ISSUED + timedelta(minutes=10)
    quiet = cycle(settings, store, server, start)
    assert not crossed(quiet, "rainstorm")  # no signal: level none, nothing to say
    alert = signal(towns, 1, start + timedelta(minutes=5))
    publish(feed, "rainstorm.json", alert)
    raised = cycle(settings, store, server, start + timedelta(minutes=10))
    assert crossed(raised, "rainstorm") == {DISTRICT: (Level.NONE, Level.ORANGE)}
    [crossing] = [c for c in raised.crossings if c.hazard == "rainstorm"]
    assert crossing.item_kind.value == "district" and "暴雨橙色预警信号" in crossing.drivers[0]
    publish(feed, "rainstorm.json", alert, signal(towns, 2, start + timedelta(hours=1), msg_type=MsgType.CANCEL,
                                                  replaces=alert))
    lifted = cycle(settings, store, server, start + timedelta(hours=1, minutes=10))
    assert crossed(lifted, "rainstorm") == {DISTRICT: (Level.ORANGE, Level.NONE)}
    for hours in range(2, 6):
        cycle(settings, store, server, start + timedelta(hours=hours, minutes=10))
    with store.engine.connect() as conn:
        rows = conn.execute(select(warnings).where(warnings.c.hazard == "rainstorm")).mappings().all()
        assert len(rows) == 1 and rows[0]["item_id"] == DISTRICT
        sent = conn.execute(select(warning_messages.c.thread_id, warning_messages.c.kind, warning_messages.c.level,
                                   warning_messages.c.body).where(warning_messages.c.thread_id.startswith("rainstorm:"))
                            .order_by(warning_messages.c.id)).all()
    assert rows[0]["status"] == "cleared", rows[0]
    # relayed to the responsible people only, never to the public; the all-clear after the hold
    assert [(m.thread_id.split(":")[2], m.kind, m.level) for m in sent] == [
        ("restricted", "Alert", int(Level.ORANGE)), ("restricted", "Update", int(Level.NONE))]
    relay, original = parse(sent[0].body.encode()), parse(alert.data)
    assert relay.scope.value == "Restricted" and original.identifier in {r.identifier for r in relay.references}
    assert "转发" in relay.note and original.identifier in relay.note and "气象台" in relay.note


def test_a_failing_source_is_a_notice_and_its_bulletins_hold_until_they_expire(served, towns):
    settings, store, server, feed = served
    publish(feed, "rainstorm.json", signal(towns, 1, ISSUED, expires=timedelta(hours=2)))
    raised = cycle(settings, store, server, ISSUED + timedelta(minutes=10))
    assert crossed(raised, "rainstorm") == {DISTRICT: (Level.NONE, Level.ORANGE)}
    (feed / "rainstorm.json").unlink()  # the source answers 404 from now on
    down = cycle(settings, store, server, ISSUED + timedelta(minutes=20))  # a new Sources: held in the store
    assert not crossed(down, "rainstorm")
    assert any("official warning source met failed" in n for n in down.notices)
    assert down.inputs["official"]["sources"]["met"]["failure"]
    assert [b["level"] for b in down.inputs["official"]["in_force"]] == ["orange"]
    held, _ = store.official.held("met")
    assert [m.level for m in held] == [int(Level.ORANGE)] and "<alert" in held[0].raw  # kept with its XML
    expired = cycle(settings, store, server, ISSUED + timedelta(hours=2, minutes=10))
    assert crossed(expired, "rainstorm") == {DISTRICT: (Level.ORANGE, Level.UNKNOWN)}  # not "all clear"


def test_a_list_read_in_part_keeps_what_was_held_never_an_all_clear(served, towns):
    """Chaos drill, seed 15: a hostile list naming only a foreign host dropped the rainstorm signal in force
    (orange → none, a false all-clear, then raised again): the list was taken as read whole."""
    settings, store, server, feed = served
    publish(feed, "rainstorm.json", signal(towns, 1, ISSUED, expires=timedelta(hours=2)))
    raised = cycle(settings, store, server, ISSUED + timedelta(minutes=10))
    assert crossed(raised, "rainstorm") == {DISTRICT: (Level.NONE, Level.ORANGE)}
    (feed / "rainstorm.json").write_text(json.dumps(["http://127.0.0.2:9/official-rainstorm.xml"]), encoding="utf-8")
    partial = cycle(settings, store, server, ISSUED + timedelta(minutes=20))
    assert not crossed(partial, "rainstorm")
    assert partial.inputs["official"]["sources"]["met"]["failure"] == "1 listed message(s) unreadable"
    assert [b["level"] for b in partial.inputs["official"]["in_force"]] == ["orange"]
    assert any("official warning source met failed" in n for n in partial.notices)


# --- bounded network reads (issue 15) -------------------------------------------------------------


def test_a_list_naming_another_host_is_not_fetched_and_the_problem_names_url_and_allowed_hosts(towns):
    with Hostile() as source, Hostile(host="127.0.0.2") as elsewhere:
        internal = f"{elsewhere.root}/admin/reset"
        source.files["/list.json"] = json.dumps([internal, "http://169.254.169.254/latest/meta-data"]).encode()
        getter = HttpGetter(policy=NetPolicy(max_bytes=2**20), attempts=1)
        bulletins, problems = fetch_bulletins(f"{source.root}/list.json", reading(towns), getter)
        assert elsewhere.requests == []
        assert source.requests == ["GET /list.json"]
    assert bulletins == [] and len(problems) == 2
    assert f"got {internal}" in problems[0] and f"expected message URLs within {source.root}" in problems[0]
    assert "official.<source>.allowed_hosts" in problems[0]


def test_a_host_the_configuration_allows_is_fetched(towns):
    with Hostile() as source, Hostile(host="127.0.0.2") as elsewhere:
        source.files["/list.json"] = json.dumps([f"{elsewhere.root}/a.xml"]).encode()
        getter = HttpGetter(policy=NetPolicy(max_bytes=2**20), attempts=1)
        _, problems = fetch_bulletins(f"{source.root}/list.json", replace(reading(towns), allowed_hosts=("127.0.0.2",)),
                                      getter)
        assert elsewhere.requests == ["GET /a.xml"]
    assert "HTTP 404" in problems[0]  # fetched; what it holds is another matter


def test_a_message_fetched_again_with_the_same_bytes_is_not_read_again(towns, monkeypatch):
    import warn.sources.official as official

    read: list[bytes] = []
    monkeypatch.setattr(official, "read_bulletin", lambda data, how: read.append(data) or read_bulletin(data, how))
    first, second = signal(towns, 1, ISSUED), geohazard(towns, ISSUED, timedelta(hours=6))
    corrected = signal(towns, 1, ISSUED, level=Level.RED)
    known: dict[bytes, official.Bulletin] = {}
    with Hostile() as source:
        url, getter = f"{source.root}/list.json", HttpGetter(policy=NetPolicy(max_bytes=2**20), attempts=1)
        source.files["/list.json"] = json.dumps(["/a.xml", "/b.xml"]).encode()
        source.files["/a.xml"], source.files["/b.xml"] = first.data, second.data
        once, _ = fetch_bulletins(url, reading(towns), getter, known)
        again, _ = fetch_bulletins(url, reading(towns), getter, known)
        assert again == once and read == [first.data, second.data]  # fetched twice, read once
        source.files["/a.xml"] = corrected.data  # re-published with other bytes: read afresh
        source.files["/list.json"] = json.dumps(["/a.xml"]).encode()
        latest, _ = fetch_bulletins(url, reading(towns), getter, known)
        assert source.requests.count("GET /a.xml") == 3
    assert read[2:] == [corrected.data] and [b.level for b in latest] == [Level.RED]
    assert list(known) == [corrected.data]  # what the list no longer names is let go


@pytest.mark.slow
def test_a_list_of_trickling_messages_costs_one_deadline_not_one_per_message(towns):
    with Hostile(trickle_s=0.5) as source:
        source.files["/list.json"] = json.dumps(["/trickle"] * 5).encode()
        getter = HttpGetter(policy=NetPolicy(max_bytes=2**20, total_s=1.5), attempts=1)
        bulletins, problems = fetch_bulletins(f"{source.root}/list.json", reading(towns), getter)
        fetched = [r for r in source.requests if r == "GET /trickle"]
    assert bulletins == [] and len(problems) == 5
    assert len(fetched) == 1 and "the source's deadline of 1.5 s passed" in problems[-1]


def test_a_list_naming_more_urls_than_max_messages_is_refused_whole(towns):
    with Hostile() as source:
        source.files["/list.json"] = json.dumps([f"/m{i}.xml" for i in range(51)]).encode()
        getter = HttpGetter(policy=NetPolicy(max_bytes=2**20), attempts=1)
        with pytest.raises(SourceError, match=r"list.json: expected a list of at most 50 message URLs.*got 51"):
            fetch_bulletins(f"{source.root}/list.json", reading(towns), getter)
        assert source.requests == ["GET /list.json"]


@pytest.mark.slow
def test_a_trickling_official_source_is_cut_at_its_deadline_and_the_cycle_goes_on(served):
    settings, store, server, _feed = served
    with Hostile(trickle_s=0.5) as hostile:
        official = {"met": OfficialSpec(url=f"{hostile.root}/trickle", hazard="rainstorm", retries=0,
                                        deadline_s=1.0)}
        slow = settings.model_copy(update={"official": official})
        report = cycle(slow, store, server, ISSUED + timedelta(minutes=10))
    failed = report.inputs["official"]["sources"]["met"]["failure"]
    assert "/trickle: expected the whole reply within 1 s" in failed
    assert any("official warning source met failed" in n for n in report.notices)


# --- warn check ---------------------------------------------------------------------------------


def _official(value):
    def change(data):
        data["official"] = value

    return change


CHECK_CASES = {
    "unknown hazard": ({"x": {"url": "{feed}/x.json", "hazard": "flood"}},
                       ["official.x.hazard: expected a hazard of hazards: (flashflood, landslide, rainstorm, river, waterlogging)", "'flood'"]),
    "unknown placeholder": ({"x": {"url": "{nowhere}/x.json", "hazard": "rainstorm"}},
                            ["official.x.url: expected placeholders among {feed}, {sensorthings}", "{nowhere}"]),
    "not http": ({"x": {"url": "ftp://example.cn/x.xml", "hazard": "landslide"}},
                 ["official.x.url: expected an http(s) URL of one CAP 1.2 message", "ftp://"]),
    "no level parameters": ({"x": {"url": "{feed}/x.json", "hazard": "landslide", "level_parameters": []}},
                            ["official.x.level_parameters: expected"]),
    "allowed host as a URL": ({"x": {"url": "{feed}/x.json", "hazard": "landslide",
                                     "allowed_hosts": ["http://cma.example/x"]}},
                              ["official.x.allowed_hosts.0: expected", "http://cma.example/x"]),
    "unknown key": ({"x": {"url": "{feed}/x.json", "hazard": "landslide", "levle": "red"}},
                    ["official.x.levle: expected no such key"]),
}


@pytest.mark.parametrize("case", sorted(CHECK_CASES))
def test_check_rejects_a_bad_official_section(committed_config, case):
    value, expected = CHECK_CASES[case]
    assert messages(committed_config) == ""
    edit_yaml(committed_config, _official(value))
    text = messages(committed_config)
    for fragment in expected:
        assert fragment in text, text
