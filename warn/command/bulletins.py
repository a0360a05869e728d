"""Message threads: what people read, one per hazard, area and audience, updated only when it matters.

The warning threads of :mod:`warn.command.warnings` are the centre's own record, one per item
(a hazard point, a waterlogging point, a town, a catchment …). People read *messages*: one
thread of messages per hazard, area — the town/street the items lie in, or the district for a
district-wide item — and audience (:class:`~warn.vocab.Audience`):

- ``restricted`` (the responsible people: duty officers, town and community responsible
  persons, monitors) lists every item of the hazard in the area at blue or above;
- ``public`` lists the items at or above the hazard's public level
  (:attr:`Publication.public_from`: geohazard from yellow, practice's level III); a hazard
  without one — the met office's rainstorm signal, which the district relays and never issues
  (气象法 Art. 22) — has no public thread.

:func:`review` compares what each thread should list now with what its last message said:

- nothing said yet and something to say → a new thread (``PUB-ALERT``, CAP Alert);
- an item new in the list or at a higher level than its last message gave it → an update at
  once (``PUB-UPDATE``): a rise is never held back;
- any other change (a level down, an item gone) → an update once :attr:`Publication.min_interval`
  has passed since the last message; a change undone before then sends nothing;
- nothing left to list → the all-clear of the thread (``PUB-CLEAR``), after the same interval;
- a re-score that leaves the list as it was → nothing.

An item in its all-clear hold (level none, not yet cleared) keeps the level its last message
gave it: a message says a warning is over only when the thread is cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from warn.command.model import Broadcast, BroadcastKind, Listed, label
from warn.command.warnings import WarningThread
from warn.vocab import Audience, HazardName, Level

#: The shortest time between two messages of one thread, unless a level rises.
MIN_INTERVAL = timedelta(minutes=30)


@dataclass(frozen=True)
class Publication:
    """Who reads which warnings (config.yaml ``publication:``).

    Attributes
    ----------
    public_from
        The lowest level published to the public, per hazard; a hazard not named is never public.
    min_interval
        The shortest time between two messages of one thread unless a level rises.
    """

    public_from: Mapping[HazardName, Level] = field(default_factory=dict)
    min_interval: timedelta = MIN_INTERVAL

    def audiences(self, hazard: HazardName) -> tuple[Audience, ...]:
        """Return the audiences of ``hazard``'s messages: the responsible people, and the public if it has a level."""
        return (Audience.RESTRICTED, Audience.PUBLIC) if hazard in self.public_from else (Audience.RESTRICTED,)

    def lowest(self, hazard: HazardName, audience: Audience) -> Level:
        """Return the lowest level a message of ``hazard`` for ``audience`` lists."""
        return self.public_from[hazard] if audience is Audience.PUBLIC else Level.BLUE


@dataclass(frozen=True)
class Bulletin:
    """One message thread.

    Attributes
    ----------
    id
        ``<hazard>:<area>:<audience>:<opened UTC %Y%m%dT%H%MZ>``.
    hazard, area, audience
        What, where (a town's zone id or the district code), for whom.
    incident
        The incident it was opened in.
    version
        1 for the first message, +1 for each after.
    issued_at
        When its last message was issued.
    listed
        What its last message listed, by item id.
    cleared_at
        When its all-clear was issued (``None`` while it runs).
    """

    id: str
    hazard: HazardName
    area: str
    audience: Audience
    incident: str
    version: int
    issued_at: datetime
    listed: tuple[Listed, ...]
    cleared_at: datetime | None = None

    @property
    def level(self) -> Level:
        """The highest level listed (``NONE`` when nothing is)."""
        return max((item.level for item in self.listed), default=Level.NONE)


def slot_of(hazard: HazardName, area: str, audience: Audience) -> str:
    """Key of the (hazard, area, audience) slot that holds at most one running message thread."""
    return f"{hazard}:{area}:{audience}"


def area_of(thread: WarningThread, district: str) -> str:
    """Return the area whose message lists ``thread``: its town, or the district for a district-wide item."""
    return thread.town or district


