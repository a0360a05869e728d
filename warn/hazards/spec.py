"""What a hazard declares, and what scoring one hands back.

A hazard (landslide, urban waterlogging, flash flood, the rainstorm signal …) is a
registered model, not a code path: one :class:`HazardSpec` says everything the rest of
the system needs to know about it — its names, the items it scores and the layer roles
they come from, the inputs it needs, its model file and config section, how it scores,
its playbooks, its CAP event and the quantities its tables show. The cycle runs every
registered hazard of the deployment through one orchestrator
(:mod:`warn.cycle.hazards`); the CLI, ``warn check``, CAP and the reports read the spec.

Scoring contract: ``spec.score(context)`` returns a :class:`Scored` whose items each
carry a :class:`~warn.vocab.Level` at every lead of :data:`LEADS` (the highest within
each), the drivers of each, the score the "now" level follows (0–100, NaN unknown) and
the quantities of :attr:`HazardSpec.columns`. Missing evidence is ``Level.UNKNOWN``,
never ``NONE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warn.declarative import Strict
from warn.risk.chunks import CellMap, Workers, here, in_process
from warn.vocab import ItemKind, Level, SensorKind

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

    from warn.cap.codec import Event
    from warn.compute import Compute
    from warn.config import LayerSpec, Settings
    from warn.errors import Problem
    from warn.sources.official import Bulletin
    from warn.store import Store

#: The lead times every hazard reports, and the longest reach of each.
LEADS: Mapping[str, timedelta] = {"now": timedelta(0), "2h": timedelta(hours=2), "24h": timedelta(hours=24)}


class Input(StrEnum):
    """What a hazard's scoring reads besides its layers."""

    RAIN = "rain"  # the forecast run (rainfall contract array)
    SENSORS = "sensors"  # QC-passed readings from the store (kinds in HazardSpec.sensor_kinds)
    OFFICIAL = "official"  # official bulletins (CAP) for this hazard in force


class Rescore(StrEnum):
    """When the cycle scores a hazard again."""

    EVERY_CYCLE = "every_cycle"  # its levels follow the clock or the sensors
    NEW_BASIS = "new_basis"  # only on a new run or new official floors; otherwise its items keep their levels


@dataclass(frozen=True)
class Role:
    """One layer role of a hazard: which items it scores from which layer.

    Attributes
    ----------
    name
        The role's name in ``config.yaml`` (``hazards.<hazard>.layers.<name>``): ``zones``,
        ``points``, ``gauges``, ``catchments`` …
    item
        The item label in slots and tables (``zone``, ``point``, ``gauge``, ``catchment``).
    kind
        The planner's item kind (playbooks match on it).
    zh, en
        What the items are, for people (``地灾隐患点`` / ``hazard point``).
    fields
        Attributes every feature of the layer must carry for the model (besides the id).
    required
        The hazard cannot score without this role.
    """

    name: str
    item: str
    kind: ItemKind
    zh: str
    en: str
    fields: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Column:
    """A quantity a hazard's items carry for the tables (``warn score``, the reports).

    Attributes
    ----------
    key
        Key in :attr:`ScoredItem.values` and in ``--json`` (``swi_max_mm``).
    zh, en
        Column heading.
    unit
        Unit of the value (``mm``, ``cm``, ``m``, ``min``, ``""``).
    """

    key: str
    zh: str
    en: str
    unit: str = ""



