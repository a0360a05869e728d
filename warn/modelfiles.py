"""Schemas of the model parameter files (``models/*.yaml``) and their registry.

Each model file names its model (``model: rainstorm``); the registry maps that name to
the schema that validates the file and builds the frozen parameter object the pure
functions in ``warn.risk`` take. Every number keeps its source in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PositiveFloat, StringConstraints, model_validator

from warn.declarative import Duration, Strict, parse_file
from warn.registry import Registry
from warn.risk import flood, landslide
from warn.risk.levels import LevelParams
from warn.risk.rain import RainstormParams, SignalCriterion, StormFormula
from warn.sources import qc
from warn.vocab import Level, SensorKind

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


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("a duration longer than zero, like PT15M")
    return value


#: A window: an ISO-8601 duration longer than zero.
Window = Annotated[Duration, AfterValidator(_positive)]


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


LevelWithNone = Literal["none", "blue", "yellow", "orange", "red"]


def _increasing(values: list[float]) -> list[float]:
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"strictly increasing values (got {', '.join(f'{v:g}' for v in values)})")
    return values


#: Blue, yellow, orange and red thresholds: four positive numbers, strictly increasing.
FourThresholds = Annotated[list[PositiveFloat], Field(min_length=4, max_length=4), AfterValidator(_increasing)]


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


class EffectiveRain(Strict):
    """``R_e = Σ_{i=0..n} K^i R_i``: decay factor ``k`` per day, ``n`` antecedent days."""

    k: float = Field(gt=0, lt=1)
    n: int = Field(ge=0)
    source: str = Field(min_length=1)


class Tank(Strict):
    """Three-tank series model: outlet heights in mm, coefficients per hour."""

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


Month = Annotated[int, Field(ge=1, le=12)]


class SeasonSection(Strict):
    """CTRL-T dry intervals of one season, h: ``split_dry_h`` ends a sub-event, ``merge_dry_h`` an event."""

    months: list[Month] = Field(min_length=1)
    split_dry_h: PositiveFloat
    merge_dry_h: PositiveFloat

    @model_validator(mode="after")
    def _merge_not_shorter(self) -> SeasonSection:
        if self.merge_dry_h < self.split_dry_h:
            raise ValueError(f"merge_dry_h at least split_dry_h ({self.split_dry_h:g})")
        return self

    def season(self) -> landslide.Season:
        return landslide.Season(frozenset(self.months), self.split_dry_h, self.merge_dry_h)


class Events(Strict):
    """Rain-event reconstruction (CTRL-T); depths in mm, durations in h."""

    isolated_max_mm: float = Field(ge=0)
    isolation_dry_h: PositiveFloat
    min_subevent_mm: float = Field(ge=0)
    warm: SeasonSection
    cold: SeasonSection
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _seasons_partition_the_year(self) -> Events:
        months = self.warm.months + self.cold.months
        if sorted(months) != list(range(1, 13)):
            raise ValueError("warm.months and cold.months to cover the months 1–12 once each "
                             f"(got {', '.join(map(str, sorted(months)))})")
        return self


class IDCurve(Strict):
    """``I = alpha · D^−beta`` (I mm/h, D h), fitted on ``min_duration_h``–``max_duration_h``."""

    label: str
    alpha: PositiveFloat
    beta: float = Field(ge=0)
    min_duration_h: PositiveFloat
    max_duration_h: PositiveFloat
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _range(self) -> IDCurve:
        if self.min_duration_h >= self.max_duration_h:
            raise ValueError("min_duration_h below max_duration_h")
        return self


class ThresholdSet(Strict):
    """Blue, yellow, orange, red thresholds of SWI (mm) and daily effective rainfall (mm)."""

    swi_mm: FourThresholds
    effective_rain_mm: FourThresholds
    source: str = Field(min_length=1)
    provisional: bool = False


class ZoneThresholds(Strict):
    """A zone's departures from the default thresholds; an absent quantity keeps the default."""

    swi_mm: FourThresholds | None = None
    effective_rain_mm: FourThresholds | None = None
    source: str = Field(min_length=1)
    provisional: bool = False


class Trigger(Strict):
    default: ThresholdSet
    zones: dict[str, ZoneThresholds] = Field(default_factory=dict)


