"""Schemas of the model parameter files (``models/*.yaml``) and their registry.

Each model file names its model (``model: rain``); the registry maps that name to
the schema that validates the file and builds the frozen parameter object the pure
functions in ``warn.risk`` take. Every number keeps its source in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PositiveFloat, StringConstraints, model_validator

from warn.declarative import ColourName, Duration, PositiveDuration, Strict, one_of, parse_file
from warn.registry import Registry
from warn.risk.analysis import AnalysisParams
from warn.risk.landslide import TankParams
from warn.risk.levels import SCORE_MAX, LevelParams
from warn.risk.nowcast import METHODS, MOTIONS, BlendParams, NowcastParams
from warn.risk.rain import RainstormParams, SignalCriterion, StormFormula
from warn.risk.series import RateParams
from warn.sources import qc
from warn.vocab import Level, SensorKind



class Criterion(Strict):
    """A rainstorm-signal rung: ``depth_mm`` (mm) or more within ``window``."""

    level: ColourName
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


class RainFile(Strict):
    """``models/rain.yaml``."""

    model: Literal["rain"]
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


#: A window: an ISO-8601 duration longer than zero.
Window = PositiveDuration


class Section(Strict):
    """Keys every QC section carries: where its numbers come from, and whether they are placeholders."""

    source: str = Field(min_length=1)
    provisional: bool = False


class Range(Section):
    """``[min, max]`` in the kind's unit."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError(f"min below max (min {self.min:g}, max {self.max:g})")
        return self


class Departure(Section):
    """A departure ``threshold`` (kind's unit) from neighbours within ``window``."""

    threshold: PositiveFloat
    window: Window


class FlatlineSection(Section):
    """Within ``tolerance`` (kind's unit, ≥ 0) for ``window``, judged only above ``min_value``."""

    tolerance: float = Field(ge=0)
    window: Window
    min_value: float


class RateSection(Section):
    """Rate-of-change limit, kind's unit per hour."""

    max_per_hour: PositiveFloat


class KindQC(Strict):
    """QC thresholds of one sensor kind; a neighbour rule whose section is absent is not applied."""

    unit: str
    hard_range: Range
    soft_range: Range
    spike: Departure | None = None
    jump: Departure | None = None
    flatline: FlatlineSection | None = None
    rate_of_change: RateSection | None = None

    @model_validator(mode="after")
    def _soft_within_hard(self) -> KindQC:
        _check_ranges(self.hard_range, self.soft_range)
        return self

    def thresholds(self, kind: SensorKind) -> qc.Thresholds:
        """The frozen thresholds for :mod:`warn.sources.qc`."""
        return qc.Thresholds(
            kind=kind,
            hard_range=(self.hard_range.min, self.hard_range.max),
            soft_range=(self.soft_range.min, self.soft_range.max),
            spike=self.spike and qc.WindowLimit(self.spike.threshold, self.spike.window),
            jump=self.jump and qc.WindowLimit(self.jump.threshold, self.jump.window),
            flatline=self.flatline and qc.Flatline(self.flatline.tolerance, self.flatline.window,
                                                  self.flatline.min_value),
            max_rate_per_hour=self.rate_of_change and self.rate_of_change.max_per_hour,
        )


def _check_ranges(hard: Range, soft: Range) -> None:
    if not hard.min <= soft.min < soft.max <= hard.max:
        raise ValueError(f"soft_range within hard_range [{hard.min:g}, {hard.max:g}] "
                         f"(soft_range is [{soft.min:g}, {soft.max:g}])")


class MetreQC(KindQC):
    unit: Literal["m"]


class MillimetreQC(KindQC):
    unit: Literal["mm"]


class Kinds(Strict):
    """Thresholds for every sensor kind (:class:`warn.vocab.SensorKind`), in its unit."""

    water_level: MetreQC
    river_stage: MetreQC
    rain_gauge: MillimetreQC


def _rule_names(names: list[str]) -> list[str]:
    allowed = [name for name in qc.RULES.names() if name != "missing"]
    wrong = [name for name in names if name not in allowed]
    if wrong:
        raise ValueError(f"QC rule names among {', '.join(allowed)} (got {', '.join(map(repr, wrong))})")
    return names


class Override(Strict):
    """One sensor's departures from its kind: whole sections replace the kind's; ``off`` switches rules off."""

    kind: SensorKind
    source: str = Field(min_length=1)
    hard_range: Range | None = None
    soft_range: Range | None = None
    spike: Departure | None = None
    jump: Departure | None = None
    flatline: FlatlineSection | None = None
    rate_of_change: RateSection | None = None
    off: Annotated[list[str], AfterValidator(_rule_names)] = Field(default_factory=list)


class Timestamps(Section):
    """A phenomenon time beyond now + ``future_tolerance`` or before now − ``max_age`` is bad."""

    future_tolerance: Duration
    max_age: Window


class Staleness(Section):
    """Silent for ``factor`` × the sensor's interval → stale."""

    factor: PositiveFloat


SensorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


