"""The demo storm's figures of issue 16 ("Warnings people can trust"), read from a finished ``warn demo``.

Given the folder ``warn demo --out DIR`` wrote (``DIR/warn.db`` the store, ``DIR/cap/*.xml`` the CAP
drop, ``DIR/outbox.jsonl`` what the demo's webhook receiver got, ``DIR/feed`` what the demo world
published), this prints one table of figures (zh-CN / English labels) and each check as PASS/FAIL
with at most three offending examples; ``--json`` prints the same as one object, and
``--baseline FILE`` (an earlier run's ``--json``) puts its figures beside these.

Everything is read through the store's functions (``store.warnings``, ``store.levels``,
``store.rain``, ``store.command``, ``store.timeline``, ``store.outbox``), CAP is read with
:func:`warn.cap.codec.parse`, and the figures and checks are pure functions over those records, so
that they hold whatever publishing makes of threads and messages.

Definitions
-----------
public channels
    The channels that reach the public: those marked ``public: true`` or ``audience: public`` (once
    publishing declares audiences) among the drill's channels (``sim.channels``), and the drill's
    stand-ins for the deployment's public ones, :data:`DRILL_PUBLIC` — ``city_platform`` (the city release platform's exercise endpoint, for
    ``channels.city_cap``) and ``cap_drop`` (the CAP file drop). Exercise messages are refused on a
    channel marked public, so the drill marks none; ``--public NAME`` replaces the set.
public CAP message
    A distinct CAP ``identifier`` that reached a public channel: a CAP XML body the demo receiver
    recorded on a public webhook channel's path, or a file in a public file-drop channel's folder.
    Counted whatever the message's ``scope``; the count by scope is shown beside it (a message of
    scope Restricted on a public channel is counted and shows up there).
SMS sent, SMS segments
    The outbox rows of the ``sms`` channels marked sent (warnings and data notices alike: every
    text that went out), and the segments :func:`warn.broadcast.channels.split_sms` cuts their
    texts into (the SMS channel sends each segment as one SMS). The parts the receiver recorded on the
    SMS paths are shown beside them.
threads per hazard
    Warning threads recorded (``store.warnings.threads``: one per item warned) by hazard name, and
    message threads — the threads the recorded CAP messages belong to, what people read — by hazard
    (:func:`owners`: today each warning thread is its own message thread; once publishing groups
    items, a message thread per town or district, hazard and audience).
most updates of one thread in an hour
    The most CAP messages (Alert, Update, all-clear alike) recorded for one thread with ``sent``
    within one 60-minute window [t, t + 60 min), t any message's time.
hours in red after the rain stopped
    The rain stopped at the end of the last hour whose district-mean forecast rain is at least
    :data:`WET_MM_H` (0.5 mm/h): the area-weighted mean over the towns (``areas.towns``) of the
    hourly zone rain the cycles recorded (``store.rain.hourly``; each hour from the newest run
    issued before it). An item's level at a cycle (lead ``now``) holds until its next cycle; its
    hours at red after the rain stopped are summed; the figure is the maximum over all items of
    all hazards, with the item named. A zone without rain in an hour makes the figure an error,
    never a dry hour.
incidents
    Incidents recorded (``store.command.incidents``), by hazard.

Checks
------
every SMS is one segment
    No sent SMS text is more than one segment.
no Latin words in zh-CN
    In every recorded CAP message, the zh-CN info's event, sender name, headline, description,
    instruction and area descriptions hold no Latin word other than a code (a token with a digit,
    such as ``DEMO-T11`` or ``500112``, but not a level number such as ``L3``) or a unit of
    :data:`UNITS`.
geocode only where the area is that unit (no point or village alert carries one)
    A recorded message carries a ``geocode`` only when its thread is about an administrative unit
    (the district's code or a town of ``areas.towns``) and the geocode is that unit's own: by CAP
    1.2 an area is the union of its polygons and geocodes, so the district's geocode beside a point's
    circle, or a town's outline, warns the whole district.
no blue geohazard message in public
    No public CAP message of a geohazard thread (:data:`GEOHAZARDS`) is at level blue.
no message in the met office's name
    No recorded message has a met-office sender, and every public message of the met office's
    hazard (the demo's rainstorm signal) is a relay: its ``references`` or its text name a message
    the met office published (read from the demo world's feed folder).
every public message recorded
    Every public CAP message is one the store recorded (the checks above read the store's rows).
no stand-down over orange or red
    At every decided change to peacetime (a ``mode`` timeline entry), no thread's latest message
    by then is orange or above — unless the entry is the commander's override (rule
    :data:`OVERRIDE_RULE`, role commander, with a reason).

Run: ``python bench/demo_figures.py var/demo [--config config.yaml] [--json] [--baseline FILE]``
(after ``make demo``; about 10 s).

Measured on main at 5cc6f97 (2026-12-02, ``warn demo`` on the demo storm, 185 cycles, 183 s; kept as
``bench/demo_figures_main.json`` for ``--baseline``): 112 public CAP messages (all scope Public; 112
recorded), 117 SMS sent (112 warnings, 5 data notices) in 777 segments (777 parts received),
warning threads (and message threads alike) flashflood 5, landslide 23, rainstorm 1, waterlogging 7;
at most 4 messages of one thread in an hour (waterlogging DEMO-W25); the rain stopped at 07-15 10:00Z and town DEMO-T11 was red 32 h after it (its
red level held from 07-15 10:00Z to the 3-hourly cycle of 07-16 18:00Z); 4 incidents (one per hazard).
Every check of the issue failed: 117 SMS of 4–8 segments; 112 zh-CN infos with English (the bilingual centre name,
rule ids); geocode 500112 on 66 point and catchment messages and on 44 town messages; 30 public blue
landslide messages; 2 rainstorm messages issued, not relayed; the stand-down of 07-16 12:00Z with
DEMO-T11 red. Every public message was recorded.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warn.broadcast.channels import split_sms
from warn.cap.codec import CapAlert, Info, parse
from warn.command.model import Role, TimelineKind
from warn.errors import Problem, WarnError
from warn.store.incidents import IncidentRow, MessageRow, ThreadRow
from warn.store.records import ItemLevel, TimelineEntry, ZoneRain
from warn.vocab import Level

if TYPE_CHECKING:
    from warn.config import ChannelSpec, Settings
    from warn.store import Store

#: District-mean rain (mm/h) at or above which an hour is wet.
WET_MM_H = 0.5
#: The drill's channels standing in for the deployment's public ones (module notes).
DRILL_PUBLIC = ("city_platform", "cap_drop")
#: Hazards whose warnings are geohazard warnings (地质灾害), public from yellow up.
GEOHAZARDS = frozenset({"landslide"})
#: Units a zh-CN text may write in Latin letters.
UNITS = frozenset({"mm", "cm", "m", "km", "h", "min", "s", "mm/h", "m/s", "km²", "m³/s", "hPa"})
#: The mode rule of a stand-down the commander ordered over active warnings, with a reason.
OVERRIDE_RULE = "MODE-OVERRIDE"
#: Offending examples shown per check.
EXAMPLES = 3
#: The window of a thread's updates, and the unit of time in red.
HOUR = timedelta(hours=1)

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./²³:-]*")
_LETTERS = re.compile(r"[A-Za-z]+")
#: A level number (L0 … L4): a code in form, internal jargon in a warning.
_LEVEL_NUMBER = re.compile(r"L[0-4]")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Delivery:
    """One CAP message a channel delivered: the channel, whether it is public, the XML."""

    channel: str
    public: bool
    payload: bytes


@dataclass(frozen=True)
class Issued:
    """One recorded CAP message with its thread's hazard and item (a ``warning_messages`` row, parsed)."""

    identifier: str
    thread: str
    hazard: str
    item_id: str
    level: int
    sent: datetime
    alert: CapAlert


