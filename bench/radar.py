"""Benchmark: the demo drill's radar frames — publishing them (the demo world) and fetching them (the service).

The demo truth's radar frames (:func:`warn.sim.observed.radar_rate`, :func:`warn.sim.observed.write_frame`)
are published into a feed folder served by the real :class:`warn.sim.feedserver.FeedServer` on 127.0.0.1,
frame by frame as a drill's clock reaches them, and a :class:`warn.sources.radar.RadarSource` asks for the
window every cycle asks for (:data:`warn.cycle.inputs.RADAR_WINDOW`) at the drill's cadence
(:data:`warn.cli.demo.STORM`: every 10 min for 24 h; then :data:`warn.cli.demo.TAIL`: every 3 h for
``--tail`` hours). Timed: building a frame, writing it, and ``RadarSource.frames`` (wall, total and per
call); counted: the feed server's answers by status (200: a frame's bytes, 304: held and unchanged).

Run: ``python bench/radar.py [--tail 24]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from warn.cli.demo import STORM, TAIL, WARM_UP
from warn.config import load_settings
from warn.cycle.inputs import RADAR_WINDOW
from warn.durations import floor_time
from warn.sim.demo import DemoWorld
from warn.sim.feedserver import FeedServer
from warn.sim.observed import radar_rate, write_frame
from warn.sim.world import utc
from warn.sources.radar import RadarSource


ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tail", type=float, default=24.0, help="hours of 3-hourly cycles after the storm")
    args = parser.parse_args()
    settings = load_settings(ROOT / "config.yaml")
    assert settings.sim is not None and settings.sim.truth is not None and settings.observed is not None
    spec = settings.observed.radar
    assert spec is not None
    with tempfile.TemporaryDirectory() as tmp:
        world = DemoWorld(settings, Path(tmp))  # the truth padded with the drill's dry hours
    assert world.truth is not None
    truth, start = world.truth, world.start + WARM_UP
    stamps = [utc(t) for t in truth["time"].values.astype("datetime64[s]")]
    depths, lat, lon, bias = truth.values, truth["lat"].values, truth["lon"].values, settings.sim.radar_bias
    storm_end = start + STORM[0]
    cycles = _every(start, storm_end, STORM[1]) + _every(storm_end + TAIL[2], storm_end + timedelta(hours=args.tail),
                                                          TAIL[1])
    built, written, fetched = [], [], []
    with tempfile.TemporaryDirectory() as tmp, FeedServer(Path(tmp)) as server:
        template = spec.url.removeprefix("{feed}/")
        radar = RadarSource(spec, urls={"feed": server.url}, cache_dir=Path(tmp) / "cache", limits=settings.files)
        published = 0
        for at in cycles:
            while published < len(stamps) and stamps[published] <= at:
                began = time.perf_counter()
                rate = radar_rate(depths[published], lat, lon, bias=bias)
                built.append(time.perf_counter() - began)
                write_frame(rate, stamps[published], Path(tmp) / template.format(time=stamps[published]), bias=bias)
                written.append(time.perf_counter() - began - built[-1])
                published += 1
            newest = floor_time(at, spec.every)
            times = [newest - k * spec.every for k in range(int(RADAR_WINDOW / spec.every), -1, -1)]
            began = time.perf_counter()
            radar.frames(times)
            fetched.append(time.perf_counter() - began)
        radar.close()
        answers = Counter(status for _, _, status in server.requests)
    print(f"cycles {len(cycles)} ({len(_every(start, storm_end, STORM[1]))} storm, the rest 3-hourly); "
          f"frames published {len(written)}; feed answers {dict(sorted(answers.items()))}")
    for label, spent in (("radar_rate (build)", built), ("write_frame", written), ("RadarSource.frames", fetched)):
        print(f"{label:<22} total {sum(spent):7.2f} s   mean {1000 * np.mean(spent):7.1f} ms   n {len(spent)}")


def _every(first: datetime, last: datetime, step: timedelta) -> list[datetime]:
    """The times ``first``, ``first + step``, … up to ``last``, on the ``step`` grid (counted from 00 UTC)."""
    out, at = [], first
    while at <= last:
        if floor_time(at, step) == at:
            out.append(at)
        at += min(step, timedelta(minutes=10))
    return out


if __name__ == "__main__":
    main()
