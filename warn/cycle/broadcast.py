"""The publishing step of the cycle: the planner's ``Broadcast`` actions → CAP messages → the outbox.

:func:`publish` runs after the executor (:func:`warn.cycle.command.execute`) has recorded the
message threads (:mod:`warn.command.bulletins`: one per hazard, town or district, and audience).
For each :class:`~warn.command.model.Broadcast`, in order:

1. **Message.** A :class:`~warn.cap.codec.CapWarning` for version ``version`` of the message thread:
   ``Alert`` when the thread has no message yet in ``warning_messages``, else ``Update`` whose
   ``references`` name every message of the thread already there (sender, identifier, sent); an
   all-clear is an ``Update`` with ``responseType`` ``AllClear``. Its identifier follows GB/T
   35965.1 (:func:`identifier_of`: the district's code, the issuer's unit code, the time it is
   entered — the action's time, a second later per ten messages of that instant — and its number).
   ``expires`` = sent + ``validity`` (default :data:`VALIDITY`, 6 h). Scope ``Public`` for the public
   audience, ``Restricted`` (with :data:`RESTRICTION`) for the responsible people. A relayed hazard's
   message (the met office's rainstorm signal) references the official messages in force and names
   them in ``note``.
2. **Area.** The district's outline and its GB/T 2260 code for the district's own message; else the
   union of the listed items' outlines in the layers of the hazard's roles (a point buffered by
   ``point_buffer_m``, default :data:`POINT_BUFFER_M`, 200 m, in the local UTM zone; an item in no
   layer takes its town's outline), described as the town and its places, with no geocode — by CAP
   1.2 an area is the union of its polygons and geocodes, and a town's points are not the district.
   An all-clear keeps the area of the message it ends.
3. **Words.** From the templates of the playbooks folder (:mod:`warn.broadcast.wording`): issuer,
   time, area and places, level, 防御指南, and a one-segment SMS carried in the CAP parameter
   ``warn:sms``. Where the cycles scored the listed items from an ensemble run, the CAP ``certainty``
   follows the members' probability of the warned level (:class:`_Probabilities`: Likely above one
   half, Possible at or below).
4. **Record.** :func:`~warn.cap.codec.produce_alert` (validated; an invalid message raises
   :class:`~warn.errors.CapError`), then one ``warning_messages`` row. A message whose identifier is
   already there is not built again: its stored body is queued again (a no-op when it was queued
   before), so a crash between recording and queueing heals on the next run.
5. **Queue.** One outbox row per channel carrying the message's audience
   (:attr:`warn.config.ChannelSpec.reads`) and per recipient, idempotency key
   ``<identifier>/<channel>`` (``…/<channel>/<recipient>`` when recipients are listed): the CAP XML to
   webhook, filedrop, smtp and mqtt channels; the rich text (markdown) to dingtalk and wecom; the SMS
   to sms. An smtp channel without ``recipients`` is skipped. The CAP ``status`` is carried to the
   outbox, so the dispatcher refuses Exercise and Test messages on public channels.

Publishing the same actions again adds no message and no outbox row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from shapely.geometry import Polygon

from warn import hazards
from warn.broadcast.wording import TEMPLATES_FILE, Notice, Place, Templates, Wording, load_templates, word
from warn.cap.codec import (
    CST,
    PARAM_SMS,
    CapAlert,
    CapWarning,
    MsgType,
    Reference,
    ResponseType,
    Scope,
    cap_time,
    outline,
    parse,
    produce_alert,
)
from warn.command.model import Action, Broadcast, BroadcastKind
from warn.config import ChannelSpec, Settings
from warn.cap.national import gbt_identifier
from warn.cycle.inputs import OfficialRelay, official_in_force
from warn.errors import ConfigError, Problem, WarnError
from warn.hazards.spec import HazardSpec
from warn.store import Store
from warn.store.incidents import MessageRow, NewCapMessage
from warn.store.outbox import NewMessage
from warn.vocab import Audience, CapStatus, Level

#: How long a published message is valid (``expires`` = ``sent`` + this) unless told otherwise.
VALIDITY = timedelta(hours=6)
#: Radius, metres, of the polygon drawn around a warned point.
POINT_BUFFER_M = 200.0
#: Channel kinds that take the CAP XML as it is.
CAP_KINDS = frozenset({"webhook", "filedrop", "smtp", "mqtt"})
#: Channel kinds that take a short text rendering (markdown for robots, plain for SMS).
TEXT_KINDS = {"dingtalk": "text/markdown", "wecom": "text/markdown", "sms": "text/plain"}
CAP_CONTENT_TYPE = "application/cap+xml"
#: Recipient used for channels that list none (fills ``{recipient}`` in a target).
DEFAULT_RECIPIENT = "cap"

_RESPONSE = {Level.RED: ResponseType.EVACUATE, Level.ORANGE: ResponseType.PREPARE,
             Level.YELLOW: ResponseType.MONITOR, Level.BLUE: ResponseType.MONITOR}
#: Messages one unit may enter in one second (the ``N`` of a GB/T 35965.1 identifier is one digit).
PER_SECOND = 10
#: The hours ahead whose forecast rain a message states.
EXPECTED_HOURS = 3
#: The issuer a relayed message names when no official message is in force any more.
MET_OFFICE = "气象台"
#: Who may read a Restricted message (CAP ``restriction``).
RESTRICTION = "防汛责任人（值班人员、镇街和村社责任人、监测员）/ responsible persons only"


@dataclass
class _Layers:
    """The deployment's layers, loaded on first use."""

    settings: Settings
    loaded: dict[str, gpd.GeoDataFrame | None] = field(default_factory=dict)
    found: dict[str, dict[str, tuple[str, BaseGeometry]]] = field(default_factory=dict)
    circles: dict[tuple[str, float], Mapping[str, BaseGeometry]] = field(default_factory=dict)
    searched: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def get(self, name: str) -> gpd.GeoDataFrame | None:
        if name not in self.loaded:
            from warn.geo.layers import zone_layer

            self.loaded[name] = zone_layer(self.settings, name)[1] if name in self.settings.layers else None
        return self.loaded[name]

    def id_field(self, name: str) -> str:
        return self.settings.layers[name].id_field

    def name_field(self, name: str) -> str:
        return self.settings.layers[name].name_field

    def circle(self, name: str, item_id: str, radius_m: float) -> BaseGeometry:
        """The WGS 84 polygon ``radius_m`` around the point ``item_id`` of layer ``name`` (its first feature
        with that id; the layer's points are buffered once per version of its file and radius, and the file
        looked at once per :class:`_Layers`)."""
        if (name, radius_m) not in self.circles:
            from warn.geo.layers import zone_circles

            self.circles[name, radius_m] = zone_circles(self.settings, name, radius_m)
        return self.circles[name, radius_m][item_id]

    def search(self, hazard: str) -> list[tuple[str, str]]:
        """The layers an item of ``hazard`` is looked for in, in order, each with what its features are: the
        layers of the hazard's roles, then every layer (an area)."""
        if hazard not in self.searched:
            spec = hazards.get(hazard)
            roles = self.settings.hazards[hazard].layers if hazard in self.settings.hazards else {}
            self.searched[hazard] = [*((layer, spec.role(role).zh) for role, layer in roles.items()),
                                     *((layer, "区域") for layer in self.settings.layers)]
        return self.searched[hazard]