@dataclass(frozen=True)
class ScoredItem:
    """One scored item (zone, point, gauge, catchment or the district).

    Attributes
    ----------
    item_id, name
        The item's id in its layer and its name for people.
    item
        The item label of its role (:attr:`Role.item`), or ``district``.
    levels
        Level at each lead of :data:`LEADS`.
    drivers
        Readable reasons of each lead's level (``"3 h 雨量 68 mm ≥ 立即转移临界雨量 60 mm"``).
    score_now
        The score (0–100) the "now" level follows; NaN when unknown or not scored on a scale.
    values
        The quantities of :attr:`HazardSpec.columns` (``None``: not applicable or unknown).
    official
        The official bulletin level in force for the item (a floor), ``NONE`` without one.
    probability
        Where the run is an ensemble: for each lead, the fraction (0–1) of the members whose level
        reaches at least each level (``{"2h": {Level.RED: 0.35, …}}``); empty without one.
    """

    item_id: str
    name: str
    item: str
    levels: Mapping[str, Level]
    drivers: Mapping[str, tuple[str, ...]]
    score_now: float = float("nan")
    values: Mapping[str, float | None] = field(default_factory=dict)
    official: Level = Level.NONE
    probability: Mapping[str, Mapping[Level, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    """What scoring one hazard for one cycle gives.

    Attributes
    ----------
    items
        Every item of the hazard.
    notes
        Notes on the model's state (cold start, spin-up) for the cycle's record.
    notices
        Data-quality notices (a stale sensor, a gauge without a stage): the duty officers are told.
    """

    items: list[ScoredItem]
    notes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """Everything a hazard's scoring may read for one cycle.

    Attributes
    ----------
    settings
        The deployment.
    section
        The hazard's validated config section (its :attr:`HazardSpec.config` instance).
    params
        The frozen parameters built from the hazard's model file (``None`` without one).
    rain
        The forecast run (rainfall contract array, time/lat/lon, mm per step) or ``None``.
    issued_at
        The run's issue time t0 (UTC); the cycle's time when there is no run.
    now
        The cycle's time (UTC, not before ``issued_at``): sensors are read up to it.
    store
        Where state, remembered levels and readings are read; ``None`` runs cold.
    persist
        Save the state and the remembered levels for the next cycle.
    official
        Official bulletins of this hazard in force.
    official_unknown
        The hazard's official source is configured but down (and nothing held is in force).
    remember
        With ``persist``, also step and save the remembered levels; ``False`` in the pass that only
        advances the state through the observed hours before t0 (:mod:`warn.cycle.now`).
    compute
        Where the gridded steps run (the service's dask cluster, :mod:`warn.compute`); ``None``: here.
    """

    settings: Settings
    section: HazardSection
    params: Any
    rain: xr.DataArray | None
    issued_at: datetime
    now: datetime
    store: Store | None = None
    persist: bool = False
    official: Sequence[Bulletin] = ()
    official_unknown: bool = False
    remember: bool = True
    compute: Compute | None = None

    @property
    def cells(self) -> CellMap:
        """Where the kernels over the grid's cells run: :attr:`compute`, or this process."""
        return self.compute if self.compute is not None else in_process

    @property
    def workers(self) -> Workers:
        """Where work split another way runs (the zonal statistics by zones): :attr:`compute`, or this process."""
        return self.compute if self.compute is not None else here

    def layer(self, role: str) -> tuple[LayerSpec, gpd.GeoDataFrame]:
        """The layer playing ``role`` for this hazard, loaded and validated, in WGS84."""
        from warn.geo.layers import zone_layer

        return zone_layer(self.settings, self.section.layers[role])

    def records(self, role: str) -> tuple[LayerSpec, list[dict[str, Any]]]:
        """The attributes of every feature of the layer playing ``role``, a dict each, in the layer's order
        (without loading the geometry again, unlike :meth:`layer`)."""
        from warn.geo.layers import zone_records

        return zone_records(self.settings, self.section.layers[role])

    def has(self, role: str) -> bool:
        """Whether the deployment maps ``role`` to a layer."""
        return role in self.section.layers


class HazardSection(Strict):
    """The part of a hazard's ``config.yaml`` section every hazard has.

    ``hazards.<name>.model`` is the hazard's model file; ``layers`` maps each role to a
    layer of ``layers:``. A hazard adds its own keys by subclassing; an unknown key is refused.
    """

    model: Path | None = None
    layers: dict[str, str] = {}


@dataclass(frozen=True)
class HazardSpec:
    """A registered hazard.

    Attributes
    ----------
    name
        Registry name (``landslide``); the ``hazard`` of warnings, playbooks, items, CAP.
    zh, en
        Names for people (``地质灾害`` / ``Landslide and dangerous rock``).
    roles
        The layer roles it scores from.
    inputs
        What else it reads.
    sensor_kinds
        The sensor kinds it reads (with :attr:`Input.SENSORS`).
    config
        Schema of its ``config.yaml`` section (``hazards.<name>``).
    model
        The schema of its model file (``models/<name>.yaml``), imported when called (so that
        naming hazards stays cheap): a pydantic model whose ``params()`` gives the frozen
        parameters of :mod:`warn.risk`; ``None`` without one.
    score
        ``score(context) -> Scored``.
    rescore
        When the cycle scores it again.
    playbooks
        Names of the playbooks (``playbooks/*.yaml``) that answer its warnings.
    cap
        Its CAP ``category``, ``event`` and ``eventCode`` entries.
    columns
        The quantities its items carry for the tables.
    district_item
        The hazard scores one district-wide item (the rainstorm signal) besides or instead of roles.
    relayed
        Its public warnings are another authority's (the met office's rainstorm signal, 气象法 Art.
        22): the district relays them to its responsible people, naming the original, and never
        issues them to the public in its own name (``warn check`` refuses a public level for it).
    check
        Deeper checks of its deployment for ``warn check`` beyond the schemas and roles
        (``check(settings, section, params) -> problems``), e.g. a data file it reads.
    """

    name: str
    zh: str
    en: str
    roles: tuple[Role, ...]
    inputs: frozenset[Input]
    score: Callable[[Context], Scored]
    cap: Event
    config: type[HazardSection] = HazardSection
    model: Callable[[], type[Strict]] | None = None
    sensor_kinds: tuple[SensorKind, ...] = ()
    rescore: Rescore = Rescore.EVERY_CYCLE
    playbooks: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    district_item: bool = False
    relayed: bool = False
    check: Callable[[Settings, HazardSection, Any], list[Problem]] | None = None

    def role(self, name: str) -> Role:
        """The role called ``name``."""
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"hazard {self.name!r} has no layer role {name!r} (roles: "
                       f"{', '.join(r.name for r in self.roles)})")

