"""Urban waterlogging (城市内涝): the hazard as registered.

Waterlogging points and underpasses (role ``points``) are scored sensor-first: a healthy
water-level sensor's observed depth sets the level now; the rain of their grid cell — the
storm-intensity return-period screen and a storage bucket — sets the leads, and "now" where
the sensor is unknown (:mod:`warn.hazards.waterlogging.scoring`, :mod:`warn.risk.waterlogging`).
River gauges are the river hazard's (:mod:`warn.hazards.river`), not urban waterlogging.
Parameters: ``models/waterlogging.yaml`` (:mod:`warn.hazards.waterlogging.model`) and the
shared rain model (``models.rain``: the storm-intensity formulas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warn.cap.event import Category, Event
from warn.hazards import HAZARDS
from warn.hazards.spec import Column, Context, HazardSpec, Input, Role, Scored
from warn.vocab import ItemKind, SensorKind

if TYPE_CHECKING:
    from warn.declarative import Strict


def _model() -> type[Strict]:
    from warn.hazards.waterlogging.model import WaterloggingFile

    return WaterloggingFile


def _score(ctx: Context) -> Scored:
    from warn.hazards.waterlogging.scoring import score

    return score(ctx)


SPEC = HazardSpec(
    name="waterlogging",
    zh="城市内涝",
    en="Urban waterlogging",
    roles=(
        Role("points", "point", ItemKind.POINT, "积水点", "waterlogging point", fields=("impervious_fraction",)),
    ),
    inputs=frozenset({Input.RAIN, Input.SENSORS}),
    sensor_kinds=(SensorKind.WATER_LEVEL,),
    score=_score,
    cap=Event(Category.MET, "城市内涝", "Urban waterlogging"),
    model=_model,
    playbooks=("waterlogging",),
    columns=(
        Column("depth_cm", "积水深度", "ponding depth", "cm"),
        Column("minutes_to_next", "至下一级", "to next level", "min"),
    ),
)
HAZARDS.add(SPEC.name, SPEC)
