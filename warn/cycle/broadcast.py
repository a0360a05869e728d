"""The publishing step of the cycle: the planner's ``Broadcast`` actions → CAP messages → the outbox.

:func:`publish` runs after the executor (:func:`warn.cycle.command.execute`) has
recorded the warning threads. For each :class:`~warn.command.model.Broadcast`, in order:

1. **Message.** A :class:`~warn.cap.codec.CapWarning` for version ``version`` of the
   thread: ``Alert`` when the thread has no message yet in ``warning_messages``, else
   ``Update`` whose ``references`` name every message of the thread already there
   (sender, identifier, sent); an all-clear is an ``Update`` with ``responseType``
   ``AllClear`` (:mod:`warn.cap.codec`). ``sent`` and ``onset`` are the action's
   time, ``expires`` = sent + ``validity`` (default :data:`VALIDITY`, 6 h).
2. **Area.** The item's geometry in the layers playing the hazard's roles
   (``hazards.<hazard>.layers``), else in any configured layer (a manual warning on a
   town): an area as it is, a point buffered by ``point_buffer_m`` (default
   :data:`POINT_BUFFER_M`, 200 m, computed in the local UTM zone); an item found in no
   layer (a district-wide warning) gets the ``district`` layer, else every town. The
   geocode is the deployment's ``district_code``. The CAP ``category`` and ``event`` are
   the hazard's (:attr:`warn.hazards.spec.HazardSpec.cap`).
3. **Record.** :func:`~warn.cap.codec.produce` (validated; an invalid message raises
   :class:`~warn.errors.CapError`), then one ``warning_messages`` row (kind = msgType,
   level, sent, identifier, body). A message whose identifier is already there is not
   built again: its stored body is queued again (a no-op when it was queued before), so
   a crash between recording and queueing heals on the next run.
4. **Queue.** One outbox row per configured channel and recipient
   (``channels.<name>.recipients``; ``cap`` when none are listed — the ``{recipient}``
   of a target such as ``mqtt://…/warn/alerts/{recipient}``), idempotency key
   ``<identifier>/<channel>`` (``…/<channel>/<recipient>`` when recipients are listed):
   the CAP XML (``application/cap+xml``) to webhook, filedrop, smtp and mqtt channels;
   a short zh-CN/English text (``text/markdown``; ``text/plain`` for sms) to dingtalk,
   wecom and sms. An smtp channel without ``recipients`` is skipped (nobody to mail).
   The CAP ``status`` is carried to the outbox, so the dispatcher refuses Exercise and
   Test messages on public channels.

Publishing the same actions again adds no message and no outbox row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import geopandas as gpd
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from shapely.geometry import Polygon

from warn import hazards
from warn.broadcast.wording import TEMPLATES_FILE, Notice, Place, Templates, Wording, load_templates, word
from warn.cap.codec import (
    CST,
    PARAM_SMS,
    CapWarning,
    MsgType,
    Reference,
    ResponseType,
    Scope,
    cap_time,
    identifier_for,
    outline,
    parse,
    produce,
)
from warn.command.model import Action, Broadcast, BroadcastKind
from warn.config import ChannelSpec, Settings
from warn.cycle.inputs import OfficialRelay, official_in_force
from warn.errors import ConfigError, Problem, WarnError
from warn.hazards.spec import HazardSpec
from warn.store import Store
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
#: The issuer a relayed message names when no official message is in force any more.
MET_OFFICE = "气象台"
#: Who may read a Restricted message (CAP ``restriction``).
RESTRICTION = "防汛责任人（值班人员、镇街和村社责任人、监测员）/ responsible persons only"


@dataclass
class _Layers:
    """The deployment's layers, loaded on first use."""

    settings: Settings
    loaded: dict[str, gpd.GeoDataFrame | None] = field(default_factory=dict)

    def get(self, name: str) -> gpd.GeoDataFrame | None:
        if name not in self.loaded:
            from warn.geo.layers import zone_layer

            self.loaded[name] = zone_layer(self.settings, name)[1] if name in self.settings.layers else None
        return self.loaded[name]

    def id_field(self, name: str) -> str:
        return self.settings.layers[name].id_field

    def name_field(self, name: str) -> str:
        return self.settings.layers[name].name_field


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
        A message failed validation (nothing of it is recorded or queued).
    WarnError
        The status is not Actual/Exercise/Test, or a thread is not recorded in ``warnings``.
    """
    published = []
    for action, identifier, warning, body in _messages(store, settings, actions, status, sender, validity,
                                                       point_buffer_m):
        if warning is not None and _record(store, action, warning, identifier, body):
            published.append(identifier)
        _enqueue(store, settings.channels, action, identifier, body, status)
    return published


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


def _messages(store: Store, settings: Settings, actions: Iterable[Action], status: CapStatus, sender: str,
              validity: timedelta, point_buffer_m: float) -> Iterator[tuple[Broadcast, str, CapWarning | None, bytes]]:
    """(action, identifier, warning, CAP body) per ``Broadcast``; the warning is ``None`` for a message
    already recorded (its stored body)."""
    if status not in (CapStatus.ACTUAL, CapStatus.EXERCISE, CapStatus.TEST):
        raise WarnError(Problem("publish", "status", "Actual, Exercise or Test", str(status)))
    layers = _Layers(settings)
    for action in actions:
        if not isinstance(action, Broadcast):
            continue
        identifier = identifier_for(sender, action.thread, action.version)
        body = _stored_body(store, identifier)
        if body is not None:
            yield action, identifier, None, body
            continue
        warning = _warning(store, settings, layers, action, status, sender, validity, point_buffer_m)
        yield action, identifier, warning, produce(warning)


def _stored_body(store: Store, identifier: str) -> bytes | None:
    body = store.warnings.body(identifier)
    return None if body is None else body.encode("utf-8")


def _warning(store: Store, settings: Settings, layers: _Layers, action: Broadcast, status: CapStatus, sender: str,
             validity: timedelta, buffer_m: float) -> CapWarning:
    earlier = store.warnings.messages([action.thread])
    clear = action.broadcast is BroadcastKind.ALL_CLEAR
    response = ResponseType.ALL_CLEAR if clear else _RESPONSE.get(action.level, ResponseType.MONITOR)
    hazard = hazards.get(action.hazard)
    area = _area(layers, action, buffer_m, earlier[-1].body if earlier else None)
    relayed = _relayed(store, settings, action, status) if hazard.relayed else ()
    expires = action.at + validity
    words = wording(settings, hazard, action, area, relayed, expires)
    public = action.audience is Audience.PUBLIC
    return CapWarning(
        sender=sender, thread=action.thread, version=action.version,
        msg_type=MsgType.UPDATE if earlier else MsgType.ALERT, status=status, hazard=action.hazard,
        event=hazard.cap, level=Level.NONE if clear else action.level,
        sent=action.at, onset=action.at, expires=expires,
        area_name=area.desc, polygons=outline(area.geometry), geocode=area.geocode,
        incident=action.incident or "", sender_zh=settings.deployment.issuer.zh,
        sender_en=settings.deployment.issuer.en,
        headline_zh=words.headline_zh, headline_en=words.headline_en,
        description_zh=words.description_zh, description_en=words.description_en,
        instruction_zh=words.instruction_zh, instruction_en=words.instruction_en, response_type=response,
        references=(tuple(Reference(sender, m.identifier, m.sent_at) for m in earlier)
                    + tuple(Reference(b.sender, b.identifier, b.sent) for b in relayed)),
        scope=Scope.PUBLIC if public else Scope.RESTRICTED, restriction="" if public else RESTRICTION,
        note=_relay_note(relayed), sms=words.sms,
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
    settings = layers.settings
    spec = hazards.get(hazard)
    roles = settings.hazards[hazard].layers if hazard in settings.hazards else {}
    ordered = [*((layer, spec.role(role).zh) for role, layer in roles.items()),
               *((layer, "区域") for layer in settings.layers)]
    for layer, kind in ordered:
        found = _find(layers, layer, item_id)
        if found is None:
            continue
        desc, geometry = found
        if geometry.geom_type == "Point":
            series = gpd.GeoSeries([geometry], crs="EPSG:4326")
            geometry = series.to_crs(_utm(geometry)).buffer(buffer_m).to_crs("EPSG:4326").iloc[0]
        return desc, kind, geometry
    return None


def _utm(point: BaseGeometry) -> str:
    """The WGS 84 / UTM zone CRS holding ``point`` (lon/lat degrees): EPSG 326zz north, 327zz south."""
    zone = min(int((point.x + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{(32600 if point.y >= 0 else 32700) + zone}"


def _find(layers: _Layers, name: str, item_id: str) -> tuple[str, BaseGeometry] | None:
    frame = layers.get(name)
    if frame is None:
        return None
    id_field, name_field = layers.id_field(name), layers.name_field(name)
    rows = frame[frame[id_field].astype(str) == item_id]
    if rows.empty:
        return None
    row = rows.iloc[0]
    desc = str(row[name_field]) if name_field in rows.columns and str(row[name_field]).strip() else item_id
    return _plain(desc), row.geometry


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


def wording(settings: Settings, hazard: HazardSpec, action: Broadcast, area: Coverage,
            relayed: tuple[OfficialRelay, ...], expires: datetime) -> Wording:
    """The words of the message of ``action`` (:func:`warn.broadcast.wording.word`, the templates of the
    playbooks folder). A relayed hazard names the issuers of the official messages in force, or
    :data:`MET_OFFICE` when none is (its all-clear after the signal was lifted)."""
    issuer = settings.deployment.issuer
    relayed_from = "、".join(dict.fromkeys(b.issuer for b in relayed)) or (MET_OFFICE if hazard.relayed else "")
    notice = Notice(hazard=hazard.name, level=Level.NONE if action.broadcast is BroadcastKind.ALL_CLEAR
                    else action.level, audience=action.audience, issuer=issuer.zh, issuer_short=issuer.short,
                    sent=action.at, until=expires, area=area.name, places=area.places,
                    reference=f"{action.at.astimezone(CST):%m%d}-{action.serial}", relayed_from=relayed_from)
    if settings.command is None:
        raise ConfigError(Problem("config.yaml", "command.playbooks", f"the playbooks folder holding the message "
                                  f"templates {TEMPLATES_FILE}", "no command section"))
    return word(notice, _templates(settings.command.playbooks / TEMPLATES_FILE))


@cache
def _templates(path: Path) -> Templates:
    return load_templates(path)


def _record(store: Store, action: Broadcast, warning: CapWarning, identifier: str, body: bytes) -> bool:
    """Record the message; ``False`` when its identifier is already there."""
    return store.warnings.record_message(thread=action.thread, kind=str(warning.msg_type), level=int(warning.level),
                                         sent_at=action.at, identifier=identifier, body=body.decode("utf-8"))


def _enqueue(store: Store, channels: Mapping[str, ChannelSpec], action: Broadcast, identifier: str, body: bytes,
             status: CapStatus) -> None:
    """One outbox row per channel carrying the action's audience and per recipient."""
    for name, spec in channels.items():
        if spec.reads is not action.audience:
            continue
        if spec.kind in CAP_KINDS:
            payload, content_type = body, CAP_CONTENT_TYPE
        elif spec.kind in TEXT_KINDS:
            text = sms_text(body) if spec.kind == "sms" else render_text(body)
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
        for recipient, key in keys:
            store.outbox.enqueue(NewMessage(channel=name, recipient=recipient, payload=payload,
                                            content_type=content_type, idempotency_key=key, public=spec.public,
                                            cap_status=CapStatus(status)))


def render_text(body: bytes) -> str:
    """The rich text of a CAP message for DingTalk/WeCom/e-mail: the zh-CN headline, description and
    instruction, then the en-US ones after a blank line, then the message's reference."""
    alert = parse(body)
    zh, en = alert.infos[0], alert.infos[1]
    lines = [f"### {zh.headline}", "", zh.description, zh.instruction, "", en.headline, en.description,
             en.instruction, "", f"{alert.identifier}"]
    return "\n".join(line for line in lines if line is not None)


def sms_text(body: bytes) -> str:
    """The one-segment SMS a CAP message carries (its ``warn:sms`` parameter)."""
    alert = parse(body)
    return dict(alert.infos[0].parameters).get(PARAM_SMS, "")
