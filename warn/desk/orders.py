"""What the desk checks before a mode order or a manual warning: pure checks on the acts' input and state.

:func:`mode_wanted` reads a mode order's target (``wartime`` with a response level IV…I, or ``peacetime``),
:func:`stand_down` refuses a stand-down while warnings that refuse it are active unless the overriding role
gives a reason, :func:`manual_crossing` turns a manual warning into the level crossing the planner takes.
Each raises :class:`warn.desk.desk.Refused` before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from warn import hazards
from warn.command.authority import Authority
from warn.command.mode import ModeParams
from warn.command.model import LevelCrossing
from warn.command.warnings import WarningThread, thread_key
from warn.desk.refusal import Names, Refused, allowed
from warn.vocab import COLOURS, RESPONSE_NAMES, ItemKind, Level, Mode, ResponseLevel


def mode_wanted(to: str, level: str | None, override: bool, names: Names) -> tuple[Mode, ResponseLevel | None]:
    """The mode and response level a mode order asks for; :class:`Refused` (422) when they do not fit:
    an unknown mode or level, a level missing for wartime or given for peacetime, an override for wartime."""
    modes = [str(mode) for mode in Mode]
    if to not in modes:
        raise Refused(422, f"{names.get('to', 'to')} 须为 {' 或 '.join(modes)}：{to}",
                      f"{names.get('to', 'to')}: expected {' or '.join(modes)}, got {to!r}")
    target = Mode(to)
    hint = names.get("level", "level")
    if (target is Mode.WARTIME) != (level is not None) or (level is not None and level not in RESPONSE_NAMES):
        raise Refused(422, f"{hint} {'|'.join(RESPONSE_NAMES)} 用于且仅用于战时",
                      f"{hint} {'|'.join(RESPONSE_NAMES)} is required for wartime and only for wartime")
    if override and target is Mode.WARTIME:
        raise Refused(422, f"{names.get('override', 'override')} 仅用于转为平时",
                      f"{names.get('override', 'override')} is for peacetime only")
    return target, None if level is None else ResponseLevel[level]


def stand_down(params: ModeParams, threads: Iterable[WarningThread], authority: Authority, person: str, *,
               override: bool, reason: str) -> int:
    """How many warnings a stand-down to peacetime by ``person`` overrides; :class:`Refused` while warnings that
    refuse it are active (409), unless ``override`` by the overriding role (else 403) with a reason (else 409)."""
    blockers = params.stand_down.blockers(threads)
    if not blockers:
        return 0
    level = params.stand_down.refuse_while
    if not override:
        raise Refused(409, f"{level.zh}及以上预警未解除（{len(blockers)} 条），不能转为平时：{params.describe(blockers)}；"
                           f"待其解除，或由{params.stand_down.override}加 --override 并以 --reason 说明理由",
                      f"{len(blockers)} warning(s) at {level.colour} or above still active, so no stand-down: "
                      f"{', '.join(f'{t.hazard} {t.item_id} {t.level.colour}' for t in blockers)}; wait until they "
                      f"clear, or the {params.stand_down.override} may give --override with a --reason")
    allowed(authority.override_stand_down(person, params.stand_down.override))
    if not reason.strip():
        raise Refused(409, "越过未解除的预警转为平时须以 --reason 说明理由",
                      "standing down over active warnings needs a --reason")
    return len(blockers)


def check_hazard(hazard: str, colour: str, names: Names) -> Level:
    """The level of a manual warning of ``hazard`` in ``colour``; :class:`Refused` (422) for an unknown hazard or
    colour."""
    if hazard not in hazards.names():
        raise Refused(422, f"{names.get('hazard', 'hazard')} 须为 {'、'.join(hazards.names())} 之一：{hazard}",
                      f"{names.get('hazard', 'hazard')}: expected one of {', '.join(hazards.names())}, got {hazard!r}")
    if colour not in COLOURS:
        raise Refused(422, f"{names.get('level', 'level')} 须为 {'、'.join(COLOURS)} 之一：{colour}",
                      f"{names.get('level', 'level')}: expected one of {', '.join(COLOURS)}, got {colour!r}")
    return Level.of_colour(colour)


def manual_crossing(threads: Mapping[str, WarningThread], hazard: str, zone: str, district: str, to_level: Level,
                    text: str, at: datetime) -> LevelCrossing:
    """The level crossing a manual warning of ``hazard`` for ``zone`` (a town/street, or the ``district`` code)
    makes at ``at``; :class:`Refused` (409) when the zone's warning is at that level already, or was updated by
    the model at this very time."""
    kind_zh = hazards.names_zh()[hazard]
    thread = threads.get(thread_key(hazard, zone))
    active = thread is not None and thread.active
    current = thread.level if thread is not None and active else Level.NONE
    if current == to_level:
        raise Refused(409, f"{zone} 的{kind_zh}预警已是{to_level.zh}", f"{zone}'s {hazard} warning is already {to_level.colour}")
    if thread is not None and active and thread.as_of >= at:
        raise Refused(409, f"{zone} 的{kind_zh}预警在此刻已由模型更新，请稍后再发",
                      f"{zone}'s {hazard} warning was updated by the model at this time; issue it a moment later")
    item = ItemKind.DISTRICT if zone == district else ItemKind.ZONE
    return LevelCrossing(hazard=hazard, item_id=zone, item_kind=item, town=None if item is ItemKind.DISTRICT else zone,
                         from_level=current, to_level=to_level, at=at, drivers=("manual",), reason=text)
