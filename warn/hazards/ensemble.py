"""Scoring a hazard on an ensemble run: levels from the control, probabilities from every member.

When the run of a :class:`~warn.hazards.spec.Context` has a ``member`` dim (the rainfall array
contract, :mod:`warn.rainarray`), :func:`score_members` scores the hazard once per member, each
member as a single run:

- every member but the control read-only (``persist=False``: the store is read, nothing is
  written), first — so that each starts from the same state the control does;
- then the control, in the context as given: its levels, drivers, values, notes and notices are
  the hazard's, and only it persists state and remembered levels;
- each item of the control gets :attr:`~warn.hazards.spec.ScoredItem.probability`: for every lead
  of :data:`~warn.hazards.spec.LEADS` and each level blue … red, the fraction of the members whose
  level at that lead is at least that level (:func:`exceedance`), and each lead's drivers a line
  naming the probability of the highest level reached by any member (:func:`probability_line`).

A member whose level at a lead is unknown counts in none of the fractions of that lead (missing
is not "none"); when no member's level is known the fractions are NaN. Without a member dim the
hazard is scored as it always was.

With a cluster (the context's :class:`~warn.compute.Compute`, when members × cells reach its
``min_cells``) the read-only members are mapped onto the workers: each worker opens the store by
its URL (once per worker process) and scores its members there, the kernels inside a member in
that worker. The control is scored here, after them, as without one: the same results, in the
same order. A store in memory cannot be opened elsewhere: its members stay here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping

from warn import hazards, rainarray
from warn.hazards.spec import LEADS, Context, HazardSpec, Scored, ScoredItem
from warn.store import Store
from warn.vocab import Level

#: The levels a probability is given for, lowest first.
COLOURS = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)
#: The stores a worker process opened for the members it scores, by URL (kept for the worker's life).
_STORES: dict[str, Store] = {}


def score_members(spec: HazardSpec, ctx: Context) -> Scored:
    """Score ``spec`` in ``ctx``: on the control member with probabilities over all members when the
    run is an ensemble, else as :attr:`HazardSpec.score` does (see the module docstring)."""
    rain = ctx.rain
    if rain is None or rainarray.MEMBER not in rain.dims:
        return spec.score(ctx)
    control = int(rain.attrs["control_member"])
    others = _read_only(spec, ctx, [ident for ident in rainarray.members(rain) if ident != control])
    scored = spec.score(dataclasses.replace(ctx, rain=rainarray.member(rain, control)))
    by_item: dict[tuple[str, str], list[Mapping[str, Level]]] = {}
    for result in (scored, *others):
        for item in result.items:
            by_item.setdefault((item.item, item.item_id), []).append(item.levels)
    items = [_with_probability(item, by_item[(item.item, item.item_id)]) for item in scored.items]
    return Scored(items, scored.notes, scored.notices)


def _read_only(spec: HazardSpec, ctx: Context, idents: list[int]) -> list[Scored]:
    """Score the members ``idents`` of ``ctx``'s run read-only, on the cluster's workers where it is worth it."""
    rain = ctx.rain
    assert rain is not None
    jobs = [dataclasses.replace(ctx, rain=rainarray.member(rain, ident), persist=False) for ident in idents]
    url = _url(ctx.store)
    size = len(jobs) * rain.sizes.get("lat", 1) * rain.sizes.get("lon", 1)
    if ctx.compute is None or not ctx.compute.distributes(size) or (ctx.store is not None and url is None):
        return [spec.score(job) for job in jobs]
    shipped = [(spec.name, dataclasses.replace(job, store=None, compute=None), url) for job in jobs]
    return ctx.compute.map(_score_shipped, shipped, size=size)


def _url(store: Store | None) -> str | None:
    """The URL another process opens ``store`` by; ``None`` without a store or for one in memory."""
    if store is None:
        return None
    url = store.engine.url
    if url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"):
        return None
    return str(url.render_as_string(hide_password=False))


def _score_shipped(job: tuple[str, Context, str | None]) -> Scored:
    """Score one member on a worker: ``(hazard name, context without its store, store URL)``."""
    name, ctx, url = job
    if url is not None and url not in _STORES:
        _STORES[url] = Store.connect(url)
    return hazards.get(name).score(dataclasses.replace(ctx, store=_STORES[url] if url is not None else None))


def exceedance(levels: Iterable[Level]) -> dict[Level, float]:
    """For each level blue … red, the fraction (0–1) of ``levels`` at or above it, the unknown ones
    left out; NaN for every level when none is known."""
    known = [level for level in levels if level != Level.UNKNOWN]
    if not known:
        return dict.fromkeys(COLOURS, math.nan)
    return {colour: sum(level >= colour for level in known) / len(known) for colour in COLOURS}


def probability_line(probability: Mapping[Level, float]) -> str | None:
    """``红色概率 35 % / red probability 35 %`` for the highest level with a probability above 0;
    ``None`` when no member reaches blue (or none is known)."""
    reached = [level for level in COLOURS if probability.get(level, math.nan) > 0]
    if not reached:
        return None
    top = reached[-1]
    percent = f"{100 * probability[top]:.0f} %"
    return f"{top.zh}概率 {percent} / {top.colour} probability {percent}"


def _with_probability(item: ScoredItem, members: list[Mapping[str, Level]]) -> ScoredItem:
    probability = {lead: exceedance(Level(levels[lead]) for levels in members) for lead in LEADS}
    drivers = {lead: (*reasons, line) if (line := probability_line(probability[lead])) else tuple(reasons)
               for lead, reasons in item.drivers.items()}
    return dataclasses.replace(item, probability=probability, drivers=drivers)
