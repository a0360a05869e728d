"""The rain field over the situation map: the forecast runs the store holds, as transparent PNG frames.

``GET /map/rain/{source}/{issued}/{lead}.png`` renders one step of a held run (``issued`` as
``20260715T0700Z``, ``lead`` the hours from the issue time to the end of the step): the run's cached file is
decoded by the forecast readers (:func:`warn.sources.forecast.open_forecast`, the rainfall array contract),
the step's depth turned into a rate (mm/h over the step), coloured by :data:`LEGEND` and transparent below
its first bound or where the value is missing, north up, one pixel per grid cell, covering the extent that
:func:`rain_json` gives (the cells' outer edges, WGS84 lon/lat). Decoded runs and rendered frames are kept in
memory (least recently used). Observed rain and nowcasts are not in the store yet: every frame is a
``forecast``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from PIL import Image
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from warn.errors import WarnError
from warn.rainarray import step_of
from warn.sources.forecast import open_forecast
from warn.store.views import RunView, Views
from warn.web.desk import Refused
from warn.web.reads import desk_of, moment, read, views_of

#: The colour ramp, mm/h: each colour from its bound up to the next (CMA's hourly-precipitation scale);
#: below the first bound the image is transparent.
LEGEND: tuple[tuple[float, str], ...] = (
    (0.1, "#a6f28f"), (1.5, "#3dba3d"), (7.0, "#61b8ff"), (15.0, "#0000fe"), (40.0, "#fa00fa"), (50.0, "#800040"))
#: Opacity of a coloured pixel (0–255): the towns' fill shows through.
ALPHA = 190
#: Runs decoded and frames rendered kept in memory.
RUNS_KEPT, FRAMES_KEPT = 8, 256
#: A lead in a frame's address: hours, a decimal number.
LEAD = re.compile(r"\d{1,4}(\.\d{1,4})?")
#: The form of a run's issue time in a frame's address.
ISSUED = "%Y%m%dT%H%MZ"


@dataclass(frozen=True)
class Frame:
    """One step of a run as the map shows it."""

    url: str
    valid_from: datetime
    valid_to: datetime
    lead_h: float
    kind: str
    issued_at: datetime


def rain_json(request: Request, views: Views, at: datetime) -> dict[str, Any]:
    """The rain of the situation: the frames of the newest run held by ``at`` of the first forecast source that
    has one, their extent, the legend and — when there is no run, or its cached file is gone — a notice saying
    so (never all clear)."""
    desk = desk_of(request)
    legend = [{"mm": bound, "colour": colour} for bound, colour in LEGEND]
    held = {run.source: run for run in views.runs(at)}
    run = next((held[name] for name in desk.settings.forecasts if name in held), None)
    if run is None:
        return {"frames": [], "extent": None, "legend": legend, "run": None,
                "notice": {"zh": "截至此时尚无预报降雨场", "en": "no forecast run held by then"}}
    described = {"source": run.source, "issued_at": run.issued_at.isoformat(), "held_at": run.held_at.isoformat()}
    try:
        rain = _decoded(request, run)
    except Refused as err:
        return {"frames": [], "extent": None, "legend": legend, "run": described,
                "notice": {"zh": err.zh, "en": err.en}}
    return {"frames": [_frame_json(f) for f in frames(run, rain)], "extent": extent(rain), "legend": legend,
            "run": described, "notice": None}


def frames(run: RunView, rain: xr.DataArray) -> list[Frame]:
    """Every step of ``run``, in time order."""
    step = step_of(rain)
    out = []
    for value in rain["time"].values:
        end = datetime.fromisoformat(str(np.datetime_as_string(value, unit="s"))).replace(tzinfo=UTC)
        lead = (end - run.issued_at) / timedelta(hours=1)
        out.append(Frame(f"/map/rain/{run.source}/{run.issued_at:{ISSUED}}/{lead:g}.png", end - step, end, lead,
                         "forecast", run.issued_at))
    return out


def extent(rain: xr.DataArray) -> list[float]:
    """``[west, south, east, north]``: the outer edges of the grid's cells, degrees."""
    lon, lat = rain["lon"].values, rain["lat"].values
    half_x = float(abs(lon[1] - lon[0])) / 2 if lon.size > 1 else 0.0
    half_y = float(abs(lat[1] - lat[0])) / 2 if lat.size > 1 else 0.0
    return [round(float(lon.min()) - half_x, 6), round(float(lat.min()) - half_y, 6),
            round(float(lon.max()) + half_x, 6), round(float(lat.max()) + half_y, 6)]


def _frame_json(frame: Frame) -> dict[str, Any]:
    return {"url": frame.url, "valid_from": frame.valid_from.isoformat(), "valid_to": frame.valid_to.isoformat(),
            "lead_h": frame.lead_h, "kind": frame.kind, "issued_at": frame.issued_at.isoformat()}


