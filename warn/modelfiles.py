"""Schemas of the model parameter files (``models/*.yaml``) and their registry.

Each model file names its model (``model: rainstorm``); the registry maps that name to
the schema that validates the file and builds the frozen parameter object the pure
functions in ``warn.risk`` take. Every number keeps its source in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveFloat, model_validator

from warn.declarative import Duration, Strict, parse_file
from warn.registry import Registry
from warn.risk.rain import RainstormParams, SignalCriterion, StormFormula
from warn.vocab import Level

LevelName = Literal["blue", "yellow", "orange", "red"]


class Criterion(Strict):
    """A rainstorm-signal rung: ``depth_mm`` (mm) or more within ``window``."""

    level: LevelName
    depth_mm: PositiveFloat
    window: Duration


class Signal(Strict):
    source: str = Field(min_length=1)
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_rung_per_level(self) -> Signal:
        levels = [c.level for c in self.criteria]
        if len(set(levels)) != len(levels):
            raise ValueError(f"one criterion per level (levels given: {', '.join(levels)})")
        return self


class Formula(Strict):
    """Coefficients of ``q = A (1 + C lg P) / (t + b)^n`` (q L/(s·ha), t min, P yr)."""

    label: str
    applies_to: str
    A: PositiveFloat
    C: PositiveFloat
    b: float = Field(ge=0)
    n: PositiveFloat


class StormIntensity(Strict):
    equation: str
    source: str = Field(min_length=1)
    default_formula: str
    min_duration_min: PositiveFloat
    max_duration_min: PositiveFloat
    formulas: dict[str, Formula] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_defined(self) -> StormIntensity:
        if self.default_formula not in self.formulas:
            raise ValueError(f"default_formula {self.default_formula!r} to be one of {', '.join(self.formulas)}")
        if self.min_duration_min >= self.max_duration_min:
            raise ValueError("min_duration_min below max_duration_min")
        return self


class RainstormFile(Strict):
    """``models/rainstorm.yaml``."""

    model: Literal["rainstorm"]
    version: int = Field(ge=1)
    windows: list[Duration] = Field(min_length=1)
    windows_source: str
    basis: Literal["cell_max", "zone_mean"]
    signal: Signal
    storm_intensity: StormIntensity

    def params(self) -> RainstormParams:
        """The frozen parameter object for :mod:`warn.risk.rain`."""
        si = self.storm_intensity
        return RainstormParams(
            signal=tuple(SignalCriterion(Level[c.level.upper()], c.depth_mm, c.window) for c in self.signal.criteria),
            formulas={
                name: StormFormula(name, f.A, f.C, f.b, f.n, si.min_duration_min, si.max_duration_min)
                for name, f in si.formulas.items()
            },
            windows=tuple(sorted(self.windows)),
            default_formula=si.default_formula,
        )


@dataclass(frozen=True)
class ModelKind:
    """A registered model: the schema of its file."""

    schema: type[Strict]


MODELS: Registry[ModelKind] = Registry("model")
MODELS.add("rainstorm", ModelKind(RainstormFile))


def load_model_file(name: str, path: Path, *, where: str = "", key: str = "") -> Any:
    """Validate the model file of the model ``name`` at ``path``.

    Parameters
    ----------
    name
        Registered model name (``"rainstorm"``).
    path
        The YAML file.
    where, key
        The config file and key that named it, for the unknown-name message.

    Returns
    -------
    The validated file object (e.g. :class:`RainstormFile`); ``.params()`` gives the
    frozen parameters.

    Raises
    ------
    ConfigError
        The file is missing, malformed, or fails validation (a file declaring another
        model fails on its ``model`` key).
    UnknownNameError
        ``name`` is not a registered model.
    """
    return parse_file(MODELS.get(name, where=where, key=key).schema, path)