@dataclass(frozen=True)
class Check:
    """A rule and every place it is broken (``offenders``, readable); passed when there are none."""

    key: str
    zh: str
    en: str
    offenders: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether nothing breaks the rule."""
        return not self.offenders


@dataclass(frozen=True)
class Figures:
    """The figures of one drill (module notes); hours in h, counts as counts."""

    public_cap_messages: int
    public_cap_by_scope: dict[str, int]
    cap_messages_recorded: int
    sms_sent: int
    sms_segments: int
    sms_parts_received: int
    threads_per_hazard: dict[str, int]
    message_threads_per_hazard: dict[str, int]
    most_updates_in_an_hour: int
    busiest_thread: str
    rain_stopped_at: str
    hours_red_after_rain: float
    reddest_item: str
    incidents: int
    incidents_per_hazard: dict[str, int]


# ---------------------------------------------------------------- figures (pure)


def public_messages(deliveries: Iterable[Delivery]) -> dict[str, CapAlert]:
    """The distinct CAP messages that reached a public channel, by identifier."""
    found: dict[str, CapAlert] = {}
    for delivery in deliveries:
        if delivery.public:
            alert = parse(delivery.payload)
            found.setdefault(alert.identifier, alert)
    return found


def by_scope(alerts: Mapping[str, CapAlert]) -> dict[str, int]:
    """How many of ``alerts`` have each CAP ``scope``."""
    return dict(Counter(str(a.scope) for a in alerts.values()))


def segments(texts: Iterable[str]) -> list[int]:
    """The SMS segments each text is cut into (:func:`split_sms`)."""
    return [len(split_sms(text)) for text in texts]


def busiest_hour(messages: Iterable[MessageRow]) -> tuple[int, str]:
    """The most messages of one thread within one 60-minute window [t, t + 1 h), and that thread.

    Returns
    -------
    tuple
        (count, thread id); (0, "") without messages.
    """
    times: dict[str, list[datetime]] = defaultdict(list)
    for m in messages:
        times[m.thread_id].append(m.sent_at)
    best, where = 0, ""
    for thread, sent in sorted(times.items()):
        sent.sort()
        first = 0
        for last, moment in enumerate(sent):
            while sent[first] <= moment - HOUR:
                first += 1
            if last - first + 1 > best:
                best, where = last - first + 1, thread
    return best, where


def district_rain(rows: Iterable[ZoneRain], areas: Mapping[str, float]) -> list[tuple[datetime, float]]:
    """The area-weighted mean rain (mm) over the zones of ``areas`` (km²) of each hour, by hour end.

    Raises
    ------
    WarnError
        An hour lacks the rain of a zone (unknown is never dry).
    """
    hours: dict[datetime, dict[str, float | None]] = defaultdict(dict)
    for r in rows:
        if r.zone_id in areas:
            hours[r.hour_end][r.zone_id] = r.mean_mm
    total = sum(areas.values())
    out = []
    for end, zones in sorted(hours.items()):
        missing = sorted(z for z in areas if zones.get(z) is None)
        if missing:
            raise WarnError(Problem("store.rain", f"hour ending {end.isoformat()}",
                                    "the rain of every town", f"none for {', '.join(missing[:EXAMPLES])}"))
        out.append((end, sum(float(zones[z] or 0.0) * a for z, a in areas.items()) / total))
    return out


def rain_end(hourly: Sequence[tuple[datetime, float]], wet_mm: float = WET_MM_H) -> datetime:
    """The end of the last hour with at least ``wet_mm`` of district-mean rain.

    Raises
    ------
    WarnError
        No hour is that wet (nothing to measure after), or there is no rain at all.
    """
    wet = [end for end, mm in hourly if mm >= wet_mm]
    if not wet:
        raise WarnError(Problem("store.rain", "district mean", f"an hour with at least {wet_mm} mm",
                                f"{len(hourly)} hours, none that wet"))
    return wet[-1]


def red_after(levels: Iterable[tuple[datetime, ItemLevel]], after: datetime) -> tuple[float, str]:
    """The most hours one item spent at red from ``after`` on, and the item (``hazard kind id``).

    Each ``now`` level holds from its cycle to the item's next; the last holds to the last cycle
    of all. Returns (0.0, "") when no item is red after ``after``.
    """
    spells: dict[tuple[str, str, str], list[tuple[datetime, int]]] = defaultdict(list)
    end = after
    for at, level in levels:
        spells[(level.hazard, level.item_kind, level.item_id)].append((at, level.level))
        end = max(end, at)
    best, where = 0.0, ""
    for item, history in sorted(spells.items()):
        history.sort()
        stops = [at for at, _ in history[1:]] + [end]
        hours = sum((max(timedelta(0), stop - max(start, after)) for (start, level), stop in zip(history, stops)
                     if level == Level.RED), timedelta(0)) / HOUR
        if hours > best:
            best, where = hours, " ".join(item)
    return best, where


def per_hazard(rows: Iterable[ThreadRow | IncidentRow]) -> dict[str, int]:
    """How many rows each hazard has."""
    return dict(sorted(Counter(r.hazard for r in rows).items()))


def message_threads(issued: Iterable[Issued]) -> dict[str, int]:
    """How many threads the messages belong to, by hazard."""
    return dict(sorted(Counter(hazard for _, hazard in {(m.thread, m.hazard) for m in issued}).items()))


# ---------------------------------------------------------------- checks (pure)


def latin_words(text: str) -> list[str]:
    """The Latin words of a zh-CN text other than codes (tokens with a digit, level numbers ``L0``–``L4``
    excepted) and :data:`UNITS`."""
    found = []
    for token in _CODE.findall(text):
        if _LEVEL_NUMBER.fullmatch(token):
            found.append(token)
        elif not any(c.isdigit() for c in token) and token not in UNITS:
            found += [w for w in _LETTERS.findall(token) if w not in UNITS]
    return found


def _zh(alert: CapAlert) -> Info | None:
    return next((info for info in alert.infos if info.language == "zh-CN"), None)


def _texts(info: Info) -> list[str]:
    return [info.event, info.sender_name, info.headline, info.description, info.instruction,
            *(area.desc for area in info.areas)]


def check_sms(texts: Mapping[str, str]) -> Check:
    """Every SMS (by outbox key) is one segment."""
    return Check("sms_one_segment", "每条短信仅一条（不分条）", "every SMS is one segment",
                 [f"{key}: {n} segments" for key, n in zip(texts, segments(texts.values())) if n > 1])


def check_latin(issued: Iterable[Issued]) -> Check:
    """No zh-CN info holds Latin words other than codes and units."""
    offenders = []
    for message in issued:
        info = _zh(message.alert)
        words = sorted({w for text in _texts(info) for w in latin_words(text)}) if info else ["(no zh-CN info)"]
        if words:
            offenders.append(f"{message.identifier}: {' '.join(words[:8])}")
    return Check("zh_no_latin", "中文信息无英文词", "no Latin words in zh-CN", offenders)


def check_geocodes(issued: Iterable[Issued], admin_units: Collection[str]) -> Check:
    """A geocode only in a message about an administrative unit (``admin_units``), and only that unit's."""
    offenders = []
    for message in issued:
        codes = {value for info in message.alert.infos for area in info.areas for _, value in area.geocodes}
        unit = message.item_id in admin_units
        wrong = sorted(codes - {message.item_id}) if unit else sorted(codes)
        if wrong:
            what = "a unit, geocode of another" if unit else "a point or village"
            offenders.append(f"{message.identifier}: item {message.item_id} ({what}), geocode {wrong[0]}")
    return Check("geocode_only_for_its_unit", "行政区划代码仅用于该行政区（点位、村预警不带）",
                 "geocode only where the area is that unit (none on a point or village alert)", offenders)


