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
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple

from warn.reports.content import level_label
from warn.reports.fonts import use_cjk_font
from warn.reports.text import wrap
from warn.vocab import Level

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from warn.config import Settings
    from warn.reports.content import LevelSeries, RainSeries, Report

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
#: Rain in one hour that makes the hour part of the storm the hyetograph shows, mm.
WET_MM = 0.1
#: Hours the hyetograph keeps before the first and after the last wet hour.
MARGIN = timedelta(hours=3)
#: Width of a caption line under a figure, half-width cells (6.5 pt type across 7.5 in, with margins).
CAPTION_CELLS = 150
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


def wet_window(times: Sequence[datetime], *series: Sequence[float], wet_mm: float = WET_MM,
               margin: timedelta = MARGIN) -> tuple[int, int]:
    """The slice ``[start, stop)`` of ``times`` to draw: the hours from the first to the last in which any of
    ``series`` had ``wet_mm`` or more, widened by ``margin`` each side (the first window also takes in the
    longest accumulation's lead-in); the whole of ``times`` when no hour was wet.

    Parameters
    ----------
    times
        Hour ends, ascending, one hour apart.
    series
        Depths per hour, mm (NaN for missing).
    wet_mm
        Depth in one hour that counts as rain, mm.
    margin
        Hours kept before the first and after the last wet hour.
    """
    import numpy as np

    wet = np.zeros(len(times), dtype=bool)
    for values in series:
        with np.errstate(invalid="ignore"):
            wet |= np.asarray(values, dtype=float) >= wet_mm
    if not wet.any():
        return 0, len(times)
    hours = int(margin / timedelta(hours=1))
    found = np.flatnonzero(wet)
    return max(0, int(found[0]) - hours), min(len(times), int(found[-1]) + hours + 1)


def hyetograph(rain: RainSeries, *, tz: tzinfo | None = None) -> bytes:
    """The storm's hours: hourly rain, then the rolling accumulation over each window of the rainstorm
    signal against that window's own criteria.

    The top panel has the worst town's rain per hour (bars), the district mean (line) and, when the store
    has gauges that reported, the gauges' mean observed rain beside it (the caption says when there is
    none). Below it, one panel per signal window (3, 6, 12 h): the depth fallen in that window ending at
    each hour in the worst town (observed too, when there is), with each criterion of that window dashed
    in its level's colour (橙色 ≥50 mm/3 h, 红色 ≥100 mm/3 h …) and the first hour it was reached marked.
    Only the wet hours are drawn (:func:`wet_window`), with a margin; the caption says so.

    Parameters
    ----------
    rain
        The report's rain (:class:`warn.reports.content.RainSeries`): hour ends (tz-aware), mm per hour
        and per window, the criteria.
    tz
        Clock of the time axis (the deployment's); ``None`` keeps UTC.

    Returns
    -------
    bytes
        PNG, 7.5 in wide, 2.2 in for the hourly panel and 1.35 in per window, at 150 dpi.
    """
    import numpy as np

    observed = rain.observed_mm
    start, stop = wet_window(rain.times, rain.worst_mm, rain.district_mean_mm, *([observed] if observed else []))
    t = list(rain.times[start:stop])
    windows = sorted(rain.accumulations)
    fig = _figure(2.2 + 1.35 * len(windows) + 0.35)
    axes = fig.subplots(1 + len(windows), 1, sharex=True, height_ratios=[2.2] + [1.35] * len(windows))
    top = axes[0]
    hour = 1 / 24
    width = 0.42 * hour if observed else 0.85 * hour
    top.bar(t, np.asarray(rain.worst_mm[start:stop], dtype=float), width=-width, align="edge", color="#4682B4",
            label=f"{rain.worst_zone_name}（最大雨量镇街，预报）worst town, forecast")
    if observed:
        top.bar(t, np.asarray(observed[start:stop], dtype=float), width=width, align="edge", color="#2E8B57",
                label=f"雨量站实测（{rain.gauges} 站平均）observed, mean of the gauges")
    top.plot(t, np.asarray(rain.district_mean_mm[start:stop], dtype=float), color="black", lw=1.1,
             drawstyle="steps-pre", label="全区平均（预报）district mean, forecast")
    top.set_ylabel("小时雨量 mm / h", fontsize=8)
    top.legend(loc="upper right", fontsize=6.5, framealpha=0.85)
    top.set_title("雨量过程 hyetograph — 逐时雨量与暴雨预警信号各时段累计雨量 hourly rain and the signal's "
                  "accumulations", fontsize=9)
    for ax, window in zip(axes[1:], windows, strict=True):
        _accumulation_panel(ax, t, rain, window, slice(start, stop), tz)
    for ax in axes:
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", color="#DDDDDD", lw=0.5)
    _time_axis(axes[-1], tz)
    fig.supxlabel(rain_caption(rain, start, stop, tz), x=0.01, ha="left", fontsize=6.5, color="#333333")
    return _png(fig)


