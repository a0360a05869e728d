"""山洪 (flash flood) of small mountain catchments, as a registered hazard.

Each small catchment (小流域) of the ``catchments`` layer has a village at its outlet, the
people it threatens and the critical rainfall (临界雨量) of the county's 山洪灾害防御预案 for
准备转移 (prepare to move) and 立即转移 (move now) over 1/3/6 h. Catchment rain is scored
against them, lowered when the catchment is wet (:mod:`warn.risk.flashflood`,
``models/flashflood.yaml``); ``playbooks/flashflood.yaml`` calls the village's responsible
person at 准备转移 and evacuates the threatened people at 立即转移.

CAP: category ``Met`` — OASIS CAP 1.2 §3.2.2 lists "Met – Meteorological (inc. flood)" and
"Geo – Geophysical (inc. landslide)"; a flash flood is a rain-driven flood (the debris
flows and landslides a storm may also bring are the landslide hazard's). No
eventCode of its own: the GB/T 35965.1 event-type code for 山洪 was not verified, so none
is claimed.

Official bulletins (the water and meteorological departments' 山洪灾害气象预警) are not read
yet: they are issued by county or town, not by catchment, and no feed of them is wired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warn.cap.event import Category, Event
from warn.hazards import HAZARDS
from warn.hazards.spec import Column, Context, HazardSpec, Input, Rescore, Role, Scored
from warn.vocab import ItemKind

if TYPE_CHECKING:
    from warn.config import Settings
    from warn.declarative import Strict
    from warn.errors import Problem
    from warn.hazards.spec import HazardSection

#: The catchment attributes scoring and the playbook read (besides the id, name, town and people).
FIELDS = ("village", "prepare_1h_mm", "prepare_3h_mm", "prepare_6h_mm",
          "evacuate_1h_mm", "evacuate_3h_mm", "evacuate_6h_mm")


def _model() -> type[Strict]:
    from warn.hazards.flashflood.model import FlashFloodFile

    return FlashFloodFile


def _score(ctx: Context) -> Scored:
    from warn.hazards.flashflood.scoring import score

    return score(ctx)


def _check(settings: Settings, section: HazardSection, params: Any) -> list[Problem]:
    """The catchments' critical rainfall: a field for each duration of the model, 0 < 准备转移 < 立即转移."""
    from warn.errors import WarnError
    from warn.geo.layers import zone_layer
    from warn.hazards.flashflood.scoring import critical_problems

    try:
        spec, layer = zone_layer(settings, section.layers["catchments"])
    except (WarnError, KeyError):
        return []  # reported with the layers and the roles
    return critical_problems(spec, layer, params)


SPEC = HazardSpec(
    name="flashflood",
    zh="山洪",
    en="Flash flood",
    roles=(Role("catchments", "catchment", ItemKind.CATCHMENT, "山洪小流域", "small catchment", fields=FIELDS),),
    inputs=frozenset({Input.RAIN}),
    score=_score,
    cap=Event(Category.MET, "山洪灾害", "Flash flood"),
    model=_model,
    rescore=Rescore.NEW_BASIS,
    playbooks=("flashflood",),
    check=_check,
    columns=(  # rain: the largest of the windows ending now … +24 h
        Column("rain_1h_mm", "1 h 雨量", "1 h rain", "mm"),
        Column("rain_3h_mm", "3 h 雨量", "3 h rain", "mm"),
        Column("rain_6h_mm", "6 h 雨量", "6 h rain", "mm"),
        Column("swi_mm", "前期含水", "SWI", "mm"),
        Column("lowered_pct", "阈值下调", "lowered", "%"),
        Column("prepare_3h_mm", "3 h 准备转移", "3 h prepare", "mm"),
        Column("evacuate_3h_mm", "3 h 立即转移", "3 h move now", "mm"),
    ),
)
HAZARDS.add(SPEC.name, SPEC)
