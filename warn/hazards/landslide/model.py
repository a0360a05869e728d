"""Schema of ``models/landslide.yaml``: the landslide and dangerous-rock model's parameters.

Validated strictly (an unknown key is an error); :meth:`LandslideFile.params` builds the
frozen :class:`warn.risk.landslide.LandslideParams` the pure functions take. Every number
keeps its source in the file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, model_validator

from warn.declarative import ColourName, ColourOrNone, Strict
from warn.modelfiles import FourThresholds, Fraction, Levels, Tank
from warn.risk import landslide
from warn.vocab import Level

#: Longest half-life of the effective rainfall, h: the store keeps 30 days of hourly rain
#: (warn.hazards.landslide.scoring.SPIN_UP_DAYS), ten half-lives of 72 h.
MAX_HALF_LIFE_H = 72.0


class EffectiveRain(Strict):
    """``R_e(t) = Σ_h R_h · 0.5^(age_h / T)`` over hourly rain: the half-life T in hours."""

    half_life_h: float = Field(gt=0, le=MAX_HALF_LIFE_H)
    source: str = Field(min_length=1)


class ThresholdSet(Strict):
    """Blue, yellow, orange, red: the critical lines' SWI (mm) and 60-minute-rain (mm)
    intercepts, and the effective rainfall (mm)."""

    swi_mm: FourThresholds
    rain_60min_mm: FourThresholds
    effective_rain_mm: FourThresholds
    source: str = Field(min_length=1)
    provisional: bool = False


class ZoneThresholds(Strict):
    """A zone's departures from the default thresholds; an absent quantity keeps the default."""

    swi_mm: FourThresholds | None = None
    rain_60min_mm: FourThresholds | None = None
    effective_rain_mm: FourThresholds | None = None
    source: str = Field(min_length=1)
    provisional: bool = False


class Trigger(Strict):
    default: ThresholdSet
    zones: dict[str, ZoneThresholds] = Field(default_factory=dict)


class Matrix(Strict):
    """Zone level by susceptibility class (keys 1–5) and trigger level (columns none … red)."""

    classes: dict[int, Annotated[list[ColourOrNone], Field(min_length=5, max_length=5)]]
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _complete_and_monotone(self) -> Matrix:
        if sorted(self.classes) != [1, 2, 3, 4, 5]:
            raise ValueError(f"the classes 1–5 once each (got {', '.join(map(str, sorted(self.classes)))})")
        table = self.table()
        for cls, row in zip(range(1, 6), table):
            if any(b < a for a, b in zip(row, row[1:])):
                raise ValueError(f"class {cls}: levels that never fall as the trigger level rises")
        for cls in range(2, 6):
            if any(b < a for a, b in zip(table[cls - 2], table[cls - 1])):
                raise ValueError(f"class {cls}: levels at least those of class {cls - 1}")
        return self

    def table(self) -> tuple[tuple[Level, ...], ...]:
        return tuple(tuple(Level[name.upper()] for name in self.classes[cls]) for cls in range(1, 6))


class WaterFill(Strict):
    """Crack water column as a fraction of crack depth (number or ``a/b``)."""

    normal: Fraction
    rainstorm: Fraction
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _storm_fuller(self) -> WaterFill:
        if self.rainstorm < self.normal:
            raise ValueError("rainstorm at least normal")
        return self


class RockRainstorm(Strict):
    """When the rainstorm fill applies: 24-h rain (mm) or SWI trigger level."""

    rain_24h_mm: PositiveFloat
    swi_level: ColourName
    source: str = Field(min_length=1)


class StabilityRung(Strict):
    """K below ``below`` puts the object at ``level`` at least."""

    below: PositiveFloat
    level: ColourName


class Stability(Strict):
    rungs: list[StabilityRung] = Field(min_length=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _lower_k_higher_level(self) -> Stability:
        rungs = sorted(self.rungs, key=lambda r: r.below)
        ranks = [Level[r.level.upper()] for r in rungs]
        if any(b >= a for a, b in zip(ranks, ranks[1:])):
            raise ValueError("a higher level for each lower K (rungs sorted by below)")
        return self


class DangerousRock(Strict):
    water_fill: WaterFill
    rainstorm: RockRainstorm
    stability: Stability

    def params(self) -> landslide.RockParams:
        return landslide.RockParams(
            normal_fill=self.water_fill.normal,
            rainstorm_fill=self.water_fill.rainstorm,
            rainstorm_rain_24h_mm=self.rainstorm.rain_24h_mm,
            rainstorm_swi_level=Level[self.rainstorm.swi_level.upper()],
            stability=tuple((r.below, Level[r.level.upper()]) for r in self.stability.rungs),
        )


class LandslideFile(Strict):
    """``models/landslide.yaml``."""

    model: Literal["landslide"]
    version: int = Field(ge=1)
    effective_rain: EffectiveRain
    tank: Tank
    trigger: Trigger
    levels: Levels
    matrix: Matrix
    dangerous_rock: DangerousRock

    def params(self) -> landslide.LandslideParams:
        """The frozen parameter object for :mod:`warn.risk.landslide`."""
        scores = tuple(self.levels.boundaries)
        default = self.trigger.default

        def thresholds(given: ThresholdSet | ZoneThresholds) -> landslide.TriggerThresholds:
            return landslide.TriggerThresholds(
                tuple(given.swi_mm or default.swi_mm), tuple(given.rain_60min_mm or default.rain_60min_mm),
                tuple(given.effective_rain_mm or default.effective_rain_mm), scores, given.provisional)

        return landslide.LandslideParams(
            half_life_h=self.effective_rain.half_life_h,
            tank=self.tank.params(),
            trigger=thresholds(default),
            zone_trigger={zone: thresholds(z) for zone, z in self.trigger.zones.items()},
            levels=self.levels.scale(),
            matrix=self.matrix.table(),
            rock=self.dangerous_rock.params(),
        )
