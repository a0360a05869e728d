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
from datetime import timedelta

import geopandas as gpd
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from warn.cap.codec import (
    HEADLINE_LIMIT,
    CapWarning,
    MsgType,
    Reference,
    ResponseType,
    identifier_for,
    outline,
    produce,
)
from warn import hazards
from warn.command.model import Action, Broadcast, BroadcastKind
from warn.config import ChannelSpec, Settings
from warn.errors import ConfigError, Problem, WarnError
from warn.hazards.spec import HazardSpec
from warn.store import Store
from warn.store.outbox import NewMessage
from warn.vocab import CapStatus, Level

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
_INSTRUCTION = {
    ResponseType.EVACUATE: ("请立即撤离危险区域，服从现场指挥。", "Leave the danger area now and follow the instructions of local officials."),
    ResponseType.PREPARE: ("请做好撤离准备，远离危险区域。", "Prepare to evacuate and keep away from the danger area."),
    ResponseType.MONITOR: ("请关注预警信息，注意防范。", "Follow the warnings and take precautions."),
    ResponseType.ALL_CLEAR: ("预警已解除，请继续关注天气变化。", "The warning is over; keep following the weather."),
}


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


def _earlier(store: Store, thread: str) -> list[tuple[str, object]]:
    return [(m.identifier, m.sent_at) for m in store.warnings.messages([thread])]


def _warning(store: Store, settings: Settings, layers: _Layers, action: Broadcast, status: CapStatus, sender: str,
             validity: timedelta, buffer_m: float) -> CapWarning:
    earlier = _earlier(store, action.thread)
    clear = action.broadcast is BroadcastKind.ALL_CLEAR
    response = ResponseType.ALL_CLEAR if clear else _RESPONSE.get(action.level, ResponseType.MONITOR)
    area_name, geometry = _area(layers, action, buffer_m)
    level = Level.NONE if clear else action.level
    hazard = hazards.get(action.hazard)
    headline_zh, headline_en = _headlines(settings, hazard, area_name, level, clear)
    instruction_zh, instruction_en = _INSTRUCTION[response]
    return CapWarning(
        sender=sender, thread=action.thread, version=action.version,
        msg_type=MsgType.UPDATE if earlier else MsgType.ALERT, status=status, hazard=action.hazard,
        event=hazard.cap, level=level,
        sent=action.at, onset=action.at, expires=action.at + validity,
        area_name=area_name, polygons=outline(geometry), geocode=settings.deployment.district_code,
        incident=action.incident or "",
        headline_zh=headline_zh, headline_en=headline_en,
        description_zh=_plain(f"{action.text}（{action.label}）"), description_en=_plain(
            f"{hazard.en} warning for {area_name}, level {level.colour}. {action.label}"),
        instruction_zh=instruction_zh, instruction_en=instruction_en, response_type=response,
        references=tuple(Reference(sender, ident, sent) for ident, sent in earlier),
    )


def _headlines(settings: Settings, hazard: HazardSpec, area: str, level: Level, clear: bool) -> tuple[str, str]:
    name = settings.deployment.name
    if clear:
        zh = f"{name}{area}{hazard.zh}预警解除"
        en = f"{name}: {hazard.en} warning for {area} cleared"
    else:
        zh = f"{name}{area}{hazard.zh}{level.zh}预警"
        en = f"{name}: {level.colour} {hazard.en} warning for {area}"
    return _plain(zh)[:HEADLINE_LIMIT - 1], _plain(en)[:HEADLINE_LIMIT - 1]


def _plain(text: str) -> str:
    """Text without anything that reads as an HTML tag or entity (``<`` and ``&`` become full-width)."""
    return text.replace("<", "＜").replace(">", "＞").replace("&", "＆").strip()


def _area(layers: _Layers, action: Broadcast, buffer_m: float) -> tuple[str, BaseGeometry]:
    """(area description, WGS 84 polygon) of the warned item: in the layers of its hazard's roles first."""
    settings = layers.settings
    roles = settings.hazards[action.hazard].layers.values() if action.hazard in settings.hazards else ()
    for name in dict.fromkeys([*roles, *settings.layers]):
        found = _find(layers, name, action.item_id)
        if found is None:
            continue
        desc, geometry = found
        if geometry.geom_type != "Point":
            return found
        series = gpd.GeoSeries([geometry], crs="EPSG:4326")
        return desc, series.to_crs(_utm(geometry)).buffer(buffer_m).to_crs("EPSG:4326").iloc[0]
    for name in (settings.areas.district, settings.areas.towns):
        frame = layers.get(name)
        if frame is not None and len(frame):
            return layers.settings.deployment.name, unary_union(list(frame.geometry))
    raise ConfigError(Problem("config.yaml", "layers", f"a layer holding item {action.item_id!r} of thread "
                                                       f"{action.thread}", "none"))


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


def _record(store: Store, action: Broadcast, warning: CapWarning, identifier: str, body: bytes) -> bool:
    """Record the message; ``False`` when its identifier is already there."""
    return store.warnings.record_message(thread=action.thread, kind=str(warning.msg_type), level=int(warning.level),
                                         sent_at=action.at, identifier=identifier, body=body.decode("utf-8"))


def _enqueue(store: Store, channels: Mapping[str, ChannelSpec], action: Broadcast, identifier: str, body: bytes,
             status: CapStatus) -> None:
    for name, spec in channels.items():
        if spec.kind in CAP_KINDS:
            payload, content_type = body, CAP_CONTENT_TYPE
        elif spec.kind in TEXT_KINDS:
            payload, content_type = render_text(body).encode("utf-8"), TEXT_KINDS[spec.kind]
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
    """A short zh-CN/English text of a CAP message: both headlines, the zh description and instruction, the id."""
    from warn.cap.codec import parse

    alert = parse(body)
    zh, en = alert.infos[0], alert.infos[1]
    lines = [f"### {zh.headline}", en.headline, "", zh.description, zh.instruction, en.instruction, "",
             f"{alert.msg_type} {alert.status} {alert.identifier}"]
    return "\n".join(line for line in lines if line is not None)
