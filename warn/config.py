"""Deployment settings from config.yaml (typed, strict, paths resolved).

``config.yaml`` wires one deployment: its timezone, the zone layers, the forecast
sources, the model files, the store, the demo world and the broadcast channels
(``channels:``; secrets only by the names of environment variables). :func:`load_settings` reads
it into :class:`Settings`, resolving every relative path against the file's folder,
and raises :class:`warn.errors.ConfigError` naming the file and key of every problem;
:func:`store_url` lets a command's ``--store`` stand in for the configured store.
Deeper checks (do the files exist, do the layers load, do the model files validate)
are :mod:`warn.check`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    field_validator,
    model_validator,
)

from warn import DEFAULT_CONFIG
from warn.declarative import ColourName, Duration, PositiveDuration, ResponseName, Strict, parse_file
from warn.errors import ConfigError, Problem
from warn.files import MAX_CATALOGUE_BYTES, MAX_EVIDENCE_BYTES, MAX_FORECAST_BYTES, MAX_QC_BYTES, MAX_ROSTER_BYTES
from warn.vocab import Audience, ItemKind

#: What a store URL starts with: SQLite or PostgreSQL, with an optional SQLAlchemy driver.
STORE_URL_PATTERN = r"^(sqlite|postgresql)(\+\w+)?://"
#: The longest network timeout accepted, seconds: a source or channel silent for five minutes is
#: down, and a cycle (run every few minutes) must not wait longer on it (issue 15).
MAX_TIMEOUT_S = 300.0
#: Default largest pushed sensor payload, bytes: a message of a few hundred readings is ~50 KB.
MAX_PAYLOAD_BYTES = 64 * 1024
#: Default deepest nesting of a pushed JSON payload (an object with a list of records is 3 deep).
MAX_PAYLOAD_DEPTH = 32
#: The deepest nesting a feed may allow: well under Python's recursion limit (1000), which the JSON parser would hit.
MAX_PAYLOAD_DEPTH_LIMIT = 200
#: Default most cells of one forecast field (lat × lon): the city grid is 401 × 491 = 196,891.
MAX_GRID_CELLS = 1_000_000
#: Default most time steps of one forecast variable: 72 h in 10-minute steps is 432.
MAX_TIME_STEPS = 1_000
#: Default most bytes one forecast variable may declare: the city grid over 72 h in float64 is 113 MB.
MAX_FIELD_BYTES = 1024 * 2**20
#: Default most rows ``warn qc`` reads from one file.
MAX_QC_ROWS = 1_000_000
#: A network timeout in seconds: longer than zero, at most :data:`MAX_TIMEOUT_S`.
Timeout = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)]
#: The longest total deadline of one network exchange, seconds: a forecast run of a few hundred
#: MiB arrives well within 30 minutes, and a cycle must not wait longer (issue 15).
MAX_DEADLINE_S = 1800.0
#: The total deadline of one network exchange (request to last byte), seconds.
Deadline = Annotated[float, Field(gt=0, le=MAX_DEADLINE_S)]
MiB = 2**20
#: A host name or IPv4 address, with an optional port (``cma.gov.cn``, ``10.1.2.3:8080``).
HOST_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$"


class NetLimits(Strict):
    """The bounds of a source's network reads (:func:`warn.sources.http.policy_of`): connect, read and
    total deadlines, the largest body, same-origin redirects. Each source kind sets its own defaults."""

    connect_timeout_s: Timeout = Field(10.0, description="seconds allowed to connect")
    timeout_s: Timeout = Field(30.0, description="seconds allowed for each read")
    deadline_s: Deadline = Field(120.0, description="seconds allowed for one whole exchange, body included "
                                                    "(a trickling server is cut here)")
    max_bytes: int = Field(16 * MiB, ge=1, le=16 * MiB, description="largest body accepted (bytes)")
    redirects: int = Field(0, ge=0, le=5, description="same-origin redirects followed (0: none)")
    retries: int = Field(3, ge=0, le=10)


class IssuerSpec(Strict):
    """The unit whose name the district's messages carry (CAP ``senderName``, the texts' 发布单位)."""

    zh: str = Field("区防汛抗旱指挥部办公室", min_length=1, description="its name in zh-CN texts")
    en: str = Field("District flood control and drought relief headquarters office", min_length=1,
                    description="its name in en-US texts")
    short: str = Field("", description="its short name for SMS (区防汛办); empty: the SMS uses the full name")
    unit_code: str = Field("000", pattern=r"^\d{3}(\d{5})?$",
                           description="its unit code in GB/T 35965.1 identifiers: the sector code DDD (GB/T 4657) or "
                                       "DDDUUUXX, as registered with the release platform")


class Deployment(Strict):
    """Who this deployment serves."""

    name: str = Field(min_length=1)
    district_code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 administrative code")
    timezone: str
    language: Literal["zh", "en"] = Field("zh", description="language of the duty officer's CLI")
    live: bool = Field(False, description="a live deployment: a store that never published Actual publishes Actual "
                                          "once `warn check` passes; false (a drill): everything published is "
                                          "Exercise and --as / --at may stand in for people and times")
    issuer: IssuerSpec = IssuerSpec()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Asia/Shanghai") from None
        return value


class IdentitySpec(Strict):
    """Who acts: operating-system logins mapped to people on the roster, and who issues personal tokens."""

    os_users: dict[str, str] = Field(default_factory=dict, description="OS login → the person on the roster it is")
    admins: list[str] = Field(default_factory=list, description="OS logins that may issue and revoke personal "
                                                                "tokens (default: the owner of the SQLite store file)")


class TextLimits(Strict):
    """The longest text, in characters, a person may give an acting command (:mod:`warn.freetext`)."""

    note: int = Field(500, ge=1, le=20000, description="warn note, warn done --note")
    text: int = Field(1000, ge=1, le=20000, description="warn broadcast --text")
    reason: int = Field(500, ge=1, le=20000, description="warn mode --reason, warn assign --reason")
    name: int = Field(128, ge=1, le=1000, description="names and ids: --as, --to, a person, a task or request id")


class LayerSpec(Strict):
    """One zone layer: a GeoPackage/GeoJSON file, its layer, CRS, and which attribute is the id, the
    name, the town and the number of people threatened. Which layer plays which role for which
    hazard is said in ``hazards:`` (:class:`HazardEntry`)."""

    path: Path
    layer: str | None = None
    id_field: str = "zone_id"
    name_field: str = "name"
    town_field: str | None = Field(None, description="attribute holding the town/street code of a feature "
                                                     "(its town for a point; a town is its own)")
    people_field: str | None = Field(None, description="attribute holding the number of people threatened")
    crs: str = Field("EPSG:4326", description="the CRS the layer is in: a CRS the file's own must equal, or 'gcj02'")



class ForecastSpec(NetLimits):
    """A gridded rain forecast source.

    ``url`` is a template with the run (issue) time as ``{issued:%Y%m%d%H}``; runs come
    every ``run_every`` and a run older than ``max_age`` is not used.
    """

    url: str = Field(min_length=1)
    format: str = Field("auto", description="a forecast decoder name, or auto")
    var: str | None = None
    run_every: PositiveDuration = timedelta(hours=1)
    max_age: PositiveDuration = timedelta(hours=12)
    deadline_s: Deadline = Field(600.0, description="seconds allowed for one whole run, body included")
    max_bytes: int = Field(512 * MiB, ge=1, le=4096 * MiB, description="largest forecast file accepted (bytes)")


class FieldMap(Strict):
    """Where a JSON object's or CSV row's fields are (e.g. Changjiang-commission style ``stcd``, ``tm``, ``z``)."""

    sensor_id: str
    time: str
    value: str
    unit: str | None = Field(None, description="field holding the unit; else the feed's unit applies")


class SensorFeedSpec(NetLimits):
    """One sensor feed: OGC SensorThings, JSON or CSV over HTTP (polled), or MQTT (pushed)."""

    kind: Literal["sensorthings", "json", "csv", "mqtt"]
    url: str | None = Field(None, description="base URL (SensorThings) or document URL (json, csv)")
    fields: FieldMap | None = None
    unit: str | None = Field(None, description="unit of the values when no unit field is mapped: m, cm, mm")
    timezone: str = Field("UTC", description="zone of times written without an offset")
    poll_every: PositiveDuration = timedelta(minutes=1)
    page_size: int = Field(1000, ge=1, le=10000, description="SensorThings $top")
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic: str | None = Field(None, description="MQTT topic filter, e.g. warn/sensors/+")
    qos: Literal[0, 1] = Field(1, description="1: at least once, acknowledged after the store commits")
    client_id: str | None = Field(None, description="MQTT client id of the persistent session (default warn-<feed>)")
    lookback: PositiveDuration = Field(timedelta(hours=2), description="polled feeds re-read this far back to catch late readings")
    backfill: PositiveDuration = Field(timedelta(days=1), description="how far back a sensor never seen before is read")
    max_bytes: int = Field(16 * MiB, ge=1, le=256 * MiB, description="largest polled document or page (bytes)")
    max_payload_bytes: int = Field(MAX_PAYLOAD_BYTES, ge=1, le=16 * 2**20,
                                   description="larger pushed payloads are rejected unread (bytes, at most 16 MiB)")
    max_payload_depth: int = Field(MAX_PAYLOAD_DEPTH, ge=1, le=MAX_PAYLOAD_DEPTH_LIMIT,
                                   description="pushed JSON nested deeper is rejected unparsed (levels of [ and {)")

    @model_validator(mode="after")
    def _complete_for_kind(self) -> SensorFeedSpec:
        if self.kind == "mqtt":
            if not self.topic or self.fields is None:
                raise ValueError("an MQTT feed to give topic and fields")
        elif not self.url:
            raise ValueError(f"a {self.kind} feed to give url")
        elif self.kind in ("json", "csv") and self.fields is None:
            raise ValueError(f"a {self.kind} feed to give fields (sensor_id, time, value)")
        return self


class SensorsSpec(Strict):
    """The sensor catalogue (CSV) and the feeds that bring readings (QC and staleness
    thresholds are model parameters: models/sensors.yaml)."""

    catalogue: Path
    feeds: dict[str, SensorFeedSpec] = Field(default_factory=dict)



class OfficialSpec(NetLimits):
    """One source of official warnings (CAP 1.2) from the meteorological or natural-resources authority.

    ``url`` (may hold ``{feed}``) returns one CAP 1.2 message, or a JSON list of the URLs of the
    messages currently published (relative ones resolved against ``url``). Every ``info`` of a
    message is read for ``hazard``: its level from the first of ``level_parameters`` present
    (``blue`` … ``red``, 蓝色 … 红色, ``Blue`` …), else from the colour in its ``event`` or
    ``headline`` (暴雨橙色预警信号 → orange); its area from ``<geocode>`` entries named ``geocode`` (a zone
    id, or the district code for all of it) and from polygons covering a zone's representative point.
    """

    url: str = Field(min_length=1)
    hazard: str = Field(min_length=1, description="the registered hazard the bulletins are about (one that reads "
                                                  "official bulletins; warn check says which)")
    level_parameters: list[str] = Field(default_factory=lambda: ["warn:level", "GB/T35965.1:color"], min_length=1,
                                        description="CAP parameter valueNames holding the level, first present wins")
    geocode: str = Field("GB/T2260", min_length=1, description="the geocode valueName matched with zone ids "
                                                                "and deployment.district_code")
    default_validity: PositiveDuration = Field(timedelta(hours=24), description="how long after sent a message without "
                                                                        "expires counts")
    allowed_hosts: list[Annotated[str, Field(pattern=HOST_PATTERN)]] = Field(
        default_factory=list, description="hosts (or host:port) a JSON list may name besides url's own origin; "
                                          "any other URL in the list is not fetched")
    max_messages: int = Field(50, ge=1, le=1000, description="most message URLs a JSON list may name; a longer "
                                                            "list is refused whole (the last fetched stay in force)")
    timeout_s: Timeout = 10.0
    deadline_s: Deadline = Field(60.0, description="seconds allowed for one whole message or list")
    max_bytes: int = Field(2 * MiB, ge=1, le=64 * MiB, description="largest message or list accepted (bytes)")
    retries: int = Field(2, ge=0, le=10)


class RadarSpec(NetLimits):
    """A radar quantitative precipitation estimate (QPE): one mosaic per frame, GRIB2 or CF-NetCDF.

    ``url`` (may hold ``{feed}``) is a template with the frame's time as ``{time:%Y%m%d%H%M}`` (UTC,
    the end of the interval a depth covers, or the time of an instantaneous rate); frames come every
    ``every``; with no frame newer than ``max_age`` the radar is down (a data notice, never "no rain").
    A rate (mm/h) is held for ``every``; a depth is taken per ``every`` (the decoders check the units).
    """

    url: str = Field(min_length=1)
    format: str = Field("auto", description="a decoder name (netcdf, grib), or auto")
    var: str | None = None
    every: PositiveDuration = Field(timedelta(minutes=10), description="the frames' spacing")
    max_age: PositiveDuration = Field(timedelta(minutes=30), description="the newest frame older than this: radar down")
    timeout_s: Timeout = 10.0
    deadline_s: Deadline = Field(60.0, description="seconds allowed for one whole frame")
    max_bytes: int = Field(64 * MiB, ge=1, le=512 * MiB, description="largest frame accepted (bytes)")
    retries: int = Field(1, ge=0, le=10)


class ObservedSpec(Strict):
    """Observed rain (``observed:``): radar frames and the catalogue's rain gauges (sensors of kind
    ``rain_gauge``), analysed on the forecast grid every ``models.analysis`` step; the "now" of every
    hazard's state follows the analysed rain, a nowcast from the radar frames drives the first leads.
    Without this section the cycle scores the forecast runs alone (as before)."""

    radar: RadarSpec | None = None
    gauges: bool = Field(True, description="analyse the catalogue's rain gauges")
    nowcast: bool = Field(True, description="extrapolate the radar frames to the nowcast's lead (models.nowcast)")


class AreasSpec(Strict):
    """Which layers are the deployment's own areas: its towns/streets (镇街) and the district outline.

    Official bulletins' polygons, the rain recorded per zone, the reports' maps and manual warnings
    are matched with the towns; a district-wide warning is drawn with the district outline (the
    union of the towns without one).
    """

    towns: str = Field(min_length=1, description="the layer of the towns/streets, a name in layers:")
    district: str | None = Field(None, description="the layer of the district outline, a name in layers:")


class HazardEntry(BaseModel):
    """One hazard of the deployment (``hazards.<name>``): its model file, the layer playing each of
    its roles, and the hazard's own keys. This is only the outer shape: each hazard validates its
    section strictly with its own schema (:attr:`warn.hazards.spec.HazardSpec.config`), so a key
    the hazard ignores is refused by ``warn check``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: Path | None = Field(None, description="the hazard's model file (models/<hazard>.yaml)")
    layers: dict[str, str] = Field(default_factory=dict, description="role → name of a layer in layers:")


