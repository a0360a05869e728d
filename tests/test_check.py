"""`warn check`: a valid deployment passes; each broken input is named by file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.helpers import drop as _drop
from tests.helpers import edit_yaml, messages
from tests.helpers import set_value as _set
from warn.check import check_deployment
from warn.cli.main import app


def test_valid_deployment_has_no_problems(deployment):
    assert check_deployment(deployment) == []


def test_committed_deployment_is_valid():
    assert check_deployment(ROOT / "config.yaml") == []


def _write_towns(config: Path, gdf: gpd.GeoDataFrame) -> None:
    path = config.parent / "geodata" / "zones.gpkg"
    path.unlink()
    gdf.to_file(path, layer="towns")


CONFIG_CASES = {
    "missing key": (_drop("deployment", "timezone"), ["config.yaml: deployment.timezone: expected this key"]),
    "wrong type": (_set("fast", "forecasts", "demo", "timeout_s"), ["forecasts.demo.timeout_s: expected a valid number", "'fast'"]),
    "unknown key": (_set("Asia/Shanghai", "deployment", "tiemzone"), ["deployment.tiemzone: expected no such key"]),
    "bad time zone": (_set("Beijing", "deployment", "timezone"), ["deployment.timezone: expected an IANA time zone", "'Beijing'"]),
    "unknown model": (_set("models/rain.yaml", "models", "rainn"), ["models.rainn: expected a model among analysis, nowcast, rain, sensors", "did you mean 'rain'"]),
    "observed without its analysis model": (_set({"gauges": True}, "observed"),
                                            ["config.yaml: models.analysis: expected the analysis model file"]),
    "missing model file": (_set("models/nowhere.yaml", "models", "rain"), ["models.rain: expected an existing model file", "nowhere.yaml"]),
    "missing layer file": (_set("geodata/nowhere.gpkg", "layers", "towns", "path"), ["layers.towns.path: expected an existing GeoPackage", "nowhere.gpkg"]),
    "unknown decoder": (_set("grib3", "forecasts", "demo", "format"), ["forecasts.demo.format: expected a forecast decoder among", "'grib3'"]),
    "url without run time": (_set("http://127.0.0.1/latest.nc", "forecasts", "demo", "url"), ["forecasts.demo.url: expected a template with the run time"]),
    "district code": (_set("5001", "deployment", "district_code"), ["deployment.district_code: expected a string matching the pattern", "5001"]),
    "sim source": (_set("ecmwf", "sim", "source"), ["sim.source: expected one of the forecasts (demo)", "'ecmwf'"]),
    "retention shorter than a month and a week": (
        _set({"readings": "P30D", "archive": "var/archive"}, "store", "retention"),
        ["store.retention.readings: expected at least P37D", "P30D"]),
    "retention in months": (_set({"readings": "P13M", "archive": "var/archive"}, "store", "retention"),
                            ["store.retention.readings: expected an ISO-8601 duration", "'P13M'"]),
    "archive where a file is": (_set({"readings": "P400D", "archive": "config.yaml/archive"}, "store", "retention"),
                                ["store.retention.archive: expected a folder", "config.yaml', not a folder"]),
    "wmts basemap without its layer": (_set({"basemap": {"kind": "wmts", "url": "http://map.intranet/wmts"}}, "serve"),
                                       ["serve.basemap", "a WMTS basemap to give layer and matrix_set"]),
    "xyz basemap without tile numbers": (_set({"basemap": {"kind": "xyz", "url": "http://map.intranet/tiles.png"}},
                                              "serve"), ["serve.basemap", "url to hold {z}, {x} and {y}"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_broken_config(deployment, case):
    change, expected = CONFIG_CASES[case]
    edit_yaml(deployment, change)
    text = messages(deployment)
    for fragment in expected:
        assert fragment in text


MODEL_CASES = {
    "negative threshold": (_set(-50, "signal", "criteria", 0, "depth_mm"), "signal.criteria.0.depth_mm: expected greater than 0, got -50"),
    "bad window": (_set("3h", "signal", "criteria", 2, "window"), "signal.criteria.2.window: expected an ISO-8601 duration like PT1H"),
    "unknown level": (_set("purple", "signal", "criteria", 0, "level"), "signal.criteria.0.level: expected 'blue', 'yellow', 'orange' or 'red'"),
    "duplicate level": (_set("red", "signal", "criteria", 0, "level"), "signal: expected one criterion per level"),
    "missing coefficient": (_drop("storm_intensity", "formulas", "yubei", "n"), "storm_intensity.formulas.yubei.n: expected this key"),
    "wrong model name": (_set("flood", "model"), "model: expected 'rain'"),
}


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_broken_model_file(deployment, case):
    change, expected = MODEL_CASES[case]
    edit_yaml(deployment.parent / "models" / "rain.yaml", change)
    text = messages(deployment)
    assert "models/rain.yaml: " in text
    assert expected in text


def test_malformed_yaml_names_the_line(deployment):
    deployment.write_text(deployment.read_text() + "\n  bad: [unclosed\n", encoding="utf-8")
    assert "config.yaml:" in messages(deployment)
    assert "expected valid YAML" in messages(deployment)


@pytest.mark.filterwarnings("ignore:.crs. was not provided:UserWarning")
def test_layer_without_crs(deployment):
    _write_towns(deployment, gpd.GeoDataFrame({"zone_id": ["T1"]}, geometry=[box(106.5, 29.6, 106.6, 29.7)]))
    text = messages(deployment)
    assert "zones.gpkg" in text and "towns" in text and "crs: expected" in text


def test_layer_with_invalid_geometry(deployment):
    bowtie = Polygon([(106.5, 29.6), (106.6, 29.7), (106.6, 29.6), (106.5, 29.7)])
    _write_towns(deployment, gpd.GeoDataFrame({"zone_id": ["T1"]}, geometry=[bowtie], crs="EPSG:4326"))
    text = messages(deployment)
    assert "zones.gpkg" in text and "T1" in text and "Self-intersection" in text


def test_layer_with_duplicate_ids(deployment):
    _write_towns(deployment, gpd.GeoDataFrame({"zone_id": ["T1", "T1"]},
                                              geometry=[box(106.5, 29.6, 106.6, 29.7)] * 2, crs="EPSG:4326"))
    text = messages(deployment)
    assert "zone_id" in text and "'T1'" in text


def test_every_problem_is_reported_at_once(deployment):
    edit_yaml(deployment, _set("geodata/nowhere.gpkg", "layers", "towns", "path"))
    edit_yaml(deployment.parent / "models" / "rain.yaml", _set(-1, "signal", "criteria", 0, "depth_mm"))
    assert len(check_deployment(deployment)) == 2


def test_cli_exit_codes(deployment):
    runner = CliRunner()
    ok = runner.invoke(app, ["check", "--config", str(deployment)])
    assert ok.exit_code == 0, ok.output
    assert "部署有效" in ok.output
    edit_yaml(deployment, _drop("deployment", "timezone"))
    bad = runner.invoke(app, ["check", "--config", str(deployment)])
    assert bad.exit_code == 2
    assert "deployment.timezone" in bad.output and "1 problem(s) found" in bad.output


def test_model_files_not_named_in_config_are_validated_too(deployment):
    models = deployment.parent / "models"
    (models / "extra.yaml").write_text("model: flod\nversion: 1\n", encoding="utf-8")
    text = messages(deployment)
    assert "extra.yaml: model: expected a model among analysis, flashflood, landslide, nowcast, rain, river, sensors, waterlogging, got 'flod'" in text


def test_sensor_catalogue_and_overrides_are_checked(tmp_path):
    from tests.ingest_world import write_deployment

    config = write_deployment(tmp_path)
    assert check_deployment(config) == []
    catalogue = tmp_path / "sensors.csv"
    catalogue.write_text(catalogue.read_text() + "W-BAD,water_levle,坏,106.5,129.6,5min,\n", encoding="utf-8")
    text = messages(config)
    assert "sensors.csv:6: kind: expected one of water_level, river_stage, rain_gauge, got 'water_levle'" in text
    assert "sensors.csv:6: lat: expected degrees between -90 and 90, got '129.6'" in text
    assert "sensors.csv:6: interval: expected an ISO-8601 duration such as PT5M, got '5min'" in text


def test_qc_override_for_an_unknown_sensor(tmp_path):
    from tests.ingest_world import write_deployment

    config = write_deployment(tmp_path)
    model = tmp_path / "models" / "sensors.yaml"
    data = yaml.safe_load(model.read_text(encoding="utf-8"))
    data["overrides"] = {"W-NOWHERE": {"kind": "water_level", "source": "test", "off": ["flatline"]}}
    model.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert "sensors.yaml: overrides.W-NOWHERE: expected a sensor of the catalogue, got 'W-NOWHERE'" in messages(config)


def test_landslide_thresholds_for_an_unknown_zone(tmp_path):
    from tests.ingest_world import write_deployment

    config = write_deployment(tmp_path)
    model = tmp_path / "models" / "landslide.yaml"
    data = yaml.safe_load(model.read_text(encoding="utf-8"))
    data["trigger"]["zones"] = {"DEMO-T99": {"swi_mm": [80, 110, 140, 170], "source": "test"}}
    model.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    text = messages(config)
    assert "landslide.yaml: trigger.zones.DEMO-T99: expected a zone of the zones layer, got 'DEMO-T99'" in text


def test_landslide_climatology_file_is_checked(tmp_path, committed_config):
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["hazards"]["landslide"]["climatology"] = str(tmp_path / "nowhere.nc")
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert "hazards.landslide.climatology: expected an existing NetCDF file" in messages(committed_config)
    import xarray as xr

    xr.Dataset({"swi_mm": (("level", "lat", "lon"), [[[1.0]]] * 4)},
               coords={"level": [1, 2, 3, 4], "lat": [29.7], "lon": [106.6]}).to_netcdf(tmp_path / "nowhere.nc")
    text = messages(committed_config)
    assert "nowhere.nc: effective_rain_mm: expected variables swi_mm and effective_rain_mm" in text


#: A roster shift naming one monitor for every point: a deployment without a people directory names them so.
EVERY_POINTS_MONITOR = {"role": "monitor", "org": "point.*", "person": "监测员（各点）",
                        "from": "2026-07-14T00:00:00+08:00", "to": "2026-07-28T00:00:00+08:00"}
#: Without a directory, a roster names the community and grid posts the playbooks call by wildcard shifts.
EVERY_COMMUNITY_AND_GRID = [dict(EVERY_POINTS_MONITOR, role="community_lead", org="community.*", person="村社责任人（各村社）"),
                            dict(EVERY_POINTS_MONITOR, role="grid_worker", org="grid.*", person="网格员（各网格）")]


def _with_playbooks(config: Path) -> Path:
    """Give a deployment the committed command section but its people directory (which is the demo towns'),
    the playbooks and the roster (copied beside it) with :data:`EVERY_POINTS_MONITOR` and
    :data:`EVERY_COMMUNITY_AND_GRID`."""
    import shutil

    folder = shutil.copytree(ROOT / "playbooks", config.parent / "playbooks")
    edit_yaml(folder / "roster.yaml",
              lambda data: data["shifts"].extend([EVERY_POINTS_MONITOR, *EVERY_COMMUNITY_AND_GRID]))
    committed = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    committed["command"].pop("directory")
    edit_yaml(config, _set(committed["command"], "command"))
    return folder


def test_deployment_with_playbooks_is_valid(deployment):
    _with_playbooks(deployment)
    assert check_deployment(deployment) == []


PLAYBOOK_CASES = {
    "unknown action": (_set("call", "phases", "warn", 0, "action"),
                       "landslide.yaml: phases.warn.notify_monitor.action: expected 'notify', 'task'"),
    "unknown role in a chain": (_set(["district.{district}.chief"], "phases", "respond", 0, "escalate"),
                                "landslide.yaml: phases.respond.evacuate.escalate: expected a role among"),
    "bad template field": (_set("town.{twon}.duty_officer", "phases", "warn", 1, "owner"),
                           "landslide.yaml: phases.warn.notify_town.owner: expected a template field among"),
    "bad duration": (_set("15min", "phases", "warn", 2, "ack"),
                     "landslide.yaml: phases.warn.call_town_leader.ack: expected an ISO-8601 duration like PT1H"),
    "missing key": (_drop("phases", "respond", 0, "owner"),
                    "landslide.yaml: phases.respond.evacuate.owner: expected this key"),
}


@pytest.mark.parametrize("case", sorted(PLAYBOOK_CASES))
def test_broken_playbook(deployment, case):
    change, expected = PLAYBOOK_CASES[case]
    edit_yaml(_with_playbooks(deployment) / "landslide.yaml", change)
    assert expected in messages(deployment)


def test_playbook_role_missing_from_the_roster(deployment):
    folder = _with_playbooks(deployment)
    edit_yaml(folder / "roster.yaml", lambda data: data.update(
        shifts=[s for s in data["shifts"] if s["role"] != "pump_team"]))
    assert ("waterlogging.yaml: phases.prevent.pump_team.owner: expected a role the roster fills at level town, "
            "got town.{town}.pump_team") in messages(deployment)


MESSAGE_CASES = {
    "missing level": (_drop("hazards", "landslide", "levels", "orange"),
                      "messages.yaml: hazards.landslide.levels.orange: expected this key (it is required)"),
    "missing hazard": (_drop("hazards", "landslide"),
                       "messages.yaml: hazards.landslide: expected the templates of landslide, a hazard of the "
                       "deployment, got none"),
    "English in zh": (_set("{area} landslide 预警", "hazards", "landslide", "levels", "red", "public", "zh", "headline"),
                      "hazards.landslide.levels.red.public.zh.headline: expected zh-CN text without Latin words"),
    "SMS too long": (_set(["【{issuer}】{area}地质灾害红色预警。请所有受威胁群众立即撤离危险区域并前往避险安置点，停止危险区域内一切作业",
                           "。编号{reference}"], "hazards", "landslide", "levels", "red", "restricted", "zh", "sms"),
                     "messages.yaml: hazards.landslide.levels.red.restricted.zh.sms: expected an SMS of at most 70 "
                     "characters"),
}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
def test_broken_message_templates(deployment, case):
    change, expected = MESSAGE_CASES[case]
    edit_yaml(_with_playbooks(deployment) / "messages" / "messages.yaml", change)
    assert expected in messages(deployment)


def test_missing_message_templates(deployment):
    (_with_playbooks(deployment) / "messages" / "messages.yaml").unlink()
    assert "command.playbooks: expected the message templates in messages/messages.yaml" in messages(deployment)


def test_a_role_without_its_layer_fails_naming_the_role(committed_config):
    """The committed config with ``layers.hazard_points`` removed: the landslide points role names it."""
    from warn.cli.main import app

    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    del data["layers"]["hazard_points"]
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(committed_config)], env={"NO_COLOR": "1", "COLUMNS": "400"})
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "hazards.landslide.layers.points: expected a layer among" in text
    assert "got 'hazard_points'" in text


@pytest.mark.parametrize(("change", "message"), [
    (lambda h: h["waterlogging"].update(climatology="x.nc"), "hazards.waterlogging.climatology: expected no such key"),
    (lambda h: h["landslide"]["layers"].pop("zones"), "hazards.landslide.layers.zones: expected the layer playing "
                                                      "landslide's role 'zones'"),
    (lambda h: h["landslide"]["layers"].update(gauges="river_gauges"), "hazards.landslide.layers.gauges: expected "
                                                                       "a role of landslide among zones, points"),
    (lambda h: h.update(tsunami={}), "hazards: expected a hazard among"),
    (lambda h: h["waterlogging"].pop("model"), "hazards.waterlogging.model: expected the model file of waterlogging"),
    (lambda h: h["rainstorm"].update(model="models/rain.yaml"), "hazards.rainstorm.model: expected no model "
                                                                     "file"),
])
def test_hazard_sections_are_validated_by_their_hazard(committed_config, change, message):
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    change(data["hazards"])
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert message in messages(committed_config)


def test_a_role_layer_lacking_an_attribute_the_hazard_reads_is_named(tmp_path, committed_config):
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["hazards"]["waterlogging"]["layers"]["points"] = "towns"
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert "impervious_fraction: expected the attributes waterlogging's role 'points' reads" in messages(committed_config)


NONSENSE_DURATIONS = {
    "zero run_every": ("PT0S", ("forecasts", "demo", "run_every"), "forecasts.demo.run_every: expected a duration "
                                                                   "longer than zero"),
    "negative run_every": (-3600, ("forecasts", "demo", "run_every"), "forecasts.demo.run_every: expected a duration "
                                                                      "longer than zero"),
    "zero max_age": ("PT0M", ("forecasts", "demo", "max_age"), "forecasts.demo.max_age: expected a duration"),
    "zero poll_every": ("PT0S", ("sensors", "feeds", "demo_sta", "poll_every"),
                        "sensors.feeds.demo_sta.poll_every: expected a duration longer than zero"),
    "negative lookback": (-60, ("sensors", "feeds", "demo_sta", "lookback"),
                          "sensors.feeds.demo_sta.lookback: expected a duration longer than zero"),
    "zero default_validity": ("PT0S", ("official", "geohazard", "default_validity"),
                              "official.geohazard.default_validity: expected a duration longer than zero"),
    "huge forecast timeout": (86400, ("forecasts", "demo", "timeout_s"),
                              "forecasts.demo.timeout_s: expected less than or equal to 300"),
    "huge feed timeout": (3600, ("sensors", "feeds", "demo_sta", "timeout_s"),
                          "sensors.feeds.demo_sta.timeout_s: expected less than or equal to 300"),
    "huge official timeout": (1e9, ("official", "met_rainstorm", "timeout_s"),
                              "official.met_rainstorm.timeout_s: expected less than or equal to 300"),
    "huge channel timeout": (1000, ("channels", "city_cap", "timeout"),
                             "channels.city_cap.timeout: expected less than or equal to 300"),
    "zero forecast deadline": (0, ("forecasts", "demo", "deadline_s"),
                               "forecasts.demo.deadline_s: expected greater than 0"),
    "huge official deadline": (86400, ("official", "met_rainstorm", "deadline_s"),
                               "official.met_rainstorm.deadline_s: expected less than or equal to 1800"),
    "negative feed connect timeout": (-1, ("sensors", "feeds", "demo_sta", "connect_timeout_s"),
                                      "sensors.feeds.demo_sta.connect_timeout_s: expected greater than 0"),
    "zero channel deadline": (0, ("channels", "city_cap", "deadline_s"),
                              "channels.city_cap.deadline_s: expected greater than 0"),
    "zero forecast body cap": (0, ("forecasts", "demo", "max_bytes"),
                               "forecasts.demo.max_bytes: expected greater than or equal to 1"),
    "huge official body cap": (2**40, ("official", "met_rainstorm", "max_bytes"),
                               "official.met_rainstorm.max_bytes: expected less than or equal to 67108864"),
    "huge channel reply cap": (2**40, ("channels", "city_cap", "max_reply_bytes"),
                               "channels.city_cap.max_reply_bytes: expected less than or equal to 16777216"),
    "many redirects": (50, ("official", "met_rainstorm", "redirects"),
                       "official.met_rainstorm.redirects: expected less than or equal to 5"),
}


@pytest.mark.parametrize("case", sorted(NONSENSE_DURATIONS))
def test_nonsense_durations_and_timeouts_are_refused_naming_the_key(committed_config, case):
    value, keys, expected = NONSENSE_DURATIONS[case]
    edit_yaml(committed_config, _set(value, *keys))
    result = CliRunner().invoke(app, ["check", "--config", str(committed_config)])
    assert result.exit_code == 2, result.output
    assert "config.yaml" in result.output and expected in " ".join(result.output.split())


def test_publish_status_is_exercise_unless_live_and_actual_once_published(tmp_path, committed_config):
    """Issue 15: a deployment not marked live publishes Exercise; a live store that already published Actual
    goes on without re-checking (the check of a fresh live store: tests/cli/test_identity.py, slow)."""
    from warn.check import publish_status
    from warn.config import load_settings
    from warn.store import Store
    from warn.store.outbox import NewMessage
    from warn.vocab import CapStatus

    settings = load_settings(committed_config)
    live = settings.model_copy(update={"deployment": settings.deployment.model_copy(update={"live": True})})
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        assert publish_status(CapStatus.ACTUAL, settings, committed_config, store) is CapStatus.EXERCISE
        assert publish_status(CapStatus.TEST, live, committed_config, store) is CapStatus.TEST
        store.outbox.enqueue(NewMessage("city_cap", "platform", b"<alert/>", "application/xml", "k"))
        broken = tmp_path / "absent.yaml"  # never read: the store has published Actual before
        assert publish_status(CapStatus.ACTUAL, live, broken, store) is CapStatus.ACTUAL


def test_anchors_key_readable_by_others_and_witness_in_no_folder_are_named(committed_config):
    from warn.store.anchors import keygen

    key = committed_config.parent / "anchor.pem"
    keygen(key)
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["anchors"] = {"key": str(key), "witness": [{"file": str(committed_config.parent / "absent" / "a.jsonl")}]}
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert [p.key for p in check_deployment(committed_config)] == ["anchors.witness[0].file"]
    key.chmod(0o644)
    data["anchors"]["witness"] = [{"file": str(committed_config.parent / "a.jsonl"), "url": "http://127.0.0.1:9/a"}]
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert "expected exactly one of file:" in messages(committed_config)
    data["anchors"]["witness"] = [{"file": str(committed_config.parent / "a.jsonl")}]
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert [(p.key, p.expected) for p in check_deployment(committed_config)] == [
        ("mode", "0600 (only its owner may read the private key)")]


def test_the_met_office_signal_may_not_be_published_in_the_districts_name(committed_config):
    """A public level for the rainstorm signal would re-issue the met office's warning (气象法 Art. 22)."""
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["command"]["publication"]["public_from"]["rainstorm"] = "yellow"
    data["command"]["publication"]["public_from"]["tsunami"] = "red"
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    text = messages(committed_config)
    assert "command.publication.public_from.rainstorm: expected no public level" in text
    assert "command.publication.public_from.tsunami: expected a registered hazard" in text


def _with_directory(config: Path, change) -> Path:
    """The committed deployment with its people directory changed by ``change(data)`` (written beside config)."""
    import json

    data = json.loads((ROOT / "people" / "directory.json").read_text(encoding="utf-8"))
    change(data)
    path = config.parent / "directory.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    edit_yaml(config, _set(str(path), "command", "directory"))
    return path


def test_the_directory_is_held_against_the_towns_and_the_hazard_layers(committed_config):
    def change(data):
        data["points"] = [p for p in data["points"] if p["item_id"] != "DEMO-W01"]
        data["points"].append(dict(data["points"][0], item_id="DEMO-H999"))
        h001 = next(p for p in data["points"] if p["item_id"] == "DEMO-H001")  # in DEMO-T21
        h001.update(community="DEMO-T01-C01", monitor=None)
        gone = {u["code"] for u in data["units"] if u["code"].startswith("DEMO-T02-")}
        data["units"] = [u for u in data["units"] if u["code"] not in gone]
        data["persons"] = [p for p in data["persons"] if p["unit"] not in gone]
        data["posts"] = [p for p in data["posts"] if p["org"].split(".")[1] not in gone]
        data["points"] = [p for p in data["points"] if p["community"] not in gone]

    path = _with_directory(committed_config, change)
    found = [(p.where, p.key, p.expected.split(" (")[0]) for p in check_deployment(committed_config)]
    assert (str(path), "units", "at least one community of the town DEMO-T02") in found
    assert (str(path), "points", "the point DEMO-W01 of the layer waterlogging_points, with its community and monitor") in found
    assert (str(path), "points.DEMO-H001.community", "a community of the town DEMO-T21") in found
    assert (str(path), "points.DEMO-H001.monitor", "the person who watches the point") in found
    assert (str(path), "points.DEMO-H999", "a point of a hazard layer a monitor watches") in found


def test_a_broken_directory_is_named_by_warn_check(committed_config):
    path = _with_directory(committed_config, lambda data: data["persons"][5].update(mobile="1990000"))
    assert [(p.where, p.key) for p in check_deployment(committed_config)] == [(str(path), "persons.5.mobile")]


def test_reach_names_person_channels_of_both_the_deployment_and_the_drill(committed_config):
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["reach"]["rules"][0]["channels"].append("city_cap")  # a CAP webhook reaches nobody's phone
    data["reach"]["rules"][1]["roles"].append("mayor")
    data["reach"]["voice"] = "duty_sms"
    del data["sim"]["channels"]["wecom_app"]
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    text = messages(committed_config)
    assert "reach.rules.0.channels.3: expected a channel of channels of kind work_notice or" in text
    assert "reach.rules.0.channels.2: expected a channel of sim.channels" in text and "not in sim.channels" in text
    assert "reach.rules.1.roles.4: expected a role among" in text and "'mayor'" in text
    assert "reach.voice: expected a channel of channels of kind voice, got 'duty_sms' (sms)" in text


def test_observed_needs_its_model_files_a_timed_radar_template_and_one_step(committed_config):
    from tests.helpers import edit_yaml, messages

    edit_yaml(committed_config, lambda data: (data["models"].pop("analysis"),
                                              data["observed"]["radar"].update(url="{feed}/radar/qpe.nc",
                                                                               every="PT5M")))
    text = messages(committed_config)
    assert "models.analysis: expected the analysis model file (models/analysis.yaml) that observed: needs" in text
    assert "observed.radar.url: expected a template with the frame time" in text
    edit_yaml(committed_config, lambda data: data["models"].update(analysis=data["models"]["rain"].replace(
        "rain.yaml", "analysis.yaml")))
    assert ("observed: expected one step for the radar frames, the analysis and the nowcast, got models.analysis "
            "step PT10M, models.nowcast horizon.step PT10M, observed.radar.every PT5M") in messages(committed_config)


def test_a_demo_truth_that_is_not_there_is_named(committed_config):
    from tests.helpers import edit_yaml, messages

    edit_yaml(committed_config, lambda data: data["sim"].update(truth="/nowhere/truth.nc"))
    assert "sim.truth: expected an existing file of the storm every 10 minutes, got /nowhere/truth.nc" in \
        messages(committed_config)