def check_blue_geohazard(issued: Iterable[Issued], public: Collection[str]) -> Check:
    """No blue geohazard message reached a public channel."""
    return Check("no_public_blue_geohazard", "蓝色地灾预警不向公众发布", "no blue geohazard message in public",
                 [f"{m.identifier} ({m.hazard} {m.item_id})" for m in issued
                  if m.identifier in public and m.hazard in GEOHAZARDS and m.level == Level.BLUE])


def check_met_name(issued: Iterable[Issued], public: Collection[str], met: Sequence[CapAlert],
                   met_hazard: str) -> Check:
    """No message is issued in the met office's name: none with its sender, every public one of its hazard a relay."""
    senders = {a.sender for a in met}
    originals = {a.identifier for a in met}
    offenders = []
    for m in issued:
        if m.alert.sender in senders:
            offenders.append(f"{m.identifier}: sender {m.alert.sender}")
        elif m.hazard == met_hazard and m.identifier in public and not _relays(m.alert, originals):
            offenders.append(f"{m.identifier}: {met_hazard} issued, not relayed (names no met-office message)")
    return Check("no_met_name", "不以气象台名义发布", "no message in the met office's name", offenders)


def _relays(alert: CapAlert, originals: Collection[str]) -> bool:
    """Whether ``alert`` names one of ``originals`` in its references or its text."""
    if any(ref.identifier in originals for ref in alert.references):
        return True
    text = " ".join(t for info in alert.infos for t in _texts(info))
    return any(original in text for original in originals)