class LeaseSpec(Strict):
    """主备 / how the ``warn run`` processes sharing the store elect the one that acts: the leader renews its
    lease every ``renew``; the others stand by and take over once it has not been renewed for ``ttl``
    (:mod:`warn.store.leases`). Wall-clock durations."""

    ttl: PositiveDuration = Field(timedelta(seconds=30), description="how long a lease lasts unless renewed")
    renew: PositiveDuration = Field(timedelta(seconds=10), description="how often the leader renews it and the "
                                    "others ask for it")

    @model_validator(mode="after")
    def _renewed_in_time(self) -> LeaseSpec:
        if self.ttl < 2 * self.renew:
            raise ValueError(f"store.lease.ttl ({self.ttl}) must be at least twice store.lease.renew "
                             f"({self.renew}): a lease renewed late once must not run out")
        return self


#: The shortest retention of readings accepted: a month of readings behind every incident's report, and the
#: week being archived.
MIN_READINGS_RETENTION = timedelta(days=37)


def _days(value: object) -> object:
    """``PnD`` (whole days, as retention is written) as a timedelta; anything else on to :data:`Duration`."""
    if isinstance(value, str) and (match := re.fullmatch(r"P(\d+)D", value)):
        return timedelta(days=int(match.group(1)))
    return value


