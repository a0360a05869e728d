"""Landslide and dangerous rock (地质灾害：滑坡、危岩): the hazard as registered.

Towns (role ``zones``) are judged on the worst grid cell they cover and hazard points
(``points``) on the cell they stand in, by the soil water index and the effective rainfall
against their trigger thresholds through the susceptibility matrix; dangerous rock also on
its block's plane-failure stability (:mod:`warn.hazards.landslide.scoring`,
:mod:`warn.risk.landslide`). An official geohazard bulletin in force is a floor under the
zone's level. Parameters: ``models/landslide.yaml`` (:mod:`warn.hazards.landslide.model`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from warn.cap.event import Category, Event
from warn.hazards import HAZARDS
from warn.hazards.spec import Column, Context, HazardSection, HazardSpec, Input, Rescore, Role, Scored
from warn.vocab import ItemKind

if TYPE_CHECKING:
    from warn.declarative import Strict
    from warn.config import Settings
    from warn.errors import Problem


class LandslideSection(HazardSection):
    """``hazards.landslide`` in config.yaml."""

    climatology: Path | None = Field(
        None, description="NetCDF of per-cell thresholds swi_mm, effective_rain_mm (level 1–4, lat, lon)")


def _model() -> type[Strict]:
    from warn.hazards.landslide.model import LandslideFile

    return LandslideFile


def _score(ctx: Context) -> Scored:
    from warn.hazards.landslide.scoring import score

    return score(ctx)


def _check(settings: Settings, section: LandslideSection, params: Any) -> list[Problem]:
    """Per-zone trigger thresholds name zones of the zones layer; a climatology file reads on its own grid."""
    from warn.errors import ConfigError, Problem, WarnError
    from warn.geo.layers import zone_layer

    problems = []
    try:
        spec, zones = zone_layer(settings, section.layers["zones"])
    except WarnError:
        zones = None  # reported with the layers
    if zones is not None:
        ids = set(zones[spec.id_field].astype(str))
        problems += [Problem(str(section.model), f"trigger.zones.{zone}", "a zone of the zones layer", repr(zone),
                             f"layer: {spec.path}#{spec.layer}") for zone in params.zone_trigger if zone not in ids]
    if section.climatology is None:
        return problems
    if not section.climatology.is_file():
        return [*problems, Problem("config.yaml", "hazards.landslide.climatology", "an existing NetCDF file",
                                   str(section.climatology))]
    import xarray as xr

    from warn.hazards.landslide.scoring import load_climatology

    try:
        with xr.open_dataset(section.climatology) as ds:
            lat, lon = ds["lat"].values, ds["lon"].values
        load_climatology(section.climatology, lat, lon, params)
    except (OSError, ValueError, KeyError) as err:
        problems.append(Problem(str(section.climatology), "lat/lon", "a NetCDF file with lat and lon coordinates",
                                str(err)))
    except ConfigError as err:
        problems += err.problems
    return problems


SPEC = HazardSpec(
    name="landslide",
    zh="地质灾害",
    en="Landslide and dangerous rock",
    roles=(
        Role("zones", "zone", ItemKind.ZONE, "镇街", "town/street"),
        Role("points", "point", ItemKind.POINT, "地灾隐患点", "hazard point", required=False),
    ),
    inputs=frozenset({Input.RAIN, Input.OFFICIAL}),
    score=_score,
    cap=Event(Category.GEO, "地质灾害", "Landslide"),
    config=LandslideSection,
    model=_model,
    rescore=Rescore.NEW_BASIS,
    playbooks=("landslide", "landslide_town"),
    columns=(
        Column("swi_max_mm", "土壤含水指数最大", "SWI max", "mm"),
        Column("effective_rain_max_mm", "有效降雨最大", "effective rain max", "mm"),
        Column("susceptibility", "易发性", "susceptibility"),
    ),
    check=_check,
)
HAZARDS.add(SPEC.name, SPEC)
