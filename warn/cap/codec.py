"""The CAP 1.2 codec: produce the district's warnings, validate, parse.

Profile (OPERATIONS.md "CAP profile for the district"):

- **Identifier** ``{sender}.{thread}.v{version}`` with ``:`` and ``/`` of the thread
  kept and anything else outside ``[A-Za-z0-9._:@/-]`` replaced by ``-`` — one
  message per (thread, version), so the planner's idempotency key and the CAP
  identifier name the same message. It is *not* the GB/T 35965.1 numeric pattern.
- **Times** in China Standard Time, ``+08:00``, never ``Z``; ``expires`` always.
- **Two infos**: ``zh-CN`` first, ``en-US`` second, with identical ``category`` and
  ``eventCode`` (``warn:hazard`` and the hazard's own codes), both from the hazard's
  :class:`Event` (each hazard declares its own in the hazard registry).
- **Severity** by colour: red Extreme, orange Severe, yellow Moderate, blue Minor
  (none, only on an all-clear: Minor). **Urgency** ``Immediate`` when the onset is
  at most one hour after ``sent``, else ``Expected``; ``Past`` on an all-clear.
  **Certainty** ``Likely`` (more than about 50 %) for orange and red, ``Possible``
  for blue and yellow, ``Observed`` on an all-clear.
- **Parameters**: ``warn:level`` (``red`` …), ``warn:hazard`` (``landslide`` …)
  and ``GB/T35965.1:color`` (``Red`` …, GB/T 35965.1-style colour; a project name,
  not a registered code).
- **Area**: ``polygon`` ``lat,lon`` rings, closed, at least four points (see
  :func:`outline`), plus ``geocode`` ``GB/T2260`` = the administrative code
  (``500112``).
- **Thread**: the first message is ``Alert``; every change an ``Update`` whose
  ``references`` name every still-valid message of the thread. A warning is
  withdrawn by an ``Update`` with ``responseType`` ``AllClear``; ``Cancel`` is kept
  for a message issued in error. ``incidents`` carries the incident id.
- ``status`` ``Exercise`` for drills and ``Test`` for system tests.

:func:`produce` refuses (:class:`~warn.errors.CapError`) any message that fails the
OASIS XSD, Google's extended XSD or the rules above (:func:`validate`);
:func:`parse` reads incoming CAP 1.2 with entities, DTDs and network off.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from pathlib import Path

from lxml import etree
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from warn.cap.event import Category, Event
from warn.errors import CapError, Problem
from warn.vocab import CapStatus, Level

#: CAP 1.2 XML namespace.
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
#: China Standard Time, the offset every produced time carries.
CST = timezone(timedelta(hours=8))
#: Longest headline allowed (exclusive bound: a headline has fewer characters).
HEADLINE_LIMIT = 140
#: Name of the administrative-code geocode.
GEOCODE_ADMIN = "GB/T2260"
#: Names of the level, hazard and colour parameters (the hazard name is also the eventCode's).
PARAM_LEVEL = "warn:level"
PARAM_HAZARD = "warn:hazard"
PARAM_COLOUR = "GB/T35965.1:color"
#: CAP parameter holding the one-segment SMS of the message (what the SMS channels send).
PARAM_SMS = "warn:sms"
#: CAP 1.2 ``certainty``: Likely is "p > ~50%", Possible "p <= ~50%" (OASIS CAP 1.2, 3.2.2).
LIKELY_ABOVE = 0.5
#: CAP parameter holding an ensemble's probability of the warned level (``0.35``), where there is one.
PARAM_PROBABILITY = "warn:probability"

SCHEMA_DIR = Path(__file__).with_name("schema")
SCHEMAS = {"OASIS CAP-v1.2.xsd": "CAP-v1.2.xsd", "Google cap12_extended.xsd": "cap12_extended-google.xsd"}
_TOKEN = re.compile(r"[^\s,&<]+")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!]|&[A-Za-z#][A-Za-z0-9]*;")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._:@/-]")
#: Characters XML 1.0 cannot hold (lxml refuses them in a text).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"
_Q = f"{{{CAP_NS}}}"



class MsgType(StrEnum):
    """CAP ``msgType``."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"
    ACK = "Ack"
    ERROR = "Error"


class Scope(StrEnum):
    """CAP ``scope``."""

    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"