def publish(store: Store, settings: Settings, actions: Iterable[Action], *, status: CapStatus = CapStatus.ACTUAL,
            sender: str, validity: timedelta = VALIDITY, point_buffer_m: float = POINT_BUFFER_M) -> list[str]:
    """Turn the planner's ``Broadcast`` actions into recorded CAP messages queued to every channel.

    Parameters
    ----------
    store
        A migrated store in which the executor has already recorded the actions' warning threads.
    settings
        The deployment: layers, ``deployment.district_code``, ``channels``.
    actions
        The planner's actions; only ``Broadcast`` ones are read, in order.
    status
        ``Actual``, ``Exercise`` or ``Test`` (also carried to the outbox).
    sender
        CAP ``sender`` (no spaces, commas, ``<`` or ``&``), e.g. ``warn@yubei.example``.
    validity
        ``expires`` − ``sent``.
    point_buffer_m
        Radius of the polygon around a warned point, metres.

    Returns
    -------
    list[str]
        Identifiers of the messages recorded by this call, in order (empty when all were there).

    Raises
    ------
    CapError
        A message failed validation (nothing of its batch is recorded and nothing is queued; the
        messages are recorded in batches, one transaction each, a batch ending before a second message
        of one thread, which refers to the first).
    WarnError
        The status is not Actual/Exercise/Test, a thread is not recorded in ``warnings``, or two
        messages of different threads are numbered alike.
    """
    published, queued = [], []
    for batch in _rounds(actions):
        built = list(_messages(store, settings, batch, status, sender, validity, point_buffer_m))
        recorded = store.warnings.record_messages([
            NewCapMessage(m.action.thread, str(m.warning.msg_type), int(m.warning.level), m.warning.sent,
                          m.identifier, m.body.decode("utf-8")) for m in built if m.warning is not None])
        published += [m.identifier for m in built if m.identifier in recorded]
        queued += [row for m in built for row in _outbox(settings.channels, m, status)]
    store.outbox.enqueue_many(queued)
    return published


