"""The hazard registry: every hazard the system knows, each a registered model.

A hazard lives in its own subpackage ``warn.hazards.<name>``, which registers its
:class:`~warn.hazards.spec.HazardSpec` in :data:`HAZARDS`; the registry imports the
subpackages of :data:`BUILTIN` on first use. Nothing outside a hazard's subpackage names that hazard: the cycle, the
CLI, ``warn check``, CAP and the reports ask the registry.

A deployment scores the hazards named in ``config.yaml``'s ``hazards:``
(:func:`deployed`): each section is validated by the hazard's own schema (an unknown key
is refused), its model file by the hazard's model schema, and every role it needs must
name a layer of ``layers:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warn.errors import ConfigError, Problem
from warn.registry import Registry
from warn.vocab import STORM_INCIDENT, STORM_INCIDENT_ZH

if TYPE_CHECKING:
    import xarray as xr

    from warn.compute import Compute
    from warn.config import Settings
    from warn.hazards.spec import Context, HazardSection, HazardSpec, Scored
    from warn.sources.official import Bulletin
    from warn.store import Store

#: The hazards shipped with warn, by registry name: the subpackages ``warn.hazards.<name>``.
BUILTIN: tuple[str, ...] = ("landslide", "waterlogging", "rainstorm", "flashflood", "river")
#: The registry of hazards: each subpackage registers its spec under its name when imported.
HAZARDS: Registry[HazardSpec] = Registry("hazard", modules=tuple(f"warn.hazards.{name}" for name in BUILTIN))


def get(name: str, *, where: str = "", key: str = "") -> HazardSpec:
    """The hazard called ``name``; an unknown name fails with the registered ones and the closest."""
    return HAZARDS.get(name, where=where, key=key)


def names() -> tuple[str, ...]:
    """Registered hazard names, without importing the hazards (for CLI choices and help texts)."""
    return BUILTIN


@dataclass(frozen=True)
class Deployed:
    """A hazard as one deployment runs it.

    Attributes
    ----------
    spec
        The registered hazard.
    section
        Its ``config.yaml`` section, validated by its own schema.
    params
        The frozen parameters from its model file (``None`` when it has none).
    """

    spec: HazardSpec
    section: HazardSection
    params: Any


def deployed(settings: Settings, *, only: str | None = None) -> list[Deployed]:
    """The hazards of ``settings`` (all, or the one called ``only``), validated, in registry order.

    Registry order (:data:`BUILTIN`, then the others by name) makes a cycle's crossings, and so
    its actions, the same whatever the order of the keys in config.yaml.

    Raises
    ------
    ConfigError
        Every problem found, each naming the key: an unregistered hazard, a key the hazard
        ignores, a missing or invalid model file, a role without a layer.
    """
    problems: list[Problem] = []
    out: list[Deployed] = []
    rank = {name: i for i, name in enumerate(BUILTIN)}
    wanted = sorted(settings.hazards, key=lambda n: (rank.get(n, len(rank)), n)) if only is None else [only]
    for name in wanted:
        if name not in settings.hazards:
            problems.append(Problem("config.yaml", "hazards", f"a section for hazard {name!r} (deployed: "
                                    f"{', '.join(settings.hazards)})", "none"))
            continue
        try:
            out.append(_deploy(settings, name))
        except ConfigError as err:
            problems.extend(err.problems)
    if problems:
        raise ConfigError(*problems)
    return out


def _deploy(settings: Settings, name: str) -> Deployed:
    from warn.declarative import parse_file, validate

    key = f"hazards.{name}"
    spec = get(name, where="config.yaml", key="hazards")
    entry = settings.hazards[name]
    section = validate(spec.config, {"model": entry.model, "layers": entry.layers, **(entry.model_extra or {})},
                       where="config.yaml", prefix=key)
    problems = [problem for role in spec.roles for problem in _role_problems(settings, spec, section, role.name)]
    problems += [Problem("config.yaml", f"{key}.layers.{role}", f"a role of {name} among "
                         f"{', '.join(r.name for r in spec.roles) or 'none'}", repr(role))
                 for role in section.layers if role not in {r.name for r in spec.roles}]
    if spec.model is not None and section.model is None:
        problems.append(Problem("config.yaml", f"{key}.model", f"the model file of {name} (models/{name}.yaml)",
                                "nothing"))
    if spec.model is None and section.model is not None:
        problems.append(Problem("config.yaml", f"{key}.model", f"no model file: {name} has no model parameters",
                                str(section.model)))
    if problems:
        raise ConfigError(*problems)
    params = parse_file(spec.model(), section.model).params() if spec.model is not None else None
    return Deployed(spec, section, params)


def _role_problems(settings: Settings, spec: HazardSpec, section: HazardSection, role: str) -> list[Problem]:
    """A required role without a layer, or a role naming a layer that ``layers:`` lacks."""
    key = f"hazards.{spec.name}.layers.{role}"
    layer = section.layers.get(role)
    if layer is None:
        if spec.role(role).required:
            return [Problem("config.yaml", key, f"the layer playing {spec.name}'s role {role!r} "
                            f"({spec.role(role).en}), a name in layers:", "nothing",
                            f"e.g. {role}: <layer name>")]
        return []
    if layer not in settings.layers:
        return [Problem("config.yaml", key, f"a layer among {', '.join(settings.layers)}", repr(layer),
                        f"add layers.{layer} or map the role to another layer")]
    return []


def names_zh() -> dict[str, str]:
    """Every registered hazard's name for people (``{"landslide": "地质灾害", …}``)."""
    return {name: HAZARDS.get(name).zh for name in HAZARDS.names()}


