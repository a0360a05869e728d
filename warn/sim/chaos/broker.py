"""A Mosquitto broker of the drill's own: its own port, its own persistence, killed and restarted at will.

The shared broker (127.0.0.1:1883) is left alone; :class:`Broker` runs ``mosquitto -c FILE``
with a listener on a free loopback port, anonymous access and persistence in a temporary
folder saved on every change, so that a ``kill -9`` loses nothing the broker acknowledged (it
runs as the drill's user: started as root, mosquitto would otherwise drop to a user that cannot
write that folder, and keep nothing).
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from warn.errors import Problem, SourceError

#: How long a starting broker may take to accept connections (s).
START_TIMEOUT_S = 10.0


def mosquitto_binary() -> str | None:
    """The path of ``mosquitto`` (on PATH or in /usr/sbin), ``None`` when it is not installed."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Broker:
    """A Mosquitto process on ``127.0.0.1:port`` with its configuration and persistence in ``folder``.

    Parameters
    ----------
    folder
        Where its configuration, persistence file and log go.

    Raises
    ------
    SourceError
        ``mosquitto`` is not installed (when made), or it does not accept connections in time (:meth:`start`).
    """

    def __init__(self, folder: Path) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise SourceError(Problem("mosquitto", "", "the mosquitto broker installed (apt install mosquitto)",
                                      "not found on PATH or in /usr/sbin"))
        self.binary, self.folder, self.port = binary, Path(folder), free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                               f"persistence_location {self.folder}/\nautosave_interval 1\n"
                               f"autosave_on_changes true\nuser {getpass.getuser()}\n", encoding="utf-8")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        log = (self.folder / "mosquitto.log").open("ab")
        self._process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SourceError(Problem(f"mqtt://127.0.0.1:{self.port}", "", f"the broker accepting within {START_TIMEOUT_S} s",
                                  "no answer"))

    def kill(self) -> None:
        """``kill -9`` the broker (no goodbye to its clients, no last save)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        """Stop it with SIGTERM (at the end of a drill)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
