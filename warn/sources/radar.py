"""Radar quantitative precipitation estimates: one mosaic per frame time, fetched and decoded to the contract.

A :class:`RadarSource` is the ``observed.radar`` section of config.yaml (:class:`warn.config.RadarSpec`)
made to work: its URL template names a frame by its time (``{time:%Y%m%d%H%M}``, UTC); each frame
is fetched like a forecast run (:class:`warn.sources.forecast.ForecastSource`: the source's network
policy, retries, HTTP or file) and decoded by the forecast decoders (:func:`open_forecast`): MRMS
GRIB2 ``PrecipRate`` or a CF-NetCDF mosaic (``rainfall_rate`` / ``lwe_precipitation_rate`` in mm/h or
kg m-2 s-1, or a depth). A rate is an instantaneous rate held for ``every`` (converted only by
:func:`warn.rainarray.rate_to_depth`); a depth is taken as the depth of the ``every`` ending at the
frame's time. Each frame comes out as a contract array of one time, depth in mm per ``every``,
NaN where the radar does not see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Formatter

import numpy as np
import xarray as xr

from warn import rainarray
from warn.config import FilesSpec, RadarSpec, fill
from warn.durations import iso_duration
from warn.errors import Problem, SourceError, WarnError
from warn.sources.forecast import Fetched, ForecastSource, open_forecast
from warn.sources.http import policy_of


@dataclass(frozen=True)
class Held:
    """A frame found, and the fetch its bytes came from (what a re-check of the frame is conditional on)."""

    fetched: Fetched
    frame: xr.DataArray


class RadarSource:
    """The radar frames of one deployment.

    Parameters
    ----------
    spec
        ``observed.radar`` of config.yaml.
    urls
        Values of the placeholders in ``spec.url`` other than the time (``{feed}``: the demo feed server).
    cache_dir
        Where fetched frames are written (HTTP only; local files are read in place).
    limits
        ``files:`` of config.yaml: the size and grid limits every frame is checked against.
    """

    def __init__(self, spec: RadarSpec, *, urls: Mapping[str, str], cache_dir: Path, limits: FilesSpec) -> None:
        self.spec, self.limits = spec, limits
        #: Placeholders besides {time} nothing filled (a demo URL in a live run): every frame is missing.
        self.unfilled = sorted({name for _, name, _, _ in Formatter().parse(fill(spec.url, urls)) if name} - {"time"})
        #: The frames of the last call of :meth:`frames` that were found, by time, each with the fetch it was
        #: decoded from: the next call re-checks them (a conditional GET) and decodes only those re-published.
        self.held: dict[datetime, Held] = {}
        self.source = ForecastSource(fill(spec.url, urls), directory=Path(cache_dir), placeholder="time",
                                     policy=policy_of(spec), attempts=spec.retries + 1)

    def close(self) -> None:
        """Close the source's HTTP client."""
        self.source.close()

    def frame(self, at: datetime) -> xr.DataArray:
        """Fetch and decode the frame of time ``at``.

        Parameters
        ----------
        at
            The frame's time (timezone-aware): the end of the interval its depth covers.

        Returns
        -------
        xarray.DataArray
            Contract array ``rain`` with one time (``at``), depth in mm per ``spec.every``; no
            ``issued_at`` (an observation).

        Raises
        ------
        SourceError
            The URL has a placeholder nothing filled; the frame is missing or unreadable (naming its URL), is not of time ``at``, or covers
            another interval than ``spec.every``.
        DataContractError
            The frame's values break the contract (units, depths beyond the physical, …).
        """
        return self._found(at, None).frame

    def _found(self, at: datetime, held: Held | None) -> Held:
        """The frame of time ``at``: ``held`` again when its file is unchanged (HTTP 304, the same sha256),
        else the frame fetched and decoded afresh (:meth:`frame`'s errors)."""
        if self.unfilled:
            raise SourceError(Problem("config.yaml", "observed.radar.url", "a URL whose only placeholder left is "
                                      "{time}", f"{{{', '.join(self.unfilled)}}} not filled in {self.spec.url!r}"))
        at = at.astimezone(timezone.utc)
        try:
            fetched = self.source.fetch(at, previous=None if held is None else held.fetched)
        except SourceError:
            if held is None:
                raise
            return held  # the re-check failed: the frame stays as it was fetched (see frames)
        if held is not None and (fetched.not_modified or fetched.checksum == held.fetched.checksum):
            return Held(fetched, held.frame)
        spec = self.spec
        rain = open_forecast(fetched.path, var=spec.var, source=fetched.url, step=spec.every, limits=self.limits,
                             decoder=None if spec.format == "auto" else spec.format)
        return Held(fetched, _one_frame(rain, fetched.url, spec.every, at=at))

    def frames(self, times: Sequence[datetime]) -> tuple[xr.DataArray | None, list[str]]:
        """Fetch the frames of ``times``, leaving out those missing.

        The service's cycles ask for overlapping windows: a frame the previous call found is asked for
        again conditionally (HTTP ``If-None-Match`` / ``If-Modified-Since``; a local file by its sha256)
        and decoded again only when it was re-published with other bytes (a corrected frame). A frame
        whose re-check fails (the feed unreachable) stays as it was fetched: the failure says nothing
        of its bytes, and the frames not held yet report the outage. Only the frames of ``times`` that
        were found are held on (what the next, overlapping window can ask for again); a frame missing
        or refused is asked for afresh next time.

        Parameters
        ----------
        times
            Frame times (timezone-aware), in any order.

        Returns
        -------
        (frames, problems)
            The frames found concatenated on time in ascending order (``None`` if none was found;
            where frames are missing the times have gaps), and one readable problem per missing
            frame (zh / en), naming its time and what went wrong.
        """
        problems: list[str] = []
        held, self.held = self.held, {}
        for at in sorted(times):
            try:
                self.held[at] = self._found(at, held.get(at))
            except WarnError as err:
                what = err.problems[0] if err.problems else err
                problems.append(f"雷达 {at:%Y-%m-%d %H:%MZ} 缺测 / radar frame {at:%Y-%m-%d %H:%MZ} missing: {what}")
        found = [one.frame for one in self.held.values()]
        if not found:
            return None, problems
        return _stacked(found, source=self.source.template), problems


