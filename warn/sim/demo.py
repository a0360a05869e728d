"""The demo world: the transplanted demo storm over Yubei, served on 127.0.0.1 as it unfolds.

:class:`DemoWorld` stands in for everything outside the district centre during a drill:

- **Forecast runs.** The demo storm (``sim.feed_dir``, the run ``sim.issued_at``), padded with
  dry hours before and after, is cut into hourly runs of the next 24 hours — a perfect
  forecast — or, with ``sim.forecast``, the truth (``sim.truth``, the storm every 10 minutes)
  displaced, late and scaled as it says, with perturbed members if it asks for them
  (:mod:`warn.sim.forecasts`); each run written to the feed folder, named as the forecast
  source's URL template names it, once the simulated clock reaches its issue time, and served
  by a :class:`~warn.sim.feedserver.FeedServer`.
- **Observed rain** (with ``sim.truth``). A synthetic rain gauge at every town centre reports the
  truth every 5 minutes through the SensorThings server (one falls silent), and, with
  ``observed.radar`` configured, a radar rain-rate mosaic of the truth × ``sim.radar_bias`` is
  written every 10 minutes where the radar URL template names it under ``{feed}``
  (:mod:`warn.sim.observed`).
- **Water levels.** Every waterlogging point's sensor and every river gauge reads what the
  storm makes of it (:func:`warn.sim.world.sensor_world`), every 5 minutes, served by a
  :class:`~warn.sim.sensorthings.SensorThingsServer` up to the simulated clock. One sensor
  freezes and one spikes, so quality control has something to catch.
- **Official warnings.** The district meteorological bureau's 暴雨橙色预警信号 for the whole
  district, issued at the storm's onset and cancelled (解除) an hour after its last heavy hour,
  and the geohazard bureau's 地质灾害气象风险 yellow warning for :data:`OFFICIAL_TOWNS` until
  20:00 Beijing time the next day — CAP 1.2 files written to the feed folder as the clock
  reaches their sent time, listed in the JSON index each ``official`` source's URL names.
- **The city platform.** A :class:`~warn.sim.receiver.WebhookReceiver` takes what the
  channels send and writes it to ``outbox.jsonl``.
- **The gateways to persons.** :class:`~warn.sim.gateways.Gateways` stands in for the SMS and
  voice gateways and the DingTalk and WeCom APIs (``{gateways}``), its callbacks timed by the
  simulated clock; the demo sets their ``callback_base`` to the service.

All of it is synthetic and labelled so (demo/PROVENANCE.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr

from warn.cap.codec import CapWarning, MsgType, Reference, ResponseType, identifier_for, outline, produce
from warn import hazards
from warn.config import ChannelSpec, Settings
from warn.geo.layers import zone_layer
from warn.errors import Problem, WarnError
from warn.sim.feedserver import FeedServer
from warn.sim.gateways import gateways_for
from warn.sim.forecasts import hourly, imperfect, members
from warn.sim.levels import Freeze, Spike
from warn.sim.observed import gauge_id, gauge_world, radar_rate, write_frame
from warn.sim.receiver import WebhookReceiver
from warn.sim.sensorthings import SensorThingsServer
from warn.sim.world import Series, sensor_world, serve, utc
from warn.sources.forecast import open_forecast
from warn.vocab import CapStatus, Level

#: Length of every demo forecast run.
LEAD = timedelta(hours=24)
#: The staged sensor faults, in 5-minute steps from the start of the world (21:00Z the evening before the
#: storm): a ponding sensor that freezes while the water rises (05:20Z) and is replaced by the maintenance
#: crew the morning after, at 09:00 Beijing time (01:00Z, step 336), and one that spikes.
FAULTS = {"WL-DEMO-W04": Freeze(at=100, until=336), "WL-DEMO-W12": Spike(at=53, height_m=0.8)}
#: The storm's heavy hours, for the official warnings: some cell gets at least this much rain (mm/h).
HEAVY_MM_H = 10.0
#: The towns of the demo geohazard warning, and the senders of the synthetic authorities.
OFFICIAL_TOWNS = ("DEMO-T03", "DEMO-T07", "DEMO-T12")
#: The demo scenario's official issuers: the met office (the rainstorm signal) and the planning and
#: natural-resources bureau (the geohazard bulletin), by the hazard their bulletins are about.
RAINSTORM, GEOHAZARD = "rainstorm", "landslide"
OFFICIAL_SENDERS = {RAINSTORM: "yubei-met-demo@example.cn", GEOHAZARD: "yubei-geohazard-demo@example.cn"}
#: Their names for people (senderName), zh-CN and en-US; synthetic stand-ins of the real authorities.
OFFICIAL_NAMES = {RAINSTORM: ("渝北区气象台（演示）", "Yubei meteorological observatory (demo)"),
                  GEOHAZARD: ("渝北区规划和自然资源局、渝北区气象局（演示）",
                              "Yubei planning and natural resources bureau with the meteorological bureau (demo)")}
#: The geohazard warning's day ends at 20:00 Beijing time, 12:00 UTC.
BULLETIN_DAY_END_UTC = timedelta(hours=12)


@dataclass(frozen=True)
class Published:
    """One official CAP message of the demo world: its hazard, when it is published, its file name and bytes."""

    hazard: str
    sent: datetime
    name: str
    data: bytes


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
                              source=settings.sim.source, limits=settings.files)
        self.rain = _padded(storm, period)
        self.start = utc(self.rain["time"].values[0]) - timedelta(hours=1)
        self.end = utc(self.rain["time"].values[-1])
        _, points = zone_layer(settings, "waterlogging_points")
        _, gauges = zone_layer(settings, "river_gauges")
        self.sensors: list[Series] = sensor_world(self.rain, points, gauges, faults=FAULTS)
        self.truth: xr.DataArray | None = None
        self.forecast = self.rain
        self.radar_template: str | None = None
        if settings.sim.truth is not None:
            truth = open_forecast(settings.sim.truth, source="truth", issued_at=settings.sim.issued_at,
                                  limits=settings.files)
            self.truth = _padded(truth, period)
            self.sensors += gauge_world(self.truth, town_gauges(settings))
            self.forecast = self._forecast(truth, period)
            self.radar_template = _radar_template(settings)
        self.feed_dir = self.folder / "feed"
        self.feed_dir.mkdir(parents=True, exist_ok=True)
        self.official = official_warnings(settings, storm)
        self._publish_official(self.start)
        self.feed = FeedServer(self.feed_dir)
        self.sensorthings = SensorThingsServer(max_top=1000)
        self.receiver = WebhookReceiver(log=self.folder / "outbox.jsonl")
        self._clock: datetime | None = None
        self.gateways = gateways_for(settings.sim.channels, channel_secrets(settings.sim.channels),
                                     now=lambda: self._clock or self.start)

    def __enter__(self) -> DemoWorld:
        for server in (self.feed, self.sensorthings, self.receiver, self.gateways):
            server.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for server in (self.feed, self.sensorthings, self.receiver, self.gateways):
            server.stop()

    @property
    def urls(self) -> dict[str, str]:
        """Base URLs for the configured placeholders: ``{feed}``, ``{sensorthings}``, ``{receiver}``, ``{gateways}``."""
        return {"feed": self.feed.url, "sensorthings": self.sensorthings.root, "receiver": self.receiver.url,
                "gateways": self.gateways.root}

    def advance(self, clock: datetime) -> None:
        """Publish every run issued by ``clock`` and every reading taken by it."""
        runs = self.rain["time"].values.astype("datetime64[s]")
        for issued in runs - np.timedelta64(1, "h"):
            moment = utc(issued)
            if moment > clock:
                break
            path = self.feed_dir / _name(self.template, moment)
            if not path.exists():
                self._write_run(moment, path)
        serve(self.sensorthings, self.sensors, until=clock, since=self._clock)
        self._publish_official(clock)
        self._publish_radar(clock)
        self._clock = clock

    def _forecast(self, truth: xr.DataArray, period: Period) -> xr.DataArray:
        """The hourly rain the runs are cut from: the truth made wrong as ``sim.forecast`` says (see
        :mod:`warn.sim.forecasts`), on the times of :attr:`rain` (dry beyond the storm's window)."""
        assert self.settings.sim is not None
        spec = self.settings.sim.forecast
        if spec is None:
            return self.rain
        window = _padded(truth, Period(before=period.before,
                                       after=spec.delay + spec.member_delay + timedelta(hours=1)))
        wrong = (members(window, spec) if spec.members else
                 imperfect(window, shift_km=spec.shift_km, towards_deg=spec.towards_deg, delay=spec.delay,
                           scale=spec.scale))
        out = hourly(wrong).reindex(time=self.rain["time"].values, fill_value=0.0)
        out.attrs = dict(self.rain.attrs)
        return out

    def _publish_radar(self, clock: datetime) -> None:
        """Write every radar frame due by ``clock`` that is not written yet (frames of the truth's times)."""
        if self.truth is None or self.radar_template is None or self.settings.sim is None:
            return
        stamps = self.truth["time"].values.astype("datetime64[s]")
        since = np.datetime64((self._clock or self.start).replace(tzinfo=None), "s")
        due = (stamps > since - np.timedelta64(10, "m")) & (stamps <= np.datetime64(clock.replace(tzinfo=None), "s"))
        depths, lat, lon = self.truth.values, self.truth["lat"].values, self.truth["lon"].values
        bias = self.settings.sim.radar_bias
        for index in np.flatnonzero(due):
            moment = utc(stamps[index])
            path = self.feed_dir / self.radar_template.format(time=moment)
            if not path.exists():
                write_frame(radar_rate(depths[index], lat, lon, bias=bias), moment, path, bias=bias)

    def _publish_official(self, clock: datetime) -> None:
        """Write the official messages sent by ``clock`` and each official source's index of them."""
        due = [message for message in self.official if message.sent <= clock]
        for message in due:
            path = self.feed_dir / message.name
            if not path.exists():
                _write(path, message.data)
        for spec in self.settings.official.values():
            names = [m.name for m in due if m.hazard == spec.hazard]
            _write(self.feed_dir / spec.url.rsplit("/", 1)[-1], json.dumps(names).encode("utf-8"))

    def _write_run(self, issued: datetime, path: Path) -> None:
        stamp = np.datetime64(issued.replace(tzinfo=None), "ns")
        hours = self.forecast.sel(time=slice(stamp + np.timedelta64(1, "h"), stamp + np.timedelta64(LEAD)))
        run = xr.Dataset({"rain": hours.astype("float32")},
                         coords={"forecast_reference_time": stamp})
        run["rain"].attrs = {"units": "mm", "standard_name": "lwe_thickness_of_precipitation_amount",
                             "long_name": "precipitation depth per hour", "cell_methods": "time: sum"}
        spec = self.settings.sim.forecast if self.settings.sim is not None else None
        if spec is not None and spec.members:
            run["rain"].attrs["control_member"] = 0
        how = ("cut from the demo storm by warn.sim.demo: a perfect forecast" if spec is None else
               f"the demo truth displaced {spec.shift_km:g} km towards {spec.towards_deg:g} deg, "
               f"{spec.delay.total_seconds() / 60:g} min late, x{spec.scale:g}"
               + (f", {spec.members} perturbed members (seed {spec.seed})" if spec.members else "")
               + " by warn.sim.forecasts: an imperfect forecast")
        run.attrs = {"Conventions": "CF-1.8", "title": f"Yubei demo forecast run {issued:%Y-%m-%d %H}Z "
                     "(TRANSPLANTED ANALOGUE, synthetic)",
                     "comment": f"{how}, for drills only",
                     "source": str(self.rain.attrs.get("source", ""))}
        partial = path.with_name(path.name + ".part")
        run.to_netcdf(partial)
        partial.replace(path)


def demo_secrets(settings: Settings) -> dict[str, str]:
    """Values for the secrets the drill's channels name (the local receiver takes any; the stand-in
    gateways are given the same, :func:`channel_secrets`) and for the one-tap links' secret."""
    return {**channel_secrets(settings.channels), settings.serve.link_secret: "demo-warn-link-secret"}


def channel_secrets(channels: Mapping[str, ChannelSpec]) -> dict[str, str]:
    """``demo-{variable}`` for each secret ``channels`` name, and for an ``aes_key`` a valid 43-character
    EncodingAESKey derived from the variable's name (:mod:`warn.broadcast.wxcrypto`)."""
    return {var: base64.b64encode(hashlib.sha256(var.encode()).digest()).decode()[:-1] if role == "aes_key"
            else f"demo-{var.lower()}" for spec in channels.values() for role, var in spec.secrets.items()}


def official_warnings(settings: Settings, storm: xr.DataArray) -> list[Published]:
    """The demo authorities' CAP 1.2 messages over ``storm`` (synthetic, status Exercise; see the module notes).

    The onset is the start of the first hour in which some cell gets :data:`HEAVY_MM_H` or
    more, the end the end of the last such hour.
    """
    heavy = storm["time"].values[(storm.max(("lat", "lon")) >= HEAVY_MM_H).values]
    if heavy.size == 0:
        return []
    onset, end = utc(heavy[0]) - timedelta(hours=1), utc(heavy[-1])
    _, towns = zone_layer(settings, "towns")
    spec = settings.layers["towns"]
    code = settings.deployment.district_code
    chosen = towns[towns[spec.id_field].astype(str).isin(OFFICIAL_TOWNS)]
    note_zh, note_en = "（演示用合成预警，非官方发布）", " (SYNTHETIC demo warning, not an official one)"
    district = outline(towns.union_all())
    signal = official_message(RAINSTORM, "rainstorm-signal", 1, MsgType.ALERT, Level.ORANGE, onset,
                              onset + timedelta(hours=12), "渝北区全境 Yubei District", district, code,
                              f"渝北区气象台发布暴雨橙色预警信号{note_zh}",
                              f"Yubei meteorological bureau: rainstorm orange signal{note_en}", ResponseType.PREPARE)
    lifted = official_message(RAINSTORM, "rainstorm-signal", 2, MsgType.CANCEL, Level.ORANGE,
                              end + timedelta(hours=1), end + timedelta(hours=2), "渝北区全境 Yubei District",
                              district, code, f"渝北区气象台解除暴雨橙色预警信号{note_zh}",
                              f"Yubei meteorological bureau lifts the rainstorm orange signal{note_en}",
                              ResponseType.ALL_CLEAR, replaces=signal)
    day_end = datetime.combine(onset.date(), datetime.min.time(), onset.tzinfo) + BULLETIN_DAY_END_UTC
    while day_end < onset + timedelta(hours=12):
        day_end += timedelta(days=1)
    geohazard = official_message(GEOHAZARD, "geohazard-risk", 1, MsgType.ALERT, Level.YELLOW, onset,
                                 day_end, "、".join(chosen[spec.name_field].astype(str)), outline(chosen.union_all()),
                                 code, f"地质灾害气象风险黄色预警{note_zh}",
                                 f"Geological-hazard meteorological risk yellow warning{note_en}", ResponseType.MONITOR)
    return [signal, lifted, geohazard]


def official_message(hazard: str, thread: str, version: int, msg_type: MsgType, level: Level, sent: datetime,
                     expires: datetime, area: str, polygons: tuple[tuple[tuple[float, float], ...], ...],
                     geocode: str, headline_zh: str, headline_en: str, response: ResponseType, *,
                     replaces: Published | None = None) -> Published:
    """One synthetic official message (status Exercise, its texts saying it is synthetic), produced and
    validated by :func:`warn.cap.codec.produce`; ``replaces`` is the message of the thread it
    updates or cancels (version − 1). ``polygons`` are ``(lon, lat)`` rings (:func:`~warn.cap.codec.outline`)."""
    sender = OFFICIAL_SENDERS[hazard]
    references = (Reference(sender, identifier_for(sender, thread, version - 1), replaces.sent),) if replaces else ()
    text_zh = f"{headline_zh}。合成消息：由演示世界 warn.sim.demo 生成，仅供演练。"
    text_en = f"{headline_en}. SYNTHETIC: generated by the demo world warn.sim.demo, for drills only."
    warning = CapWarning(sender=sender, thread=thread, version=version, msg_type=msg_type, status=CapStatus.EXERCISE,
                         hazard=hazard, event=hazards.get(hazard).cap, level=level, sent=sent, onset=sent, expires=expires, area_name=area,
                         polygons=polygons, geocode=geocode, incident="", sender_zh=OFFICIAL_NAMES[hazard][0],
                         sender_en=OFFICIAL_NAMES[hazard][1], headline_zh=headline_zh,
                         headline_en=headline_en, description_zh=text_zh, description_en=text_en,
                         instruction_zh="演练消息，无需行动。", instruction_en="Drill message: no action needed.",
                         response_type=response, references=references)
    return Published(hazard, sent, f"official-{thread}-v{version}.xml", produce(warning))


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def _padded(storm: xr.DataArray, period: Period) -> xr.DataArray:
    """The storm's rain (hourly, or every 10 minutes) with dry steps before and after."""
    step = storm["time"].values[1] - storm["time"].values[0]
    seconds = step / np.timedelta64(1, "s")
    first, last = storm["time"].values[0], storm["time"].values[-1]
    before = first - np.arange(int(period.before.total_seconds() // seconds), 0, -1) * step
    after = last + np.arange(1, int(period.after.total_seconds() // seconds) + 1) * step
    times = np.concatenate([before, storm["time"].values, after])
    out = storm.reindex(time=times, fill_value=0.0)
    out.attrs = storm.attrs
    return out


def _radar_template(settings: Settings) -> str | None:
    """The radar frames' path under the feed folder (``observed.radar.url`` after ``{feed}/``), or ``None``
    without a configured radar."""
    radar = settings.observed.radar if settings.observed is not None else None
    if radar is None:
        return None
    if not radar.url.startswith("{feed}/"):
        raise WarnError(Problem("config.yaml", "observed.radar.url", "a URL under {feed}/ (the demo world serves "
                                "the radar frames from its feed server)", repr(radar.url)))
    return radar.url.removeprefix("{feed}/")


def town_gauges(settings: Settings) -> gpd.GeoDataFrame:
    """The synthetic rain gauges of the demo: one at each town centre, ``sensor_id`` :func:`gauge_id` of the town."""
    places = town_places(settings)
    return gpd.GeoDataFrame({"sensor_id": [gauge_id(code) for code in places]},
                            geometry=gpd.points_from_xy([p[0] for p in places.values()],
                                                        [p[1] for p in places.values()]), crs="EPSG:4326")


def _name(template: str, issued: datetime) -> str:
    """The file name the URL template gives the run issued at ``issued``."""
    return template.rsplit("/", 1)[-1].format(issued=issued)



def town_places(settings: Settings) -> dict[str, tuple[float, float]]:
    """A point inside each town (lon, lat WGS84 degrees), by zone id: where the demo's people of a town stand."""
    spec = settings.layers["towns"]
    _, towns = zone_layer(settings, "towns")
    return {str(code): (float(p.x), float(p.y)) for code, p in
            zip(towns[spec.id_field], towns.geometry.representative_point(), strict=True)}
