"""``warn demo``: the rain path on the bundled Yubei demo storm, served over local HTTP.

Starts the demo feed server (warn.sim) on 127.0.0.1, fetches the demo forecast run
through the configured forecast source exactly as a live feed would be fetched,
decodes it, scores the town zones, and prints the zone table.
"""

from __future__ import annotations

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption
from warn.cli.output import console, print_problems
from warn.errors import Problem, WarnError


def demo(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """演示：渝北区移植暴雨个例 / run the rain path on the bundled Yubei demo storm."""
    from warn import cycle
    from warn.cli.rain import rain_records, rain_table
    from warn.config import load_settings
    from warn.sim.feedserver import FeedServer

    out = console()
    try:
        settings = load_settings(config)
        if settings.sim is None:
            raise WarnError(Problem(str(config), "sim", "a sim section naming the demo feed folder", "nothing"))
        sim = settings.sim
        with FeedServer(sim.feed_dir, host=sim.host, port=sim.port) as server:
            out.print(f"演示数据服务 / demo feed server: {server.url}  ({sim.feed_dir})")
            fetched, rain = cycle.fetch_run(settings, sim.source, sim.issued_at, feed=server.url)
        out.print(f"已获取 / fetched: {fetched.url}  {fetched.checksum[:23]}…")
        out.print("注意：演示降雨为移植的美国雷达暴雨个例（NOAA/NSSL MRMS），并非重庆实测。", style="yellow")
        out.print("Note: the demo rain is a transplanted analogue of a US radar storm, not observed Chongqing rain.",
                  style="yellow")
        summary = cycle.score_rain(settings, rain, "towns")
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(1) from None
    out.print(rain_table(rain_records(summary, settings.tz), summary.attrs))
