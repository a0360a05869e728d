"""What a cycle pulls before it scores: the due forecast run and the sensor feeds.

:func:`open_sources` prepares, once per service or replay, everything a cycle pulls
from; :func:`pull` is the cycle's first step at time ``at``:

- **Forecast.** The run due at ``at`` is the newest issue time on the source's
  ``run_every`` grid (counted from 00 UTC) not after ``at``; when it is not there yet
  (not published, the server down), the one before it, back to ``max_age``. The run held
  last time (``store.runs``) is fetched conditionally
  (ETag / Last-Modified), so an unchanged run costs one 304 and is not decoded again
  unless the cycle must score. No usable run within ``max_age`` is a data outage, never
  "all clear": the cycle scores nothing, says why, and the levels age towards unknown.
- **Sensors.** Every polled feed is polled once (:func:`warn.cycle.sensors.poll_feed`,
  resuming from the store), then silent sensors are marked stale. Pushed (MQTT) feeds
  are the live service's; their readings are already in the store.
- **Official warnings.** Every ``official`` source is fetched (:mod:`warn.sources.official`);
  its messages are held in the store (``store.official``), so a restart remembers them.
  A source that fails is a data notice, and the messages last fetched from it stay in
  force until they expire; its hazard is also reported as
  unknown (:attr:`Inputs.official_unknown`): while the source is down, the absence of a
  bulletin is not read as "all clear". The bulletins in force at ``at``
  (:func:`warn.sources.official.in_force`: status ``Actual``, and ``Exercise`` in drills)
  are handed on with their age.

- **Observations** (with ``observed:``): the radar frames of the last :data:`RADAR_WINDOW` are fetched
  and analysed with the rain gauges on the run's grid (:func:`warn.cycle.observed.observe`); the now
  they give (:func:`warn.cycle.now.compose`) replaces the run: the hazards score the composed run
  issued at the latest observed hour, and the run's identity includes that hour and the nowcast's.

Every input is reported with its age at ``at`` (:class:`Inputs`), recorded with the cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import xarray as xr

from warn.vocab import CapStatus, HazardName
from warn.cap.codec import parse
from warn.compute import Compute
from warn.config import SensorFeedSpec, Settings, fill
from warn.cycle.now import Now, compose
from warn.cycle.observed import observe
from warn.cycle.sensors import Ingester, mark_stale_sensors, open_ingester, poll_feed
from warn.durations import floor_time
from warn.errors import ConfigError, Problem, WarnError
from warn.risk.chunks import Workers, here, in_process
from warn.sources.forecast import Fetched, ForecastSource, open_forecast
from warn.sources.radar import RadarSource
from warn.sources.http import HttpGetter, policy_of
from warn.sources.official import Bulletin, Reading, fetch_bulletins, in_force
from warn.sources.feeds import FeedOptions, PolledFeed, build_feed
from warn.store import HeldRun, OfficialMessage, Store
from warn.vocab import Level


#: The radar frames a cycle fetches: the last hour and the step before it (older analysed steps are kept
#: in the store; the nowcast needs the last few).
RADAR_WINDOW = timedelta(minutes=70)


@dataclass
class Sources:
    """Where a deployment's cycles pull from.

    Attributes
    ----------
    forecast
        The configured forecast source the cycle scores.
    urls
        Base URLs filling placeholders of the configured URLs (the demo world's servers).
    ingester
        QC and store for sensor readings; ``None`` without a sensor catalogue.
    feeds
        The polled sensor feeds and their expected poll interval, by name.
    official
        The official-warning sources: their URL (placeholders filled), how their messages
        are read, and the getter, by name.
    statuses
        The CAP statuses of official messages that count (``Actual``; ``Exercise`` too in drills).
    radar
        The radar QPE source of ``observed:`` (``None`` without one).
    fetchers
        The forecast sources fetched so far, by name, each with its one HTTP client
        (:meth:`fetcher`), kept for the life of the service.
    decoded
        The last run decoded, by what identifies its bytes (:meth:`decode`).
    bulletins
        Per official source, the messages its last fetch read, by their bytes: not read again while
        their bytes stay the same (:func:`~warn.sources.official.fetch_bulletins`).

    Every HTTP source holds one client for the life of the service (:class:`~warn.sources.http.HttpGetter`);
    :meth:`close` closes them all.
    """

    forecast: str
    urls: Mapping[str, str] = field(default_factory=dict)
    ingester: Ingester | None = None
    feeds: dict[str, tuple[PolledFeed, timedelta]] = field(default_factory=dict)
    official: dict[str, tuple[str, Reading, HttpGetter]] = field(default_factory=dict)
    statuses: frozenset[str] = frozenset({CapStatus.ACTUAL.value})
    radar: RadarSource | None = None
    fetchers: dict[str, ForecastSource] = field(default_factory=dict)
    decoded: dict[tuple[str, str, str, str, datetime], xr.DataArray] = field(default_factory=dict)
    bulletins: dict[str, dict[bytes, Bulletin]] = field(default_factory=dict)

    def fetcher(self, settings: Settings, name: str) -> ForecastSource:
        """The forecast source ``name`` of ``settings`` (its URL filled from :attr:`urls`), made on first use."""
        if name not in self.fetchers:
            spec = settings.forecasts[name]
            self.fetchers[name] = ForecastSource(fill(spec.url, self.urls),
                                                 directory=settings.cache_dir / "forecasts" / name,
                                                 policy=policy_of(spec), attempts=spec.retries + 1)
        return self.fetchers[name]

    def decode(self, settings: Settings, name: str, fetched: Fetched, issued: datetime, workers: Workers = here
               ) -> xr.DataArray:
        """The run ``fetched`` of forecast source ``name`` decoded (:func:`open_forecast`, its parts read on
        ``workers`` for a large run); the same bytes (the file, its checksum, the URL and issue time) are decoded
        once, so the held run a cycle fetches again (HTTP 304, the same file) costs no decoding. A shallow copy:
        a caller changing its attributes changes no other's.
        """
        key = (name, str(fetched.path), fetched.checksum, fetched.url, issued)
        if key not in self.decoded:
            spec = settings.forecasts[name]
            rain = open_forecast(fetched.path, var=spec.var, source=fetched.url, issued_at=issued,
                                 decoder=None if spec.format == "auto" else spec.format, limits=settings.files,
                                 workers=workers)
            self.decoded = {key: rain}  # the last run only
        return self.decoded[key].copy(deep=False)

    def close(self) -> None:
        """Close the HTTP client of every source (the forecast, the radar, the polled feeds, the official
        warnings); a source used again afterwards opens a new one."""
        for source in self.fetchers.values():
            source.close()
        if self.radar is not None:
            self.radar.close()
        for feed, _ in self.feeds.values():
            feed.close()
        for _, _, getter in self.official.values():
            getter.close()


def open_sources(settings: Settings, store: Store, *, forecast: str | None = None,
                 urls: Mapping[str, str] | None = None, now: Callable[[], datetime],
                 exercise: bool = False) -> Sources:
    """The :class:`Sources` of ``settings``: the forecast source (the only one when ``None``), the
    polled sensor feeds and the official-warning sources with their URLs filled from ``urls``, and
    an ingester on ``store``. With ``exercise`` (drills, replays) official messages of status
    ``Exercise`` count as well as ``Actual`` ones.

    Raises
    ------
    ConfigError
        No forecast source, or several and none chosen, or an unknown one.
    """
    names = list(settings.forecasts)
    if forecast is None and len(names) != 1:
        raise ConfigError(Problem("config.yaml", "forecasts", "exactly one forecast source, or one chosen",
                                  ", ".join(names) or "none"))
    chosen = forecast or names[0]
    if chosen not in settings.forecasts:
        raise ConfigError(Problem("config.yaml", "forecasts", f"one of {', '.join(names)}", repr(chosen)))
    urls = dict(urls or {})
    statuses = frozenset({CapStatus.ACTUAL.value, CapStatus.EXERCISE.value} if exercise else {CapStatus.ACTUAL.value})
    official = _official_sources(settings, urls)
    radar = None
    if settings.observed is not None and settings.observed.radar is not None:
        radar = RadarSource(settings.observed.radar, urls=urls, cache_dir=settings.cache_dir / "radar",
                            limits=settings.files)
    if settings.sensors is None:
        return Sources(chosen, urls, official=official, statuses=statuses, radar=radar)
    ingester = open_ingester(settings, store=store)
    options = FeedOptions(now=now, catalogue=ingester.catalogue)
    feeds = {}
    for name, spec in settings.sensors.feeds.items():
        if spec.kind == "mqtt":
            continue
        filled: SensorFeedSpec = spec.model_copy(update={"url": fill(spec.url or "", urls)})
        feeds[name] = (build_feed(name, filled, options), spec.poll_every)
    return Sources(chosen, urls, ingester, feeds, official, statuses, radar)


def _official_sources(settings: Settings, urls: Mapping[str, str]) -> dict[str, tuple[str, Reading, HttpGetter]]:
    """Each official source's URL, how its messages are read (the towns' representative points), its getter."""
    if not settings.official:
        return {}
    from warn.geo.layers import zone_layer

    spec_, towns = zone_layer(settings, settings.areas.towns)
    zones = dict(zip(towns[spec_.id_field].astype(str), towns.geometry.representative_point(), strict=True))
    return {name: (fill(spec.url, urls),
                   Reading(name, spec.hazard, tuple(spec.level_parameters), spec.geocode,
                           spec.default_validity, zones, settings.deployment.district_code,
                           tuple(spec.allowed_hosts), spec.max_messages),
                   HttpGetter(policy=policy_of(spec), attempts=spec.retries + 1))
            for name, spec in settings.official.items()}


@dataclass(frozen=True)
class Inputs:
    """What a cycle pulled at ``at``.

    Attributes
    ----------
    rain
        The due forecast run as a rainfall contract array, ``None`` when none is usable.
    run
        The run's record (source, issued, url, checksum, fetched) or ``None``.
    new_run
        The run was not held before this cycle (or its bytes changed).
    readings
        New sensor readings stored by this cycle's polls.
    record
        The inputs and their ages, JSON-ready, for the cycle's record.
    problems
        What could not be pulled (a run missing, a feed down), readable, zh-CN / English.
    official
        The official bulletins in force at the cycle's time.
    official_unknown
        Hazards with an official source that failed this cycle: where no held bulletin is
        in force for them, their official level is unknown, not none.
    now
        With ``observed:``: the now the observations give (:mod:`warn.cycle.now`); ``rain`` is then
        its composed run.
    """

    rain: xr.DataArray | None
    run: Mapping[str, Any] | None
    new_run: bool
    readings: int
    record: Mapping[str, Any]
    problems: tuple[str, ...]
    official: tuple[Bulletin, ...] = ()
    official_unknown: frozenset[HazardName] = frozenset()
    now: Now | None = None


def pull(settings: Settings, store: Store, sources: Sources, at: datetime, compute: Compute | None = None
         ) -> Inputs:
    """Pull the due forecast run, poll the sensor feeds and fetch the official warnings at ``at``
    (see the module notes); the run's gridded steps on ``compute`` (``None``: in this process)."""
    rain, run, new_run, problems = fetch_due(settings, store, sources, at, here if compute is None else compute)
    readings, feeds = 0, {}
    if sources.ingester is not None:
        for name, (feed, expected) in sources.feeds.items():
            report = poll_feed(sources.ingester, feed, expected=expected, now=at)
            readings += report.written.inserted if report.written is not None else 0
            feeds[name] = {"received": report.received, "rejected": len(report.rejected),
                           "failure": report.failure}
            if report.failure:
                problems.append(f"传感器数据源 {name} 拉取失败 / sensor feed {name} failed: {report.failure}")
        stale = mark_stale_sensors(sources.ingester, now=at)
        newest = store.latest_phenomenon_time()
        sensors = {"feeds": feeds, "stale": sorted(s for s, is_stale in stale.items() if is_stale),
                   "newest": newest.isoformat() if newest else None,
                   "age_min": _minutes(at - newest) if newest else None}
    else:
        sensors = {}
    now = None
    if settings.observed is not None and rain is not None:
        now = observe_now(settings, store, sources, rain, at, compute)
        problems.extend(now.notices)
        rain, run = now.rain, dict(run or {}) | {"basis": now.basis}
    bulletins, official, unknown = pull_official(store, sources, at, problems)
    record = {"forecast": dict(run) | {"age_min": _minutes(at - datetime.fromisoformat(run["issued"]))}
              if run else None, "sensors": sensors, "official": official, "problems": list(problems)}
    if now is not None:
        record["observed"] = dict(now.record)
    return Inputs(rain, run, new_run, readings, record, tuple(problems), tuple(bulletins), unknown, now)


