"""The figures of an incident report: district map, hyetograph and water levels, as PNG bytes.

事件报告的图：辖区图、雨量过程图与水位图（PNG）。
The three drawing functions are pure: plain inputs in, PNG bytes out — no store, no clock,
no configuration — so they are tested on tiny synthetic inputs. :func:`render_all` is the
one wrapper that reads the zone layers of the deployment and feeds a built report to them.
Every figure is A4 width (7.5 in drawable at 150 dpi), uses the Agg backend (imported when
a figure is drawn, never at import time) and Noto Sans SC for Chinese
(:func:`warn.reports.fonts.use_cjk_font`). Levels follow :class:`warn.vocab.Level`
(−1 unknown, 0 none, 1 blue … 4 red) and every colour is also written out in the legend,
for readers who do not tell the colours apart.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple

from warn.reports.content import level_label
from warn.reports.fonts import use_cjk_font
from warn.vocab import Level

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from warn.config import Settings
    from warn.reports.content import LevelSeries, Report

#: Fill colour per level; none is light grey, unknown is white with grey hatching.
LEVEL_COLOURS: dict[Level, str] = {
    Level.UNKNOWN: "#FFFFFF",
    Level.NONE: "#E0E0E0",
    Level.BLUE: "#1E90FF",
    Level.YELLOW: "#FFD700",
    Level.ORANGE: "#FF8C00",
    Level.RED: "#DC143C",
}
#: Width of every figure, inches: A4 (8.27 in) less the page margins.
WIDTH_IN = 7.5
DPI = 150
#: QC flags that mark a reading as not to be trusted (drawn as ×, labelled 质控标记).
FLAGGED = frozenset({"doubtful", "bad"})
#: Markers of the kinds of point on a map, given to the kinds in the order they come.
MARKERS = ("^", "o", "s", "D", "v", "P")


class MapPoint(NamedTuple):
    """A point to mark on the map: WGS84 position, name, what kind of point it is (its legend label,
    ``地灾隐患点 hazard point``) and level."""

    lon: float
    lat: float
    name: str
    kind: str
    level: int


def _threshold_colour(key: str) -> str:
    """Line colour of a threshold: its level colour when the key names one, else dark grey."""
    for lv in (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED):
        if lv.colour in key.lower() or lv.zh in key:
            return LEVEL_COLOURS[lv]
    return "#404040"


def _figure(height_in: float) -> Figure:
    """A new A4-width Agg figure (not registered with pyplot, so nothing leaks between calls)."""
    use_cjk_font()
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def district_map(towns: gpd.GeoDataFrame, levels: Mapping[str, int], points: Sequence[MapPoint], *,
                 title: str, id_field: str = "zone_id", name_field: str = "name") -> bytes:
    """The district's towns coloured by level, with hazard and waterlogging points and town names.

    Parameters
    ----------
    towns
        Town polygons in WGS84 (EPSG:4326) with ``id_field`` and ``name_field``.
    levels
        Highest level per town id during the incident (−1 … 4); a town missing here is unknown.
    points
        Points to mark, one marker per kind (▲, ●, ■ … in the order the kinds come), filled by
        level; points at blue or above are named.
    title
        Figure title.
    id_field, name_field
        Columns of ``towns`` holding the id and the display name.

    Returns
    -------
    bytes
        PNG, 7.5 in wide at 150 dpi.
    """
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D

    fig = _figure(7.2)
    ax = fig.add_subplot()
    town_levels = [Level(levels.get(z, Level.UNKNOWN)) for z in towns[id_field]]
    for geom, lv in zip(towns.geometry, town_levels):
        _draw_polygon(ax, geom, lv)
    for point, name in zip(towns.geometry.representative_point(), towns[name_field]):
        ax.annotate(str(name), (point.x, point.y), ha="center", va="center", fontsize=7,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
    markers = dict(zip(dict.fromkeys(p.kind for p in points), MARKERS))
    for kind, marker in markers.items():
        mine = [p for p in points if p.kind == kind]
        ax.scatter([p.lon for p in mine], [p.lat for p in mine], marker=marker, s=34, zorder=3,
                   c=[LEVEL_COLOURS[Level(p.level)] for p in mine], edgecolors="black", linewidths=0.7)
        for p in mine:
            if p.level >= Level.BLUE:
                ax.annotate(p.name, (p.lon, p.lat), xytext=(4, 3), textcoords="offset points", fontsize=6,
                            zorder=4)
    present = sorted(set(town_levels) | {Level(p.level) for p in points}) or [Level.NONE]
    handles: list[Any] = [Patch(facecolor=LEVEL_COLOURS[lv], edgecolor="black",
                                hatch="///" if lv is Level.UNKNOWN else None, label=level_label(lv))
                          for lv in present]
    handles += [Line2D([], [], marker=marker, ls="none", mfc="white", mec="black", label=kind)
                for kind, marker in markers.items()]
    ax.legend(handles=handles, loc="lower right", fontsize=7, title="最高等级 highest level", title_fontsize=7,
              framealpha=0.9)
    _geographic_axes(ax, towns.total_bounds)
    ax.set_title(title, fontsize=10)
    return _png(fig)


def _draw_polygon(ax: Axes, geom: Any, level: Level) -> None:
    """Fill one (multi)polygon with its level colour, black outline; unknown hatched."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    parts = getattr(geom, "geoms", [geom])
    for part in parts:
        rings = [part.exterior, *part.interiors]
        path = MplPath.make_compound_path(*(MplPath(list(r.coords), closed=True) for r in rings))
        ax.add_patch(PathPatch(path, facecolor=LEVEL_COLOURS[level], edgecolor="black", linewidth=0.6,
                               hatch="///" if level is Level.UNKNOWN else None))


