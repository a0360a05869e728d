"""Bounded reads of the files people name: regular files only, never more than a stated size.

Every file the product reads because a person or a configuration named it (config.yaml,
model and playbook YAML, the roster, the sensor catalogue, a forecast file, a ``warn qc``
input, ``--evidence``) is opened through :func:`open_bounded`, which

- opens without blocking and refuses anything but a regular file — a named pipe (FIFO)
  would hang the reader, a device (``/dev/zero``, ``/dev/urandom``) never ends, a folder
  is not a file — with a sentence naming the path and what it is;
- refuses a file larger than its limit by ``fstat`` before reading a byte, and again
  while reading, should the file grow under the reader.

The limits per kind of file are ``files:`` in config.yaml (:class:`warn.config.FilesSpec`);
the defaults are here. Errors are raised as the caller's :class:`~warn.errors.WarnError`
subclass (a bad roster is a configuration error, a bad forecast a source error).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warn.errors import Problem, SourceError, WarnError

MIB = 2**20
#: Largest YAML file read (config.yaml, models/*.yaml, playbooks/*.yaml, a YAML roster), bytes.
MAX_YAML_BYTES = 4 * MIB
#: Default largest duty roster or directory (YAML or CSV), bytes: a district's year is well under 1 MiB.
MAX_ROSTER_BYTES = 16 * MIB
#: Default largest sensor catalogue (CSV), bytes: 10,000 sensors are about 1 MiB.
MAX_CATALOGUE_BYTES = 16 * MIB
#: Default largest evidence file of ``warn done --evidence`` (a photo, a PDF report), bytes.
MAX_EVIDENCE_BYTES = 256 * MIB
#: Default largest ``warn qc`` input (a ``time,value`` CSV; a million rows are about 35 MiB), bytes.
MAX_QC_BYTES = 256 * MIB
#: Default largest forecast file on disk (NetCDF or GRIB), bytes.
MAX_FORECAST_BYTES = 2048 * MIB
#: Bytes read at a time when streaming.
CHUNK = MIB

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words (``a named pipe (FIFO)``, ``a regular file``)."""
    return next((name for test, name in _KINDS if test(mode)), "a regular file" if stat.S_ISREG(mode) else "not a file")


class _Capped(io.RawIOBase):
    """A raw reader of one file descriptor that refuses to read past ``limit`` bytes."""

    def __init__(self, fd: int, path: Path, limit: int, what: str, error: type[WarnError]) -> None:
        self.fd, self.path, self.limit, self.what, self.error = fd, path, limit, what, error
        self.seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = os.readv(self.fd, [buffer])
        self.seen += count
        if self.seen > self.limit:
            raise self.error(_too_large(self.path, self.what, self.limit, f"more than {self.limit:,} bytes "
                                        "(the file grew while it was read)"))
        return count

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def _too_large(path: Path, what: str, limit: int, got: str) -> Problem:
    return Problem(str(path), "", f"{what} of at most {limit:,} bytes", got,
                   "raise the limit under files: in config.yaml if the file is genuine")


@contextmanager
def open_bounded(path: Path, *, limit: int, what: str, error: type[WarnError] = SourceError) -> Iterator[io.BufferedReader[_Capped]]:
    """Open ``path`` for reading in binary, as a regular file of at most ``limit`` bytes.

    Parameters
    ----------
    path
        The file.
    limit
        Largest size accepted, bytes (checked before reading and while reading).
    what
        What the file is, for messages (``"a sensor catalogue (CSV)"``).
    error
        The :class:`~warn.errors.WarnError` subclass raised.

    Raises
    ------
    WarnError
        Of class ``error``: the file is missing or unreadable, is not a regular file (a FIFO,
        a device, a folder, a socket), or is larger than ``limit``.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise error(Problem(str(path), "", f"{what}, readable", err.strerror or str(err))) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(Problem(str(path), "", f"{what} as a regular file", kind_of(info.st_mode),
                                "name a file: pipes, devices and folders are never read"))
        if info.st_size > limit:
            raise error(_too_large(path, what, limit, f"{info.st_size:,} bytes"))
    except BaseException:
        os.close(fd)
        raise
    with io.BufferedReader(_Capped(fd, path, limit, what, error), buffer_size=CHUNK) as handle:
        yield handle


def require_file(path: Path, *, limit: int, what: str, error: type[WarnError] = SourceError) -> None:
    """Check that ``path`` is a regular file within ``limit`` bytes before a library opens it by name."""
    with open_bounded(path, limit=limit, what=what, error=error):
        pass


def read_bytes(path: Path, *, limit: int, what: str, error: type[WarnError] = SourceError) -> bytes:
    """The whole of ``path`` (see :func:`open_bounded` for the checks)."""
    with open_bounded(path, limit=limit, what=what, error=error) as handle:
        return _read(handle, path, what, error)


def read_text(path: Path, *, limit: int, what: str, error: type[WarnError] = SourceError,
              encoding: str = "utf-8") -> str:
    """The whole of ``path`` as text; bytes that are not ``encoding`` are refused with the offset."""
    data = read_bytes(path, limit=limit, what=what, error=error)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise error(Problem(str(path), "", f"{what} in {encoding.upper().removesuffix('-SIG')} text",
                            f"byte {data[err.start:err.start + 1]!r} at offset {err.start:,}")) from None


@contextmanager
def open_text(path: Path, *, limit: int, what: str, error: type[WarnError] = SourceError,
              encoding: str = "utf-8") -> Iterator[Iterator[str]]:
    """Lines of ``path`` as text, streamed (``newline=""`` for :mod:`csv`); see :func:`open_bounded`.

    Undecodable bytes raise ``error`` naming the file and the line number.
    """
    with open_bounded(path, limit=limit, what=what, error=error) as handle:
        text = io.TextIOWrapper(handle, encoding=encoding, newline="")
        yield _decoded(text, path, what, error, encoding)
        text.detach()


def _decoded(text: io.TextIOWrapper, path: Path, what: str, error: type[WarnError], encoding: str) -> Iterator[str]:
    line = 0
    try:
        for line, content in enumerate(text, start=1):  # noqa: B007 (line is read after the loop)
            yield content
    except UnicodeDecodeError as err:
        raise error(Problem(f"{path}:{line + 1}", "", f"{what} in {encoding.upper().removesuffix('-SIG')} text",
                            f"the byte {err.object[err.start:err.start + 1]!r}")) from None


def sha256_of(path: Path, *, limit: int, what: str, error: type[WarnError] = SourceError) -> str:
    """The SHA-256 of ``path`` in hex, read in chunks (see :func:`open_bounded` for the checks)."""
    digest = hashlib.sha256()
    with open_bounded(path, limit=limit, what=what, error=error) as handle:
        while chunk := _chunk(handle, path, what, error):
            digest.update(chunk)
    return digest.hexdigest()


def _read(handle: io.BufferedReader[_Capped], path: Path, what: str, error: type[WarnError]) -> bytes:
    parts = []
    while chunk := _chunk(handle, path, what, error):
        parts.append(chunk)
    return b"".join(parts)


def _chunk(handle: io.BufferedReader[_Capped], path: Path, what: str, error: type[WarnError]) -> bytes:
    try:
        return handle.read1(CHUNK)
    except OSError as err:
        raise error(Problem(str(path), "", f"{what}, readable", err.strerror or str(err))) from None