def incident_names_zh() -> dict[str, str]:
    """The names people read for an incident's hazard: every hazard's, and the composite storm's (``强降雨``)."""
    return {**names_zh(), STORM_INCIDENT: STORM_INCIDENT_ZH}


def context(settings: Settings, deployed: Deployed, rain: xr.DataArray | None, now: datetime, *,
            store: Store | None = None, persist: bool = False, official: tuple[Bulletin, ...] = (),
            official_unknown: bool = False, compute: Compute | None = None) -> Context:
    """The context ``deployed`` is scored in: the run (``None`` without one), the cycle's time (UTC)
    ``now`` (not before the run's issue time), the store, the official bulletins of the hazard and
    where the gridded steps run (``None``: here)."""
    from warn.hazards.spec import Context
    from warn.rainarray import issued_at

    return Context(settings, deployed.section, deployed.params, rain,
                   issued_at(rain) if rain is not None else now, now, store=store, persist=persist,
                   official=official, official_unknown=official_unknown, compute=compute)


def load_model(name: str, path: Path) -> Any:
    """The validated model file of hazard ``name`` at ``path`` (``.params()`` gives its parameters)."""
    from warn.declarative import parse_file

    spec = get(name)
    if spec.model is None:
        raise ConfigError(Problem(str(path), "model", f"a hazard with a model file ({name} has none)", name))
    return parse_file(spec.model(), path)


def score_run(settings: Settings, rain: xr.DataArray, *, store: Store | None = None, only: str | None = None
              ) -> list[tuple[str, Scored]]:
    """Score one forecast run for every hazard of ``settings`` that reads a run (or for ``only``),
    reading the store's states and remembered levels and writing nothing (``warn score``). An
    ensemble run is scored on its control member, with each item's probabilities over all members
    (:func:`warn.hazards.ensemble.score_members`).

    Returns
    -------
    list of (hazard name, Scored)

    Raises
    ------
    ConfigError
        ``only`` is not deployed, or is a hazard that does not read a forecast run (the rainstorm
        signal is the met office's bulletins).
    """
    from warn.hazards.ensemble import score_members
    from warn.hazards.spec import Input
    from warn.rainarray import issued_at

    out = []
    for deployed_ in deployed(settings, only=only):
        if Input.RAIN not in deployed_.spec.inputs:
            if only is not None:
                raise ConfigError(Problem("--hazard", "", "a hazard scored from a forecast run",
                                          f"{only} (set by official bulletins, not scored from a forecast)"))
            continue
        ctx = context(settings, deployed_, rain, issued_at(rain), store=store)
        out.append((deployed_.spec.name, score_members(deployed_.spec, ctx)))
    return out