def _geographic_axes(ax: Axes, bounds: Sequence[float]) -> None:
    """Lon/lat ticks in degrees, equal-distance aspect at the centre latitude, and a north arrow."""
    from matplotlib.ticker import FuncFormatter

    xmin, ymin, xmax, ymax = bounds
    pad = 0.02 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect(1 / math.cos(math.radians((ymin + ymax) / 2)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2f}°E"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2f}°N"))
    ax.tick_params(labelsize=7)
    ax.annotate("N", xy=(0.06, 0.95), xytext=(0.06, 0.85), xycoords="axes fraction", ha="center", va="center",
                fontsize=9, arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2})


def _time_axis(ax: Axes, tz: tzinfo | None) -> None:
    """Concise date ticks on the deployment's clock."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=tz, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    ax.tick_params(labelsize=7)
    ax.xaxis.get_offset_text().set_fontsize(7)


def hyetograph(times: Sequence[datetime], worst_mm: Sequence[float], mean_mm: Sequence[float],
               thresholds: Mapping[str, float], *, worst_name: str, tz: tzinfo | None = None) -> bytes:
    """Rain per hour in the worst zone (bars) and the district mean (line), with the signal thresholds.

    The rainstorm signal criteria are depths over windows (50 mm in 3 h …); they are drawn as
    their mean hourly rate (depth ÷ window, as :class:`warn.reports.content.RainSeries` gives
    them), dashed, each labelled with its key; criteria at the same rate share one line.

    Parameters
    ----------
    times
        End of each interval (the rainfall contract labels interval ends), tz-aware.
    worst_mm, mean_mm
        Depth per interval, mm, in the worst zone and the district mean; NaN where missing.
    thresholds
        Label (``"橙色 orange ≥50 mm/3 h"``) → rate in mm per interval.
    worst_name
        Display name of the worst zone.
    tz
        Clock of the time axis (the deployment's); ``None`` keeps UTC.

    Returns
    -------
    bytes
        PNG, 7.5 × 3.6 in at 150 dpi.
    """
    import numpy as np

    fig = _figure(3.6)
    ax = fig.add_subplot()
    t = list(times)
    step_days = (times[1] - times[0]).total_seconds() / 86400 if len(times) > 1 else 1 / 24
    worst = np.asarray(worst_mm, dtype=float)
    ax.bar(t, worst, width=-0.85 * step_days, align="edge", color="#4682B4",
           label=f"{worst_name}（最大雨量区 worst zone）")
    ax.plot(t, np.asarray(mean_mm, dtype=float), color="black", lw=1.2, drawstyle="steps-pre",
            label="全区平均 district mean")
    ax.set_ylabel("雨量 rain (mm/h)", fontsize=8)
    by_rate: dict[float, list[str]] = {}
    for label, rate in thresholds.items():
        by_rate.setdefault(rate, []).append(label)
    for rate, labels in by_rate.items():
        colour = _threshold_colour(labels[-1])
        ax.axhline(rate, color=colour, lw=1.1, ls="--")
        ax.annotate(" · ".join(labels), (0.995, rate), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=6, bbox={"fc": colour, "ec": "none", "alpha": 0.3, "pad": 1})
    top = max([*thresholds.values(), float(np.nanmax(worst)) if np.isfinite(worst).any() else 0.0, 1.0])
    ax.set_ylim(0, top * 1.12)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    _time_axis(ax, tz)
    ax.set_title("雨量过程 hyetograph — 暴雨预警信号阈值 rainstorm signal thresholds", fontsize=9)
    return _png(fig)


def water_levels(series: Sequence[LevelSeries], *, tz: tzinfo | None = None) -> bytes:
    """One small panel per point: readings, thresholds dashed, QC-flagged readings as ×.

    Parameters
    ----------
    series
        Per point: ``name``, ``sensor_id``, ``unit``, ``times`` (tz-aware), ``values``,
        ``flags`` (QC flag per reading: good / doubtful / bad / missing) and ``thresholds``
        (label → value in ``unit``). Doubtful and bad readings are drawn as red × and labelled
        质控标记 flagged; missing readings leave a gap.
    tz
        Clock of the time axes; ``None`` keeps UTC.

    Returns
    -------
    bytes
        PNG, 7.5 in wide, 1.9 in per panel (two columns), at 150 dpi; a note when there is no series.
    """
    import numpy as np

    cols = 2 if len(series) > 1 else 1
    rows = max(1, math.ceil(len(series) / cols))
    fig = _figure(0.4 + 2.0 * rows)
    if not series:
        fig.text(0.5, 0.5, "无水位预警点 no water-level point warned", ha="center", va="center", fontsize=10)
        return _png(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, s in zip(axes, series):
        times = list(s.times)
        values = np.array([np.nan if v is None else v for v in s.values], dtype=float)
        flagged = np.array([f in FLAGGED for f in s.flags])
        usable = np.where(flagged | np.array([f == "missing" for f in s.flags]), np.nan, values)
        ax.plot(times, usable, color="#1f4e79", lw=1.0, marker=".", ms=2.5, label="读数 reading")
        if flagged.any():
            ax.plot([t for t, f in zip(times, flagged) if f], values[flagged], ls="none", marker="x", ms=5,
                    mew=1.2, color="#B00020", zorder=6, label="质控标记 flagged (doubtful/bad)")
        for label, value in s.thresholds.items():
            ax.axhline(value, color=_threshold_colour(label), ls="--", lw=1.0, label=f"{label} {value:g} {s.unit}")
        ax.set_title(f"{s.name}（{s.sensor_id}）", fontsize=8)
        ax.set_ylabel(s.unit, fontsize=7)
        _time_axis(ax, tz)
        ax.legend(fontsize=5.5, loc="best", framealpha=0.6)
    for ax in axes[len(series):]:
        ax.set_axis_off()
    fig.suptitle("预警点水位 water levels at the points that warned", fontsize=9)
    return _png(fig)


def render_all(report: Report, settings: Settings) -> dict[str, bytes]:
    """The report's figures: ``"map"``, ``"rain"`` (when the report has rain) and ``"levels"``.

    Reads the towns (``areas.towns``) and the layers of the report's points from ``settings`` for
    the geometry; levels, series and thresholds come from ``report``.
    """
    from warn.geo.layers import zone_layer

    spec, towns = zone_layer(settings, settings.areas.towns)
    positions: dict[tuple[str, str], tuple[float, float]] = {}
    for layer in dict.fromkeys(p.layer for p in report.points):
        pspec, gdf = zone_layer(settings, layer)
        positions.update({(layer, str(pid)): (g.x, g.y) for pid, g in zip(gdf[pspec.id_field], gdf.geometry)})
    marks = [MapPoint(*positions[(p.layer, p.point_id)], p.name, p.kind, p.level)
             for p in report.points if (p.layer, p.point_id) in positions]
    head = report.incident
    images = {"map": district_map(towns, {z.zone_id: z.level for z in report.zones}, marks,
                                  id_field=spec.id_field, name_field=spec.name_field,
                                  title=f"{head.incident_id} {head.hazard_zh} — 各镇街最高等级 highest level per town")}
    if report.rain is not None:
        rain = report.rain
        images["rain"] = hyetograph(rain.times, rain.worst_mm, rain.district_mean_mm, rain.thresholds,
                                    worst_name=rain.worst_zone_name, tz=settings.tz)
    images["levels"] = water_levels(report.levels, tz=settings.tz)
    return images
