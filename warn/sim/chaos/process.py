"""``warn run`` as a real process on the drill's clock file: started, SIGKILLed, restarted, stopped.

:func:`drill_config` writes the deployment a drill's service runs: the committed one with its
paths absolute, the demo world's URLs filled in, the drill's channels, the official sources
behind the drill's own (possibly hostile) server, the MQTT feed on the drill's broker, and the
timeline anchored with a key made for the drill to a witness file beside the store
(:data:`ANCHOR_KEY`, :data:`ANCHORS`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def drill_config(path: Path, settings: Settings, folder: Path, urls: dict[str, str], *, broker_port: int) -> Path:
    """Write the drill's deployment to ``folder/config.yaml`` and return its path.

    Parameters
    ----------
    path, settings
        The deployment file and its settings as loaded (paths resolved).
    urls
        ``feed`` (forecasts), ``official`` (the official sources' server), ``sensorthings``, ``receiver``.
    broker_port
        The drill's Mosquitto port: every MQTT feed is pointed at it.

    Raises
    ------
    ConfigError
        No ``sensors``, ``sim`` or ``command`` section.
    """
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["store"] = {"url": f"sqlite:///{folder / 'store' / 'warn.db'}"}
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

    Attributes
    ----------
    starts, kills, exits
        How often it was started, SIGKILLed by the drill, and found gone without being killed.
    """

    def __init__(self, config: Path, clock_file: Path, folder: Path, env: dict[str, str]) -> None:
        self.args = [sys.executable, "-m", "warn", "run", "--config", str(config), "--every", "PT10M",
                     "--status", "exercise", "--sender", SENDER, "--clock-file", str(clock_file)]
        self.env = {**os.environ, **env}
        self.log = folder / "service.log"
        self.starts = self.kills = self.exits = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (a new process)."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.starts += 1

    def ensure_running(self) -> None:
        """Start it again if it has exited (a store it could not open, a crash): counted in :attr:`exits`."""
        if self._process is None or self._process.poll() is not None:
            self.exits += self._process is not None
            self.start()

    def kill(self) -> None:
        """SIGKILL it and start it again."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self.kills += 1
        self._process = None
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
