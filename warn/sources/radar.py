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
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from warn import rainarray
from warn.config import FilesSpec, RadarSpec, fill
from warn.durations import iso_duration
from warn.errors import Problem, SourceError, WarnError
from warn.sources.forecast import ForecastSource, open_forecast
from warn.sources.http import policy_of


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
        self.source = ForecastSource(fill(spec.url, urls), directory=Path(cache_dir), placeholder="time",
                                     policy=policy_of(spec), attempts=spec.retries + 1)

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
            The frame is missing or unreadable (naming its URL), is not of time ``at``, or covers
            another interval than ``spec.every``.
        DataContractError
            The frame's values break the contract (units, depths beyond the physical, …).
        """
        at = at.astimezone(timezone.utc)
        fetched = self.source.fetch(at)
        spec = self.spec
        rain = open_forecast(fetched.path, var=spec.var, source=fetched.url, step=spec.every, limits=self.limits,
                             decoder=None if spec.format == "auto" else spec.format)
        expected = np.datetime64(at.replace(tzinfo=None), "ns")
        times = rain["time"].values
        if times.size != 1 or times[0] != expected:
            raise SourceError(Problem(fetched.url, f"{rain.name}.time", f"one frame at {at:%Y-%m-%dT%H:%MZ}",
                                      ", ".join(str(t)[:16] for t in times[:3]) + (" …" if times.size > 3 else "")))
        if rainarray.step_of(rain) != spec.every:
            raise SourceError(Problem(fetched.url, f"{rain.name}.step", f"a frame of {iso_duration(spec.every)} "
                                      "(observed.radar.every)", f"an interval of {rain.attrs['step']}"))
        rain.attrs.pop("issued_at", None)
        return rain

    def frames(self, times: Sequence[datetime]) -> tuple[xr.DataArray | None, list[str]]:
        """Fetch the frames of ``times``, leaving out those missing.

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
        found: list[xr.DataArray] = []
        problems: list[str] = []
        for at in sorted(times):
            try:
                found.append(self.frame(at))
            except WarnError as err:
                what = err.problems[0] if err.problems else err
                problems.append(f"雷达 {at:%Y-%m-%d %H:%MZ} 缺测 / radar frame {at:%Y-%m-%d %H:%MZ} missing: {what}")
        if not found:
            return None, problems
        joined = xr.concat(found, dim="time", combine_attrs="override")
        joined.attrs.update(source=self.source.template, history="\n".join(f.attrs["history"] for f in found))
        return joined, problems
