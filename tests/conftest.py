"""Shared fixtures and paths.

PostgreSQL is the server at :data:`PG_URL` (``WARN_TEST_PG_URL`` overrides it): ``store_url``
gives each PostgreSQL case its own uniquely named schema, put first on the ``search_path``,
and drops it afterwards, so parallel runs and leftovers never meet. When the server does not
answer, the PostgreSQL cases are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from shapely.geometry import box
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("WARN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def rainstorm_params():
    """The committed rain model's parameters."""
    from warn.modelfiles import load_model_file

    return load_model_file("rain", ROOT / "models" / "rain.yaml").params()


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
        "areas": {"towns": "towns"},
        "forecasts": {"demo": {"url": "{feed}/run_{issued:%Y%m%d%H}.nc"}},
        "models": {"rain": "models/rain.yaml", "sensors": "models/sensors.yaml"},
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


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An engine on the test database, or a skip saying why there is none."""
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except OperationalError as err:
        engine.dispose()
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {str(err.orig).strip().splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'warn.sqlite'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def setup():
    """The committed command setup (playbooks/*.yaml, playbooks/roster.yaml, config.yaml command:)."""
    from warn import hazards
    from warn.command.loading import load_setup
    from warn.config import load_settings

    settings = load_settings(ROOT / "config.yaml")
    return load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())


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
    data["sim"]["truth"] = str(ROOT / data["sim"]["truth"])
    data["command"]["playbooks"] = str(ROOT / data["command"]["playbooks"])
    data["command"]["roster"] = str(ROOT / data["command"]["roster"])
    data["command"]["directory"] = str(ROOT / data["command"]["directory"])
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


def replay_demo(folder: Path, *period: str) -> Path:
    """The demo storm replayed into ``folder`` over ``period`` (``--from … --to … --every … --step …``); its
    store file (SQLite).

    The scenario the desk, web and report tests pin (which towns are warned when, whose tasks and calls)
    is the demo world with a perfect forecast scored on its own: the committed deployment without
    ``sim.forecast`` and ``observed``. The imperfect runs and the observations are the demo's and the
    hindcast's (tests/sim, tests/cycle/test_now_cycle.py, tests/cli/test_hindcast_cli.py and the slow
    tests/cli/test_demo.py)."""
    from warn.cli.main import app

    data = committed_data(folder)
    data["sim"].pop("forecast", None)
    data.pop("observed", None)
    config = folder / "scenario.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["replay", "--demo", "--out", str(folder), *period,
                                      "--config", str(config)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return folder / "warn.db"


@pytest.fixture(scope="session")
def replayed(tmp_path_factory) -> Path:
    """The store of a demo replay (a SQLite file), made once; copy it before changing it."""
    return replay_demo(tmp_path_factory.mktemp("replayed"), *SCENARIO)


@pytest.fixture(scope="session")
def early(tmp_path_factory) -> Path:
    """The demo storm replayed from dry weather to 05:00Z (a SQLite file), made once; copy it before changing it."""
    return replay_demo(tmp_path_factory.mktemp("early"), "--from", "2026-07-14T21:00Z", "--to", "2026-07-15T05:00Z",
                       "--every", "PT30M", "--step", "PT10M")