def _rounds(actions: Iterable[Action]) -> Iterator[list[Broadcast]]:
    """The ``Broadcast`` actions in order, in batches recorded one transaction each: a batch ends before
    an action of a message thread it already holds (that message refers to the one before it)."""
    batch: list[Broadcast] = []
    threads: set[str] = set()
    for action in actions:
        if not isinstance(action, Broadcast):
            continue
        if action.thread in threads:
            yield batch
            batch, threads = [], set()
        batch.append(action)
        threads.add(action.thread)
    if batch:
        yield batch


def preview(store: Store, settings: Settings, actions: Iterable[Action], *, status: CapStatus = CapStatus.ACTUAL,
            sender: str, validity: timedelta = VALIDITY, point_buffer_m: float = POINT_BUFFER_M) -> None:
    """Build and encode the CAP message of every ``Broadcast`` in ``actions`` as :func:`publish` would,
    recording and queueing nothing: whether publishing them can work (parameters as :func:`publish`).

    Raises
    ------
    CapError, ValueError, WarnError
        As :func:`publish` would (``ValueError``: text XML cannot hold, such as a control character).
    """
    for _ in _messages(store, settings, actions, status, sender, validity, point_buffer_m):
        pass


class _Message(NamedTuple):
    """The message of a ``Broadcast``: its identifier, warning and CAP body, and the alert read from it;
    warning and alert are ``None`` for a message already recorded (its stored body)."""

    action: Broadcast
    identifier: str
    warning: CapWarning | None
    body: bytes
    alert: CapAlert | None


