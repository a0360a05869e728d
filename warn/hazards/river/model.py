"""Schema of ``models/river.yaml``: the river-gauge ladder and what the gauge layer holds for it.

Validated strictly (an unknown key is an error); :meth:`RiverFile.params` gives the frozen
:class:`RiverModel` the scoring takes. Every number keeps its source in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from warn.declarative import PositiveDuration, Strict
from warn.modelfiles import RateOfRise
from warn.risk.river import RiverParams


@dataclass(frozen=True)
class RiverModel:
    """The river hazard's parameters.

    Attributes
    ----------
    ladder
        The stage ladder of :func:`warn.risk.river.river_gauge`.
    highest_field
        The gauge-layer attribute holding the highest recorded stage (历史最高水位), m above the datum.
    highest_unavailable
        Gauges declared to have no highest recorded stage: red cannot be reached from their stage.
    """

    ladder: RiverParams
    highest_field: str
    highest_unavailable: frozenset[str]


class Stages(Strict):
    """The MWR flood warning signal's stage ladder (documentation of the rule the code applies)."""

    rule: str = Field(min_length=1)
    source: str = Field(min_length=1)


class Approach(Strict):
    """What "near the warning stage" (blue) means: within ``margin_m`` and rising, or reached within ``horizon``."""

    margin_m: float = Field(ge=0)
    horizon: PositiveDuration
    provisional: bool = False
    source: str = Field(min_length=1)


class Highest(Strict):
    """Where the highest recorded stage comes from, and the gauges for which it is not available."""

    field: str = Field(min_length=1)
    unavailable: list[str] = []
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _listed_once(self) -> Highest:
        twice = sorted({g for g in self.unavailable if self.unavailable.count(g) > 1})
        if twice:
            raise ValueError(f"each gauge listed once in unavailable (twice: {', '.join(twice)})")
        return self


class RiverFile(Strict):
    """``models/river.yaml``."""

    model: Literal["river"]
    version: int = Field(ge=1)
    stages: Stages
    approach: Approach
    rate: RateOfRise
    highest_stage: Highest

    def params(self) -> RiverModel:
        """The frozen parameters of the river hazard."""
        ladder = RiverParams(self.rate.params(), self.approach.margin_m, self.approach.horizon)
        return RiverModel(ladder, self.highest_stage.field, frozenset(self.highest_stage.unavailable))
