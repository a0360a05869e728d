"""River flood (河道洪水): river gauges against the flood warning signals, as a registered hazard.

Each gauge of the ``gauges`` layer (a hydrological station with its 警戒水位 warning stage and
保证水位 guaranteed stage, m above its datum) is judged on its stage readings by the stage
ladder of the Ministry of Water Resources' flood warning signals (水利部《水情预警发布管理办法
（试行）》 2013): blue near the warning stage, yellow at or above it, orange at or above the
guaranteed stage, red at or above the highest recorded stage (:mod:`warn.risk.river`,
``models/river.yaml``). ``playbooks/river.yaml`` tells the town duty officer, sends a patrol
along the reach, calls (叫应) the town leader at orange and red and moves the riverside people
at red. A river warning is a 洪水 warning for the reach, not urban waterlogging.

CAP: category ``Met`` — OASIS CAP 1.2 §3.2.2 lists "Met – Meteorological (inc. flood)"; CAP
has no hydrological category, and ``Geo`` ("Geophysical (inc. landslide)") is for the solid
earth. Event 洪水 / River flood. No eventCode of its own: the GB/T 35965.1 event-type code for
a flood (洪水) was not verified, so none is claimed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warn.cap.event import Category, Event
from warn.hazards import HAZARDS
from warn.hazards.spec import Column, Context, HazardSpec, Input, Role, Scored
from warn.vocab import ItemKind, SensorKind

if TYPE_CHECKING:
    from warn.config import Settings
    from warn.declarative import Strict
    from warn.errors import Problem
    from warn.hazards.spec import HazardSection


def _model() -> type[Strict]:
    from warn.hazards.river.model import RiverFile

    return RiverFile


def _score(ctx: Context) -> Scored:
    from warn.hazards.river.scoring import score

    return score(ctx)


def _check(settings: Settings, section: HazardSection, params: Any) -> list[Problem]:
    """The gauges' stages in order, and every gauge's highest recorded stage present or declared unavailable."""
    from warn.errors import WarnError
    from warn.geo.layers import zone_layer
    from warn.hazards.river.scoring import highest_problems

    try:
        spec, layer = zone_layer(settings, section.layers["gauges"])
    except (WarnError, KeyError):
        return []  # reported with the layers and the roles
    return highest_problems(spec, layer, params, str(section.model))


SPEC = HazardSpec(
    name="river",
    zh="河道洪水",
    en="River flood",
    roles=(Role("gauges", "gauge", ItemKind.POINT, "河道水文站", "river gauge",
                fields=("warning_stage_m", "guaranteed_stage_m")),),
    inputs=frozenset({Input.SENSORS}),
    sensor_kinds=(SensorKind.RIVER_STAGE,),
    score=_score,
    cap=Event(Category.MET, "洪水", "River flood"),
    model=_model,
    playbooks=("river",),
    check=_check,
    columns=(
        Column("stage_m", "水位", "stage", "m"),
        Column("warning_stage_m", "警戒水位", "warning stage", "m"),
        Column("minutes_to_next", "至下一级", "to next stage", "min"),
    ),
)
HAZARDS.add(SPEC.name, SPEC)