def check_recorded(public: Collection[str], issued: Iterable[Issued]) -> Check:
    """Every public CAP message is one the store recorded."""
    recorded = {m.identifier for m in issued}
    return Check("public_recorded", "公众消息均已记录", "every public message recorded",
                 sorted(f"{identifier}: not in the store" for identifier in public if identifier not in recorded))


def stand_downs(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """The decided changes to peacetime among mode timeline entries."""
    return [e for e in entries if e.kind == TimelineKind.MODE and e.details.get("to_mode") == "peacetime"
            and e.details.get("decided_by")]


def check_stand_down(entries: Iterable[TimelineEntry], issued: Sequence[Issued]) -> Check:
    """The centre never stands down with orange or red active, unless the commander overrode it with a reason."""
    offenders = []
    for entry in stand_downs(entries):
        if _overridden(entry):
            continue
        active = _active_at(issued, entry.occurred_at, Level.ORANGE)
        if active:
            colours = Counter(Level(level).colour for level in active.values())
            offenders.append(f"{entry.occurred_at.isoformat()} by {entry.actor}: "
                             + ", ".join(f"{n} {c}" for c, n in sorted(colours.items()))
                             + f" active ({', '.join(sorted(active)[:EXAMPLES])} …)")
    return Check("no_stand_down_over_orange", "橙色及以上预警未解除不转平时", "no stand-down over orange or red",
                 offenders)


def _overridden(entry: TimelineEntry) -> bool:
    return (entry.details.get("rule_id") == OVERRIDE_RULE and entry.role == Role.COMMANDER
            and bool(str(entry.details.get("reason") or "").strip()))


def _active_at(issued: Iterable[Issued], at: datetime, floor: Level) -> dict[str, int]:
    """Threads whose latest message by ``at`` is at ``floor`` or above, with that level."""
    latest: dict[str, Issued] = {}
    for m in issued:
        if m.sent <= at and (m.thread not in latest or m.sent >= latest[m.thread].sent):
            latest[m.thread] = m
    return {thread: m.level for thread, m in latest.items() if m.level >= floor}


# ---------------------------------------------------------------- reading the drill


@dataclass(frozen=True)
class Drill:
    """What a finished drill left, as records: everything the figures and checks read."""

    deliveries: list[Delivery]
    sms: dict[str, str]
    sms_parts_received: int
    threads: list[ThreadRow]
    issued: list[Issued]
    messages: list[MessageRow]
    levels: list[tuple[datetime, ItemLevel]]
    rain: list[tuple[datetime, float]]
    incidents: list[IncidentRow]
    mode_entries: list[TimelineEntry]
    met: list[CapAlert]
    admin_units: frozenset[str]


def measure(drill: Drill, met_hazard: str) -> tuple[Figures, list[Check]]:
    """The figures and checks of ``drill`` (module notes); ``met_hazard``: the met office's hazard."""
    public = public_messages(drill.deliveries)
    updates, thread = busiest_hour(drill.messages)
    stopped = rain_end(drill.rain)
    hours, item = red_after(drill.levels, stopped)
    figures = Figures(
        public_cap_messages=len(public), public_cap_by_scope=by_scope(public),
        cap_messages_recorded=len(drill.issued), sms_sent=len(drill.sms),
        sms_segments=sum(segments(drill.sms.values())), sms_parts_received=drill.sms_parts_received,
        threads_per_hazard=per_hazard(drill.threads),
        message_threads_per_hazard=message_threads(drill.issued),
        most_updates_in_an_hour=updates, busiest_thread=thread,
        rain_stopped_at=stopped.isoformat(), hours_red_after_rain=round(hours, 2), reddest_item=item,
        incidents=len(drill.incidents), incidents_per_hazard=per_hazard(drill.incidents))
    checks = [check_sms(drill.sms), check_latin(drill.issued), check_geocodes(drill.issued, drill.admin_units),
              check_blue_geohazard(drill.issued, public), check_met_name(drill.issued, public, drill.met, met_hazard),
              check_recorded(public, drill.issued), check_stand_down(drill.mode_entries, drill.issued)]
    return figures, checks


def read_drill(folder: Path, config: Path, public_names: Collection[str] = ()) -> Drill:
    """Read the drill in ``folder`` (``warn demo --out``) under the deployment ``config``.

    Raises
    ------
    WarnError
        The folder lacks the store, the receiver's log or the met office's feed, or a record is bad.
    """
    from warn.config import drill_settings, load_settings
    from warn.store import Store

    settings = load_settings(config)
    for name in ("warn.db", "outbox.jsonl", "feed"):
        if not (folder / name).exists():
            raise WarnError(Problem(str(folder), name, "the output of a finished `warn demo --out` there", "missing"))
    channels = drill_settings(settings, folder, {"receiver": "", "feed": "", "sensorthings": ""}).channels
    public = set(public_names) or ({n for n, s in channels.items() if s.public or _audience(s) == "public"}
                                   | set(DRILL_PUBLIC) & set(channels))
    received = _received(folder / "outbox.jsonl")
    paths = {spec.target: name for name, spec in channels.items() if spec.kind != "filedrop"}
    deliveries = [Delivery(paths.get(r["path"], r["path"]), paths.get(r["path"]) in public, r["body"].encode("utf-8"))
                  for r in received if r["content_type"].startswith("application/cap+xml")]
    deliveries += [Delivery(name, name in public, path.read_bytes()) for name, spec in channels.items()
                   if spec.kind == "filedrop" for path in sorted(Path(spec.target).glob("*.xml"))]
    sms_names = {name for name, spec in channels.items() if spec.kind == "sms"}
    store = Store.connect(f"sqlite:///{folder / 'warn.db'}")
    try:
        store.require_head()
        threads, messages, owned = store.warnings.threads(), store.warnings.messages(), owners(store)
        levels = store.levels.history()
        rain = _district_rain(settings, store, levels)
        return Drill(
            deliveries=deliveries,
            sms={r.message.idempotency_key: r.message.payload.decode("utf-8") for r in store.outbox.rows()
                 if r.message.channel in sms_names and r.status == "sent"},
            sms_parts_received=sum(paths.get(r["path"]) in sms_names for r in received),
            threads=threads, issued=issued_messages(owned, messages), messages=messages, levels=levels, rain=rain,
            incidents=store.command.incidents(),
            mode_entries=store.timeline.entries(kinds=[TimelineKind.MODE]),
            met=_met_messages(settings, folder / "feed"), admin_units=_admin_units(settings))
    finally:
        store.close()


def _audience(spec: ChannelSpec) -> str:
    """The audience whose messages the channel carries (``public`` / ``restricted``)."""
    return str(spec.reads)


def _received(log: Path) -> list[dict[str, Any]]:
    """The demo receiver's records (one JSON object a line, :mod:`warn.sim.receiver`)."""
    records = []
    for n, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise WarnError(Problem(str(log), f"line {n}", "one JSON object (warn.sim.receiver)", str(error))) from None
        if record.get("encoding") != "utf-8":
            record["body"] = ""
        records.append(record)
    return records


def owners(store: Store) -> dict[str, tuple[str, str]]:
    """(hazard, item or area id) of every thread a message may belong to, by thread id.

    The warning threads (``store.warnings.threads``: messages recorded before migration 0014 name them)
    and the message threads (``store.warnings.bulletins``, one per town or district, hazard and audience).
    """
    found = {t.thread_id: (t.hazard, t.item_id) for t in store.warnings.threads()}
    return found | {b.bulletin_id: (b.hazard, b.area_id) for b in store.warnings.bulletins()}


def issued_messages(owned: Mapping[str, tuple[str, str]], messages: Iterable[MessageRow]) -> list[Issued]:
    """Each recorded message with its thread's hazard and item (``owned``), its CAP parsed.

    Raises
    ------
    WarnError
        A message's thread is unknown.
    """
    out = []
    for m in messages:
        if m.thread_id not in owned:
            raise WarnError(Problem("store.warnings", m.identifier, "a message of a recorded thread",
                                    f"thread {m.thread_id!r} unknown"))
        hazard, item = owned[m.thread_id]
        out.append(Issued(m.identifier, m.thread_id, hazard, item, m.level, m.sent_at, parse(m.body.encode("utf-8"))))
    return out


def _district_rain(settings: Settings, store: Store,
                   levels: Sequence[tuple[datetime, ItemLevel]]) -> list[tuple[datetime, float]]:
    """District-mean hourly rain over the drill's cycles (from a day before the first)."""
    from warn.geo.layers import area_km2, zone_layer

    if not levels:
        raise WarnError(Problem("store.levels", "history", "the levels of the drill's cycles", "none"))
    spec, towns = zone_layer(settings, settings.areas.towns)
    areas = dict(zip(towns[spec.id_field].astype(str), area_km2(towns).astype(float), strict=True))
    rows = store.rain.hourly(settings.areas.towns, levels[0][0] - timedelta(days=1), levels[-1][0])
    return district_rain(rows, areas)


def _admin_units(settings: Settings) -> frozenset[str]:
    """The district's code and the towns' ids: the items a geocode may name."""
    from warn.geo.layers import zone_layer

    spec, towns = zone_layer(settings, settings.areas.towns)
    return frozenset({settings.deployment.district_code, *towns[spec.id_field].astype(str)})


def _met_messages(settings: Settings, feed: Path) -> list[CapAlert]:
    """The met office's messages the demo world published (its official sources' indexes in ``feed``)."""
    from warn.sim.demo import OFFICIAL_SENDERS, RAINSTORM

    found = []
    for spec in settings.official.values():
        if spec.hazard != RAINSTORM:
            continue
        index = feed / spec.url.rsplit("/", 1)[-1]
        if not index.is_file():
            raise WarnError(Problem(str(feed), index.name, "the met office's index the demo world wrote", "missing"))
        found += [parse((feed / name).read_bytes()) for name in json.loads(index.read_text(encoding="utf-8"))]
    return [a for a in found if a.sender == OFFICIAL_SENDERS[RAINSTORM]]


# ---------------------------------------------------------------- printing

#: The table's rows: key of :class:`Figures`, zh-CN label, English label.
ROWS = (
    ("public_cap_messages", "公众渠道 CAP 消息", "public CAP messages"),
    ("public_cap_by_scope", "其中按 scope", "of which by scope"),
    ("cap_messages_recorded", "记录的 CAP 消息", "CAP messages recorded"),
    ("sms_sent", "已发短信", "SMS sent"),
    ("sms_segments", "短信条数（分条）", "SMS segments"),
    ("sms_parts_received", "短信网关收到", "SMS parts received"),
    ("threads_per_hazard", "预警线程（按灾种）", "warning threads per hazard"),
    ("message_threads_per_hazard", "消息线程（按灾种）", "message threads per hazard"),
    ("most_updates_in_an_hour", "单线程一小时内最多消息", "most updates of one thread in an hour"),
    ("busiest_thread", "该线程", "that thread"),
    ("rain_stopped_at", "雨停（区均逐时雨量末次≥0.5 mm）", "rain stopped (last district-mean hour ≥ 0.5 mm)"),
    ("hours_red_after_rain", "雨停后红色最长小时数", "hours in red after the rain stopped"),
    ("reddest_item", "该对象", "that item"),
    ("incidents", "事件数", "incidents"),
    ("incidents_per_hazard", "事件（按灾种）", "incidents per hazard"),
)


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "—"
    return "—" if value in ("", None) else str(value)


def render(figures: Figures, checks: Sequence[Check], baseline: Mapping[str, Any] | None = None) -> str:
    """The table of figures (beside ``baseline``'s when given) and each check, as text."""
    now = asdict(figures)
    head = ["指标 figure", *(["基线 baseline"] if baseline is not None else []), "本次 this run"]
    rows = [[f"{zh} {en}", *([_cell(baseline.get(key))] if baseline is not None else []), _cell(now[key])]
            for key, zh, en in ROWS]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]]
    for check in checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.zh} / {check.en}"
                     + ("" if check.passed else f" — {len(check.offenders)}"))
        lines += [f"      {o}" for o in check.offenders[:EXAMPLES]]
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK characters two)."""
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def as_json(figures: Figures, checks: Sequence[Check]) -> dict[str, Any]:
    """The figures and checks as one object: ``figures`` and ``checks`` (key, passed, count, examples)."""
    return {"figures": asdict(figures),
            "checks": [{"key": c.key, "zh": c.zh, "en": c.en, "passed": c.passed, "count": len(c.offenders),
                        "examples": c.offenders[:EXAMPLES]} for c in checks]}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures of the drill folder given; exit 1 on a problem, 0 otherwise (checks failing too)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", type=Path, help="the folder of a finished `warn demo --out` (default var/demo)",
                        nargs="?", default=Path("var/demo"))
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--public", action="append", default=[], metavar="CHANNEL",
                        help="a channel counted as public (repeat; default: see the module notes)")
    parser.add_argument("--baseline", type=Path, help="an earlier run's --json, shown beside")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from warn.sim.demo import RAINSTORM

    try:
        figures, checks = measure(read_drill(args.folder.resolve(), args.config, args.public), RAINSTORM)
        baseline = None if args.baseline is None else json.loads(args.baseline.read_text(encoding="utf-8"))["figures"]
    except WarnError as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(as_json(figures, checks), ensure_ascii=False, indent=1) if args.json
          else render(figures, checks, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
