"""Helpers shared by test modules: editing a copy of the deployment, reading what ``warn check`` says of it, a
deployment to act on, and the gridded steps' seams in one process, cut as a cluster would cut them."""

from __future__ import annotations

import contextlib
import functools
import pickle
import shutil
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from tests.conftest import ROOT, committed_data
from warn.check import check_deployment
from warn.sim.server import LocalServer

if TYPE_CHECKING:
    from warn.command import Setup
    from warn.config import Settings
    from warn.store import Store


def edit_yaml(path: Path, change) -> None:
    """Load the YAML file at ``path``, apply ``change`` to the data in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def messages(config: Path) -> str:
    """Every problem ``warn check`` finds in the deployment of ``config``, one a line."""
    return "\n".join(str(p) for p in check_deployment(config))


def drop(*keys):
    """A change for :func:`edit_yaml`: delete the value at the path ``keys``."""
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


def set_value(value, *keys):
    """A change for :func:`edit_yaml`: set the value at the path ``keys``."""
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def acting_deployment(tmp_path: Path, *, live: bool, **changes) -> Path:
    """The committed deployment in ``tmp_path`` with a roster whose shifts cover any real time (a live
    deployment acts now), ``deployment.live`` set, and ``changes`` (top-level keys) applied."""
    playbooks = Path(shutil.copytree(ROOT / "playbooks", tmp_path / "playbooks", dirs_exist_ok=True))
    roster = yaml.safe_load((playbooks / "roster.yaml").read_text(encoding="utf-8"))
    for shift in roster["shifts"]:
        shift["from"], shift["to"] = "2000-01-01T00:00:00+08:00", "2100-01-01T00:00:00+08:00"
    (playbooks / "roster.yaml").write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    data = committed_data(tmp_path)
    data["command"] |= {"playbooks": str(playbooks), "roster": str(playbooks / "roster.yaml")}
    data["deployment"]["live"] = live
    data.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Hostile(LocalServer):
    """A real HTTP server on the loopback interface that misbehaves on purpose (issue 15).

    GET and POST answer by path; every request is recorded in :attr:`requests` (``"GET /path"``):

    - ``/huge``: 200 and zeros without end (up to 2 GiB, made chunk by chunk, never held), no length;
    - ``/declared``: the same, announced with ``Content-Length: 2147483648``;
    - ``/bomb``: a gzip body of a few hundred KiB that decodes to 64 MiB, its small length declared;
    - ``/trickle``: 200, then one byte every :attr:`trickle_s` seconds;
    - ``/to/<url>``: 302 to ``<url>`` (``http://…``), or to a path of this server when it starts with ``/``;
    - any path in :attr:`files`: 200 with those bytes; else 404.
    """

    def __init__(self, *, host: str = "127.0.0.1", trickle_s: float = 2.0) -> None:
        self.requests: list[str] = []
        self.files: dict[str, bytes] = {}
        self.trickle_s = trickle_s
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.answer(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.answer(self)

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(Handler, host=host, port=0)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request as its path says (a client hanging up ends the answer quietly)."""
        self.requests.append(f"{handler.command} {handler.path}")
        path = handler.path
        try:
            if path.startswith("/to/"):
                target = path.removeprefix("/to/")
                handler.send_response(302)
                handler.send_header("Location", target)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            elif path in ("/huge", "/declared"):
                self._head(handler, 200, {"Content-Length": str(2**31)} if path == "/declared" else {})
                chunk = bytes(2**16)
                for _ in range(2**31 // len(chunk)):
                    handler.wfile.write(chunk)
            elif path == "/bomb":
                body = gzip_bomb()
                self._head(handler, 200, {"Content-Encoding": "gzip", "Content-Length": str(len(body))})
                handler.wfile.write(body)
            elif path == "/trickle":
                self._head(handler, 200, {})
                for _ in range(600):
                    handler.wfile.write(b"[")
                    handler.wfile.flush()
                    time.sleep(self.trickle_s)
            elif path in self.files:
                self._head(handler, 200, {"Content-Length": str(len(self.files[path]))})
                handler.wfile.write(self.files[path])
            else:
                self._head(handler, 404, {"Content-Length": "0"})
        except OSError:
            handler.close_connection = True

    @staticmethod
    def _head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if "Content-Length" not in headers:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.flush()


@functools.cache
def gzip_bomb(decoded: int = 64 * 2**20) -> bytes:
    """gzip of ``decoded`` zero bytes, compressed chunk by chunk (a few hundred KiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(2**20)
    return b"".join(packer.compress(chunk) for _ in range(decoded // len(chunk))) + packer.flush()


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Trace Python allocations inside the block; the list holds the peak in bytes afterwards."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def demo_deployment(db: Path, now: Callable[[], datetime], settings: Settings | None = None
                    ) -> tuple[Settings, Setup, Store]:
    """The repository's deployment (config.yaml, or ``settings``), its planner's setup, and the store file ``db``
    opened on clock ``now`` and migrated; close the store after."""
    from warn import hazards
    from warn.command.loading import load_setup
    from warn.config import load_settings
    from warn.store import Store

    settings = settings or load_settings(ROOT / "config.yaml")
    assert settings.command is not None
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                       roster_limit=settings.files.max_roster_bytes)
    store = Store.connect(f"sqlite:///{db}", now=now)
    store.upgrade()
    return settings, setup, store


def wait_for(condition: Callable[[], object], timeout: float, *, every: float = 0.1) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds, asked every ``every`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


class Shipped:
    """Workers (:class:`warn.risk.chunks.Workers`) that distribute work of every size, in this process: each job
    and the function working it sent through pickle as dask sends them, and the result back; ``before`` runs
    before each map. tests/cycle/test_compute.py does the same on a real LocalCluster."""

    def __init__(self, before: Callable[[], None] = lambda: None) -> None:
        self.jobs: list[object] = []
        self.before = before

    def distributes(self, size: int) -> bool:
        return True

    def map(self, work: Callable, jobs: Sequence, *, size: int) -> list:
        self.before()
        self.jobs += jobs
        again = pickle.loads(pickle.dumps(work))
        return [pickle.loads(pickle.dumps(again(pickle.loads(pickle.dumps(job))))) for job in jobs]


def cut_at(cuts: Sequence[int]) -> Callable[..., tuple]:
    """A :class:`warn.risk.chunks.CellMap` of this process that runs the kernel on the cells between each two of
    ``cuts`` (the first 0, the last the number of cells) and joins the outputs along the cells."""
    def chunked(kernel: Callable[..., tuple], *arrays: np.ndarray) -> tuple:
        parts = [kernel(*(a[..., lo:hi] for a in arrays)) for lo, hi in zip(cuts[:-1], cuts[1:])]
        return tuple(np.concatenate(outputs, axis=-1) for outputs in zip(*parts))
    return chunked