def observe_now(settings: Settings, store: Store, sources: Sources, run: xr.DataArray, at: datetime,
                compute: Compute | None = None) -> Now:
    """The analysed rain up to ``at`` on the run's grid (the radar frames of the last
    :data:`RADAR_WINDOW` fetched; older steps are kept analysed in the store) and the now it gives; the
    analysis's and the nowcast's gridded steps on ``compute`` (``None``: here)."""
    radar, missing = None, []
    if sources.radar is not None:
        every = sources.radar.spec.every
        newest = floor_time(at, every)
        times = [newest - k * every for k in range(int(RADAR_WINDOW / every), -1, -1)]
        radar, missing = sources.radar.frames(times)
    cells = in_process if compute is None else compute
    observed = observe(settings, store, radar, at, run["lat"].values, run["lon"].values, cells)
    now = compose(settings, store, run, observed, at, cells)
    return replace(now, record=dict(now.record) | {"radar_missing": len(missing)})


def pull_official(store: Store, sources: Sources, at: datetime, problems: list[str]
                  ) -> tuple[list[Bulletin], dict[str, Any], frozenset[HazardName]]:
    """Fetch every official source, hold what it publishes, and pick the bulletins in force at ``at``.

    Parameters
    ----------
    problems
        Extended with a notice per source that failed and per message that could not be read. A
        source whose list could not be read whole counts as failed: the messages it held stay
        (with those it did read), its hazard is unknown rather than clear.

    Returns
    -------
    (bulletins, record, unknown)
        The bulletins in force, the record of the sources and bulletins (with their age in
        minutes), and the hazards of the sources that failed.
    """
    held: list[Bulletin] = []
    sources_record: dict[str, Any] = {}
    unknown: set[HazardName] = set()
    for name, (url, reading, getter) in sources.official.items():
        try:
            fetched, unreadable = fetch_bulletins(url, reading, getter, sources.bulletins.setdefault(name, {}))
        except WarnError as err:
            fetched: list[Bulletin] = []
            failure: str | None = str(err.problems[0] if err.problems else err)
        else:
            failure = f"{len(unreadable)} listed message(s) unreadable" if unreadable else None
            problems.extend(unreadable)
        if failure is None:
            messages = fetched
            store.official.hold(name, [_message(b) for b in messages], at)
            sources_record[name] = {"messages": len(messages), "failure": None, "fetched_at": at.isoformat()}
        else:  # what could not be read may still be in force: never an all-clear
            problems.append(f"官方预警源 {name} 拉取失败，上次获取的预警至失效前继续有效 / official warning source "
                            f"{name} failed; the warnings last fetched stay in force until they expire: {failure}")
            unknown.add(reading.hazard)
            saved, fetched_at = store.official.held(name)
            kept = {b.identifier: b for b in map(_bulletin, saved)} | {b.identifier: b for b in fetched}
            messages = list(kept.values())
            sources_record[name] = {"messages": len(messages), "failure": failure,
                                    "fetched_at": fetched_at.isoformat() if fetched_at else None}
        held += messages
    bulletins = in_force(held, at, sources.statuses)
    record = {"sources": sources_record,
              "in_force": [{"source": b.source, "identifier": b.identifier, "hazard": b.hazard,
                            "level": b.level.colour, "zones": list(b.zones), "district": b.district,
                            "sent": b.sent.isoformat(), "expires": b.expires.isoformat(),
                            "age_min": _minutes(at - b.sent)} for b in bulletins]}
    return bulletins, record, frozenset(unknown)