#: A duration in days (``P400D``) or in the ``PT…`` form of :data:`~warn.declarative.Duration`, longer than zero.
LongDuration = Annotated[PositiveDuration, BeforeValidator(_days)]


class RetentionSpec(Strict):
    """保留与归档 / how long readings stay in the store: the weeks older than ``readings`` are written to
    ``archive`` (gzip CSV with a manifest and checksums, verified), then removed (:mod:`warn.store.retention`)
    by the leading ``warn run`` every ``every``."""

    readings: LongDuration = Field(description="how long readings stay in the store, e.g. P400D")
    archive: Path = Field(description="the folder the archive is written to (relative: to config.yaml's folder)")
    every: LongDuration = Field(timedelta(days=1), description="how often the leader archives what is due, e.g. P1D")

    @field_validator("readings")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < MIN_READINGS_RETENTION:
            raise ValueError(f"at least P{MIN_READINGS_RETENTION.days}D (a month of readings behind an incident's "
                             f"report, and a week), got P{value.days}D")
        return value


class StoreSpec(Strict):
    """Where state is kept: an SQLAlchemy URL (SQLite by default; a relative SQLite path is
    relative to config.yaml's folder), or ``postgresql+psycopg://…``; the lease that elects the one
    ``warn run`` of several that acts; the channels told when the store is lost (the outbox is in it)."""

    url: str = Field(pattern=STORE_URL_PATTERN)
    lease: LeaseSpec = LeaseSpec()
    outage_channels: list[str] = Field(default_factory=list, description="group channels (duty robots) the "
                                       "leading warn run tells directly when it loses the store and when it is back")
    retention: RetentionSpec | None = Field(None, description="how long readings are kept, and where they are "
                                            "archived before they go (none: kept for ever)")