class ResponseType(StrEnum):
    """CAP ``responseType``."""

    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


class Urgency(StrEnum):
    """CAP ``urgency``."""

    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(StrEnum):
    """CAP ``severity``."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(StrEnum):
    """CAP ``certainty``."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Reference:
    """One ``sender,identifier,sent`` triplet of ``references``."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Area:
    """A CAP ``area``: description, ``lat,lon`` polygons and ``(valueName, value)`` geocodes."""

    desc: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Info:
    """A CAP ``info`` block (the elements this project reads and writes; ``language`` defaults to en-US)."""

    language: str
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response_types: tuple[ResponseType, ...] = ()
    event_codes: tuple[tuple[str, str], ...] = ()
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class CapAlert:
    """A CAP 1.2 ``alert``: what :func:`parse` returns and what :func:`serialise` writes.

    Elements outside this model (``source``, ``note``, ``resource``, ``circle``,
    signatures …) are not kept.
    """

    identifier: str
    sender: str
    sent: datetime
    status: CapStatus
    msg_type: MsgType
    scope: Scope
    restriction: str = ""
    note: str = ""
    references: tuple[Reference, ...] = ()
    incidents: str = ""
    infos: tuple[Info, ...] = ()



@dataclass(frozen=True)
class CapWarning:
    """What the district publishes about one version of a warning thread.

    Parameters
    ----------
    sender
        CAP ``sender``: no spaces, commas, ``<`` or ``&``.
    thread, version
        The warning thread and its version (the planner's ``Broadcast``).
    msg_type
        ``Alert`` for version 1, ``Update`` after (an all-clear is an ``Update`` with
        ``response_type`` ``AllClear``), ``Cancel`` for a message issued in error.
    status
        ``Actual``, ``Exercise`` (drill) or ``Test``.
    hazard, event, level
        What the warning is about (the registered hazard's name and its CAP event) and its
        colour (``NONE`` only on an all-clear).
    sent, onset, expires
        Timezone-aware times; written in ``+08:00``.
    area_name, polygons, geocode
        Area description, ``(lon, lat)`` rings (see :func:`outline`) and the GB/T 2260 code of the
        administrative unit the area is (``500112``), empty when the area is not one: by CAP 1.2 an
        area is the union of its polygons and geocodes.
    scope, restriction
        ``Public``, or ``Restricted`` with who may read it (the responsible people).
    sender_zh, sender_en
        The issuer's name for people (``senderName``).
    note
        A note on the message (the source a relayed message names).
    sms
        The one-segment SMS text of the message (parameter :data:`PARAM_SMS` of the zh-CN info).
    identifier
        The message's identifier (GB/T 35965.1, :func:`warn.cap.national.gbt_identifier`); empty:
        :func:`identifier_for` the thread and version.
    incident
        Incident id (``incidents``); may be empty.
    headline_zh, headline_en, description_zh, description_en, instruction_zh, instruction_en
        Plain text for people, zh-CN first.
    response_type
        What people should do.
    references
        Every still-valid earlier message of the thread.
    probability
        Where the levels came from an ensemble run: the fraction (0–1) of its members reaching the
        warned level at its lead, carried as the parameter :data:`PARAM_PROBABILITY` and setting the
        ``certainty``; ``None`` (or NaN) without one (``certainty`` then follows the level).
    """

    sender: str
    thread: str
    version: int
    msg_type: MsgType
    status: CapStatus
    hazard: str
    event: Event
    level: Level
    sent: datetime
    onset: datetime
    expires: datetime
    area_name: str
    polygons: tuple[tuple[tuple[float, float], ...], ...]
    geocode: str
    incident: str
    sender_zh: str
    sender_en: str
    headline_zh: str
    headline_en: str
    description_zh: str
    description_en: str
    instruction_zh: str
    instruction_en: str
    response_type: ResponseType
    references: tuple[Reference, ...] = ()
    scope: Scope = Scope.PUBLIC
    restriction: str = ""
    note: str = ""
    sms: str = ""
    identifier: str = ""
    probability: float | None = None


_SEVERITY = {
    Level.RED: Severity.EXTREME,
    Level.ORANGE: Severity.SEVERE,
    Level.YELLOW: Severity.MODERATE,
    Level.BLUE: Severity.MINOR,
    Level.NONE: Severity.MINOR,
}


# ---------------------------------------------------------------- producing


def identifier_for(sender: str, thread: str, version: int) -> str:
    """Identifier of version ``version`` of ``thread``: ``{sender}.{thread}.v{version}``.

    Characters outside ``[A-Za-z0-9._:@/-]`` in the thread become ``-``.
    """
    return f"{sender}.{_UNSAFE_ID.sub('-', thread)}.v{version}"


def cap_time(moment: datetime) -> str:
    """``moment`` in ``+08:00`` to the second (``2026-07-15T20:00:00+08:00``)."""
    return moment.astimezone(CST).isoformat(timespec="seconds")


def severity_for(level: Level) -> Severity:
    """CAP severity of a colour level (red Extreme … blue Minor)."""
    return _SEVERITY[level]


def urgency_for(warning: CapWarning) -> Urgency:
    """``Past`` on an all-clear, ``Immediate`` when onset ≤ 1 h after sent, else ``Expected``."""
    if warning.response_type is ResponseType.ALL_CLEAR:
        return Urgency.PAST
    return Urgency.IMMEDIATE if warning.onset - warning.sent <= timedelta(hours=1) else Urgency.EXPECTED


def certainty_for(warning: CapWarning) -> Certainty:
    """``Observed`` on an all-clear; with an ensemble's probability of the warned level, ``Likely`` above
    :data:`LIKELY_ABOVE` and ``Possible`` at or below it; without one, ``Likely`` for orange/red,
    ``Possible`` for blue/yellow."""
    if warning.response_type is ResponseType.ALL_CLEAR:
        return Certainty.OBSERVED
    probability = warning.probability
    if probability is not None and _known(probability):
        return Certainty.LIKELY if probability > LIKELY_ABOVE else Certainty.POSSIBLE
    return Certainty.LIKELY if warning.level >= Level.ORANGE else Certainty.POSSIBLE


def _known(probability: float | None) -> bool:
    return probability is not None and not math.isnan(probability)


def outline(geometry: BaseGeometry, tolerance: float = 0.0005) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Closed ``(lon, lat)`` rings, one per polygon part, simplified with shapely.

    Holes are dropped (warning inside a hole errs on the safe side); a part that
    simplification would shrink below four points keeps its original ring.

    Parameters
    ----------
    geometry
        A (multi)polygon in WGS 84 longitude/latitude.
    tolerance
        Simplification tolerance, degrees.
    """
    parts = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    rings = []
    for part in parts:
        if not isinstance(part, Polygon):
            raise CapError(Problem("area geometry", "type", "Polygon or MultiPolygon", part.geom_type))
        simple = part.simplify(tolerance, preserve_topology=True)
        ring = simple.exterior.coords if len(simple.exterior.coords) >= 4 else part.exterior.coords
        rings.append(tuple((round(x, 6), round(y, 6)) for x, y, *_ in ring))
    return tuple(rings)


def build(warning: CapWarning) -> CapAlert:
    """The :class:`CapAlert` of a warning (not yet validated; see :func:`produce`), as its message says it —
    texts without the whitespace around them, times to the second in ``+08:00`` — so that :func:`parse` reads
    from the message what this returns."""
    _check_input(warning)
    return CapAlert(
        identifier=(warning.identifier or identifier_for(warning.sender, warning.thread, warning.version)).strip(),
        sender=warning.sender.strip(),
        sent=_second(warning.sent),
        status=warning.status,
        msg_type=warning.msg_type,
        scope=warning.scope,
        restriction=warning.restriction.strip(),
        note=warning.note.strip(),
        references=tuple(Reference(r.sender.strip(), r.identifier.strip(), _second(r.sent))
                         for r in warning.references),
        incidents=warning.incident.strip(),
        infos=(_info(warning, "zh-CN"), _info(warning, "en-US")),
    )


def _second(moment: datetime) -> datetime:
    """``moment`` in ``+08:00`` to the second, as a message writes it."""
    return moment.astimezone(CST).replace(microsecond=0)


def _pairs_said(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """``(valueName, value)`` pairs as a message writes them: without the whitespace around them."""
    return tuple((name.strip(), value.strip()) for name, value in pairs)


def _check_input(warning: CapWarning) -> None:
    problems = [
        Problem(f"CAP warning {warning.thread}", name, "a timezone-aware datetime", "naive")
        for name in ("sent", "onset", "expires")
        if getattr(warning, name).utcoffset() is None
    ]
    if warning.level not in _SEVERITY:
        problems.append(Problem(f"CAP warning {warning.thread}", "level", "a colour (or none on an all-clear)",
                                warning.level.name))
    if problems:
        raise CapError(*problems)


def _info(warning: CapWarning, language: str) -> Info:
    zh = language == "zh-CN"
    colour = warning.level.colour
    return Info(
        language=language,
        categories=(warning.event.category,),
        event=f"{warning.event.zh}预警".strip() if zh else f"{warning.event.en} warning".strip(),
        response_types=(warning.response_type,),
        urgency=urgency_for(warning),
        severity=severity_for(warning.level),
        certainty=certainty_for(warning),
        event_codes=_pairs_said((PARAM_HAZARD, warning.hazard), *warning.event.codes),
        onset=_second(warning.onset),
        expires=_second(warning.expires),
        sender_name=(warning.sender_zh if zh else warning.sender_en).strip(),
        headline=(warning.headline_zh if zh else warning.headline_en).strip(),
        description=(warning.description_zh if zh else warning.description_en).strip(),
        instruction=(warning.instruction_zh if zh else warning.instruction_en).strip(),
        parameters=_pairs_said((PARAM_LEVEL, colour), (PARAM_HAZARD, warning.hazard), (PARAM_COLOUR, colour.capitalize()),
                               *(((PARAM_SMS, warning.sms),) if zh and warning.sms else ()),
                               *(((PARAM_PROBABILITY, f"{warning.probability:.2f}"),) if _known(warning.probability)
                                 else ())),
        areas=(Area(
            desc=warning.area_name.strip(),
            polygons=tuple(tuple((lat, lon) for lon, lat in ring) for ring in warning.polygons),
            geocodes=_pairs_said((GEOCODE_ADMIN, warning.geocode)) if warning.geocode else (),
        ),),
    )


def serialise(alert: CapAlert) -> bytes:
    """The CAP 1.2 XML of ``alert`` (UTF-8, with declaration), in schema order, as lxml pretty-prints it.

    Written as text (a storm cycle publishes some 700 messages; :func:`produce_alert` parses and validates it).

    Raises
    ------
    ValueError
        A text XML cannot hold: a control character other than tab, line feed and carriage return, a
        surrogate, U+FFFE or U+FFFF (as lxml refuses it).
    """
    out = [_DECLARATION, f'<alert xmlns="{CAP_NS}">']
    for name, value in (("identifier", alert.identifier), ("sender", alert.sender), ("sent", _time(alert.sent)),
                        ("status", alert.status), ("msgType", alert.msg_type), ("scope", alert.scope)):
        _element(out, 1, name, value)
    for name, text in (("restriction", alert.restriction), ("note", alert.note)):
        if text:
            _element(out, 1, name, text)
    if alert.references:
        _element(out, 1, "references", " ".join(f"{r.sender},{r.identifier},{_time(r.sent)}" for r in alert.references))
    if alert.incidents:
        _element(out, 1, "incidents", alert.incidents)
    for info in alert.infos:
        out.append("  <info>")
        _write_info(out, info)
        out.append("  </info>")
    out.append("</alert>\n")
    document = "\n".join(out)
    unfit = _NOT_XML.search(document)
    if unfit is not None:
        raise ValueError(f"All strings must be XML compatible: CAP {alert.identifier} holds U+{ord(unfit.group()):04X} "
                         f"at character {unfit.start()}, expected no NULL byte, surrogate, U+FFFE, U+FFFF or control "
                         "character other than tab, line feed and carriage return")
    return document.encode("utf-8")


def _write_info(out: list[str], info: Info) -> None:
    """Append the lines of an ``info`` block's children (depth 2)."""
    _element(out, 2, "language", info.language)
    for category in info.categories:
        _element(out, 2, "category", category)
    _element(out, 2, "event", info.event)
    for response in info.response_types:
        _element(out, 2, "responseType", response)
    for name, value in (("urgency", info.urgency), ("severity", info.severity), ("certainty", info.certainty)):
        _element(out, 2, name, value)
    _pairs(out, 2, "eventCode", info.event_codes)
    for name, moment in (("onset", info.onset), ("expires", info.expires)):
        if moment is not None:
            _element(out, 2, name, _time(moment))
    for name, text in (("senderName", info.sender_name), ("headline", info.headline),
                       ("description", info.description), ("instruction", info.instruction)):
        if text:
            _element(out, 2, name, text)
    _pairs(out, 2, "parameter", info.parameters)
    for area in info.areas:
        out.append("    <area>")
        _element(out, 3, "areaDesc", area.desc)
        for ring in area.polygons:
            _element(out, 3, "polygon", " ".join(f"{lat!r},{lon!r}" for lat, lon in ring))
        _pairs(out, 3, "geocode", area.geocodes)
        out.append("    </area>")


def _element(out: list[str], depth: int, name: str, text: str) -> None:
    """Append ``<name>text</name>`` indented two spaces per ``depth``, its text escaped as lxml escapes it."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    out.append(f"{'  ' * depth}<{name}>{escaped}</{name}>")


def _pairs(out: list[str], depth: int, name: str, pairs: tuple[tuple[str, str], ...]) -> None:
    """Append a ``<name>`` block of ``valueName`` and ``value`` per pair."""
    indent = "  " * depth
    for value_name, value in pairs:
        out.append(f"{indent}<{name}>")
        _element(out, depth + 1, "valueName", value_name)
        _element(out, depth + 1, "value", value)
        out.append(f"{indent}</{name}>")


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def produce(warning: CapWarning) -> bytes:
    """The validated CAP 1.2 XML of ``warning``.

    Raises
    ------
    CapError
        Listing every problem :func:`validate` found; an invalid message is never returned.
    """
    return produce_alert(warning)[0]


def produce_alert(warning: CapWarning) -> tuple[bytes, CapAlert]:
    """The validated CAP 1.2 XML of ``warning`` (as :func:`produce`) and its alert (:func:`build`), which is what
    :func:`parse` reads from the XML — without reading it back (a storm cycle publishes some 700 messages).

    Raises
    ------
    CapError
        As :func:`produce`.
    """
    alert = build(warning)
    data = serialise(alert)
    root = _parse_tree(data)
    problems = _schema_problems(root) + _spec_problems(root) + _profile_problems(root)
    if problems:
        raise CapError(*problems)
    return data, alert


# ---------------------------------------------------------------- validating


def validate(data: bytes) -> list[Problem]:
    """Every problem of a message to publish: both XSDs, the CAP rules and the district profile.

    Returns an empty list for a valid message.
    """
    try:
        root = _parse_tree(data)
    except CapError as error:
        return list(error.problems)
    return _schema_problems(root) + _spec_problems(root) + _profile_problems(root)


@cache
def _schema(filename: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / filename), _safe_parser()))


def _schema_problems(root: etree._Element) -> list[Problem]:
    problems = []
    for label, filename in SCHEMAS.items():
        schema = _schema(filename)
        if not schema.validate(root):
            problems += [Problem(_where(root), f"line {e.line}", f"valid against {label}", e.message)
                         for e in schema.error_log]
    return problems


def _where(root: etree._Element) -> str:
    return f"CAP {_text(root, 'identifier') or '(no identifier)'}"


def _text(node: etree._Element, name: str) -> str:
    """The stripped text of ``node``'s first CAP child ``name``, ``""`` without one (children filtered in C,
    without ``find``'s path parsing: a message is read some 40 times)."""
    found = next(node.iterchildren(_Q + name), None)
    return (found.text or "").strip() if found is not None else ""


def _path(node: etree._Element) -> str:
    parts = []
    while node is not None:
        parent = node.getparent()
        name = etree.QName(node).localname
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            name += f"[{same.index(node) + 1}]" if len(same) > 1 else ""
        parts.append(name)
        node = parent
    return "/".join(reversed(parts))


def _spec_problems(root: etree._Element) -> list[Problem]:
    """Rules of the CAP 1.2 specification that the XSD does not check."""
    where = _where(root)
    problems = _references_problems(root, where)
    if _text(root, "scope") == Scope.RESTRICTED and not _text(root, "restriction"):
        problems.append(Problem(where, "alert/restriction", "who may read a Restricted message", "none"))
    for polygon in root.iterfind(f"{_Q}info/{_Q}area/{_Q}polygon"):
        problems += _polygon_problems(polygon, where)
    return problems


def _references_problems(root: etree._Element, where: str) -> list[Problem]:
    references = root.find(_Q + "references")
    text = (references.text or "").strip() if references is not None else ""
    if _text(root, "msgType") in (MsgType.UPDATE, MsgType.CANCEL) and not text:
        return [Problem(where, "alert/references", "the sender,identifier,sent of every message an Update or Cancel "
                                                   "replaces", "none")]
    return [Problem(where, "alert/references", "sender,identifier,sent triplets separated by spaces", triplet)
            for triplet in text.split()
            if len(triplet.split(",")) != 3 or not _TIME.fullmatch(triplet.split(",")[-1])]


def _polygon_problems(node: etree._Element, where: str) -> list[Problem]:
    key = _path(node)
    try:
        points = _points(node.text or "")
    except ValueError:
        return [Problem(where, key, "space-separated lat,lon pairs of numbers", (node.text or "")[:60])]
    problems = []
    if len(points) < 4:
        problems.append(Problem(where, key, "at least 4 lat,lon points", f"{len(points)}"))
    if points and points[0] != points[-1]:
        problems.append(Problem(where, key, "a closed ring (first point equal to last)",
                                f"first {points[0]}, last {points[-1]}"))
    problems += [Problem(where, key, "latitude in [-90, 90] and longitude in [-180, 180]", f"{lat},{lon}")
                 for lat, lon in points if not (-90 <= lat <= 90 and -180 <= lon <= 180)]
    return problems


def _points(text: str) -> tuple[tuple[float, float], ...]:
    points = []
    for pair in text.split():
        lat, lon = pair.split(",")
        points.append((float(lat), float(lon)))
    return tuple(points)


def _profile_problems(root: etree._Element) -> list[Problem]:
    """The district profile: times, expires, languages, infos alike, headline, plain text, tokens."""
    where = _where(root)
    infos = root.findall(_Q + "info")
    return (_token_problems(root, where) + _time_problems(root, where) + _language_problems(infos, where)
            + _alike_problems(infos, where) + _text_problems(infos, where))


def _token_problems(root: etree._Element, where: str) -> list[Problem]:
    return [Problem(where, f"alert/{name}", "no spaces, commas, '<' or '&'", repr(_text(root, name)))
            for name in ("identifier", "sender") if not _TOKEN.fullmatch(_text(root, name))]


def _time_problems(root: etree._Element, where: str) -> list[Problem]:
    problems = []
    sent_text = _text(root, "sent")
    for name in ("sent", f"{_Q}info/{_Q}effective", f"{_Q}info/{_Q}onset", f"{_Q}info/{_Q}expires"):
        for node in root.iterfind(_Q + name if name == "sent" else name):
            if not _TIME.fullmatch((node.text or "").strip()):
                problems.append(Problem(where, _path(node), "a time with an explicit offset such as +08:00, never Z",
                                        node.text or ""))
    for info in root.iterfind(_Q + "info"):
        expires = info.find(_Q + "expires")
        if expires is None:
            problems.append(Problem(where, _path(info) + "/expires", "an expires time", "none"))
        elif _TIME.fullmatch(sent_text) and _TIME.fullmatch(expires_text := (expires.text or "").strip()) \
                and _not_before(sent_text, expires_text):
            problems.append(Problem(where, _path(expires), f"a time after sent {sent_text}", expires_text))
    return problems


def _not_before(first: str, second: str) -> bool:
    return datetime.fromisoformat(first) >= datetime.fromisoformat(second)


def _language_problems(infos: list[etree._Element], where: str) -> list[Problem]:
    got = [_text(info, "language") for info in infos]
    if got[:2] != ["zh-CN", "en-US"]:
        return [Problem(where, "alert/info/language", "a zh-CN info first, then an en-US info", ", ".join(got))]
    return []


def _alike_problems(infos: list[etree._Element], where: str) -> list[Problem]:
    problems = []
    for name in ("category", "eventCode"):
        shapes = {tuple(etree.tostring(n, method="c14n") for n in info.findall(_Q + name)) for info in infos}
        if len(shapes) > 1:
            problems.append(Problem(where, f"alert/info/{name}", f"the same {name} in every info",
                                    f"{len(shapes)} different"))
    return problems


def _text_problems(infos: list[etree._Element], where: str) -> list[Problem]:
    problems = []
    for info in infos:
        headline = info.find(_Q + "headline")
        if headline is not None and len(headline.text or "") >= HEADLINE_LIMIT:
            problems.append(Problem(where, _path(headline), f"fewer than {HEADLINE_LIMIT} characters",
                                    f"{len(headline.text)}"))
        for name in ("headline", "description", "instruction"):
            node = info.find(_Q + name)
            if node is not None and _HTML.search(node.text or ""):
                problems.append(Problem(where, _path(node), "plain text without HTML tags or entities",
                                        _HTML.search(node.text).group()))
    return problems


# ---------------------------------------------------------------- parsing


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, remove_pis=True)


def _parse_tree(data: bytes) -> etree._Element:
    """The root element of ``data``, refusing DTDs and entities and anything but a CAP 1.2 ``alert``."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CapError(Problem("CAP message", "DOCTYPE", "no DTD or entity declarations", "a DOCTYPE"))
    try:
        tree = etree.ElementTree(etree.fromstring(data, _safe_parser()))
    except etree.XMLSyntaxError as error:
        raise CapError(Problem("CAP message", "XML", "well-formed XML", str(error))) from None
    if tree.docinfo.doctype or any(isinstance(n, etree._Entity) for n in tree.iter()):
        raise CapError(Problem("CAP message", "DOCTYPE", "no DTD or entity references", "a DOCTYPE or entity"))
    root = tree.getroot()
    if root.tag != _Q + "alert":
        raise CapError(Problem("CAP message", "alert", f"a CAP 1.2 alert in namespace {CAP_NS}", root.tag,
                               "CAP 1.1 and other namespaces are not accepted"))
    return root


def parse(data: bytes) -> CapAlert:
    """Read an incoming CAP 1.2 message safely.

    Entities, DTDs, network and processing instructions are off; a DOCTYPE is
    refused; the namespace, not the prefix, is what counts; the declared encoding
    (UTF-8, ISO-8859-1 …) is honoured.

    Raises
    ------
    CapError
        If the message is not well-formed CAP 1.2, fails either XSD or breaks a
        rule of the CAP specification (references, polygons).
    """
    root = _parse_tree(data)
    problems = _schema_problems(root) + _spec_problems(root)
    if problems:
        raise CapError(*problems)
    return _read(root)


def _read(root: etree._Element) -> CapAlert:
    """The alert of a message's validated tree."""
    return CapAlert(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent=datetime.fromisoformat(_text(root, "sent")),
        status=CapStatus(_text(root, "status")),
        msg_type=MsgType(_text(root, "msgType")),
        scope=Scope(_text(root, "scope")),
        restriction=_text(root, "restriction"),
        note=_text(root, "note"),
        references=tuple(_reference(t) for t in _text(root, "references").split()),
        incidents=_text(root, "incidents"),
        infos=tuple(_read_info(node) for node in root.iterfind(_Q + "info")),
    )


def _reference(triplet: str) -> Reference:
    sender, identifier, sent = triplet.split(",")
    return Reference(sender, identifier, datetime.fromisoformat(sent))


def _read_info(node: etree._Element) -> Info:
    return Info(
        language=_text(node, "language") or "en-US",
        categories=tuple(Category(n.text.strip()) for n in node.iterfind(_Q + "category")),
        event=_text(node, "event"),
        response_types=tuple(ResponseType(n.text.strip()) for n in node.iterfind(_Q + "responseType")),
        urgency=Urgency(_text(node, "urgency")),
        severity=Severity(_text(node, "severity")),
        certainty=Certainty(_text(node, "certainty")),
        event_codes=_read_pairs(node, "eventCode"),
        onset=_read_time(node, "onset"),
        expires=_read_time(node, "expires"),
        sender_name=_text(node, "senderName"),
        headline=_text(node, "headline"),
        description=_text(node, "description"),
        instruction=_text(node, "instruction"),
        parameters=_read_pairs(node, "parameter"),
        areas=tuple(Area(
            desc=_text(area, "areaDesc"),
            polygons=tuple(_points(p.text or "") for p in area.iterfind(_Q + "polygon")),
            geocodes=_read_pairs(area, "geocode"),
        ) for area in node.iterfind(_Q + "area")),
    )


def _read_pairs(node: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple((_text(n, "valueName"), _text(n, "value")) for n in node.iterfind(_Q + name))


def _read_time(node: etree._Element, name: str) -> datetime | None:
    text = _text(node, name)
    return datetime.fromisoformat(text) if text else None
