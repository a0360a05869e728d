"""A small sensor world for ingest tests: a deployment with four water-level sensors.

W-OK rises and recedes smoothly; W-SPIKE carries one spike; W-FROZEN freezes at a
ponding depth; W-SILENT stops reporting after the first hour. All report every 5 min.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from tests.conftest import ROOT

T0 = datetime(2026, 7, 15, 0, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=5)
SENSORS = ("W-OK", "W-SPIKE", "W-FROZEN", "W-SILENT")


def write_deployment(tmp_path: Path, *, topic: str = "warn/test/none/+", client_id: str = "warn-test") -> Path:
    """config.yaml, models/ and a four-sensor catalogue in ``tmp_path``; returns the config path."""
    shutil.copytree(ROOT / "models", tmp_path / "models")
    rows = ["sensor_id,kind,name,lon,lat,interval,point_id"]
    rows += [f"{sid},water_level,{sid}水位计,106.55,29.65,PT5M,P-{sid}" for sid in SENSORS]
    (tmp_path / "sensors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["store"]["url"] = "sqlite:///store/warn.sqlite"
    config["sensors"] = {
        "catalogue": "sensors.csv",
        "feeds": {
            "sta": {"kind": "sensorthings", "url": "http://127.0.0.1:9/v1.1", "poll_every": "PT1M",
                    "page_size": 50, "retries": 0, "timeout_s": 5},
            "push": {"kind": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": topic, "qos": 1,
                     "client_id": client_id, "fields": {"sensor_id": "stcd", "time": "tm", "value": "z"},
                     "unit": "cm", "timezone": "Asia/Shanghai"},
        },
    }
    config["layers"] = {name: {**spec, "path": str(ROOT / spec["path"])} for name, spec in config["layers"].items()}
    config["sim"]["feed_dir"] = str(ROOT / config["sim"]["feed_dir"])
    config["sim"]["truth"] = str(ROOT / config["sim"]["truth"])
    config["command"].update(playbooks=str(ROOT / config["command"]["playbooks"]),
                             roster=str(ROOT / config["command"]["roster"]),
                             directory=str(ROOT / config["command"]["directory"]))
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def ok_depth(k: int) -> float:
    """W-OK: a smooth storm hydrograph, metres (0 → 0.24 → 0 over 3 h)."""
    return round(max(0.0, 0.24 - 0.0004 * (k - 18) ** 2), 3)


def series(until: int, start: datetime = T0) -> dict[str, list[tuple[datetime, float | None]]]:
    """Observations of steps 1 … ``until`` (5-min steps after ``start``) for every sensor."""
    out: dict[str, list[tuple[datetime, float | None]]] = {sid: [] for sid in SENSORS}
    for k in range(1, until + 1):
        t = start + k * STEP
        out["W-OK"].append((t, None if k == 10 else ok_depth(k)))  # step 10 reported missing
        out["W-SPIKE"].append((t, ok_depth(k) + (0.15 if k == 14 else 0.0)))  # a spike at step 14
        out["W-FROZEN"].append((t, ok_depth(k) if k < 8 else 0.123))  # frozen from step 8 at 12.3 cm
        if k <= 12:
            out["W-SILENT"].append((t, ok_depth(k)))  # silent after the first hour
    return out


def check_world(store, start: datetime = T0) -> None:
    """What the store must hold after the 3-hour world was ingested (36 steps, W-SILENT 12)."""
    from warn.vocab import QCFlag

    assert store.count_readings() == 36 * 3 + 12  # one row per sensor and time: no duplicates

    def flags(sid):
        return {r.reading.phenomenon_time: (r.qc_flag, r.qc_rule) for r in store.readings(sid)}

    ok = flags("W-OK")
    assert ok[start + 10 * STEP] == (QCFlag.MISSING, "missing")
    assert sum(1 for flag, _ in ok.values() if flag is QCFlag.GOOD) == 35  # all but the missing one
    spike = flags("W-SPIKE")
    assert spike[start + 14 * STEP] == (QCFlag.DOUBTFUL, "spike")
    assert [t for t, (flag, _) in spike.items() if flag is not QCFlag.GOOD] == [start + 14 * STEP]
    flat = sorted(t for t, (_, rule) in flags("W-FROZEN").items() if rule == "flatline")
    assert flat and flat[0] >= start + 8 * STEP + timedelta(hours=2)  # only once frozen for the 2 h window
    beats = {b.source: b for b in store.heartbeats()}
    assert beats["sensor:W-SILENT"].stale and not beats["sensor:W-OK"].stale