def _messages(store: Store, settings: Settings, actions: Iterable[Action], status: CapStatus, sender: str,
              validity: timedelta, point_buffer_m: float) -> Iterator[_Message]:
    """The message of each ``Broadcast``, in order."""
    if status not in (CapStatus.ACTUAL, CapStatus.EXERCISE, CapStatus.TEST):
        raise WarnError(Problem("publish", "status", "Actual, Exercise or Test", str(status)))
    broadcasts = [(action, identifier_of(settings, action)) for action in actions if isinstance(action, Broadcast)]
    layers, expected = _Layers(settings), _Expected(store, settings)
    probability = _Probabilities(store, [action for action, _ in broadcasts])
    stored = store.warnings.bodies([identifier for _, identifier in broadcasts])  # one look-up for all
    earlier: dict[str, list[MessageRow]] = {}  # thread → its messages recorded before this call, one look-up
    for row in store.warnings.messages({action.thread for action, _ in broadcasts}):
        earlier.setdefault(row.thread_id, []).append(row)
    threads: dict[str, str] = {}  # identifier → thread, of this call's messages
    for action, identifier in broadcasts:
        if threads.setdefault(identifier, action.thread) != action.thread:
            raise _numbered_alike(identifier, action.thread)
        body = _stored_body(identifier, action.thread, earlier.get(action.thread, []), stored.get(identifier))
        if body is not None:
            yield _Message(action, identifier, None, body, None)
            continue
        warning = replace(_warning(store, settings, layers, expected, probability, earlier.get(action.thread, []),
                                   action, status, sender, validity, point_buffer_m),
                          identifier=identifier)
        yield _Message(action, identifier, warning, *produce_alert(warning))


