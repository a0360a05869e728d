"""The words of a Chinese warning: one :class:`Notice` → headline, description, instruction, SMS, rich text.

Pure: the texts come from a templates file (``playbooks/messages/messages.yaml``, operators
edit it) read once by :func:`load_templates`; :func:`word` fills them for one notice — one
hazard, one town (or the district), one audience, one update.

The templates file holds, per hazard × level (``blue`` … ``red``, ``all_clear``) × audience
(``public``, ``restricted``), the zh-CN ``headline``, ``description``, ``instruction`` (the
防御指南 of that hazard and level, with its ``source``) and ``sms``, and the en-US headline,
description and instruction. A text is a string or a list of parts; a part naming a value
that is empty (``{expected}`` not known, no ``{places}``) is left out. Placeholders:

``{issuer}`` who issues (or relays); ``{sent}``, ``{until}`` Beijing time, ``7月15日14时30分``;
``{area}`` the town or district; ``{places}`` the points and villages by name, highest level
first, ``等N处`` past ``places_listed`` names; ``{count}`` how many; ``{expected}`` what is
expected; ``{probability}`` where the levels came from an ensemble run, the members' probability
of the warned level (``集合预报红色概率35%`` / ``ensemble red probability 35 %``); ``{level}``
``红色`` …; ``{reference}`` the short reference; ``{relayed_from}`` the original issuer of a
relayed warning.

**SMS** (one UCS-2 segment, at most :data:`SMS_LIMIT` UTF-16 code units): the parts of
``sms`` with the places listed in full; when too long, the places are shortened (fewer names,
then ``N处``), then the short issuer is used (the places again in full first), then the parts
marked ``drop: N`` are dropped, highest N first (each time trying the issuer and the places at
their longest again). Nothing is cut inside a word; when even the parts never dropped do not fit,
:func:`word` raises :class:`~warn.errors.ConfigError` naming the template.

zh-CN texts hold no Latin words other than codes and units (:func:`latin_words`): no rule
ids, no level numbers, no English. A relayed hazard (``relayed: true``, the met office's
rainstorm signal) names ``{relayed_from}`` in every headline: the district relays it, never
issues it.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field

from warn.cap.codec import HEADLINE_LIMIT
from warn.declarative import Strict, parse_file
from warn.errors import ConfigError, Problem, WarnError
from warn.vocab import COLOURS, Audience, Level

#: Longest SMS, UTF-16 code units: one UCS-2 segment.
SMS_LIMIT = 70
#: The template file's key of the all-clear texts.
ALL_CLEAR = "all_clear"
#: Template keys of the levels, lowest first, then the all-clear.
LEVEL_KEYS: tuple[str, ...] = (*COLOURS, ALL_CLEAR)
#: The templates file, relative to the playbooks folder (a sub-folder: the playbook loader reads
#: every ``*.yaml`` of the folder itself as a playbook).
TEMPLATES_FILE = Path("messages") / "messages.yaml"
#: Placeholders a template may name.
PLACEHOLDERS = ("issuer", "sent", "until", "area", "places", "count", "expected", "level", "reference",
                "relayed_from", "probability")
#: Units allowed as Latin words in zh-CN text.
UNITS = frozenset({"mm", "cm", "m", "km", "h", "min", "s", "mm/h", "m/s", "m3/s", "m³/s", "km2", "km²", "hPa"})
BEIJING = timezone(timedelta(hours=8))
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")

_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./³²-]*")
_CODE = re.compile(r"[A-Z0-9]+(?:[-_/.][A-Z0-9]+)*")
_LEVEL_NUMBER = re.compile(r"L\d")
_CAP_UNSAFE = str.maketrans({"<": "＜", ">": "＞", "&": "＆"})


@dataclass(frozen=True)
class Place:
    """One item a message covers.

    Attributes
    ----------
    name
        As the layer names it (``龙王村滑坡隐患点``, ``双凤桥下穿道``).
    kind_zh
        What it is: ``隐患点``, ``积水点``, ``镇街``, ``小流域``, ``水文站``.
    level
        Its level.
    """

    name: str
    kind_zh: str
    level: Level


@dataclass(frozen=True)
class Notice:
    """What one message says: one hazard, one area, one audience, one update.

    Attributes
    ----------
    hazard
        Registry name (``landslide`` …), a hazard of the templates file.
    level
        The highest level listed; ``Level.NONE`` for an all-clear.
    audience
        Public or restricted.
    issuer
        Who issues (or relays) it, zh (``渝北区防汛抗旱指挥部办公室``).
    sent, until
        When it is sent and when it expires; timezone-aware.
    area
        The town or street, or the district.
    places
        The items it covers.
    expected
        What is expected, zh (``未来3小时累计雨量可达60毫米``); empty when unknown.
    reference
        Short reference people can quote (``渝北202607151430-3``).
    relayed_from
        The original issuer of a relayed warning (``渝北区气象台``), else empty.
    issuer_short
        The issuer's short name for SMS (``渝北区防汛办``); empty: none (added to the brief's fields).
    probability
        Where the levels came from an ensemble run: the fraction (0–1) of its members reaching
        ``level``; ``None`` without one (``{probability}`` is then empty).
    """

    hazard: str
    level: Level
    audience: Audience
    issuer: str
    sent: datetime
    until: datetime
    area: str
    places: tuple[Place, ...]
    expected: str = ""
    reference: str = ""
    relayed_from: str = ""
    issuer_short: str = ""
    probability: float | None = None


@dataclass(frozen=True)
class Wording:
    """The texts of one message: CAP info fields in zh-CN and en-US, the SMS and the rich text."""

    headline_zh: str
    description_zh: str
    instruction_zh: str
    headline_en: str
    description_en: str
    instruction_en: str
    sms: str
    rich: str


def _parts(value: object) -> object:
    return [value] if isinstance(value, str) else value


#: A text: one string or a list of parts (a part naming an empty value is left out).
Parts = Annotated[list[str], BeforeValidator(_parts), Field(min_length=1)]


class SmsPart(Strict):
    """One part of an SMS: ``drop`` 0 is never dropped; higher numbers are dropped first."""

    text: str = Field(min_length=1)
    drop: int = Field(0, ge=0)


def _sms_part(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


class ZhTexts(Strict):
    headline: Parts
    description: Parts
    instruction: Parts
    sms: list[Annotated[SmsPart, BeforeValidator(_sms_part)]] = Field(min_length=1)


class EnTexts(Strict):
    headline: Parts
    description: Parts
    instruction: Parts


class AudienceTexts(Strict):
    zh: ZhTexts
    en: EnTexts


class LevelTexts(Strict):
    """One level of a hazard: where its guidance comes from, and the texts per audience."""

    source: str = Field(min_length=1)
    public: AudienceTexts
    restricted: AudienceTexts

    def audience(self, audience: Audience) -> AudienceTexts:
        return self.public if audience is Audience.PUBLIC else self.restricted


class Levels(Strict):
    blue: LevelTexts
    yellow: LevelTexts
    orange: LevelTexts
    red: LevelTexts
    all_clear: LevelTexts


class HazardTexts(Strict):
    """One hazard: its names, whether the district only relays it, its texts per level."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    relayed: bool = False
    levels: Levels