class MunicipalSpec(Strict):
    """A district of a municipality on one PostgreSQL store (``warn municipal init``, 城市 → 区县 linked
    response): the schema of the municipal centre, whose current response level the district's cycle reads
    (the view ``linked_response`` only) and passes to its planner (``MODE-LINKED``)."""

    city_code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 code of the municipality (500000)")
    city_schema: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="the municipal centre's schema in "
                             "the store's database (cq_500000)")


class SimForecastSpec(Strict):
    """How the demo world's forecast runs miss its truth (``sim.forecast``): the storm displaced
    ``shift_km`` towards ``towards_deg`` (clockwise from north), ``delay`` late and its depths times
    ``scale``; with ``members`` > 0 each run also carries that many perturbed members (each displaced
    further by a normal draw of ``member_shift_km`` per axis, late by a whole number of 10-minute steps
    within ± ``member_delay``, scaled by a log-normal draw of ``member_scale``; drawn from ``seed``)."""

    shift_km: float = Field(ge=0.0, le=100.0, description="displacement of the storm (km)")
    towards_deg: float = Field(ge=0.0, lt=360.0, description="direction of the displacement (degrees from north)")
    delay: Duration = Field(description="how late the forecast storm is (a multiple of PT10M, ≥ 0)")
    scale: float = Field(1.0, gt=0.0, le=5.0, description="factor on the forecast depths")
    members: int = Field(0, ge=0, le=50, description="perturbed members besides the control (0: control only)")
    member_shift_km: float = Field(6.0, ge=0.0, le=50.0, description="standard deviation of a member's extra "
                                   "displacement per axis (km)")
    member_delay: Duration = Field(timedelta(minutes=30), description="a member's extra delay is within ± this")
    member_scale: float = Field(0.2, ge=0.0, le=1.0, description="standard deviation of log(a member's factor)")
    seed: int = Field(19, ge=0)

    @field_validator("delay", "member_delay")
    @classmethod
    def _ten_minutes(cls, value: timedelta) -> timedelta:
        if value < timedelta(0) or value % timedelta(minutes=10):
            raise ValueError(f"a non-negative multiple of PT10M, not {value}")
        return value


class SimSpec(Strict):
    """The demo world: the demo storm (the run ``issued_at`` in ``feed_dir``), the forecast source
    it stands in for, and the channels a drill sends to instead of the configured ones
    (targets may hold ``{receiver}``, the local webhook receiver, and ``{out}``, the drill's folder).

    ``truth`` is the same storm every 10 minutes — what "really" fell, which the demo's rain gauges and
    radar frames report (the radar times ``radar_bias``); with ``forecast`` the runs are the truth made
    wrong as it says, without it they are cut from the storm (a perfect forecast)."""

    feed_dir: Path
    host: Literal["127.0.0.1", "localhost"] = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port")
    issued_at: AwareDatetime
    source: str = Field(description="the forecasts entry the demo server stands in for")
    channels: dict[str, "ChannelSpec"] = Field(default_factory=dict)
    truth: Path | None = Field(None, description="the storm every 10 minutes (CF-NetCDF depth)")
    forecast: SimForecastSpec | None = None
    radar_bias: float = Field(0.7, gt=0.0, le=5.0, description="factor on the truth in the radar frames")

    @model_validator(mode="after")
    def _truth_for_errors(self) -> SimSpec:
        if self.forecast is not None and self.truth is None:
            raise ValueError("sim.forecast makes the runs from sim.truth: name the truth file")
        return self