class SensorsFile(Strict):
    """``models/sensors.yaml``."""

    model: Literal["sensors"]
    version: int = Field(ge=1)
    kinds: Kinds
    timestamps: Timestamps
    staleness: Staleness
    overrides: dict[SensorId, Override] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _overrides_keep_ranges_nested(self) -> SensorsFile:
        for sensor_id, override in self.overrides.items():
            merged = self._merged(override)
            try:
                _check_ranges(merged.hard_range, merged.soft_range)
            except ValueError as err:
                raise ValueError(f"overrides.{sensor_id}: {err}") from None
        return self

    def _merged(self, override: Override) -> KindQC:
        base: KindQC = getattr(self.kinds, override.kind.value)
        sections = override.model_dump(exclude={"kind", "source", "off"}, exclude_none=True)
        return base.model_copy(update={name: getattr(override, name) for name in sections})

    def params(self) -> qc.SensorsParams:
        """The frozen parameter object for :mod:`warn.sources.qc`."""
        return qc.SensorsParams(
            kinds={kind: getattr(self.kinds, kind.value).thresholds(kind) for kind in SensorKind},
            overrides={
                sensor_id: replace(self._merged(o).thresholds(o.kind), off=frozenset(o.off))
                for sensor_id, o in self.overrides.items()
            },
            future_tolerance=self.timestamps.future_tolerance,
            max_age=self.timestamps.max_age,
            stale_factor=self.staleness.factor,
        )




def increasing(values: list[float]) -> list[float]:
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"strictly increasing values (got {', '.join(f'{v:g}' for v in values)})")
    return values


#: Blue, yellow, orange and red thresholds: four positive numbers, strictly increasing.
FourThresholds = Annotated[list[PositiveFloat], Field(min_length=4, max_length=4), AfterValidator(increasing)]


def _fraction(value: Any) -> Any:
    if isinstance(value, str) and "/" in value:
        top, _, bottom = value.partition("/")
        try:
            return float(top) / float(bottom)
        except (ValueError, ZeroDivisionError):
            raise ValueError("a fraction like 1/3 or a number") from None
    return value


#: A fraction of 0–1, written as a number or as ``a/b`` (``1/3``).
Fraction = Annotated[float, BeforeValidator(_fraction), Field(gt=0, le=1)]



class Tank(Strict):
    """The three-tank series model (JMA soil water index): outlet heights in mm, coefficients per hour.

    Shared by the models that carry soil water (landslide; flash flood's antecedent wetness).
    """

    L1: PositiveFloat
    alpha1: PositiveFloat
    L2: PositiveFloat
    alpha2: PositiveFloat
    beta1: PositiveFloat
    L3: PositiveFloat
    alpha3: PositiveFloat
    beta2: PositiveFloat
    L4: PositiveFloat
    alpha4: PositiveFloat
    beta3: PositiveFloat
    substep: Window
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _outlets_ordered(self) -> Tank:
        if self.L1 >= self.L2:
            raise ValueError(f"L1 below L2 (L1 {self.L1:g}, L2 {self.L2:g})")
        return self

    def params(self) -> TankParams:
        """The frozen tank parameters of :mod:`warn.risk.landslide`."""
        return TankParams(self.L1, self.alpha1, self.L2, self.alpha2, self.beta1, self.L3, self.alpha3, self.beta2,
                          self.L4, self.alpha4, self.beta3, self.substep.total_seconds() / 3600)


class RateOfRise(Strict):
    """A sensor's rate of rise: the Theil–Sen slope over ``window`` with at least ``min_readings`` readings.

    Shared by the models that read water levels (waterlogging points' sensors, river gauges).
    """

    window: Window
    min_readings: int = Field(ge=2)
    source: str = Field(min_length=1)

    def params(self) -> RateParams:
        """The frozen rate parameters of :mod:`warn.risk.series`."""
        return RateParams(self.window, self.min_readings)


class Levels(Strict):
    """Levels with memory on the 0–100 score (shared with the flood model)."""

    boundaries: Annotated[list[float], Field(min_length=4, max_length=4), AfterValidator(increasing)]
    margin: float = Field(ge=0)
    hold: Duration
    expire: Window
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _within_scale(self) -> Levels:
        if not (0 < self.boundaries[0] and self.boundaries[-1] < SCORE_MAX):
            raise ValueError(f"boundaries between 0 and {SCORE_MAX:g}")
        if self.margin >= self.boundaries[0]:
            raise ValueError(f"margin below the first boundary ({self.boundaries[0]:g})")
        return self

    def scale(self) -> LevelParams:
        return LevelParams(tuple(self.boundaries), self.margin, self.hold, self.expire)


@dataclass(frozen=True)
class ModelKind:
    """A registered model: the schema of its file."""

    schema: type[Strict]


MODELS: Registry[ModelKind] = Registry("model")
MODELS.add("rain", ModelKind(RainFile))
MODELS.add("sensors", ModelKind(SensorsFile))