class TemplatesFile(Strict):
    """``playbooks/messages/messages.yaml``."""

    version: int = Field(ge=1)
    places_listed: int = Field(10, ge=1, description="names a description lists before 等N处")
    hazards: dict[str, HazardTexts] = Field(min_length=1)


@dataclass(frozen=True)
class Templates:
    """A validated templates file and where it came from (for the messages of errors)."""

    path: Path
    file: TemplatesFile

    def texts(self, hazard: str, level_key: str, audience: Audience) -> AudienceTexts:
        """The texts of ``hazard`` at ``level_key`` (a colour or ``all_clear``) for ``audience``."""
        entry = self.file.hazards.get(hazard)
        if entry is None:
            raise ConfigError(Problem(str(self.path), f"hazards.{hazard}", "the templates of the hazard",
                                      "none", f"hazards with templates: {', '.join(self.file.hazards)}"))
        level_texts: LevelTexts = getattr(entry.levels, level_key)
        return level_texts.audience(audience)


def load_templates(path: Path) -> Templates:
    """Read and validate a templates file.

    Besides its shape (every level and audience present), every placeholder is one of
    :data:`PLACEHOLDERS`, no zh-CN text holds a Latin word other than codes and units, and a
    relayed hazard names ``{relayed_from}`` in every headline.

    Raises
    ------
    ConfigError
        Every problem at once, each naming the file and the key.
    """
    file = parse_file(TemplatesFile, path)
    problems = list(_problems(file, str(path)))
    if problems:
        raise ConfigError(*problems)
    return Templates(path, file)