class ModeRuleSpec(Strict):
    """A rule that proposes wartime: ``places`` or more towns (the district counts as one) with an
    active warning of an item of a kind in ``scope`` at ``level`` or above → response ``response``."""

    id: str = Field(pattern=r"^MODE-[A-Z0-9-]+$")
    label: str = Field(min_length=1)
    level: ColourName
    places: int = Field(1, ge=1)
    scope: list[ItemKind] = Field(default_factory=lambda: list(ItemKind),
                                                              min_length=1)
    response: ResponseName


class ReportsSpec(Strict):
    """Situation-report deadlines (信息报送): initial after the switch to wartime, follow-up
    interval in wartime, final after the stand-down."""

    initial: PositiveDuration = timedelta(hours=1)
    follow_up_every: PositiveDuration = timedelta(hours=2)
    final: PositiveDuration = timedelta(hours=1)


class DangersSpec(Strict):
    """Deadlines of a danger reported from below (险情上报, :mod:`warn.command.dangers`): the time each post
    of the verification chain (town duty officer, town leader, district duty officer) has to verify it,
    and, once verified, the time to handle it."""

    verify_within: PositiveDuration = Field(timedelta(minutes=30), description="time each verifier has to answer, "
                                            "and the handler to take the task")
    handle_within: PositiveDuration = Field(timedelta(hours=2), description="time from the dispatch to the "
                                            "handling task's due time")


class PublicationSpec(Strict):
    """Who reads which warnings (:mod:`warn.command.bulletins`): the lowest level each hazard's messages
    reach the public at (a hazard not listed is published to the responsible people only), and the
    shortest time between two messages of one thread unless a level rises."""

    public_from: dict[str, ColourName] = Field(
        default_factory=dict, description="hazard → lowest level published to the public (blue … red)")
    min_interval: PositiveDuration = Field(timedelta(minutes=30),
                                           description="shortest time between two messages of a thread, "
                                                       "unless a level rises")


class StandDownSpec(Strict):
    """The stand-down rule: no step-down to peacetime while a warning at ``refuse_while`` or above is
    active, unless the ``override`` role (a district role the roster fills) orders it with a reason."""

    refuse_while: ColourName = Field("orange", description="the lowest warning level that refuses the stand-down")
    override: str = Field("commander", min_length=1, description="the role that may stand down anyway, "
                                                                  "with a reason recorded on the timeline")


class CommandSpec(Strict):
    """The command planner: playbooks folder, duty roster, mode rules, stand-down rule, deadlines."""

    playbooks: Path
    roster: Path = Field(description="roster file, YAML or CSV (role, org, person, from, to)")
    directory: Path | None = Field(None, description="the people directory (org tree, persons and their contact "
                                   "points, standing posts, points' communities): a JSON file or a folder of CSV "
                                   "files, exported from the city platform (warn/command/directory.py)")
    automatic: bool = Field(False, description="switch modes without the commander's confirmation")
    ask_decider: bool = Field(True, description="a mode proposal goes to the commander as an approval request on "
                              "their channels (false: it waits for `warn mode` at the desk)")
    all_clear_hold: PositiveDuration = Field(timedelta(hours=3), description="level none this long clears a warning")
    wartime_max_quiet: PositiveDuration = Field(timedelta(hours=24),
                                        description="wartime without a fresh trigger this long proposes stepping down")
    mode_rules: list[ModeRuleSpec] = Field(default_factory=list)
    stand_down: StandDownSpec = StandDownSpec()
    reports: ReportsSpec = ReportsSpec()
    publication: PublicationSpec = PublicationSpec()
    dangers: DangersSpec = DangersSpec()