def due_issues(run_every: timedelta, max_age: timedelta, at: datetime) -> list[datetime]:
    """Issue times on the ``run_every`` grid (from 00 UTC) from the newest not after ``at`` back to ``max_age``."""
    newest = floor_time(at, run_every)
    count = int(max_age / run_every) + 1
    return [newest - k * run_every for k in range(count)]


def fetch_due(settings: Settings, store: Store, sources: Sources, at: datetime, workers: Workers = here
              ) -> tuple[xr.DataArray | None, dict[str, Any] | None, bool, list[str]]:
    """The run due at ``at`` (see the module notes), held in the store when new; a large run's file read in
    parts on ``workers``.

    Returns
    -------
    (rain, run, new, problems)
        The decoded run (``None``: no usable run), its record, whether it is new since
        the run held before, and what could not be fetched.
    """
    name = sources.forecast
    spec = settings.forecasts[name]
    source = sources.fetcher(settings, name)
    held = store.runs.held(name)
    problems: list[str] = []
    for issued in due_issues(spec.run_every, spec.max_age, at):
        previous = _fetched(held) if held and held.issued_at == issued else None
        try:
            fetched = source.fetch(issued, previous=previous)
            rain = sources.decode(settings, name, fetched, issued, workers)
        except WarnError as err:
            problems.append(f"预报 {issued:%Y-%m-%d %H:%MZ} 不可用 / run {issued:%Y-%m-%d %H:%MZ} unavailable: "
                            f"{err.problems[0] if err.problems else err}")
            continue
        run = _record(name, issued, fetched)
        new = previous is None or not fetched.not_modified
        if new:
            store.runs.hold(HeldRun(name, issued, fetched.fetched_at, fetched.checksum, fetched.url,
                                    str(fetched.path), fetched.etag, fetched.last_modified), at)
        return rain, run, new, problems[-1:] if problems else []
    problems.append(f"{spec.max_age} 内无可用预报，不作评估（不视为无风险）/ no usable run of {name} within "
                    f"{spec.max_age}: nothing scored (which is not all clear)")
    return None, None, False, problems