def _texts(file: TemplatesFile) -> Iterator[tuple[str, str, str, str, str, list[str]]]:
    """(hazard, level key, audience, language, field, parts) of every text of the file."""
    for hazard, entry in file.hazards.items():
        for level_key in LEVEL_KEYS:
            level_texts: LevelTexts = getattr(entry.levels, level_key)
            for audience in Audience:
                texts = level_texts.audience(audience)
                for field in ("headline", "description", "instruction"):
                    yield hazard, level_key, audience.value, "zh", field, getattr(texts.zh, field)
                    yield hazard, level_key, audience.value, "en", field, getattr(texts.en, field)
                yield hazard, level_key, audience.value, "zh", "sms", [part.text for part in texts.zh.sms]


def _problems(file: TemplatesFile, where: str) -> Iterator[Problem]:
    for hazard, level_key, audience, language, field, parts in _texts(file):
        key = f"hazards.{hazard}.levels.{level_key}.{audience}.{language}.{field}"
        for index, part in enumerate(parts):
            yield from _part_problems(part, language, where, key if len(parts) == 1 else f"{key}.{index}")
        if file.hazards[hazard].relayed and field == "headline" and "relayed_from" not in _named(parts):
            yield Problem(where, key, "a headline naming {relayed_from}: the district relays this warning, "
                          "it never issues it", repr("".join(parts)))
    yield from _sms_minimum(file, where)