class ChannelSpec(Strict):
    """One broadcast channel: its kind (a name in :data:`warn.broadcast.channels.CHANNEL_KINDS`), where it
    sends, how fast it may send, and the NAMES of the environment variables that hold its secrets."""

    kind: str = Field(min_length=1, description="webhook, dingtalk, wecom, sms, smtp, mqtt, filedrop, or to persons "
                                                "work_notice, wecom_app, voice (and sms)")
    target: str = Field(min_length=1, description="URL (http(s)://, smtp://host:port, mqtt://host:port/topic) "
                                                  "or folder; may contain {recipient}")
    public: bool = Field(False, description="reaches the public: Exercise and Test messages are refused")
    audience: Audience | None = Field(None, description="whose messages it carries: public (scope Public) or "
                                      "restricted (the responsible people); default public when public, "
                                      "else restricted")
    rate_per_minute: PositiveFloat = Field(20.0, description="messages per minute, token bucket")
    burst: int = Field(1, ge=1, description="messages that may go at once after a quiet spell")
    secrets: dict[str, str] = Field(
        default_factory=dict, description="role → NAME of the environment variable holding the secret")
    recipients: list[str] = Field(default_factory=list, description="who receives warnings on this channel "
                                  "(e-mail addresses for smtp, {recipient} of the target); none: 'cap'")
    sender: str = Field("", description="the From address of smtp")
    agent_id: int | None = Field(None, ge=1, description="the application's AgentId on the platform (work_notice: "
                                 "DingTalk / 渝快政 agent_id, wecom_app: WeCom agentid)")
    timeout: Timeout = Field(10.0, description="seconds allowed for connecting and for each read of a reply")
    deadline_s: Deadline = Field(30.0, description="seconds allowed for one whole exchange, reply included")
    max_reply_bytes: int = Field(64 * 1024, ge=1, le=16 * MiB, description="largest reply read (bytes); a longer "
                                 "one leaves the delivery uncertain and it is not resent")
    max_attempts: int = Field(20, ge=1, description="attempts before a message is marked failed")
    backoff: PositiveDuration = Field(timedelta(seconds=2), description="first retry's delay bound, doubled each attempt")
    backoff_cap: PositiveDuration = Field(timedelta(minutes=10), description="largest delay bound between attempts")

    @property
    def reads(self) -> Audience:
        """The audience whose messages this channel carries."""
        if self.audience is not None:
            return self.audience
        return Audience.PUBLIC if self.public else Audience.RESTRICTED

    @field_validator("secrets")
    @classmethod
    def _names_not_values(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = [role for role, name in value.items() if not name or not all(
            c.isupper() or c.isdigit() or c == "_" for c in name) or name[0].isdigit()]
        if wrong:
            raise ValueError(f"secrets {', '.join(sorted(wrong))}: expected the NAME of an environment variable "
                             "(A–Z, 0–9, _), never the secret itself")
        return value


class FilesSpec(Strict):
    """Limits on the files the deployment and its people name (:mod:`warn.files`): each is read only
    if it is a regular file no larger than its limit, and a forecast only if the arrays it declares
    fit the grid limits (checked before any data is read). Sizes in bytes."""

    max_roster_bytes: int = Field(MAX_ROSTER_BYTES, ge=1, description="the duty roster / directory (YAML or CSV)")
    max_catalogue_bytes: int = Field(MAX_CATALOGUE_BYTES, ge=1, description="the sensor catalogue (CSV)")
    max_evidence_bytes: int = Field(MAX_EVIDENCE_BYTES, ge=1, description="a warn done --evidence file")
    max_qc_bytes: int = Field(MAX_QC_BYTES, ge=1, description="a warn qc input (CSV)")
    max_qc_rows: int = Field(MAX_QC_ROWS, ge=1, description="rows of a warn qc input")
    max_forecast_bytes: int = Field(MAX_FORECAST_BYTES, ge=1, description="a forecast file (NetCDF, GRIB) on disk")
    max_grid_cells: int = Field(MAX_GRID_CELLS, ge=1, description="cells (lat × lon) of one forecast field")
    max_time_steps: int = Field(MAX_TIME_STEPS, ge=1, description="time steps of one forecast variable")
    max_field_bytes: int = Field(MAX_FIELD_BYTES, ge=1, description="bytes one forecast variable declares")


class WitnessSpec(Strict):
    """One witness of the timeline's anchors: an append-only JSON-lines file (``file:``, on another volume in
    production) or an HTTP endpoint that takes each anchor as a JSON POST (``url:``, e.g. the city platform)."""

    file: Path | None = Field(None, description="JSON-lines file the anchors are appended to")
    url: str | None = Field(None, pattern=r"^https?://", description="http(s) URL the anchors are POSTed to")
    timeout: Timeout = Field(10.0, description="seconds allowed for the whole POST")

    @model_validator(mode="after")
    def _one_place(self) -> WitnessSpec:
        if (self.file is None) == (self.url is None):
            raise ValueError("expected exactly one of file: (a JSON-lines file) and url: (an http(s) endpoint)")
        return self


class AnchorsSpec(Strict):
    """锚定 / where the timeline's head is anchored: the deployment's Ed25519 private key (PEM, mode 0600,
    made by ``warn anchor keygen``) signs each cycle's head, sent to every witness."""

    key: Path = Field(description="the Ed25519 private key, PEM (warn anchor keygen --out PATH)")
    witness: list[WitnessSpec] = Field(min_length=1, description="where the signed anchors go")


class ReachRule(Strict):
    """The channels that reach the persons of some posts, in order: the first is tried first, the next one when
    it failed or went unanswered (:class:`ReachSpec`)."""

    roles: list[str] = Field(default_factory=list, description="the roles it is for (none: every role)")
    channels: list[str] = Field(min_length=1, description="names of `channels:` entries of the person kinds "
                                "(work_notice, wecom_app, sms, voice), first tried first")


class ReachSpec(Strict):
    """How notices, 叫应 calls, approval requests and tasks reach the persons they are addressed to."""

    rules: list[ReachRule] = Field(min_length=1, description="the first rule naming a person's role decides "
                                   "their channels; a rule without roles is for everyone else")
    voice: str | None = Field(None, description="the voice channel (`channels:` entry of kind voice) that "
                              "also rings for a 叫应 call at voice_from or above")
    voice_from: ColourName = Field("orange", description="the lowest level a 叫应 call also rings at")
    fallback_after: PositiveDuration = Field(timedelta(minutes=5), description="a call still unanswered this long "
                                             "after a channel delivered moves to the next channel (always before "
                                             "the escalation deadline)")


class BasemapSpec(Strict):
    """A background map of the city's intranet under the situation map's own vector layers."""

    kind: Literal["xyz", "wmts"] = Field(description="an XYZ tile template or an OGC WMTS service")
    url: str = Field(pattern=r"^https?://", description="the tile URL template ({z}/{x}/{y}) or the WMTS endpoint")
    layer: str = Field("", description="the WMTS layer (wmts only)")
    matrix_set: str = Field("", description="the WMTS tile matrix set (wmts only)")
    attribution: str = Field("", description="who the map is from, shown on the map")

    @model_validator(mode="after")
    def _complete_for_kind(self) -> BasemapSpec:
        if self.kind == "wmts" and not (self.layer and self.matrix_set):
            raise ValueError("a WMTS basemap to give layer and matrix_set")
        if self.kind == "xyz" and not all(part in self.url for part in ("{z}", "{x}", "{y}")):
            raise ValueError("an XYZ basemap's url to hold {z}, {x} and {y}")
        return self


class ServeSpec(Strict):
    """`warn serve`: the HTTP service people answer through (callbacks of the gateways, one-tap links)."""

    enabled: bool = Field(False, description="`warn run` serves it too, beside its jobs")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8790, ge=1, le=65535, description="port to listen on")
    public_url: str = Field("http://127.0.0.1:8790", pattern=r"^https?://",
                            description="the service's address as people's phones and the gateways reach it "
                                        "(links in messages, callback URLs)")
    link_secret: str = Field("WARN_LINK_SECRET", pattern=r"^[A-Z_][A-Z0-9_]*$",
                             description="NAME of the environment variable holding the links' HMAC secret")
    link_ttl: PositiveDuration = Field(timedelta(hours=24), description="how long a one-tap link works")
    max_photo_bytes: int = Field(5 * MiB, ge=1, le=50 * MiB, description="largest photo a person may send")
    session_ttl: PositiveDuration = Field(timedelta(hours=12), description="how long a login to the centre's "
                                          "pages lasts (a duty shift)")
    max_failures: int = Field(5, ge=1, le=100, description="failed logins in a row that lock an account")
    lockout: PositiveDuration = Field(timedelta(minutes=15), description="how long a locked account stays locked")
    login_rate: int = Field(10, ge=1, le=1000, description="login attempts one address may make per minute")
    basemap: BasemapSpec | None = Field(None, description="a background map service of the city's intranet "
                                        "(天地图, the L2 real-scene map) under the deployment's own layers")


