"""Schema of ``models/waterlogging.yaml``: the urban-waterlogging model's parameters.

Validated strictly (an unknown key is an error); :meth:`WaterloggingFile.params` builds the
frozen :class:`warn.risk.waterlogging.WaterloggingParams` the pure functions take. Every number keeps its
source in the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, model_validator

from warn.declarative import Strict
from warn.modelfiles import Fraction, Levels, RateOfRise, Window, increasing
from warn.risk import waterlogging


class Screen(Strict):
    """Return-period screen: P_pipe and P_lz in years, windows up to ``max_duration``."""

    pipe_return_period_yr: PositiveFloat
    waterlogging_return_period_yr: PositiveFloat
    max_duration: Window
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _lz_above_pipe(self) -> Screen:
        if self.waterlogging_return_period_yr <= self.pipe_return_period_yr:
            raise ValueError(f"waterlogging_return_period_yr above pipe_return_period_yr "
                             f"({self.pipe_return_period_yr:g})")
        return self


class RunoffCoefficient(Strict):
    impervious: Fraction
    pervious: Fraction
    source: str = Field(min_length=1)


class Bucket(Strict):
    """Storage bucket: runoff coefficients, drainage capacity duration, ponding-area fractions by kind."""

    runoff_coefficient: RunoffCoefficient
    capacity_duration: Window
    capacity_source: str = Field(min_length=1)
    provisional: bool = False
    ponding_area_fraction: dict[str, Fraction] = Field(min_length=1)
    default_kind: str
    ponding_source: str = Field(min_length=1)
    full_depth_mm: PositiveFloat
    full_depth_source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _default_kind_listed(self) -> Bucket:
        if self.default_kind not in self.ponding_area_fraction:
            kinds = ", ".join(sorted(self.ponding_area_fraction))
            raise ValueError(f"default_kind {self.default_kind!r} to be one of {kinds}")
        return self


class DepthThresholds(Strict):
    """Ponding depths of blue, yellow and red, cm."""

    blue: PositiveFloat
    yellow: PositiveFloat
    red: PositiveFloat
    source: str = Field(min_length=1)
    provisional: bool = False

    @model_validator(mode="after")
    def increasing(self) -> DepthThresholds:
        increasing([self.blue, self.yellow, self.red])
        return self


class Score(Strict):
    known_point_bonus: float = Field(ge=0)
    source: str = Field(min_length=1)


class WaterloggingFile(Strict):
    """``models/waterlogging.yaml``."""

    model: Literal["waterlogging"]
    version: int = Field(ge=1)
    screen: Screen
    bucket: Bucket
    depth_thresholds_cm: DepthThresholds
    sensor: RateOfRise
    score: Score
    levels: Levels

    def params(self) -> waterlogging.WaterloggingParams:
        """The frozen parameter object for :mod:`warn.risk.waterlogging`."""
        b, d = self.bucket, self.depth_thresholds_cm
        return waterlogging.WaterloggingParams(
            pipe_return_period_yr=self.screen.pipe_return_period_yr,
            waterlogging_return_period_yr=self.screen.waterlogging_return_period_yr,
            screen_max_duration=self.screen.max_duration,
            runoff_impervious=b.runoff_coefficient.impervious,
            runoff_pervious=b.runoff_coefficient.pervious,
            capacity_duration=b.capacity_duration,
            ponding_area_fraction=dict(b.ponding_area_fraction),
            default_kind=b.default_kind,
            full_depth_mm=b.full_depth_mm,
            depth_thresholds_cm=(d.blue, d.yellow, d.red),
            known_point_bonus=self.score.known_point_bonus,
            sensor=self.sensor.params(),
            levels=self.levels.scale(),
        )