class Levels(Strict):
    """Levels with memory on the 0–100 score (shared with the flood model)."""

    boundaries: Annotated[list[float], Field(min_length=4, max_length=4), AfterValidator(_increasing)]
    margin: float = Field(ge=0)
    hold: Duration
    expire: Window
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _within_scale(self) -> Levels:
        if not (0 < self.boundaries[0] and self.boundaries[-1] < landslide.SCORE_MAX):
            raise ValueError(f"boundaries between 0 and {landslide.SCORE_MAX:g}")
        if self.margin >= self.boundaries[0]:
            raise ValueError(f"margin below the first boundary ({self.boundaries[0]:g})")
        return self

    def scale(self) -> LevelParams:
        return LevelParams(tuple(self.boundaries), self.margin, self.hold, self.expire)


class Matrix(Strict):
    """Zone level by susceptibility class (keys 1–5) and trigger level (columns none … red)."""

    classes: dict[int, Annotated[list[LevelWithNone], Field(min_length=5, max_length=5)]]
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
    swi_level: LevelName
    source: str = Field(min_length=1)


class StabilityRung(Strict):
    """K below ``below`` puts the object at ``level`` at least."""

    below: PositiveFloat
    level: LevelName


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
    events: Events
    id_thresholds: dict[str, IDCurve] = Field(min_length=1)
    trigger: Trigger
    levels: Levels
    matrix: Matrix
    dangerous_rock: DangerousRock

    def params(self) -> landslide.LandslideParams:
        """The frozen parameter object for :mod:`warn.risk.landslide`."""
        t = self.tank
        scores = tuple(self.levels.boundaries)
        default = self.trigger.default

        def thresholds(swi: list[float], rain: list[float], provisional: bool) -> landslide.TriggerThresholds:
            return landslide.TriggerThresholds(tuple(swi), tuple(rain), scores, provisional)

        return landslide.LandslideParams(
            k=self.effective_rain.k,
            n=self.effective_rain.n,
            tank=landslide.TankParams(t.L1, t.alpha1, t.L2, t.alpha2, t.beta1, t.L3, t.alpha3, t.beta2,
                                      t.L4, t.alpha4, t.beta3, t.substep.total_seconds() / 3600),
            events=landslide.EventParams(self.events.isolated_max_mm, self.events.isolation_dry_h,
                                         self.events.min_subevent_mm, self.events.warm.season(),
                                         self.events.cold.season()),
            id_thresholds={name: landslide.IDThreshold(name, c.alpha, c.beta, c.source, c.min_duration_h,
                                                       c.max_duration_h)
                           for name, c in self.id_thresholds.items()},
            trigger=thresholds(default.swi_mm, default.effective_rain_mm, default.provisional),
            zone_trigger={zone: thresholds(z.swi_mm or default.swi_mm,
                                           z.effective_rain_mm or default.effective_rain_mm, z.provisional)
                          for zone, z in self.trigger.zones.items()},
            levels=self.levels.scale(),
            matrix=self.matrix.table(),
            rock=self.dangerous_rock.params(),
        )


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
    def _increasing(self) -> DepthThresholds:
        _increasing([self.blue, self.yellow, self.red])
        return self


class SensorTerm(Strict):
    rate_window: Window
    min_readings: int = Field(ge=2)
    horizon: Window
    source: str = Field(min_length=1)


class River(Strict):
    rate_window: Window
    min_readings: int = Field(ge=2)
    approach_margin_m: float = Field(ge=0)
    forecast_horizon: Duration
    source: str = Field(min_length=1)


class Score(Strict):
    known_point_bonus: float = Field(ge=0)
    source: str = Field(min_length=1)


class FloodFile(Strict):
    """``models/flood.yaml``."""

    model: Literal["flood"]
    version: int = Field(ge=1)
    screen: Screen
    bucket: Bucket
    depth_thresholds_cm: DepthThresholds
    sensor: SensorTerm
    river: River
    score: Score
    levels: Levels

    def params(self) -> flood.FloodParams:
        """The frozen parameter object for :mod:`warn.risk.flood`."""
        b, d = self.bucket, self.depth_thresholds_cm
        return flood.FloodParams(
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
            sensor=flood.SensorParams(self.sensor.rate_window, self.sensor.min_readings, self.sensor.horizon),
            river=flood.RiverParams(self.river.rate_window, self.river.min_readings, self.river.approach_margin_m,
                                    self.river.forecast_horizon),
            levels=self.levels.scale(),
        )


@dataclass(frozen=True)
class ModelKind:
    """A registered model: the schema of its file."""

    schema: type[Strict]


MODELS: Registry[ModelKind] = Registry("model")
MODELS.add("rainstorm", ModelKind(RainstormFile))
MODELS.add("sensors", ModelKind(SensorsFile))
MODELS.add("landslide", ModelKind(LandslideFile))
MODELS.add("flood", ModelKind(FloodFile))


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