def review(bulletins: Mapping[str, Bulletin], threads: Iterable[WarningThread], now: datetime, *,
           rules: Publication, district: str, incident: str | None, serial: int, earlier: int = 0,
           names: Mapping[HazardName, str]) -> tuple[dict[str, Bulletin], list[Broadcast], int]:
    """Compare every message thread with what it should list at ``now`` and issue what is due.

    Parameters
    ----------
    bulletins
        The message threads by slot (:func:`slot_of`), as last issued.
    threads
        Every warning thread the planner holds.
    now
        The time of the review (UTC); messages issued are issued at it.
    rules
        Audiences and the minimum interval.
    district
        The district's code (the area of district-wide items).
    incident
        The incident open now (a new message thread is opened in it); ``None`` when none is.
    serial
        The number of messages issued before (each message issued takes the next).
    earlier
        The number of messages already issued at ``now`` (the first issued here takes that index).
    names
        The hazards' names for people (``{"landslide": "地质灾害"}``), for the timeline texts.

    Returns
    -------
    (bulletins, broadcasts, serial)
        The message threads after the review, the messages to publish in order, the new count.
    """
    threads = list(threads)
    wanted = _wanted(bulletins, threads, rules, district)
    out = dict(bulletins)
    issued: list[Broadcast] = []
    for slot in sorted(set(wanted) | {s for s, b in bulletins.items() if b.cleared_at is None}):
        current = bulletins.get(slot)
        running = current if current is not None and current.cleared_at is None else None
        listed = wanted.get(slot, ())
        change = _due(running, listed, now, rules.min_interval)
        if change is None:
            continue
        hazard, area, audience = _parts(slot, running)
        if running is None:
            if incident is None:
                continue
            running = Bulletin(f"{slot}:{now.strftime('%Y%m%dT%H%MZ')}", hazard, area, audience, incident, 0, now, ())
        serial += 1
        bulletin = replace(running, version=running.version + 1, issued_at=now, listed=listed,
                           cleared_at=now if change is BroadcastKind.ALL_CLEAR else None)
        out[slot] = bulletin
        issued.append(_broadcast(bulletin, change, serial, earlier + len(issued), names.get(hazard, hazard)))
    return out, issued, serial


def _wanted(bulletins: Mapping[str, Bulletin], threads: Iterable[WarningThread], rules: Publication,
            district: str) -> dict[str, tuple[Listed, ...]]:
    """Return what each slot should list now, items sorted by id."""
    wanted: dict[str, list[Listed]] = {}
    for thread in threads:
        if not thread.active:
            continue
        area = area_of(thread, district)
        for audience in rules.audiences(thread.hazard):
            slot = slot_of(thread.hazard, area, audience)
            level = thread.level if thread.level >= Level.BLUE else _last_level(bulletins.get(slot), thread.id)
            if level >= rules.lowest(thread.hazard, audience):
                wanted.setdefault(slot, []).append(Listed(thread.id, thread.item_id, thread.item_kind, level))
    return {slot: tuple(sorted(items, key=lambda i: i.item_id)) for slot, items in wanted.items()}


def _last_level(bulletin: Bulletin | None, thread: str) -> Level:
    """Return the level the last message of ``bulletin`` gave ``thread`` (``NONE``: it did not list it)."""
    if bulletin is None or bulletin.cleared_at is not None:
        return Level.NONE
    return next((item.level for item in bulletin.listed if item.thread == thread), Level.NONE)


def _due(running: Bulletin | None, listed: tuple[Listed, ...], now: datetime,
         interval: timedelta) -> BroadcastKind | None:
    """Return the message the slot needs now: a raise, an update, an all-clear, or ``None``."""
    if running is None:
        return BroadcastKind.RAISE if listed else None
    if listed == running.listed:
        return None
    before = {item.thread: item.level for item in running.listed}
    rises = any(item.level > before.get(item.thread, Level.NONE) for item in listed)
    if not rises and now - running.issued_at < interval:
        return None
    return BroadcastKind.UPDATE if listed else BroadcastKind.ALL_CLEAR


def _parts(slot: str, running: Bulletin | None) -> tuple[HazardName, str, Audience]:
    """(hazard, area, audience) of ``slot``."""
    if running is not None:
        return running.hazard, running.area, running.audience
    hazard, rest = slot.split(":", 1)
    area, audience = rest.rsplit(":", 1)
    return hazard, area, Audience(audience)


def _broadcast(bulletin: Bulletin, kind: BroadcastKind, serial: int, index: int, hazard_zh: str) -> Broadcast:
    rule = {BroadcastKind.RAISE: "PUB-ALERT", BroadcastKind.UPDATE: "PUB-UPDATE",
            BroadcastKind.ALL_CLEAR: "PUB-CLEAR"}[kind]
    counts = "、".join(f"{level.zh} {sum(1 for i in bulletin.listed if i.level == level)} 处"
                      for level in sorted({i.level for i in bulletin.listed}, reverse=True))
    what = f"{hazard_zh}预警信息（{bulletin.audience.zh}）{bulletin.area} 第 {bulletin.version} 期"
    text = f"{what}：{counts}" if counts else f"{what}：预警解除"
    return Broadcast(key=f"{bulletin.id}/v{bulletin.version}/broadcast", at=bulletin.issued_at,
                     incident=bulletin.incident, rule_id=rule, label=label(rule, f"{bulletin.id} v{bulletin.version}"),
                     thread=bulletin.id, version=bulletin.version, broadcast=kind, hazard=bulletin.hazard,
                     area=bulletin.area, audience=bulletin.audience, level=bulletin.level, listed=bulletin.listed,
                     serial=serial, index=index, text=text)
