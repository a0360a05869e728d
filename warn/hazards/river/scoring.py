"""River scoring: every gauge's stage against its warning, guaranteed and highest recorded stages.

For the cycle's time (the river reads no forecast run):

1. Each gauge's QC-passed stage readings from the store over the last hour
   (:mod:`warn.hazards.sensing`); a gauge that is stale, whose latest reading failed QC or
   that has no readings is unknown — never "none" — and a data-quality notice says why.
2. The level now by the MWR flood warning signal's stage ladder
   (:func:`warn.risk.river.river_gauge`); +2 h and +24 h by the current rate of rise
   (:func:`warn.risk.river.level_within`).
3. The highest recorded stage comes from the layer attribute ``models/river.yaml`` names;
   a gauge declared there without one cannot reach red from its stage, and says so when
   it stands at orange; a gauge without one that is not declared is a notice too (``warn
   check`` refuses it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np

from warn.config import LayerSpec
from warn.errors import Problem
from warn.hazards.river.model import RiverModel
from warn.hazards.sensing import series, silence_limits
from warn.hazards.spec import LEADS, Context, Scored, ScoredItem
from warn.risk import river
from warn.risk.series import REASON_ZH
from warn.store import Store
from warn.vocab import Level


def score(ctx: Context) -> Scored:
    """River levels of every gauge of the ``gauges`` layer at the cycle's time (see the module docstring)."""
    params: RiverModel = ctx.params
    spec, records = ctx.records("gauges")
    limits = silence_limits(ctx.store, ctx.settings)
    items, notices = [], []
    for record in records:
        item, notice = _gauge(ctx.store, record, spec, ctx.now, limits, params)
        items.append(item)
        notices.extend(notice)
    return Scored(items, [], notices)


def _gauge(store: Store | None, record: dict[str, Any], spec: LayerSpec, now: datetime, limits: dict[str, Any],
           params: RiverModel) -> tuple[ScoredItem, list[str]]:
    """One gauge's levels, drivers and columns, and its notices."""
    gauge_id = str(record[spec.id_field])
    warning, guaranteed = float(record["warning_stage_m"]), float(record["guaranteed_stage_m"])
    highest = _number(record.get(params.highest_field))
    readings = series(store, record.get("sensor_id"), now, limits)
    gauge = river.river_gauge(readings.times, readings.values, warning_stage_m=warning, guaranteed_stage_m=guaranteed,
                              highest_stage_m=highest, stale=readings.stale, latest_flagged=readings.latest_flagged,
                              params=params.ladder)
    notices = []
    if not gauge.known:
        rule = f"（{readings.rule}）" if readings.rule else ""
        notices.append(f"数据质量：水文站 {gauge_id} {REASON_ZH[gauge.reason]}{rule}，水位未知 / data quality: "
                       f"gauge {gauge_id}: {gauge.reason}; its stage is unknown")
    if np.isnan(highest) and gauge_id not in params.highest_unavailable:
        notices.append(f"配置：水文站 {gauge_id} 无历史最高水位（{params.highest_field}），且未在 models/river.yaml 声明 / "
                       f"configuration: gauge {gauge_id} has no {params.highest_field} and models/river.yaml does "
                       f"not declare it unavailable")
    levels = {name: river.level_within(gauge, reach) for name, reach in LEADS.items()}
    text = river.stage_text(gauge, warning_stage_m=warning, guaranteed_stage_m=guaranteed, highest_stage_m=highest)
    ceiling = ("该站无历史最高水位，红色不能由水位判定 / no highest recorded stage at this gauge: red cannot be "
               "judged from the stage",) if np.isnan(highest) and gauge.level >= Level.ORANGE else ()
    reasons = (text, *(d.text() for d in river.gauge_drivers(gauge)), *ceiling)
    values = {"stage_m": gauge.stage_m if gauge.known else None, "warning_stage_m": warning,
              "minutes_to_next": _minutes_to_next(gauge)}
    name = str(record.get(spec.name_field, gauge_id)) if spec.name_field else gauge_id
    return ScoredItem(gauge_id, name, "gauge", levels, {lead: reasons for lead in LEADS}, values=values), notices


def _minutes_to_next(gauge: river.GaugeState) -> float | None:
    """Minutes to the next stage (warning, else guaranteed) at the current rate; None when not rising or unknown."""
    for hours in (gauge.hours_to_warning, gauge.hours_to_guaranteed):
        if gauge.known and 0 < hours < np.inf:
            return float(hours * 60)
    return None


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number


def highest_problems(spec: LayerSpec, layer: gpd.GeoDataFrame, params: RiverModel, model: str) -> list[Problem]:
    """What ``warn check`` says of the gauges' stages.

    Each gauge's stages warning < guaranteed (< highest recorded, where known); a gauge without
    a highest recorded stage that ``models/river.yaml`` does not declare unavailable, and one
    declared unavailable that has it (or is not in the layer); ``model`` is the model file's path.
    """
    where = f"{spec.path}#{spec.layer}"
    problems = []
    ids = set()
    for record in layer.to_dict("records"):
        gauge_id = str(record[spec.id_field])
        ids.add(gauge_id)
        warning, guaranteed = _number(record.get("warning_stage_m")), _number(record.get("guaranteed_stage_m"))
        highest = _number(record.get(params.highest_field))
        if not warning < guaranteed or (not np.isnan(highest) and not guaranteed < highest):
            problems.append(Problem(where, gauge_id, "stages 警戒 (warning) < 保证 (guaranteed) < 历史最高 (highest), m",
                                    f"{warning:g} / {guaranteed:g} / {highest:g}"))
        if np.isnan(highest) and gauge_id not in params.highest_unavailable:
            problems.append(Problem(where, f"{gauge_id}.{params.highest_field}",
                                    "the highest recorded stage (历史最高水位), m above the datum, or the gauge listed "
                                    f"in {model} highest_stage.unavailable", "nothing",
                                    "add the station's record to the layer, or declare it unavailable"))
        if not np.isnan(highest) and gauge_id in params.highest_unavailable:
            problems.append(Problem(model, "highest_stage.unavailable",
                                    f"only gauges without {params.highest_field}", f"{gauge_id} ({highest:g} m)"))
    problems += [Problem(model, "highest_stage.unavailable", f"gauges of {where}", gauge_id)
                 for gauge_id in sorted(params.highest_unavailable - ids)]
    return problems
