"""Shared fixtures and paths."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from shapely.geometry import box
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def rainstorm_params():
    """The committed rain model's parameters."""
    from warn.modelfiles import load_model_file

    return load_model_file("rainstorm", ROOT / "models" / "rainstorm.yaml").params()


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """A small valid deployment in tmp_path: config.yaml, models/, a layer of two 0.1° towns, a feed folder."""
    shutil.copytree(ROOT / "models", tmp_path / "models")
    (tmp_path / "geodata").mkdir()
    (tmp_path / "feed").mkdir()
    towns = gpd.GeoDataFrame(
        {"zone_id": ["T1", "T2"], "name": ["甲", "乙"]},
        geometry=[box(106.5, 29.6, 106.6, 29.7), box(106.6, 29.6, 106.7, 29.7)],
        crs="EPSG:4326",
    )
    towns.to_file(tmp_path / "geodata" / "zones.gpkg", layer="towns")
    config = {
        "deployment": {"name": "test", "district_code": "500112", "timezone": "Asia/Shanghai"},
        "store": {"url": "sqlite:///var/warn.sqlite"},
        "layers": {"towns": {"path": "geodata/zones.gpkg", "layer": "towns"}},
        "forecasts": {"demo": {"url": "{feed}/run_{issued:%Y%m%d%H}.nc"}},
        "models": {"rainstorm": "models/rainstorm.yaml", "sensors": "models/sensors.yaml"},
        "hazards": {"landslide": {"model": "models/landslide.yaml", "layers": {"zones": "towns"}}},
        "cache_dir": "var/cache",
        "sim": {"feed_dir": "feed", "issued_at": "2026-07-15T00:00:00Z", "source": "demo"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def broker() -> None:
    """The MQTT broker the tests use (Mosquitto on 127.0.0.1:1883); skip, saying why, when it is down."""
    try:
        socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=2).close()
    except OSError as err:
        pytest.skip(f"MQTT broker not reachable at {MQTT_HOST}:{MQTT_PORT}: {err}")


def committed_data(tmp_path: Path, store: str = "warn.sqlite") -> dict:
    """The committed config.yaml as a mapping, its paths absolute, its store (file ``store``) and cache in tmp_path."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["store"]["url"] = f"sqlite:///{tmp_path / store}"
    data["cache_dir"] = str(tmp_path / "cache")
    for spec in data["layers"].values():
        spec["path"] = str(ROOT / spec["path"])
    data["models"] = {name: str(ROOT / path) for name, path in data["models"].items()}
    for entry in data["hazards"].values():
        if "model" in entry:
            entry["model"] = str(ROOT / entry["model"])
    data["sensors"]["catalogue"] = str(ROOT / data["sensors"]["catalogue"])
    data["sim"]["feed_dir"] = str(ROOT / data["sim"]["feed_dir"])
    data["command"]["playbooks"] = str(ROOT / data["command"]["playbooks"])
    data["command"]["roster"] = str(ROOT / data["command"]["roster"])
    return data


@pytest.fixture
def committed_config(tmp_path: Path) -> Path:
    """The committed deployment, its paths absolute, with its store and cache in tmp_path (tests leave var/ alone)."""
    data = committed_data(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


#: The replayed scenario: the demo storm from dry weather through its peak (wartime, escalations, tasks).
SCENARIO = ["--from", "2026-07-14T21:00Z", "--to", "2026-07-15T12:00Z", "--every", "PT30M", "--step", "PT10M"]
#: The simulated time the scenario ends at.
SCENARIO_END = "2026-07-15T12:00:00+00:00"


@pytest.fixture(scope="session")
def replayed(tmp_path_factory) -> Path:
    """The store of a demo replay (a SQLite file), made once; copy it before changing it."""
    from warn.cli.main import app

    folder = tmp_path_factory.mktemp("replayed")
    result = CliRunner().invoke(app, ["replay", "--demo", "--out", str(folder), *SCENARIO,
                                      "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return folder / "warn.db"