def sent_of(action: Broadcast) -> datetime:
    """When the message of ``action`` is entered: its time, one second later for every
    :data:`PER_SECOND` messages issued before it at that instant."""
    return action.at + timedelta(seconds=action.index // PER_SECOND)


def identifier_of(settings: Settings, action: Broadcast) -> str:
    """The GB/T 35965.1 identifier of the message of ``action``: the district's code and the issuer's unit
    code, the time it is entered (:func:`sent_of`) and its number in that second."""
    return gbt_identifier(settings.deployment.district_code, settings.deployment.issuer.unit_code, sent_of(action),
                          action.index % PER_SECOND)


def _stored_body(identifier: str, thread: str, recorded: list[MessageRow], body: str | None) -> bytes | None:
    """The stored message ``identifier`` of ``thread``, whose recorded messages are ``recorded``; its stored
    XML is ``body`` (``None``: not recorded yet).

    Raises
    ------
    WarnError
        The identifier is another message thread's: two messages numbered alike in one second.
    """
    if body is None:
        return None
    if identifier not in {m.identifier for m in recorded}:
        raise _numbered_alike(identifier, thread)
    return body.encode("utf-8")


def _numbered_alike(identifier: str, thread: str) -> WarnError:
    return WarnError(Problem("publish", identifier, f"an identifier of message thread {thread}",
                             "one another message thread already has (two messages numbered alike in one second)"))


def _warning(store: Store, settings: Settings, layers: _Layers, expected_rain: _Expected,
             probability_of: _Probabilities, earlier: list[MessageRow], action: Broadcast, status: CapStatus,
             sender: str, validity: timedelta, buffer_m: float) -> CapWarning:
    """The message of ``action``, whose thread recorded the messages ``earlier`` before it."""
    clear = action.broadcast is BroadcastKind.ALL_CLEAR
    response = ResponseType.ALL_CLEAR if clear else _RESPONSE.get(action.level, ResponseType.MONITOR)
    hazard = hazards.get(action.hazard)
    area = _area(layers, action, buffer_m, earlier[-1].body if earlier else None)
    relayed = _relayed(store, settings, action, status) if hazard.relayed else ()
    sent = sent_of(action)
    expires = sent + validity
    expected = "" if clear else expected_rain(action)
    probability = None if clear else probability_of(action)
    words = wording(settings, hazard, action, area, relayed, expires, expected, probability)
    public = action.audience is Audience.PUBLIC
    return CapWarning(
        sender=sender, thread=action.thread, version=action.version,
        msg_type=MsgType.UPDATE if earlier else MsgType.ALERT, status=status, hazard=action.hazard,
        event=hazard.cap, level=Level.NONE if clear else action.level,
        sent=sent, onset=action.at, expires=expires,
        area_name=area.desc, polygons=outline(area.geometry), geocode=area.geocode,
        incident=action.incident or "", sender_zh=settings.deployment.issuer.zh,
        sender_en=settings.deployment.issuer.en,
        headline_zh=words.headline_zh, headline_en=words.headline_en,
        description_zh=words.description_zh, description_en=words.description_en,
        instruction_zh=words.instruction_zh, instruction_en=words.instruction_en, response_type=response,
        references=(tuple(Reference(sender, m.identifier, m.sent_at) for m in earlier)
                    + tuple(Reference(b.sender, b.identifier, b.sent) for b in relayed)),
        scope=Scope.PUBLIC if public else Scope.RESTRICTED, restriction="" if public else RESTRICTION,
        note=_relay_note(relayed), sms=words.sms, probability=probability,
    )


@dataclass(frozen=True)
class Coverage:
    """What a message covers: the town (or district) by name, the area's description, its WGS 84 outline,
    its geocode (empty unless the area is the administrative unit), the places it lists."""

    name: str
    desc: str
    geometry: BaseGeometry
    geocode: str
    places: tuple[Place, ...]


def _area(layers: _Layers, action: Broadcast, buffer_m: float, last_body: str | None) -> Coverage:
    """The area of a message: the district (its outline and code) for the district's own message, else the
    union of the listed items' outlines (a point buffered by ``buffer_m``) — an all-clear keeps the area of
    the message it ends — with no geocode, since a town's points are not the town."""
    settings = layers.settings
    district = settings.deployment.district_code
    town = _town_name(layers, action.area)
    if action.area == district:
        name = town or district
        return Coverage(name, name, _district(layers), district,
                        tuple(Place(name, "全区", item.level) for item in action.listed))
    if not action.listed and last_body is not None:
        area = parse(last_body.encode("utf-8")).infos[0].areas[0]
        rings = [Polygon([(lon, lat) for lat, lon in ring]) for ring in area.polygons]
        return Coverage(town or action.area, area.desc, unary_union(rings), "", ())
    found = [(item, _item(layers, action.hazard, item.item_id, buffer_m) or _unplaced(layers, item.item_id, action.area))
             for item in action.listed]
    places = tuple(Place(name, kind, item.level) for item, (name, kind, _) in found)
    shape = unary_union([geometry for _, (_, _, geometry) in found])
    return Coverage(town or action.area, _desc(town or action.area, places), shape, "", places)


def _desc(town: str, places: tuple[Place, ...]) -> str:
    """``玉峰山镇（龙王村滑坡隐患点、……等 5 处）`` — the town, then at most three places by name."""
    names = [p.name for p in places if p.name != town]
    if not names:
        return town
    shown = "、".join(names[:3]) + (f"等 {len(names)} 处" if len(names) > 3 else "")
    return f"{town}（{shown}）"


def _town_name(layers: _Layers, area: str) -> str | None:
    """The name of the town (or the district) ``area`` in the deployment's areas layers, ``None`` if unnamed."""
    settings = layers.settings
    for name in (settings.areas.towns, settings.areas.district):
        found = _find(layers, name, area)
        if found is not None:
            return found[0]
    return None


def _district(layers: _Layers) -> BaseGeometry:
    settings = layers.settings
    for name in (settings.areas.district, settings.areas.towns):
        frame = layers.get(name)
        if frame is not None and len(frame):
            return unary_union(list(frame.geometry))
    raise ConfigError(Problem("config.yaml", "areas", "a district or towns layer with features", "none"))


def _unplaced(layers: _Layers, item_id: str, area: str) -> tuple[str, str, BaseGeometry]:
    """(name, what it is, polygon) of an item found in no layer (a warning issued by hand on a name): its
    town's outline, else the district's."""
    town = _find(layers, layers.settings.areas.towns, area)
    return item_id, "区域", town[1] if town is not None else _district(layers)


def _item(layers: _Layers, hazard: str, item_id: str, buffer_m: float) -> tuple[str, str, BaseGeometry] | None:
    """(name, what it is, WGS 84 polygon) of a listed item, from the layers of its hazard's roles first;
    ``None`` when no layer holds it."""
    for layer, kind in layers.search(hazard):
        found = _find(layers, layer, item_id)
        if found is None:
            continue
        desc, geometry = found
        return desc, kind, layers.circle(layer, item_id, buffer_m) if geometry.geom_type == "Point" else geometry
    return None


def _find(layers: _Layers, name: str, item_id: str) -> tuple[str, BaseGeometry] | None:
    """(name, geometry) of the first feature of layer ``name`` with id ``item_id``; ``None`` when none has it.

    Each layer is indexed by id once per :class:`_Layers`, so listing many items costs one pass per layer.
    """
    if name not in layers.found:
        frame = layers.get(name)
        index: dict[str, tuple[str, BaseGeometry]] = {}
        if frame is not None:
            id_field, name_field = layers.id_field(name), layers.name_field(name)
            named = name_field in frame.columns
            names = frame[name_field] if named else [""] * len(frame)
            for ident, label, geometry in zip(frame[id_field].astype(str), names, frame.geometry.to_numpy(),
                                              strict=True):  # the geometries as an array: no per-item lookup
                if ident not in index:
                    desc = str(label) if named and str(label).strip() else ident
                    index[ident] = (_plain(desc), geometry)
        layers.found[name] = index
    return layers.found[name].get(item_id)


def _plain(text: str) -> str:
    """Text without anything that reads as an HTML tag or entity (``<`` and ``&`` become full-width)."""
    return text.replace("<", "＜").replace(">", "＞").replace("&", "＆").strip()


def _relayed(store: Store, settings: Settings, action: Broadcast, status: CapStatus) -> tuple[OfficialRelay, ...]:
    """The official messages of the action's hazard in force at its time, which a relay names."""
    statuses = {CapStatus.ACTUAL.value} | ({status.value} if status is not CapStatus.ACTUAL else set())
    return tuple(official_in_force(store, settings, action.hazard, action.at, frozenset(statuses)))


def _relay_note(relayed: tuple[OfficialRelay, ...]) -> str:
    """``转发：<issuer> <sent> 发布的 <headline>（<identifier>）`` for each message relayed."""
    return "；".join(f"转发 {b.issuer} {cap_time(b.sent)} 发布的{b.headline}（{b.identifier}）" for b in relayed)


@dataclass
class _Probabilities:
    """The probability of an action's warned level at its lead (now) over an ensemble run's members: the
    highest over the items its message lists, as the cycles recorded them (``store.levels``); ``None`` when
    none was scored from an ensemble. The items of all ``actions`` of one hazard and time are read at once."""

    store: Store
    actions: Sequence[Broadcast]
    recorded: dict[tuple[str, datetime], dict[str, dict[Level, float]]] = field(default_factory=dict)

    def __call__(self, action: Broadcast) -> float | None:
        key = (action.hazard, action.at)
        if key not in self.recorded:
            self.recorded[key] = self.store.levels.probability(
                action.hazard, ((str(item.item_kind), item.item_id) for other in self.actions
                                if (other.hazard, other.at) == key for item in other.listed), action.at)
        recorded = self.recorded[key]
        known = [p for item in action.listed if (by_level := recorded.get(item.item_id)) is not None
                 and not math.isnan(p := by_level.get(action.level, math.nan))]
        return max(known) if known else None


@dataclass
class _Expected:
    """``预计未来3小时累计雨量约N毫米``: the rain the forecast runs the cycles used give an action's town (the
    district: its wettest town) over the next :data:`EXPECTED_HOURS` hours; empty when any hour is missing.
    Every town's rain is read once per action time (a storm cycle's hundreds of messages share it)."""

    store: Store
    settings: Settings
    towns: dict[datetime, dict[str, float]] = field(default_factory=dict)

    def __call__(self, action: Broadcast) -> str:
        towns = self.towns.get(action.at)
        if towns is None:
            towns = self.towns[action.at] = self._read(action.at)
        whole = list(towns.values()) if action.area == self.settings.deployment.district_code else \
            [towns[action.area]] if action.area in towns else []
        return f"预计未来{EXPECTED_HOURS}小时累计雨量约{max(whole):.0f}毫米" if whole else ""

    def _read(self, at: datetime) -> dict[str, float]:
        """Each town's rain over the hours after ``at``, mm, of the towns whose every hour is known."""
        totals = self.store.rain.totals(self.settings.areas.towns, at, at + timedelta(hours=EXPECTED_HOURS))
        return {zone: mm for zone, (mm, hours) in totals.items() if hours == EXPECTED_HOURS}


def wording(settings: Settings, hazard: HazardSpec, action: Broadcast, area: Coverage,
            relayed: tuple[OfficialRelay, ...], expires: datetime, expected: str = "",
            probability: float | None = None) -> Wording:
    """The words of the message of ``action`` (:func:`warn.broadcast.wording.word`, the templates of the
    playbooks folder). A relayed hazard names the issuers of the official messages in force, or
    :data:`MET_OFFICE` when none is (its all-clear after the signal was lifted)."""
    issuer = settings.deployment.issuer
    relayed_from = "、".join(dict.fromkeys(b.issuer for b in relayed)) or (MET_OFFICE if hazard.relayed else "")
    notice = Notice(hazard=hazard.name, level=Level.NONE if action.broadcast is BroadcastKind.ALL_CLEAR
                    else action.level, audience=action.audience, issuer=issuer.zh, issuer_short=issuer.short,
                    sent=action.at, until=expires, area=area.name, places=area.places, expected=expected,
                    reference=f"{action.at.astimezone(CST):%m%d}-{action.serial}", relayed_from=relayed_from,
                    probability=probability)
    if settings.command is None:
        raise ConfigError(Problem("config.yaml", "command.playbooks", f"the playbooks folder holding the message "
                                  f"templates {TEMPLATES_FILE}", "no command section"))
    return word(notice, _templates(settings.command.playbooks / TEMPLATES_FILE))


@cache
def _templates(path: Path) -> Templates:
    return load_templates(path)


def _outbox(channels: Mapping[str, ChannelSpec], message: _Message, status: CapStatus) -> list[NewMessage]:
    """The outbox rows of a message: one per channel carrying the action's audience and per recipient."""
    action, identifier, body, alert = message.action, message.identifier, message.body, message.alert
    messages = []
    for name, spec in channels.items():
        if spec.reads is not action.audience:
            continue
        if spec.kind in CAP_KINDS:
            payload, content_type = body, CAP_CONTENT_TYPE
        elif spec.kind in TEXT_KINDS:
            alert = alert or parse(body)  # read once for all the message's text channels
            text = sms_text(alert) if spec.kind == "sms" else render_text(alert)
            payload, content_type = text.encode("utf-8"), TEXT_KINDS[spec.kind]
        else:
            continue
        recipients = list(spec.recipients)
        if not recipients:
            if spec.kind == "smtp":
                continue
            keys = [(DEFAULT_RECIPIENT, f"{identifier}/{name}")]
        else:
            keys = [(r, f"{identifier}/{name}/{r}") for r in recipients]
        messages += [NewMessage(channel=name, recipient=recipient, payload=payload, content_type=content_type,
                                idempotency_key=key, public=spec.public, cap_status=CapStatus(status))
                     for recipient, key in keys]
    return messages


def render_text(alert: CapAlert) -> str:
    """The rich text of a CAP message for DingTalk/WeCom/e-mail: the zh-CN headline, description and
    instruction, then the en-US ones after a blank line, then the message's reference."""
    zh, en = alert.infos[0], alert.infos[1]
    lines = [f"### {zh.headline}", "", zh.description, zh.instruction, "", en.headline, en.description,
             en.instruction, "", f"{alert.identifier}"]
    return "\n".join(line for line in lines if line is not None)


def sms_text(alert: CapAlert) -> str:
    """The one-segment SMS a CAP message carries (its ``warn:sms`` parameter)."""
    return dict(alert.infos[0].parameters).get(PARAM_SMS, "")