def _accumulation_panel(ax: Axes, t: list[datetime], rain: RainSeries, window: float, shown: slice,
                        tz: tzinfo | None) -> None:
    """One signal window: the worst town's (and observed) depth in the window ending at each hour, its
    criteria dashed in their colours, and where each was first reached."""
    import numpy as np

    depth = np.asarray(rain.accumulations[window], dtype=float)
    ax.plot(t, depth[shown], color="#1f4e79", lw=1.3, label=f"{rain.worst_zone_name} 预报 forecast")
    if window in rain.observed_accumulations:
        ax.plot(t, np.asarray(rain.observed_accumulations[window], dtype=float)[shown], color="#2E8B57", lw=1.2,
                ls="-.", label="实测 observed")
    mine = [c for c in rain.criteria if c.window_h == window]
    for c in mine:
        colour = LEVEL_COLOURS[Level(c.level)]
        ax.axhline(c.depth_mm, color=colour, lw=1.1, ls="--")
        reached = np.flatnonzero(depth >= c.depth_mm)
        when = "，未达到 not reached"
        if reached.size:  # "by" when the window before it could not be summed (a missing hour): maybe earlier
            at = f"{rain.times[reached[0]].astimezone(tz):%m-%d %H:%M}"
            known = reached[0] > 0 and np.isfinite(depth[reached[0] - 1])
            when = f"，{at} 首次达到 first reached" if known else f"，不晚于 {at} 已达到 reached by {at}"
        ax.annotate(f"{c.label}{when}", (0.005, c.depth_mm), xycoords=("axes fraction", "data"), ha="left",
                    va="bottom", fontsize=6, bbox={"fc": colour, "ec": "none", "alpha": 0.3, "pad": 1})
        if reached.size and shown.start <= reached[0] < shown.stop:
            ax.plot([rain.times[reached[0]]], [depth[reached[0]]], marker="o", ms=4.5, color=colour, mec="black",
                    mew=0.6, zorder=5)
    finite = depth[shown][np.isfinite(depth[shown])]
    ax.set_ylim(0, 1.2 * max([c.depth_mm for c in mine] + [float(finite.max()) if finite.size else 0.0, 1.0]))
    ax.set_ylabel(f"{window:g} h 累计 mm", fontsize=8)
    ax.legend(loc="upper right", fontsize=6, framealpha=0.85)


def rain_caption(rain: RainSeries, start: int, stop: int, tz: tzinfo | None) -> str:
    """What the figure shows, zh-CN then English, one line each: the hours drawn and why, the rain's
    source, and whether observed rain exists."""
    first, last = (rain.times[k].astimezone(tz) for k in (start, stop - 1))
    span = f"{first:%m-%d %H:%M} — {last:%m-%d %H:%M}"
    margin, dry = f"{MARGIN / timedelta(hours=1):g}", len(rain.times) - (stop - start)
    cropped = stop - start < len(rain.times)
    zh = (f"{span}（小时末）" + (f"：降雨时段（小时雨量 ≥{WET_MM:g} mm）前后各 {margin} h，报告时段其余 {dry} h 无雨。"
                                 if cropped else "。")
          + "预报为镇街面平均，信号按最不利格点判定；窗口内有缺测小时的累计不画。"
          + ("实测为雨量站逐时平均。" if rain.observed_mm else "无雨量站实测数据，仅有预报。"))
    en = (f"{span} (hour ends)" + (f": the wet hours (≥{WET_MM:g} mm in an hour) with {margin} h each side; the "
                                   f"other {dry} h of the period were dry. " if cropped else ". ")
          + "Forecast: town means; the signal is judged on the worst grid cell; a window holding a missing hour "
            "is not drawn. "
          + ("Observed: the mean of the rain gauges that reported." if rain.observed_mm
             else "No rain-gauge observations in the store: forecast rain only."))
    return f"{wrap(zh, CAPTION_CELLS)}\n{wrap(en, CAPTION_CELLS)}"


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
        images["rain"] = hyetograph(report.rain, tz=settings.tz)
    images["levels"] = water_levels(report.levels, tz=settings.tz)
    return images
