"""``warn run`` as real processes on the drill's clock file: started, SIGKILLed, restarted, stopped.

:func:`drill_config` writes the deployment a drill's service runs: the committed one with its
paths absolute, the demo world's URLs filled in, the drill's channels, the official sources
behind the drill's own (possibly hostile) server, the MQTT feed on the drill's broker, and the
timeline anchored with a key made for the drill to a witness file beside the store
(:data:`ANCHOR_KEY`, :data:`ANCHORS`), on the drill's store (a SQLite file in its folder, or the
PostgreSQL database it is given) with a short lease (:data:`LEASE`). :class:`Services` are the one or
more ``warn run`` of the drill on that store: one leads, the others stand by.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from warn.config import Settings, fill
from warn.errors import ConfigError, Problem
from warn.store.anchors import keygen

#: The CAP sender of the chaos drill.
SENDER = "warn-chaos@yubei.example"
#: The sim channels' reply timeout in the drill (s): a hanging receiver is given up on this soon.
CHANNEL_TIMEOUT_S = 2.0
#: The drill's signing key (its public key beside it, ``anchor.pub.pem``) and witness file, in its folder.
ANCHOR_KEY, ANCHORS = "anchor.pem", "anchors.jsonl"
#: The drill's lease (wall seconds): a standby takes over from a killed leader within ttl + renew, well within
#: the drill's wait for a cycle; renewals missed under load (the scheduler runs late) leave a margin of four.
LEASE = {"ttl": "PT12S", "renew": "PT3S"}


def drill_config(path: Path, settings: Settings, folder: Path, urls: dict[str, str], *, broker_port: int,
                 store_url: str | None = None) -> Path:
    """Write the drill's deployment to ``folder/config.yaml`` and return its path.

    Parameters
    ----------
    path, settings
        The deployment file and its settings as loaded (paths resolved).
    urls
        ``feed`` (forecasts), ``official`` (the official sources' server), ``sensorthings``, ``receiver``.
    broker_port
        The drill's Mosquitto port: every MQTT feed is pointed at it.
    store_url
        The drill's store (an empty database); default a SQLite file ``store/warn.db`` in ``folder``.

    Raises
    ------
    ConfigError
        No ``sensors``, ``sim`` or ``command`` section.
    """
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["store"] = {"url": store_url or f"sqlite:///{folder / 'store' / 'warn.db'}", "lease": LEASE}
    data["cache_dir"] = str(folder / "cache")
    for name, layer in settings.layers.items():
        data["layers"][name]["path"] = str(layer.path)
    data["models"] = {name: str(model) for name, model in settings.models.items()}
    for name, entry in settings.hazards.items():
        if entry.model is not None:
            data["hazards"][name]["model"] = str(entry.model)
    missing = [name for name in ("sensors", "sim", "command") if getattr(settings, name) is None]
    if settings.sensors is None or settings.sim is None or settings.command is None:
        raise ConfigError(Problem(str(path), ", ".join(missing), "the sections a drill runs on", "nothing"))
    data["sensors"]["catalogue"] = str(settings.sensors.catalogue)
    data["sim"]["feed_dir"] = str(settings.sim.feed_dir)
    data["command"].update(playbooks=str(settings.command.playbooks), roster=str(settings.command.roster))
    if settings.command.directory is not None:
        data["command"]["directory"] = str(settings.command.directory)
    for spec in data["forecasts"].values():
        spec["url"] = fill(spec["url"], urls)
    if data.get("observed", {}).get("radar"):
        data["observed"]["radar"]["url"] = fill(data["observed"]["radar"]["url"], urls)
    if settings.sim.truth is not None:
        data["sim"]["truth"] = str(settings.sim.truth)
    for spec in data.get("official", {}).values():
        spec["url"] = fill(spec["url"].replace("{feed}", "{official}"), urls)
    for spec in data["sensors"]["feeds"].values():
        if spec["kind"] == "mqtt":
            spec["port"] = broker_port
        elif "url" in spec:
            spec["url"] = fill(spec["url"], urls)
    places = {**urls, "out": str(folder)}
    data["channels"] = {name: {**spec, "target": fill(spec["target"], places), "timeout": CHANNEL_TIMEOUT_S}
                        for name, spec in data["sim"]["channels"].items()}
    if not (folder / ANCHOR_KEY).exists():
        keygen(folder / ANCHOR_KEY)
    data["anchors"] = {"key": str(folder / ANCHOR_KEY), "witness": [{"file": str(folder / ANCHORS)}]}
    out = folder / "config.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


class ServiceProcess:
    """``warn run --clock-file`` on the drill's deployment, its output appended to ``folder/service.log``.

    Parameters
    ----------
    config, clock_file, folder
        The drill's deployment, clock file and folder.
    env
        Extra environment (the channels' secrets).
    name
        Its name: its output goes to ``folder/<name>.log``.

    Attributes
    ----------
    starts, kills, exits
        How often it was started, SIGKILLed by the drill, and found gone without being killed.
    down
        Killed to stay down (:meth:`kill` without restart).
    """

    def __init__(self, config: Path, clock_file: Path, folder: Path, env: dict[str, str], *,
                 name: str = "service") -> None:
        self.args = [sys.executable, "-m", "warn", "run", "--config", str(config), "--every", "PT10M",
                     "--status", "exercise", "--sender", SENDER, "--clock-file", str(clock_file)]
        self.env = {**os.environ, **env}
        self.log = folder / f"{name}.log"
        self.starts = self.kills = self.exits = 0
        self.down = False
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (a new process)."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.starts += 1

    def ensure_running(self) -> None:
        """Start it again if it has exited (a store it could not open, a crash): counted in :attr:`exits`;
        not one killed to stay down."""
        if not self.down and (self._process is None or self._process.poll() is not None):
            self.exits += self._process is not None
            self.start()

    @property
    def pid(self) -> int | None:
        """Its process id while it runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def kill(self, *, restart: bool = True) -> None:
        """SIGKILL it and start it again (unless not ``restart``: then it stays down, never started again)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self.kills += 1
        self._process = None
        self.down = not restart
        if restart:
            self.start()

    def stop(self) -> int | None:
        """SIGTERM it and wait; its exit code (``None`` when it was not running)."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        code, self._process = self._process.returncode, None
        return code


class Services:
    """The drill's ``warn run`` processes on one store, started together: one leads (the lease's holder), the
    others stand by.

    Parameters
    ----------
    processes
        The processes (one, or a leader and its standbys).
    leader_pid
        The process id of the lease's holder now (``None``: nobody holds it).
    """

    def __init__(self, processes: list[ServiceProcess], leader_pid: Callable[[], int | None]) -> None:
        self.processes = processes
        self._leader_pid = leader_pid

    @property
    def starts(self) -> int:
        return sum(p.starts for p in self.processes)

    @property
    def kills(self) -> int:
        return sum(p.kills for p in self.processes)

    @property
    def exits(self) -> int:
        return sum(p.exits for p in self.processes)

    @property
    def logs(self) -> list[Path]:
        return [p.log for p in self.processes]

    def start(self) -> None:
        """Start the first process; the others start once it holds the lease (:meth:`ensure_running`), so that they
        stand by from the start and the first cycle is not slowed by several processes starting at once."""
        self.processes[0].start()

    def leader(self) -> ServiceProcess:
        """The leading process (the first running one while the lease is not yet taken)."""
        pid = self._leader_pid()
        running = [p for p in self.processes if p.pid is not None]
        return next((p for p in running if p.pid == pid), running[0] if running else self.processes[0])

    def kill(self, *, restart: bool = True) -> None:
        """SIGKILL the leader; started again (as a standby, when there are others) unless not ``restart``."""
        self.leader().kill(restart=restart)

    def ensure_running(self) -> None:
        """Start again every process that exited (not one killed to stay down); start the standbys not yet started
        once the lease is held."""
        first, *others = self.processes
        first.ensure_running()
        if any(p.starts == 0 for p in others) and self._leader_pid() is None:
            return
        for process in others:
            process.ensure_running()

    def stop(self) -> int | None:
        """SIGTERM every process and wait; the first exit code other than 0 (else 0, ``None``: none ran)."""
        codes = [process.stop() for process in self.processes]
        return next((code for code in codes if code not in (0, None)), 0 if any(c == 0 for c in codes) else None)
