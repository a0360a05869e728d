"""The demo world: the transplanted demo storm over Yubei, served on 127.0.0.1 as it unfolds.

:class:`DemoWorld` stands in for everything outside the district centre during a drill:

- **Forecast runs.** The demo storm (``sim.feed_dir``, the run ``sim.issued_at``), padded with
  dry hours before and after, is cut into hourly runs of the next 24 hours — a perfect
  forecast — each written to the feed folder, named as the forecast source's URL template
  names it, once the simulated clock reaches its issue time, and served by a
  :class:`~warn.sim.feedserver.FeedServer`.
- **Water levels.** Every waterlogging point's sensor and every river gauge reads what the
  storm makes of it (:func:`warn.sim.world.sensor_world`), every 5 minutes, served by a
  :class:`~warn.sim.sensorthings.SensorThingsServer` up to the simulated clock. One sensor
  freezes and one spikes, so quality control has something to catch.
- **The city platform.** A :class:`~warn.sim.receiver.WebhookReceiver` takes what the
  channels send and writes it to ``outbox.jsonl``.

All of it is synthetic and labelled so (demo/PROVENANCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from warn.config import Settings
from warn.cycle.rain import zone_layer
from warn.errors import Problem, WarnError
from warn.sim.feedserver import FeedServer
from warn.sim.levels import Freeze, Spike
from warn.sim.receiver import WebhookReceiver
from warn.sim.sensorthings import SensorThingsServer
from warn.sim.world import Series, sensor_world, serve
from warn.sources.forecast import open_forecast

#: Length of every demo forecast run.
LEAD = timedelta(hours=24)
#: The staged sensor faults: a ponding sensor that freezes while the water rises and one that spikes
#: (in 5-minute steps from the start of the world).
FAULTS = {"WL-DEMO-W04": Freeze(at=100), "WL-DEMO-W12": Spike(at=53, height_m=0.8)}


@dataclass(frozen=True)
class Period:
    """The demo's simulated period: dry hours before the storm's first hour, dry hours after its last."""

    before: timedelta = timedelta(hours=3)
    after: timedelta = timedelta(days=6)


class DemoWorld:
    """The demo storm, served as forecast runs and sensor readings as the simulated clock advances.

    Parameters
    ----------
    settings
        The demo deployment (``sim``, the forecast source it stands in for, the layers).
    folder
        Where the runs are written (``folder/feed``) and what was received is logged
        (``folder/outbox.jsonl``).
    period
        How much dry weather comes before and after the storm.
    """

    def __init__(self, settings: Settings, folder: Path, *, period: Period = Period()) -> None:
        if settings.sim is None:
            raise WarnError(Problem("config.yaml", "sim", "a sim section naming the demo storm", "nothing"))
        self.settings, self.folder = settings, Path(folder)
        self.template = settings.forecasts[settings.sim.source].url
        storm = open_forecast(settings.sim.feed_dir / _name(self.template, settings.sim.issued_at),
                              source=settings.sim.source)
        self.rain = _padded(storm, period)
        self.start = _utc(self.rain["time"].values[0]) - timedelta(hours=1)
        self.end = _utc(self.rain["time"].values[-1])
        _, points = zone_layer(settings, "waterlogging_points")
        _, gauges = zone_layer(settings, "river_gauges")
        self.sensors: list[Series] = sensor_world(self.rain, points, gauges, faults=FAULTS)
        self.feed_dir = self.folder / "feed"
        self.feed_dir.mkdir(parents=True, exist_ok=True)
        self.feed = FeedServer(self.feed_dir)
        self.sensorthings = SensorThingsServer(max_top=1000)
        self.receiver = WebhookReceiver(log=self.folder / "outbox.jsonl")
        self._clock: datetime | None = None

    def __enter__(self) -> DemoWorld:
        for server in (self.feed, self.sensorthings, self.receiver):
            server.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for server in (self.feed, self.sensorthings, self.receiver):
            server.stop()

    @property
    def urls(self) -> dict[str, str]:
        """Base URLs for the configured placeholders: ``{feed}``, ``{sensorthings}``, ``{receiver}``."""
        return {"feed": self.feed.url, "sensorthings": self.sensorthings.root, "receiver": self.receiver.url}

    def advance(self, clock: datetime) -> None:
        """Publish every run issued by ``clock`` and every reading taken by it."""
        runs = self.rain["time"].values.astype("datetime64[s]")
        for issued in runs - np.timedelta64(1, "h"):
            moment = _utc(issued)
            if moment > clock:
                break
            path = self.feed_dir / _name(self.template, moment)
            if not path.exists():
                self._write_run(moment, path)
        serve(self.sensorthings, self.sensors, until=clock, since=self._clock)
        self._clock = clock

    def _write_run(self, issued: datetime, path: Path) -> None:
        stamp = np.datetime64(issued.replace(tzinfo=None), "ns")
        hours = self.rain.sel(time=slice(stamp + np.timedelta64(1, "h"), stamp + np.timedelta64(LEAD)))
        run = xr.Dataset({"rain": hours.astype("float32")},
                         coords={"forecast_reference_time": stamp})
        run["rain"].attrs = {"units": "mm", "standard_name": "lwe_thickness_of_precipitation_amount",
                             "long_name": "precipitation depth per hour", "cell_methods": "time: sum"}
        run.attrs = {"Conventions": "CF-1.8", "title": f"Yubei demo forecast run {issued:%Y-%m-%d %H}Z "
                     "(TRANSPLANTED ANALOGUE, synthetic)",
                     "comment": "cut from the demo storm by warn.sim.demo: a perfect forecast for drills only",
                     "source": str(self.rain.attrs.get("source", ""))}
        partial = path.with_name(path.name + ".part")
        run.to_netcdf(partial)
        partial.replace(path)


def _padded(storm: xr.DataArray, period: Period) -> xr.DataArray:
    """The storm's hourly rain with dry hours before and after."""
    hour = np.timedelta64(1, "h")
    first, last = storm["time"].values[0], storm["time"].values[-1]
    before = first - np.arange(int(period.before / timedelta(hours=1)), 0, -1) * hour
    after = last + np.arange(1, int(period.after / timedelta(hours=1)) + 1) * hour
    times = np.concatenate([before, storm["time"].values, after])
    out = storm.reindex(time=times, fill_value=0.0)
    out.attrs = storm.attrs
    return out


def _name(template: str, issued: datetime) -> str:
    """The file name the URL template gives the run issued at ``issued``."""
    return template.rsplit("/", 1)[-1].format(issued=issued)


def _utc(moment: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(np.datetime64(moment, "s"))).replace(tzinfo=timezone.utc)