def _record(name: str, issued: datetime, fetched: Fetched) -> dict[str, Any]:
    return {"source": name, "issued": issued.isoformat(), "url": fetched.url, "path": str(fetched.path),
            "checksum": fetched.checksum, "etag": fetched.etag, "last_modified": fetched.last_modified,
            "fetched_at": fetched.fetched_at.isoformat()}


def _fetched(run: HeldRun) -> Fetched | None:
    """The held run as a previous fetch, ``None`` when its file is gone from the cache."""
    path = Path(run.path)
    if not path.is_file():
        return None
    return Fetched(url=run.url, path=path, checksum=run.checksum, etag=run.etag, last_modified=run.last_modified,
                   fetched_at=run.fetched_at, not_modified=False)


def _message(bulletin: Bulletin) -> OfficialMessage:
    """A bulletin as the store holds it."""
    b = bulletin
    return OfficialMessage(b.source, b.identifier, b.sender, b.sent, b.msg_type, b.status, b.references,
                           b.hazard, int(b.level), b.expires, b.zones, b.district, b.headline, b.raw)


@dataclass(frozen=True)
class OfficialRelay:
    """An official message the district relays: who issued it (``senderName``, else ``sender``), its CAP
    header and headline."""

    issuer: str
    sender: str
    identifier: str
    sent: datetime
    headline: str


def official_in_force(store: Store, settings: Settings, hazard: HazardName, at: datetime,
                      statuses: frozenset[str]) -> list[OfficialRelay]:
    """The official messages of ``hazard`` held from its ``official:`` sources and in force at ``at``
    (``statuses``: the CAP statuses that count), oldest first."""
    held = [_bulletin(m) for name, spec in settings.official.items() if spec.hazard == hazard
            for m in store.official.held(name)[0]]
    return [OfficialRelay(_issuer(b), b.sender, b.identifier, b.sent, b.headline) for b in in_force(held, at, statuses)]


def _issuer(bulletin: Bulletin) -> str:
    """The ``senderName`` of a bulletin's first info when its XML was kept, else its ``sender``."""
    if bulletin.raw:
        names = [info.sender_name for info in parse(bulletin.raw.encode("utf-8")).infos if info.sender_name]
        if names:
            return names[0]
    return bulletin.sender


def _bulletin(m: OfficialMessage) -> Bulletin:
    """A held message as the bulletin it was read as."""
    return Bulletin(m.source, m.identifier, m.sender, m.sent, m.msg_type, m.cap_status, m.references,
                    m.hazard, Level(m.level), m.expires, m.zones, m.district, m.headline, m.raw)


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60.0, 1)
