"""Schema of ``models/flashflood.yaml``: validated strictly, ``params()`` gives the frozen
:class:`warn.risk.flashflood.FlashFloodParams`."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from warn.declarative import Strict
from warn.modelfiles import Levels, Tank, Window
from warn.risk.flashflood import FlashFloodParams, WetnessParams


def _increasing_hours(hours: list[int]) -> list[int]:
    if any(b <= a for a, b in pairwise(hours)):
        raise ValueError("hours increasing, each listed once")
    return hours




class Durations(Strict):
    """The durations (h) the catchments' critical rainfall is given for."""

    hours: Annotated[list[Annotated[int, Field(ge=1, le=24)]], Field(min_length=1),
                     AfterValidator(_increasing_hours)]
    source: str = Field(min_length=1)


class Wetness(Strict):
    """How antecedent wetness (SWI, mm) lowers the critical rainfall."""

    swi_normal_mm: float = Field(ge=0)
    swi_wet_mm: float = Field(gt=0)
    max_reduction: float = Field(ge=0, lt=1)
    spin_up: Window
    provisional: bool = False
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _normal_below_wet(self) -> Wetness:
        if self.swi_normal_mm >= self.swi_wet_mm:
            raise ValueError(f"swi_normal_mm below swi_wet_mm (swi_normal_mm {self.swi_normal_mm:g}, "
                             f"swi_wet_mm {self.swi_wet_mm:g})")
        return self


class Colours(Strict):
    """Where blue and orange begin, as fractions of the plan thresholds."""

    approach: float = Field(gt=0, lt=1)
    orange: float = Field(gt=0, lt=1)
    provisional: bool = False
    source: str = Field(min_length=1)


class FlashFloodFile(Strict):
    """``models/flashflood.yaml``."""

    model: Literal["flashflood"]
    version: int = Field(ge=1)
    durations: Durations
    tank: Tank
    wetness: Wetness
    colours: Colours
    levels: Levels

    def params(self) -> FlashFloodParams:
        """The frozen parameter object for :mod:`warn.risk.flashflood`."""
        return FlashFloodParams(
            tank=self.tank.params(),
            wetness=WetnessParams(self.wetness.swi_normal_mm, self.wetness.swi_wet_mm, self.wetness.max_reduction),
            durations_h=tuple(self.durations.hours),
            approach=self.colours.approach,
            orange=self.colours.orange,
            levels=self.levels.scale(),
            spin_up=self.wetness.spin_up,
        )