def load_model_file(name: str, path: Path, *, where: str = "", key: str = "") -> Any:
    """Validate the model file of the model ``name`` at ``path``.

    Parameters
    ----------
    name
        Registered model name (``"rain"``).
    path
        The YAML file.
    where, key
        The config file and key that named it, for the unknown-name message.

    Returns
    -------
    The validated file object (e.g. :class:`RainFile`); ``.params()`` gives the
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


class Sourced(Strict):
    """A value with where it comes from."""

    source: str = Field(min_length=1)


class NowcastMethod(Sourced):
    """How the frames are extrapolated (``method:`` of ``models/nowcast.yaml``)."""

    name: Annotated[str, one_of(METHODS)]
    motion: Annotated[str, one_of(MOTIONS)]
    frames: int = Field(ge=2, le=12, description="the last frames used")
    members: int = Field(ge=1, le=100, description="1: deterministic; more: a STEPS ensemble")
    seed: int = Field(ge=0, description="seed of the STEPS perturbations")
    rain_threshold_mm_h: PositiveFloat
    cascade_levels: int = Field(ge=1, le=10)


class NowcastLead(Sourced):
    """How far ahead and in which steps (``lead:``)."""

    lead: PositiveDuration
    step: PositiveDuration


class Blend(Sourced):
    """The nowcast's weight against the NWP run by lead (``blend:``)."""

    full_until: Duration
    none_after: PositiveDuration


class NowcastFile(Strict):
    """``models/nowcast.yaml``: the radar nowcast (:mod:`warn.risk.nowcast`) and its blend into the NWP run."""

    model: Literal["nowcast"]
    version: int = Field(ge=1)
    method: NowcastMethod
    horizon: NowcastLead
    blend: Blend

    @model_validator(mode="after")
    def _consistent(self) -> NowcastFile:
        self.params()
        self.blending()
        return self

    def params(self) -> NowcastParams:
        """The frozen parameter object for :func:`warn.risk.nowcast.nowcast`."""
        m = self.method
        return NowcastParams(method=m.name, motion=m.motion, frames=m.frames, lead=self.horizon.lead,
                             step=self.horizon.step, members=m.members, seed=m.seed,
                             rain_threshold_mm_h=m.rain_threshold_mm_h, cascade_levels=m.cascade_levels)

    def blending(self) -> BlendParams:
        """The frozen blend weights the cycle reads."""
        return BlendParams(full_until=self.blend.full_until, none_after=self.blend.none_after)


MODELS.add("nowcast", ModelKind(NowcastFile))


class BiasSection(Strict):
    """Mean-field bias: pairs needed, the pairs' threshold (mm per step) and the factor's bounds."""

    min_pairs: int = Field(ge=1)
    min_rain_mm: float = Field(ge=0)
    window: PositiveDuration
    clip: Annotated[list[PositiveFloat], Field(min_length=2, max_length=2)]
    source: str = Field(min_length=1)
    provisional: bool = False

    @model_validator(mode="after")
    def _brackets_one(self) -> BiasSection:
        low, high = self.clip
        if not low <= 1 <= high:
            raise ValueError(f"clip [low, high] with low ≤ 1 ≤ high (no bias inside), got [{low:g}, {high:g}]")
        return self


class GaugesOnly(Strict):
    """Gauges alone: inverse-distance weighting exponent and reach (km)."""

    idw_power: PositiveFloat
    radius_km: PositiveFloat
    source: str = Field(min_length=1)
    provisional: bool = False


class AnalysisFile(Strict):
    """``models/analysis.yaml``: the observed-rain analysis of :mod:`warn.risk.analysis`."""

    model: Literal["analysis"]
    version: int = Field(ge=1)
    method: Literal["mean_field_bias"]
    method_source: str = Field(min_length=1)
    step: PositiveDuration
    step_source: str = Field(min_length=1)
    lookback: PositiveDuration
    lookback_source: str = Field(min_length=1)
    lookback_provisional: bool = False
    bias: BiasSection
    gauges_only: GaugesOnly
    gauges_silent_after: PositiveDuration
    gauges_silent_source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _whole_steps(self) -> AnalysisFile:
        if timedelta(hours=1) % self.step:
            raise ValueError(f"step dividing an hour (the analysed hours are whole steps), got {self.step}")
        if self.lookback < timedelta(hours=1) or self.lookback % timedelta(hours=1):
            raise ValueError(f"lookback a whole number of hours, at least one, got {self.lookback}")
        if self.bias.window % self.step or self.bias.window > self.lookback:
            raise ValueError(f"bias.window whole steps within the lookback, got {self.bias.window}")
        return self

    def params(self) -> AnalysisParams:
        """The frozen parameters of :mod:`warn.risk.analysis`."""
        low, high = self.bias.clip
        return AnalysisParams(self.method, self.step, self.bias.min_pairs, self.bias.min_rain_mm, self.bias.window,
                              (low, high),
                              self.gauges_only.idw_power, self.gauges_only.radius_km, self.lookback,
                              self.gauges_silent_after)


MODELS.add("analysis", ModelKind(AnalysisFile))
