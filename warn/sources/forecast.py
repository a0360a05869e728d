"""Gridded rainfall forecasts: fetch a run over HTTP or from a file, decode it to one contract array.

Two steps, kept apart so each can be tested and replayed on its own:

- :class:`ForecastSource` turns a URL template and a run time into bytes on disk:
  ``http(s)://`` through httpx within the source's network policy (connect, read and
  total deadlines, a body cap, redirects off or same origin: :mod:`warn.netpolicy`),
  streamed to disk, with retries with exponential backoff on connection errors and 5xx,
  conditional GET by ETag / If-Modified-Since where a 304 means "no new run"), or a local path / ``file://`` URL. Every fetch records the
  URL, the sha256 of the bytes, the validators and when it happened
  (:class:`Fetched`). The httpx transport is injectable.
- :func:`open_forecast` decodes the file with a decoder from
  :data:`warn.sources.decoders.DECODERS` and returns the rainfall array contract
  (``warn.rainarray``), checked by :func:`warn.rainarray.check_rain` (and
  :func:`warn.rainarray.check_coverage` when zone bounds are given).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import httpx
import numpy as np
import xarray as xr

from warn import rainarray
from warn.config import FilesSpec, ForecastSpec
from warn.errors import Problem, SourceError
from warn.files import MAX_FORECAST_BYTES, require_file, sha256_of
from warn.netpolicy import NetPolicy
from warn.risk.chunks import Workers, here
from warn.sources.decoders import DECODERS, MEMBER, Load, check_declared, sniff, to_rain
from warn.sources.http import HttpGetter, policy_of

log = logging.getLogger(__name__)

#: Values a worker reads per part of a forecast file (20 M: 80 MB of float32).
PART_VALUES = 20_000_000


@dataclass(frozen=True)
class Fetched:
    """One fetch of one forecast run.

    Parameters
    ----------
    url
        The URL or path fetched.
    path
        Where the bytes are on disk (for a 304, the file of the previous fetch).
    checksum
        ``sha256:<hex>`` of the bytes.
    etag, last_modified
        The server's validators (HTTP headers, verbatim), ``None`` if not sent;
        for a local file ``last_modified`` is its modification time.
    fetched_at
        When the fetch finished, timezone-aware UTC.
    not_modified
        True when there is no new run: HTTP 304, or a local file with the same checksum
        as the previous fetch.
    """

    url: str
    path: Path
    checksum: str
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    not_modified: bool

    @property
    def content(self) -> bytes:
        """The fetched bytes."""
        return self.path.read_bytes()


class ForecastSource:
    """A forecast feed: a URL template with the run time in it.

    Parameters
    ----------
    template
        URL or path with ``{issued:...}`` formatted from the run time, e.g.
        ``http://127.0.0.1:8000/yubei_{issued:%Y%m%d%H}.nc``, ``file:///data/run_{issued:%Y%m%d%H}.grib2``
        or a plain path.
    placeholder
        The name of the time in ``template`` (``issued`` for a run; ``time`` for a radar frame).
    directory
        Where downloaded files are written (HTTP only; local files are read in place).
    transport
        httpx transport (e.g. ``httpx.HTTPTransport(local_address=...)``); the default is httpx's.
    policy
        Deadlines, body cap and redirects (:func:`warn.sources.http.policy_of`; default a
        forecast source's defaults: 512 MiB, 600 s in all).
    attempts
        How many times to try on a connection error, a timeout or a 5xx.
    backoff
        Seconds before the second attempt; doubled before each further one.
    sleep
        How to wait between attempts (injectable so that drills and tests need not sleep).
    """

    def __init__(
        self,
        template: str,
        *,
        directory: Path,
        placeholder: str = "issued",
        transport: httpx.BaseTransport | None = None,
        policy: NetPolicy | None = None,
        attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.template, self.placeholder = template, placeholder
        self.directory = Path(directory)
        self.http = HttpGetter(transport=transport, policy=policy or policy_of(ForecastSpec(url="-")),
                               attempts=attempts, backoff=backoff, sleep=sleep)

    def close(self) -> None:
        """Close the source's HTTP client (:meth:`warn.sources.http.HttpGetter.close`)."""
        self.http.close()

    def url_for(self, issued: datetime) -> str:
        """The URL or path of the run issued at ``issued`` (UTC).

        Raises
        ------
        SourceError
            The template has a placeholder other than ``{<placeholder>:…}`` that nothing filled (a deployment
            that kept the demo's ``{feed}``): the run is missing, said so, and the service runs on.
        """
        try:
            return self.template.format(**{self.placeholder: issued})
        except (KeyError, IndexError) as err:
            raise SourceError(Problem(self.template, "url", f"a URL whose only placeholder left is "
                                      f"{{{self.placeholder}}}", f"{{{err.args[0]}}} not filled")) from None

    def fetch(self, issued: datetime, *, previous: Fetched | None = None) -> Fetched:
        """Fetch the run issued at ``issued``.

        Parameters
        ----------
        issued
            Run time, UTC.
        previous
            The last fetch of the same run, if any: its validators make the request
            conditional, and a 304 returns it again with ``not_modified=True``.

        Returns
        -------
        Fetched

        Raises
        ------
        SourceError
            Naming the URL: file missing, HTTP error status, or connection failures
            after every attempt.
        """
        url = self.url_for(issued)
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            return self._fetch_http(url, previous)
        if scheme in ("", "file") or len(scheme) == 1:  # "C:" is a drive, not a scheme
            return _fetch_file(url, previous)
        raise SourceError(Problem(url, "", "an http(s):// or file:// URL or a local path", f"scheme {scheme!r}"))

    def _fetch_http(self, url: str, previous: Fetched | None) -> Fetched:
        headers = {}
        if previous is not None and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        name = Path(unquote(urlsplit(url).path)).name or "forecast"
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        download = _Download(path.with_name(path.name + ".part"))
        try:
            client = self.http.client()
            reply = self.http.get(client, url, headers=headers, ok=(200, 304) if previous else (200,),
                                  sink=download.start)
            now = datetime.now(timezone.utc)
            if reply.status_code == 304 and previous is not None:
                return Fetched(url=url, path=previous.path, checksum=previous.checksum,
                               etag=reply.headers.get("ETag", previous.etag),
                               last_modified=reply.headers.get("Last-Modified", previous.last_modified),
                               fetched_at=now, not_modified=True)
            checksum = download.commit(path)
            return Fetched(url=url, path=path, checksum=checksum, etag=reply.headers.get("ETag"),
                           last_modified=reply.headers.get("Last-Modified"), fetched_at=now, not_modified=False)
        finally:
            download.discard()


class _Download:
    """A run's body streamed to a partial file and hashed as it comes; each attempt starts afresh.

    The body is never held in memory: a run may be hundreds of MiB (``max_bytes`` of the source).
    """

    def __init__(self, partial: Path) -> None:
        self.partial = partial
        self._file: BinaryIO | None = None
        self._digest = hashlib.sha256()

    def start(self) -> Callable[[bytes], None]:
        """Truncate the partial file for a new attempt; return where its chunks go."""
        self.discard()
        self._file = file = self.partial.open("wb")
        self._digest = digest = hashlib.sha256()

        def write(chunk: bytes) -> None:
            file.write(chunk)
            digest.update(chunk)
        return write

    def commit(self, path: Path) -> str:
        """Move the complete body to ``path``; return its ``sha256:<hex>``."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.partial.replace(path)
        return "sha256:" + self._digest.hexdigest()

    def discard(self) -> None:
        """Close and remove the partial file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.partial.unlink(missing_ok=True)


def _fetch_file(url: str, previous: Fetched | None) -> Fetched:
    path = Path(unquote(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)
    checksum = "sha256:" + sha256_of(path, limit=MAX_FORECAST_BYTES, what="a forecast file (NetCDF or GRIB)")
    try:
        mtime = path.stat().st_mtime
    except OSError as err:
        raise SourceError(Problem(url, "", "a readable forecast file", str(err))) from None
    return Fetched(url=url, path=path, checksum=checksum, etag=None, last_modified=formatdate(mtime, usegmt=True),
                   fetched_at=datetime.now(timezone.utc),
                   not_modified=previous is not None and previous.checksum == checksum)


def _sha256(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def open_forecast(
    path: str | Path,
    *,
    var: str | None = None,
    source: str,
    issued_at: datetime | np.datetime64 | None = None,
    decoder: str | None = None,
    step: timedelta | None = None,
    filter_by_keys: Mapping[str, Any] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    limits: FilesSpec | None = None,
    workers: Workers = here,
) -> xr.DataArray:
    """Decode one forecast file into the rainfall array contract.

    Parameters
    ----------
    path
        NetCDF-CF or GRIB 1/2 file.
    var
        Name of the precipitation variable; found automatically when ``None``.
    source
        Source name for the ``source`` attribute (the feed's name or URL).
    issued_at
        Run time, UTC (naive or aware); defaults to the reference time in the file.
    decoder
        A name from ``DECODERS`` (``grib``, ``netcdf``); sniffed from the first bytes when ``None``.
    step
        Interval a single-time instantaneous rate or depth stands for (e.g. MRMS's 2 min).
    filter_by_keys
        GRIB only: cfgrib message selection, e.g. ``{"Ni": 72}``.
    bounds
        ``(minx, miny, maxx, maxy)`` lon/lat the grid must cover (the zones), checked
        by :func:`warn.rainarray.check_coverage`.
    limits
        ``files:`` of config.yaml (default its defaults): the file must be a regular file within
        ``max_forecast_bytes``, and every array it declares within the grid limits, checked before
        any data is read (:func:`warn.sources.decoders.check_shape`).
    workers
        Where the variable's values are read: here by default; on a cluster that distributes the
        grid's cells × members, in parts of about :data:`PART_VALUES` along its members (or steps),
        each part read from ``path`` by a worker (the workers see the file where this process does:
        deploy/README.md). The same values to the last bit; a part a worker cannot read is read here.

    Returns
    -------
    xarray.DataArray
        ``rain``: depth in mm per step, dims (time, lat, lon), time = UTC end of each
        step, attributes ``step``, ``source``, ``issued_at``, ``history``.

    Raises
    ------
    SourceError
        The file cannot be read or decoded, is not a regular file, is too large or declares arrays
        beyond the limits, or the choice of variable is ambiguous.
    DataContractError
        No precipitation variable (the message lists those present), unreadable units,
        negative depths beyond rounding, all-NaN steps, times that do not increase,
        a grid that does not cover ``bounds``.
    """
    path = Path(path)
    where = str(path)
    limits = limits or FilesSpec()
    require_file(path, limit=limits.max_forecast_bytes, what="a forecast file (NetCDF or GRIB)")
    name = decoder or sniff(path)
    decode = DECODERS.get(name, where=where, key="decoder")
    check_declared(path, name, limits, where=where)
    file = _File(path.resolve(), _stamp(path), name, var, where, dict(filter_by_keys) if filter_by_keys else None)
    load: Load = partial(_load_in_parts, file=file, workers=workers)
    precip = decode(path, var=var, where=where, filter_by_keys=filter_by_keys, load=load)
    issued = None
    if issued_at is not None:
        if isinstance(issued_at, datetime) and issued_at.tzinfo is not None:
            issued_at = issued_at.astimezone(timezone.utc).replace(tzinfo=None)
        issued = np.datetime64(issued_at, "ns")
    rain = to_rain(precip, where=where, source=source, issued_at=issued, step=step)
    rain = rainarray.check_rain(rain, where=where)
    if bounds is not None:
        rainarray.check_coverage(rain, bounds, where=where)
    return rain


@dataclass(frozen=True)
class _File:
    """A forecast file as a worker decodes it: where it is, its size and modification time (ns) as this process
    checked and opened it, and the decoder's arguments."""

    path: Path
    stamp: tuple[int, int]
    decoder: str
    var: str | None
    where: str
    filter_by_keys: Mapping[str, Any] | None


class _Read(Exception):  # noqa: N818 (not an error: how a worker's decoder stops once its part is read)
    """Raised by a worker's :data:`~warn.sources.decoders.Load` with the values of its part."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__("part read")
        self.values = values


def _load_in_parts(da: xr.DataArray, *, file: _File, workers: Workers) -> xr.DataArray:
    """A :data:`~warn.sources.decoders.Load`: ``da`` read in parts along its first axis on ``workers`` when
    they distribute its cells × members, else here."""
    size = da.sizes["lat"] * da.sizes["lon"] * da.sizes.get(MEMBER, 1)
    count = min(da.shape[0], max(2, -(-da.size // PART_VALUES)))
    if not workers.distributes(size) or count < 2:
        return da.load()
    bounds = np.linspace(0, da.shape[0], count + 1).round().astype(int)
    parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    read = [values if values is not None and values.shape == da[part].shape and values.dtype == da.dtype else None
            for part, values in zip(parts, workers.map(_read_part, [(file, part) for part in parts], size=size),
                                    strict=True)]
    if any(values is None for values in read):
        log.warning("计算节点读不到此预报文件，其部分在本进程读取 / the workers cannot read %s as this process opened "
                    "it: its parts are read here (they must see the files where warn run fetches them)", file.where)
    return da.copy(data=np.concatenate([da[part].values if values is None else values
                                        for part, values in zip(parts, read, strict=True)]))


def _read_part(job: tuple[_File, slice]) -> np.ndarray | None:
    """On a worker: the file decoded as this process decodes it, up to reading its variable, of which only
    ``part`` is read; ``None`` when the worker cannot read the file or it is not the file this process opened
    (another size or modification time: replaced since)."""
    file, part = job
    try:
        if _stamp(file.path) != file.stamp:
            return None
    except OSError:
        return None

    def stop(da: xr.DataArray) -> xr.DataArray:
        raise _Read(da[part].values)

    try:
        DECODERS.get(file.decoder, where=file.where, key="decoder")(
            file.path, var=file.var, where=file.where, filter_by_keys=file.filter_by_keys, load=stop)
    except _Read as read:
        return read.values
    except SourceError:
        return None
    raise AssertionError(f"the {file.decoder} decoder of {file.where} returned without reading its variable")


def _stamp(path: Path) -> tuple[int, int]:
    """A file's size (bytes) and modification time (ns)."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def write_forecast(rain: xr.DataArray, path: Path, *, title: str) -> Path:
    """Write a contract array as a CF-1.8 NetCDF that :func:`open_forecast` reads back.

    ``rain`` (depth in mm per step, ``standard_name`` lwe_thickness_of_precipitation_amount,
    ``cell_methods`` "time: sum") with ``time`` the end of each step and ``time_bnds`` its
    interval, ``forecast_reference_time`` from ``issued_at``, a ``member`` dimension
    (``standard_name`` realization) when it has one; the array's other attributes (source,
    history, step, …) become global attributes. Written to a partial file, then moved into place.

    Parameters
    ----------
    rain
        Contract array (checked by :func:`warn.rainarray.check_rain`).
    path
        The file to write.
    title
        The file's ``title``.

    Returns
    -------
    The path written.
    """
    rain = rainarray.check_rain(rain, where=str(path))
    ends = rain["time"].values
    starts = ends - np.timedelta64(rainarray.step_of(rain))
    variable = {"units": "mm", "standard_name": rainarray.STANDARD_NAME, "cell_methods": "time: sum",
                "long_name": f"precipitation depth per {rain.attrs['step']}"}
    ds = xr.Dataset({"rain": rain.astype(np.float32)})
    ds["rain"].attrs = variable
    ds["time_bnds"] = (("time", "nv"), np.stack([starts, ends], axis=1))
    ds["time"].attrs = {"standard_name": "time", "axis": "T", "bounds": "time_bnds"}
    ds["lat"].attrs = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
    ds["lon"].attrs = {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
    if "member" in ds.dims:
        ds["member"].attrs = {"standard_name": "realization", "long_name": "ensemble member"}
    first = str(starts[0].astype("datetime64[m]")).replace("T", " ")
    encoding: dict[str, dict[str, Any]] = {"time": {"units": f"minutes since {first}:00"},
                                           "time_bnds": {"units": f"minutes since {first}:00"},
                                           "rain": {"zlib": True, "_FillValue": np.float32(np.nan)}}
    if "issued_at" in rain.attrs:
        issued = np.datetime64(rain.attrs["issued_at"].rstrip("Z"), "ns")
        ds["forecast_reference_time"] = ((), issued, {"standard_name": "forecast_reference_time"})
        encoding["forecast_reference_time"] = {"units": f"minutes since {first}:00"}
    kept = {k: str(v) for k, v in rain.attrs.items() if k not in variable and k != "issued_at"}
    ds.attrs = {"Conventions": "CF-1.8", "title": title, **kept}
    path = Path(path)
    partial = path.with_name(path.name + ".part")
    ds.to_netcdf(partial, encoding=encoding, engine="netcdf4")
    partial.replace(path)
    return path