def _part_problems(part: str, language: str, where: str, key: str) -> Iterator[Problem]:
    """Unknown or malformed placeholders, and Latin words in zh-CN, of one part."""
    try:
        names = _fields(part)
    except ValueError as err:
        yield Problem(where, key, "text with placeholders like {area}", repr(part), str(err))
        return
    unknown = sorted(set(names) - set(PLACEHOLDERS))
    if unknown:
        yield Problem(where, key, f"placeholders among {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                      ", ".join("{" + u + "}" for u in unknown))
    latin = latin_words(_without_fields(part)) if language == "zh" else []
    if latin:
        yield Problem(where, key, "zh-CN text without Latin words (no rule ids, level numbers or English; codes and "
                      "units only)", ", ".join(latin))


def _sms_minimum(file: TemplatesFile, where: str) -> Iterator[Problem]:
    """The parts of every SMS never dropped name who ({issuer}), where ({area}, or {relayed_from} for a
    relayed hazard) and the reference."""
    for hazard, entry in file.hazards.items():
        wanted = ("issuer", "relayed_from" if entry.relayed else "area", "reference")
        for level_key in LEVEL_KEYS:
            for audience in Audience:
                parts = getattr(entry.levels, level_key).audience(audience).zh.sms
                missing = [name for name in wanted if name not in _named([p.text for p in parts if not p.drop])]
                if missing:
                    yield Problem(where, f"hazards.{hazard}.levels.{level_key}.{audience.value}.zh.sms",
                                  "parts never dropped naming who, where and the reference ("
                                  + ", ".join("{" + name + "}" for name in wanted) + ")",
                                  "no " + ", ".join("{" + name + "}" for name in missing))


def _named(parts: Sequence[str]) -> set[str]:
    """The placeholders the well-formed ``parts`` name."""
    return {name for part in parts if _parses(part) for name in _fields(part)}


@lru_cache(maxsize=4096)
def _fields(text: str) -> tuple[str, ...]:
    """The placeholder names of ``text``; ``ValueError`` for a broken brace, a format spec or a conversion.

    Remembered per text: a storm cycle fills the same template parts for hundreds of messages, the SMS parts
    many times each.
    """
    names = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError("plain placeholders only: {name}, no format spec, conversion or index")
        names.append(name)
    return tuple(names)


def _parses(text: str) -> bool:
    try:
        _fields(text)
    except ValueError:
        return False
    return True


def _without_fields(text: str) -> str:
    return "".join(literal for literal, *_ in string.Formatter().parse(text))


def latin_words(text: str) -> list[str]:
    """The Latin words in a zh-CN ``text`` other than codes and units, in order.

    A unit is one of :data:`UNITS`, alone or after a number (``60mm``); a code is upper-case
    letters and digits with at least one digit (``DEMO-T11``, ``11B06``) — but ``L3``-style
    level numbers are words, as are rule ids (``WARN-RAISE``) and English.
    """
    words = []
    for token in _LATIN.findall(text):
        token = token.rstrip("./-")
        if not any(c.isascii() and c.isalpha() for c in token):
            continue
        unit = token.lstrip("0123456789.")
        if unit in UNITS:
            continue
        if _CODE.fullmatch(token) and any(c.isdigit() for c in token) and not _LEVEL_NUMBER.fullmatch(token):
            continue
        words.append(token)
    return words


def word(notice: Notice, templates: Templates) -> Wording:
    """The texts of ``notice`` from ``templates``.

    Raises
    ------
    WarnError
        The notice cannot be worded: a naive time, ``until`` not after ``sent``, an unknown level,
        an empty issuer or area, a relayed hazard without ``relayed_from``.
    ConfigError
        No templates for the hazard; the SMS does not fit one segment even at its minimum; a
        headline reaches :data:`HEADLINE_LIMIT`.
    """
    _check(notice, templates)
    level_key = ALL_CLEAR if notice.level is Level.NONE else notice.level.colour
    texts = templates.texts(notice.hazard, level_key, notice.audience)
    key = f"hazards.{notice.hazard}.levels.{level_key}.{notice.audience.value}"
    listed = templates.file.places_listed
    zh, en = _values_zh(notice, listed), _values_en(notice, listed)
    headline_zh, headline_en = _fill(texts.zh.headline, zh), _fill(texts.en.headline, en)
    for text, language in ((headline_zh, "zh"), (headline_en, "en")):
        if len(text) >= HEADLINE_LIMIT:
            raise ConfigError(Problem(str(templates.path), f"{key}.{language}.headline",
                                      f"a headline of fewer than {HEADLINE_LIMIT} characters", f"{len(text)}: {text}",
                                      "name the area and the count in the headline, the places in the description"))
    description_zh, instruction_zh = _fill(texts.zh.description, zh), _fill(texts.zh.instruction, zh)
    description_en, instruction_en = _fill(texts.en.description, en), _fill(texts.en.instruction, en)
    rich = "\n\n".join(t for t in (f"**{headline_zh}**", description_zh, instruction_zh,
                                   f"**{headline_en}**", description_en, instruction_en) if t)
    return Wording(headline_zh=headline_zh, description_zh=description_zh, instruction_zh=instruction_zh,
                   headline_en=headline_en, description_en=description_en, instruction_en=instruction_en,
                   sms=_sms(notice, texts.zh.sms, zh, str(templates.path), f"{key}.zh.sms"), rich=rich)


def _check(notice: Notice, templates: Templates) -> None:
    where = f"notice {notice.hazard}/{notice.area}"
    problems = [Problem(where, name, "a timezone-aware time", moment.isoformat())
                for name, moment in (("sent", notice.sent), ("until", notice.until)) if moment.utcoffset() is None]
    if not problems and notice.until <= notice.sent:
        problems.append(Problem(where, "until", f"a time after sent ({notice.sent.isoformat()})",
                                notice.until.isoformat()))
    if notice.level is Level.UNKNOWN:
        problems.append(Problem(where, "level", "a colour level, or Level.NONE for an all-clear", "unknown",
                                "missing evidence is not worded as a warning or an all-clear"))
    problems += [Problem(where, name, "a name, zh", "nothing") for name in ("issuer", "area")
                 if not getattr(notice, name).strip()]
    problems += [Problem(where, f"places.{i}.name", "a name", "nothing") for i, p in enumerate(notice.places)
                 if not p.name.strip()]
    entry = templates.file.hazards.get(notice.hazard)
    if entry is not None and entry.relayed and not notice.relayed_from.strip():
        problems.append(Problem(where, "relayed_from", f"the original issuer: {notice.hazard} warnings are relayed, "
                                "never issued by the district", "nothing"))
    if problems:
        raise WarnError(*problems)


def _fill(parts: Sequence[str], values: Mapping[str, str]) -> str:
    """The parts filled with ``values`` and joined; a part naming an empty value is left out."""
    return "".join(part.format_map(values) for part in parts
                   if all(values.get(name) for name in _fields(part))).strip()


def _safe(text: str) -> str:
    """``text`` without what CAP refuses in free text (``<``, ``>``, ``&`` become full-width)."""
    return text.translate(_CAP_UNSAFE).strip()


def zh_time(moment: datetime) -> str:
    """``7月15日14时30分`` in Beijing time (``7月15日14时`` on the hour)."""
    local = moment.astimezone(BEIJING)
    text = f"{local.month}月{local.day}日{local.hour}时"
    return text + (f"{local.minute}分" if local.minute else "")


def en_time(moment: datetime) -> str:
    """``14:30 on 15 July (Beijing time)``."""
    local = moment.astimezone(BEIJING)
    return f"{local:%H:%M} on {local.day} {_MONTHS[local.month - 1]} (Beijing time)"


def _names(places: Sequence[Place]) -> list[str]:
    """The places' names, highest level first, then in the order given."""
    return [_safe(place.name) for place in sorted(places, key=lambda place: -int(place.level))]


def _listing(names: Sequence[str], shown: int) -> str:
    """The first ``shown`` names, then ``等N处`` when there are more."""
    return "、".join(names[:shown]) + (f"等{len(names)}处" if len(names) > shown else "")


def _places_zh(places: Sequence[Place], listed: int) -> str:
    return _listing(_names(places), listed)


def _places_en(places: Sequence[Place], listed: int) -> str:
    names = _names(places)
    return ", ".join(names[:listed]) + (f" and {len(names) - listed} more" if len(names) > listed else "")


def _common(notice: Notice) -> dict[str, str]:
    return {"issuer": _safe(notice.issuer), "area": _safe(notice.area), "count": str(len(notice.places)) * bool(
        notice.places), "reference": _safe(notice.reference), "relayed_from": _safe(notice.relayed_from)}


def _values_zh(notice: Notice, listed: int) -> dict[str, str]:
    return _common(notice) | {
        "sent": zh_time(notice.sent), "until": zh_time(notice.until), "places": _places_zh(notice.places, listed),
        "expected": _safe(notice.expected), "level": notice.level.zh if notice.level > Level.NONE else "",
        "probability": f"集合预报{notice.level.zh}概率{_percent(notice)}%" if _percent(notice) else ""}


def _values_en(notice: Notice, listed: int) -> dict[str, str]:
    return _common(notice) | {
        "sent": en_time(notice.sent), "until": en_time(notice.until), "places": _places_en(notice.places, listed),
        "expected": _safe(notice.expected), "level": notice.level.colour if notice.level > Level.NONE else "",
        "probability": f"ensemble {notice.level.colour} probability {_percent(notice)} %" if _percent(notice) else ""}


def _percent(notice: Notice) -> str:
    """The notice's probability in whole percent; empty without one (or on an all-clear)."""
    p = notice.probability
    return "" if p is None or math.isnan(p) or notice.level <= Level.NONE else f"{100 * p:.0f}"


def sms_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as a UCS-2 SMS counts it."""
    return len(text.encode("utf-16-le")) // 2


def _place_variants(places: Sequence[Place]) -> list[str]:
    """The places in SMS forms, longest first: every name, fewer names with 等N处, then only N处."""
    names = _names(places)
    if not names:
        return [""]
    kinds = {place.kind_zh for place in places}
    return [_listing(names, shown) for shown in range(len(names), 0, -1)] + [
        f"{len(names)}处{kinds.pop() if len(kinds) == 1 else ''}"]


def _sms(notice: Notice, parts: Sequence[SmsPart], values: Mapping[str, str], where: str, key: str) -> str:
    """The longest SMS of ``parts`` that fits :data:`SMS_LIMIT` (see the module docstring)."""
    issuers = [values["issuer"], *([_safe(notice.issuer_short)] if notice.issuer_short.strip() else [])]
    places = _place_variants(notice.places)
    drops = [0, *sorted({part.drop for part in parts if part.drop}, reverse=True)]
    attempts = [(issuer, p, drop) for drop in drops for issuer in issuers for p in places]
    text = ""
    for issuer, place_text, dropped_from in attempts:
        filled = dict(values, issuer=issuer, places=place_text)
        kept = [part.text for part in parts if not (dropped_from and part.drop >= dropped_from)]
        text = _fill(kept, filled)
        if sms_length(text) <= SMS_LIMIT:
            return text
    raise ConfigError(Problem(where, key, f"an SMS of at most {SMS_LIMIT} characters once the places are shortened "
                              "and the parts marked drop are left out", f"{sms_length(text)}: {text}",
                              "shorten the parts never dropped, or give the issuer a short name"))