def _decoded(request: Request, run: RunView) -> xr.DataArray:
    """The run's field from its cached file.

    Raises
    ------
    Refused
        404: the cached file is gone or cannot be decoded any more.
    """
    path = Path(run.path)
    spec = desk_of(request).settings.forecasts.get(run.source)
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or spec is None:
        raise Refused(404, f"预报 {run.source} {run.issued_at:%Y-%m-%d %H:%MZ} 的缓存文件已不在，无法显示降雨场",
                      f"the cached file of run {run.source} {run.issued_at:%Y-%m-%d %H:%MZ} is gone: no rain field")
    try:
        return _open(str(path), stat.st_mtime_ns, run.source, spec.var, None if spec.format == "auto" else spec.format,
                     run.issued_at)
    except WarnError as err:
        raise Refused(404, f"预报 {run.source} {run.issued_at:%Y-%m-%d %H:%MZ} 无法解码",
                      f"run {run.source} {run.issued_at:%Y-%m-%d %H:%MZ} cannot be decoded: "
                      f"{err.problems[0] if err.problems else err}") from None


@lru_cache(maxsize=RUNS_KEPT)
def _open(path: str, _mtime_ns: int, source: str, var: str | None, decoder: str | None,
          issued: datetime) -> xr.DataArray:
    """A run decoded, remembered by its file's identity; an ensemble as its members' mean."""
    rain = open_forecast(path, var=var, source=source, issued_at=issued, decoder=decoder)
    if "member" in rain.dims:
        rain = rain.mean("member", keep_attrs=True)
    return rain.load()


@lru_cache(maxsize=FRAMES_KEPT)
def _png(path: str, mtime_ns: int, source: str, var: str | None, decoder: str | None, issued: datetime,
         lead_h: float) -> bytes | None:
    """One step of a run as a PNG (``None``: the run has no step ending ``lead_h`` hours after its issue)."""
    rain = _open(path, mtime_ns, source, var, decoder, issued)
    end = np.datetime64((issued + timedelta(hours=lead_h)).replace(tzinfo=None), "ns")
    times = rain["time"].values.astype("datetime64[ns]")
    if end not in times:
        return None
    depth = rain.sel(time=end).transpose("lat", "lon")
    rate = depth.values / (step_of(rain) / timedelta(hours=1))
    if rain["lat"].values[0] < rain["lat"].values[-1]:
        rate = rate[::-1]  # north up: the first row of the image is the northernmost
    return _encode(rate)


def _encode(rate: np.ndarray) -> bytes:
    """A rate field (mm/h, rows north to south) as an RGBA PNG in the colours of :data:`LEGEND`."""
    bounds = np.array([bound for bound, _ in LEGEND])
    colours = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] + [ALPHA] for _, c in LEGEND], dtype=np.uint8)
    palette = np.vstack([np.zeros((1, 4), dtype=np.uint8), colours])
    index = np.digitize(np.nan_to_num(rate, nan=-1.0), bounds)
    buffer = io.BytesIO()
    Image.fromarray(palette[index], "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


@read
def frame(request: Request) -> Response:
    """One step of a held forecast run as a transparent PNG (north up, the extent of the situation's rain).
    ---
    summary: 降雨场图层 / a rain frame
    parameters: [{name: source, in: path, required: true, schema: {type: string}},
                 {name: issued, in: path, required: true, description: "the run's issue time, 20260715T0700Z",
                  schema: {type: string}},
                 {name: lead, in: path, required: true, description: "hours from the issue to the step's end",
                  schema: {type: number}}]
    responses: {200: {description: a PNG, content: {image/png: {}}}, 404: {description: "no such run or step, or
      its cached file is gone"}}
    """
    source, text, lead_text = (request.path_params[k] for k in ("source", "issued", "lead"))
    try:
        issued = datetime.strptime(text, ISSUED).replace(tzinfo=UTC)
        lead = float(lead_text) if LEAD.fullmatch(lead_text) else float("nan")
        timedelta(hours=lead)
    except (ValueError, OverflowError):
        raise Refused(404, "降雨场地址无效", f"no rain frame at {source}/{text[:20]}/{lead_text[:10]}: expected "
                      "/map/rain/<source>/<YYYYMMDDTHHMMZ>/<lead hours>.png") from None
    with views_of(request) as views:
        run = views.run(source, issued)
    if run is None or run.held_at > moment(request):
        raise Refused(404, f"存储中无预报 {source} {issued:%Y-%m-%d %H:%MZ}",
                      f"no run {source} {issued:%Y-%m-%d %H:%MZ} held in the store")
    _decoded(request, run)  # refuses a file gone or undecodable
    spec = desk_of(request).settings.forecasts[run.source]
    png = _png(run.path, Path(run.path).stat().st_mtime_ns, run.source, spec.var,
               None if spec.format == "auto" else spec.format, run.issued_at, lead)
    if png is None:
        raise Refused(404, f"预报 {source} {issued:%Y-%m-%d %H:%MZ} 无 +{lead:g} 小时时效",
                      f"run {source} {issued:%Y-%m-%d %H:%MZ} has no step ending +{lead:g} h")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


routes: list[BaseRoute] = [Route("/map/rain/{source}/{issued}/{lead}.png", frame, methods=["GET"])]
