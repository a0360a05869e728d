"""The rainstorm signal (暴雨预警信号): the hazard as registered.

Public rainstorm warnings are the meteorological office's alone (Meteorological Law,
Art. 22); the district relays them. This hazard scores no layer: its one item is the
district (``rainstorm:district:<district code>``), at the level of the highest official
rainstorm signal in force for the district — none without one, unknown while the official
source is down and nothing held is in force. Its source is an ``official:`` entry of
config.yaml with ``hazard: rainstorm``.
"""

from __future__ import annotations

from warn.cap.event import Category, Event
from warn.hazards import HAZARDS
from warn.hazards.spec import LEADS, Context, HazardSpec, Input, Scored, ScoredItem
from warn.vocab import Level


def score(ctx: Context) -> Scored:
    """The district's rainstorm item from the official signals of ``ctx``."""
    district = ctx.settings.deployment.district_code
    signals = [b for b in ctx.official if b.district or b.zones]
    if signals:
        top = max(signals, key=lambda b: (b.level, b.sent))
        level = top.level
        drivers = tuple(f"官方发布 / official: {b.headline or b.identifier}" for b in signals if b.level == level)
    elif ctx.official_unknown:
        level, drivers = Level.UNKNOWN, ("官方暴雨预警源不可用 / official rainstorm source unavailable",)
    else:
        level, drivers = Level.NONE, ("无生效的官方暴雨预警信号 / no official rainstorm signal in force",)
    item = ScoredItem(district, ctx.settings.deployment.name, "district", {lead: level for lead in LEADS},
                      {lead: drivers for lead in LEADS})
    return Scored([item])


SPEC = HazardSpec(
    name="rainstorm",
    zh="暴雨",
    en="Rainstorm",
    roles=(),
    inputs=frozenset({Input.OFFICIAL}),
    score=score,
    cap=Event(Category.MET, "暴雨", "Rainstorm"),
    playbooks=("rainstorm",),
    district_item=True,
    relayed=True,
)
HAZARDS.add(SPEC.name, SPEC)