class ComputeSpec(Strict):
    """Where the gridded steps run (``compute:``): the kernels over chunks of cells (soil water, bucket,
    rolling rain, the analysis's gauge field, the nowcast's extrapolation), the zonal statistics by parts
    of the zones, a forecast file by parts of its members or steps, and the members of an ensemble run
    (:mod:`warn.compute`).

    ``scheduler``: ``local`` starts a dask.distributed ``LocalCluster`` of ``workers`` processes the first
    time a grid of at least ``min_cells`` cells is scored, and keeps it for the life of the service;
    ``tcp://host:port`` uses the scheduler running there (its workers must see the same config.yaml,
    geodata and store); ``none`` or ``off`` keeps everything in the one process. Smaller grids (the
    demo's) always stay in the process: a cluster costs seconds to start and milliseconds per task.
    """

    scheduler: str = Field("local", pattern=r"^(local|none|off|tcp://[^\s:/]+:\d{1,5})$",
                           description="local, none, off or tcp://host:port of a running dask scheduler")
    workers: int = Field(2, ge=1, le=256, description="worker processes of the local cluster")
    threads_per_worker: int = Field(1, ge=1, le=64, description="threads of each local worker")
    chunk_cells: int = Field(50_000, ge=1, description="cells per task of a kernel (cache-sized blocks)")
    min_cells: int = Field(1_000_000, ge=0, description="smallest work (cells × members) worth a cluster; "
                           "smaller work runs in the process (below it, shipping the arrays costs more than "
                           "a second core gives: bench/municipal.py)")
    timeout: PositiveDuration = Field(timedelta(seconds=10), description="how long to wait for a scheduler "
                                      "(and a local cluster's workers) to answer")

    @property
    def distributed(self) -> bool:
        """Whether the gridded steps may leave the process (``scheduler`` is not ``none`` / ``off``)."""
        return self.scheduler not in ("none", "off")


class Settings(Strict):
    """One deployment (config.yaml)."""

    deployment: Deployment
    store: StoreSpec
    layers: dict[str, LayerSpec] = Field(min_length=1)
    areas: AreasSpec
    forecasts: dict[str, ForecastSpec] = Field(min_length=1)
    models: dict[str, Path] = Field(min_length=1, description="shared model files: rain, sensors")
    hazards: dict[str, HazardEntry] = Field(min_length=1)
    cache_dir: Path
    sensors: SensorsSpec | None = None
    observed: ObservedSpec | None = None
    official: dict[str, OfficialSpec] = Field(default_factory=dict)
    sim: SimSpec | None = None
    command: CommandSpec | None = None
    channels: dict[str, ChannelSpec] = Field(default_factory=dict)
    reach: ReachSpec | None = None
    serve: ServeSpec = Field(default_factory=ServeSpec)
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    text_limits: TextLimits = Field(default_factory=TextLimits)
    files: FilesSpec = FilesSpec()
    anchors: AnchorsSpec | None = None
    municipal: MunicipalSpec | None = None
    compute: ComputeSpec = Field(default_factory=ComputeSpec)

    @property
    def tz(self) -> ZoneInfo:
        """The deployment's display time zone."""
        return ZoneInfo(self.deployment.timezone)

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the deployment's time zone."""
        return moment.astimezone(self.tz)


