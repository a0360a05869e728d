"""Official warnings published as CAP 1.2: fetch, read, and which are in force.

The meteorological bureau's rainstorm signals (暴雨预警信号) and the natural-resources
bureau's geological-hazard meteorological risk warnings (地质灾害气象风险预警) reach the
district as CAP 1.2 messages. A configured source (:class:`warn.config.OfficialSpec`) is
one URL that returns either

- one CAP 1.2 message (XML), or
- a JSON list of the URLs of the messages currently published (relative URLs are
  resolved against the list's URL), at most ``max_messages`` of them. Only URLs within the
  list's own origin, or on a host the source's ``allowed_hosts`` names, are fetched: a list
  naming any other URL (an internal service, a cloud metadata address) is refused for that
  entry, naming the URL and the hosts allowed, and nothing is sent there.

Every message is read with :func:`warn.cap.codec.parse` (safe: no DTD, entities or
network) into a :class:`Bulletin`:

- **Level** from the first ``<parameter>`` whose ``valueName`` is one of the source's
  ``level_parameters`` and whose value is in :data:`LEVEL_WORDS`; else from the colour
  character (蓝/黄/橙/红) in the ``<event>`` or ``<headline>`` of an ``info``
  (暴雨橙色预警信号 → orange). A ``Cancel``, or an ``Update`` whose ``responseType`` is
  ``AllClear``, ends its thread and carries level none. A message with no readable level is
  refused (:class:`~warn.errors.SourceError`), never read as "none".
- **Area**: a ``<polygon>`` (``lat,lon`` pairs) covers the zones whose representative point
  it covers; a ``<geocode>`` whose ``valueName`` is the source's ``geocode`` names a zone id
  (that zone) or — in an area without polygons — the district code (the whole district:
  every zone). The polygons are the finer of the two: a bulletin for a few towns that also
  carries the district's code (as this project's own CAP profile does) covers those towns.
- **Validity**: ``expires`` of the info, else ``sent`` + the source's ``default_validity``.

:func:`in_force` picks what holds at a moment: sent by then, of an accepted status, not
expired, not replaced — a message named in the ``references`` of a later ``Update`` or
``Cancel`` is replaced (the latest of a thread wins) — and at blue or above.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin

import httpx
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from warn.cap.codec import CapAlert, Info, MsgType, ResponseType, parse
from warn.errors import Problem, SourceError, WarnError
from warn.netpolicy import origin, origin_text
from warn.sources.http import HttpGetter
from warn.vocab import HazardName, Level

#: Level words a level parameter may hold (case-insensitive for the English ones).
LEVEL_WORDS: dict[str, Level] = {
    "blue": Level.BLUE, "yellow": Level.YELLOW, "orange": Level.ORANGE, "red": Level.RED,
    "蓝色": Level.BLUE, "黄色": Level.YELLOW, "橙色": Level.ORANGE, "红色": Level.RED,
    "蓝": Level.BLUE, "黄": Level.YELLOW, "橙": Level.ORANGE, "红": Level.RED,
    "iv": Level.BLUE, "iii": Level.YELLOW, "ii": Level.ORANGE, "i": Level.RED,
}
#: The colour characters looked for in ``event`` and ``headline`` when no parameter gives the level.
COLOUR_CHARACTERS: dict[str, Level] = {"蓝色": Level.BLUE, "黄色": Level.YELLOW, "橙色": Level.ORANGE,
                                       "红色": Level.RED}


@dataclass(frozen=True)
class Bulletin:
    """One official CAP message as the district reads it.

    Attributes
    ----------
    source
        The configured source it came from.
    identifier, sender, sent, msg_type, status
        The CAP ``alert`` header (``msg_type`` ``Alert``, ``Update`` or ``Cancel``).
    references
        Identifiers of the earlier messages it replaces.
    hazard, level
        ``landslide`` or ``rainstorm``, and its colour (``NONE`` for a Cancel or an all-clear).
    expires
        When it stops counting (UTC-aware).
    zones, district
        The zone ids it covers, and whether it names the whole district.
    headline
        The first info's headline (zh-CN first when there is one), for the drivers.
    raw
        The message's XML as received (``None`` when not kept); not compared.
    """

    source: str
    identifier: str
    sender: str
    sent: datetime
    msg_type: str
    status: str
    references: tuple[str, ...]
    hazard: HazardName
    level: Level
    expires: datetime
    zones: tuple[str, ...]
    district: bool
    headline: str
    raw: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Reading:
    """How a source's messages are read: see :class:`warn.config.OfficialSpec`.

    ``zones`` are the representative points (WGS 84) of the zones by id, ``district`` the
    district's administrative code, ``allowed_hosts`` the hosts (``host`` or ``host:port``) a
    JSON list may name besides its own origin, ``max_messages`` the most URLs it may name.
    """

    source: str
    hazard: HazardName
    level_parameters: tuple[str, ...]
    geocode: str
    default_validity: timedelta
    zones: Mapping[str, BaseGeometry]
    district: str
    allowed_hosts: tuple[str, ...] = ()
    max_messages: int = 50


def fetch_bulletins(url: str, reading: Reading, getter: HttpGetter,
                    known: dict[bytes, Bulletin] | None = None) -> tuple[list[Bulletin], list[str]]:
    """Every message a source publishes now.

    The whole read — the list and every message it names — is held to the source's total
    deadline (``getter.policy.total_s``): once it has passed, the messages left are not fetched
    (each a problem), so a list of trickling URLs costs one deadline, not one per URL.

    ``known``: the messages this source's earlier fetches read, by their bytes; a message fetched
    again with the same bytes is not read again (a list names the same messages cycle after cycle).
    Replaced in place by the messages of this fetch.

    Returns
    -------
    (bulletins, problems)
        The messages read, and one readable problem (zh-CN / English) per message that could
        not be fetched or read (the others still count).

    Raises
    ------
    SourceError
        The source's URL itself cannot be fetched, or is neither CAP nor a JSON list of URLs.
    """
    started = time.monotonic()
    client = getter.client()
    body = getter.get(client, url).content
    earlier = dict(known or {})
    if known is not None:
        known.clear()

    def read(data: bytes) -> Bulletin:
        bulletin = earlier[data] if data in earlier else read_bulletin(data, reading)
        if known is not None:
            known[data] = bulletin
        return bulletin

    if not body.lstrip().startswith((b"[", b"{")):
        return [read(body)], []
    try:
        urls = json.loads(body)
    except ValueError as err:
        raise SourceError(Problem(url, "", "one CAP 1.2 message or a JSON list of their URLs", str(err))) from None
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise SourceError(Problem(url, "", "a JSON list of CAP message URLs", type(urls).__name__))
    if len(urls) > reading.max_messages:
        raise SourceError(Problem(url, "", f"a list of at most {reading.max_messages} message URLs "
                                  "(official.<source>.max_messages)", f"{len(urls)}"))
    bulletins, problems = [], []
    deadline = started + getter.policy.total_s
    for item in urls:
        target = urljoin(url, item)
        if time.monotonic() > deadline:
            problems.append(f"官方预警 {target} 未获取：超过该源的时限 {getter.policy.total_s:g} 秒 / official warning "
                            f"{target} not fetched: the source's deadline of {getter.policy.total_s:g} s passed")
            continue
        try:
            check_listed(target, url, reading.allowed_hosts)
            bulletins.append(read(getter.get(client, target).content))
        except (WarnError, httpx.HTTPError) as err:
            problems.append(f"官方预警 {target} 无法读取，已跳过 / official warning {target} unreadable, skipped: "
                            f"{_first(err)}")
    return bulletins, problems


def check_listed(target: str, source: str, hosts: Collection[str]) -> None:
    """Refuse ``target``, a URL a JSON list at ``source`` names, unless it is in the list's origin
    or on one of ``hosts`` (``host``: any port; ``host:port``: that port), over http(s).

    Raises
    ------
    SourceError
        Naming ``target`` and the hosts allowed.
    """
    own = httpx.URL(source)
    try:
        url = httpx.URL(target)
    except httpx.InvalidURL:
        url = httpx.URL("invalid:")
    scheme, host, port = origin(url)
    if scheme in ("http", "https") and (origin(url) == origin(own)
                                            or {host, f"{host}:{port}"} & {h.lower() for h in hosts}):
        return
    names = ", ".join([origin_text(own), *hosts])
    raise SourceError(Problem(source, "", f"message URLs within {names} (official.<source>.allowed_hosts)",
                              target, "a list naming another host is not followed (server-side request forgery)"))


def read_bulletin(data: bytes, reading: Reading) -> Bulletin:
    """One CAP 1.2 message as a :class:`Bulletin` (see the module notes).

    Raises
    ------
    CapError
        Not valid CAP 1.2.
    SourceError
        No level can be read from an Alert or Update that is not an all-clear.
    """
    alert = parse(data)
    infos = sorted(alert.infos, key=lambda info: info.language != "zh-CN")
    ended = alert.msg_type is MsgType.CANCEL or any(ResponseType.ALL_CLEAR in i.response_types for i in infos)
    level = Level.NONE if ended else _level(alert, infos, reading.level_parameters)
    district, zones = _area(infos, reading)
    expires = min((i.expires for i in infos if i.expires is not None), default=alert.sent + reading.default_validity)
    return Bulletin(source=reading.source, identifier=alert.identifier, sender=alert.sender, sent=alert.sent,
                    msg_type=str(alert.msg_type), status=str(alert.status),
                    references=tuple(r.identifier for r in alert.references), hazard=reading.hazard, level=level,
                    expires=expires, zones=zones, district=district,
                    headline=next((i.headline or i.event for i in infos), ""), raw=data.decode("utf-8", "replace"))


def in_force(bulletins: Iterable[Bulletin], at: datetime, statuses: Collection[str]) -> list[Bulletin]:
    """The bulletins that hold at ``at`` (see the module notes), ``statuses`` the CAP statuses accepted."""
    known = [b for b in bulletins if b.sent <= at and b.status in statuses]
    replaced = {ref for b in known if b.msg_type in (MsgType.UPDATE, MsgType.CANCEL) for ref in b.references}
    return sorted((b for b in known if b.identifier not in replaced and b.msg_type != MsgType.CANCEL
                   and b.level >= Level.BLUE and b.expires > at), key=lambda b: (b.sent, b.identifier))


def _level(alert: CapAlert, infos: list[Info], names: tuple[str, ...]) -> Level:
    for name in names:
        for info in infos:
            for value_name, value in info.parameters:
                level = LEVEL_WORDS.get(value.strip().lower()) if value_name == name else None
                if level is not None:
                    return level
    for info in infos:
        for text in (info.event, info.headline):
            found = [level for word, level in COLOUR_CHARACTERS.items() if word in text]
            if found:
                return max(found)
    raise SourceError(Problem(f"CAP {alert.identifier}", "info", f"a level: a parameter {' or '.join(names)} "
                              "(blue … red, 蓝色 … 红色) or a colour in event or headline (暴雨橙色预警信号)",
                              "none", "an official warning without a level is not read as 'none'"))


def _area(infos: list[Info], reading: Reading) -> tuple[bool, tuple[str, ...]]:
    """(names the district, zone ids covered) of the infos' areas."""
    district, covered = False, set()
    for area in (a for info in infos for a in info.areas):
        for name, value in area.geocodes:
            if name != reading.geocode:
                continue
            if value == reading.district and not area.polygons:
                district = True
            elif value in reading.zones:
                covered.add(value)
        for ring in area.polygons:
            polygon = Polygon([(lon, lat) for lat, lon in ring])
            covered |= {zone for zone, point in reading.zones.items() if polygon.covers(point)}
    return district, tuple(sorted(reading.zones if district else covered))


def _first(err: Exception) -> str:
    problems = getattr(err, "problems", ())
    return str(problems[0]) if problems else f"{type(err).__name__}: {err}"