def read_frames(paths: Sequence[Path], *, every: timedelta, limits: FilesSpec) -> xr.DataArray:
    """Decode radar frame files (MRMS GRIB2 or CF-NetCDF mosaics), in time order, into one array.

    Parameters
    ----------
    paths
        One frame per file, in any order.
    every
        The frames' spacing: the interval an instantaneous rate is held for and a depth covers.
    limits
        ``files:`` of config.yaml.

    Returns
    -------
    xarray.DataArray
        Contract array (time, lat, lon), depth in mm per ``every``, times ``every`` apart.

    Raises
    ------
    SourceError
        A file is unreadable or is not one frame of ``every`` (naming it), or the frames are not
        ``every`` apart on one grid (naming the times).
    DataContractError
        A frame's values break the contract.
    """
    found = sorted((_one_frame(open_forecast(path, source=str(path), step=every, limits=limits), str(path), every)
                    for path in paths), key=lambda frame: frame["time"].values[0])
    where = ", ".join(str(path) for path in paths)
    times = np.array([frame["time"].values[0] for frame in found])
    if times.size > 1 and not (np.diff(times) == np.timedelta64(every)).all():
        raise SourceError(Problem(where, "rain.time", f"frames {iso_duration(every)} apart, none missing or repeated",
                                  ", ".join(str(t)[:16] for t in times)))
    grids = {(frame.sizes["lat"], frame.sizes["lon"], float(frame["lat"][0]), float(frame["lon"][0])) for frame in found}
    if len(grids) > 1:
        raise SourceError(Problem(where, "rain.lat/lon", "every frame on one grid", f"{len(grids)} different grids"))
    return _stacked(found, source=f"radar frames {str(times[0])[:16]}…{str(times[-1])[:16]}")


def _stacked(frames: Sequence[xr.DataArray], *, source: str) -> xr.DataArray:
    """``frames`` (contract arrays of one time each, in time order) as one array on time: the first frame's
    attributes with ``source`` and the frames' histories one after another. Frames on one grid are stacked
    with numpy (what :func:`xarray.concat` gives, without its alignment); a window across a change of grid is
    joined by :func:`xarray.concat` on the union of the grids (NaN where a frame has no cell)."""
    first = frames[0]
    variables = first.coords.variables
    if all(frame.dims == first.dims and frame.coords.keys() == set(first.dims) and
           all(frame.indexes[dim].equals(first.indexes[dim]) for dim in first.dims if dim != "time")
           for frame in frames):
        times = np.concatenate([frame.indexes["time"].values for frame in frames])
        coords = {name: xr.Variable("time", times, variables["time"].attrs) if name == "time" else variables[name]
                  for name in variables}
        joined = xr.DataArray(np.concatenate([frame.values for frame in frames], axis=first.get_axis_num("time")),
                              dims=first.dims, coords=coords, name=first.name, attrs=dict(first.attrs))
    else:
        joined = xr.concat(frames, dim="time", join="outer", combine_attrs="override")
    joined.attrs.update(source=source, history="\n".join(frame.attrs["history"] for frame in frames))
    return joined


def _one_frame(rain: xr.DataArray, where: str, every: timedelta, *, at: datetime | None = None) -> xr.DataArray:
    """``rain`` checked to be one frame of ``every`` (at ``at`` if given), without an ``issued_at``."""
    times = rain["time"].values
    expected = "one frame" + (f" at {at:%Y-%m-%dT%H:%MZ}" if at is not None else "")
    if times.size != 1 or (at is not None and times[0] != np.datetime64(at.replace(tzinfo=None), "ns")):
        raise SourceError(Problem(where, f"{rain.name}.time", expected,
                                  ", ".join(str(t)[:16] for t in times[:3]) + (" …" if times.size > 3 else "")))
    if rainarray.step_of(rain) != every:
        raise SourceError(Problem(where, f"{rain.name}.step", f"a frame of {iso_duration(every)} "
                                  "(observed.radar.every, models/nowcast.yaml step)", f"an interval of {rain.attrs['step']}"))
    rain.attrs.pop("issued_at", None)
    return rain