def load_settings(path: Path = DEFAULT_CONFIG) -> Settings:
    """Read and validate ``config.yaml``; relative paths become relative to its folder.

    Raises
    ------
    ConfigError
        Every problem, each naming the file, the key path and what was expected.
    """
    settings = parse_file(Settings, path)
    return _resolve_paths(settings, path.resolve().parent)


def store_url(value: str | None, settings: Settings) -> str:
    """The store a command opens: ``--store`` / ``WARN_STORE`` when given, else config.yaml's.

    Parameters
    ----------
    value
        ``None`` (use ``settings.store.url``), an SQLAlchemy URL (``sqlite…://`` or
        ``postgresql…://``, returned as it is), or a bare path of an SQLite file, relative to
        the current working directory (returned as ``sqlite:///<absolute path>``).
    settings
        The deployment.

    Returns
    -------
    str
        An SQLAlchemy URL.

    Raises
    ------
    ConfigError
        ``value`` is a URL of another scheme (``mysql://…``).
    """
    if value is None:
        return settings.store.url
    if re.match(STORE_URL_PATTERN, value):
        return value
    if "://" in value:
        raise ConfigError(Problem("--store / WARN_STORE", "", "an SQLAlchemy URL sqlite:///… or "
                                  "postgresql+psycopg://…, or the path of an SQLite file",
                                  value.split("://")[0] + "://…",
                                  "a bare path such as demo/warn.db means an SQLite file"))
    return f"sqlite:///{Path(value).absolute()}"


def _resolve_paths(settings: Settings, root: Path) -> Settings:
    def under(p: Path) -> Path:
        return p if p.is_absolute() else root / p

    url = settings.store.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        url = f"sqlite:///{under(Path(url.removeprefix('sqlite:///')))}"
    return settings.model_copy(
        update={
            "store": settings.store.model_copy(update={"url": url, "retention": settings.store.retention and (
                settings.store.retention.model_copy(update={"archive": under(settings.store.retention.archive)}))}),
            "layers": {k: v.model_copy(update={"path": under(v.path)}) for k, v in settings.layers.items()},
            "models": {k: under(v) for k, v in settings.models.items()},
            "cache_dir": under(settings.cache_dir),
            "sensors": settings.sensors and settings.sensors.model_copy(
                update={"catalogue": under(settings.sensors.catalogue)}),
            "sim": settings.sim and settings.sim.model_copy(update={
                "feed_dir": under(settings.sim.feed_dir),
                "truth": settings.sim.truth and under(settings.sim.truth)}),
            "command": settings.command and settings.command.model_copy(update={
                "playbooks": under(settings.command.playbooks), "roster": under(settings.command.roster),
                "directory": settings.command.directory and under(settings.command.directory)}),
            "hazards": {k: _resolve_entry(v, under) for k, v in settings.hazards.items()},
            "channels": {k: v.model_copy(update={"target": str(under(Path(v.target)))}) if v.kind == "filedrop" else v
                         for k, v in settings.channels.items()},
            "anchors": settings.anchors and settings.anchors.model_copy(update={
                "key": under(settings.anchors.key),
                "witness": [w.model_copy(update={"file": w.file and under(w.file)}) for w in settings.anchors.witness]}),
        }
    )


def _resolve_entry(entry: HazardEntry, under: Callable[[Path], Path]) -> HazardEntry:
    """A hazard's section with its model file and every other key holding a relative file path
    (a string ending in a file suffix, e.g. ``climatology: data/thresholds.nc``) made absolute."""
    extra = {k: str(under(Path(v))) for k, v in (entry.model_extra or {}).items()
             if isinstance(v, str) and Path(v).suffix and "://" not in v}
    return entry.model_copy(update={"model": entry.model and under(entry.model), **extra})


def fill(template: str, urls: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` of ``urls`` replaced by its value (``{feed}``, ``{sensorthings}``, ``{out}``)."""
    for name, url in urls.items():
        template = template.replace("{" + name + "}", url.rstrip("/"))
    return template


def drill_settings(settings: Settings, folder: Path, urls: dict[str, str]) -> Settings:
    """``settings`` for a drill in ``folder``: the sim's channels (placeholders filled), its store and cache there."""
    if settings.sim is None or not settings.sim.channels:
        raise ConfigError(Problem("config.yaml", "sim.channels", "the channels a drill sends to", "none"))
    places = {**urls, "out": str(folder)}
    channels = {name: spec.model_copy(update={"target": fill(spec.target, places)})
                for name, spec in settings.sim.channels.items()}
    store = settings.store.model_copy(update={"url": f"sqlite:///{folder / 'warn.db'}"})
    return settings.model_copy(update={"channels": channels, "store": store, "cache_dir": folder / "cache"})
