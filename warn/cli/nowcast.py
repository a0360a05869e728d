"""``warn nowcast FRAME... --out FILE.nc``: extrapolate radar frames to +2 h and write a CF NetCDF forecast."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, Problem, WarnError

#: Compass points of a bearing (toward), 16 of 22.5°.
POINTS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")


def nowcast(
    frames: Annotated[list[Path], typer.Argument(help="雷达帧文件（MRMS GRIB2 或 CF-NetCDF，每文件一帧，顺序不限）/ "
                                                       "radar frames, one per file (MRMS GRIB2 or CF-NetCDF), "
                                                       "in any order.", metavar="FRAME...", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出 CF NetCDF 文件 / the CF NetCDF file to write.",
                                      show_default=False)],
    lead: Annotated[int | None, typer.Option("--lead", min=1, metavar="MINUTES", show_default="models/nowcast.yaml",
                                             help="外推时效（分钟，步长的整数倍）/ how far ahead, in minutes "
                                                  "(a multiple of the step).")] = None,
    members: Annotated[int | None, typer.Option("--members", min=1, max=100, show_default="models/nowcast.yaml",
                                                help="集合成员数；大于 1 时用 STEPS / ensemble members; "
                                                     "more than 1 runs STEPS.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """雷达外推临近预报 / radar extrapolation nowcast, written as a forecast `warn rain` reads.

    Example: warn nowcast radar_0010.nc radar_0020.nc radar_0030.nc --lead 120 --out nowcast.nc
    """
    from dataclasses import replace
    from datetime import timedelta

    from warn.config import load_settings
    from warn.modelfiles import load_model_file
    from warn.risk.nowcast import drift, motion
    from warn.risk.nowcast import nowcast as extrapolate
    from warn.sources.forecast import write_forecast
    from warn.sources.radar import read_frames

    err = console(stderr=True)
    try:
        settings = load_settings(config)
        if "nowcast" not in settings.models:
            raise ConfigError(Problem(str(config), "models.nowcast", "the nowcast model file (models/nowcast.yaml)",
                                      "nothing"))
        params = load_model_file("nowcast", settings.models["nowcast"], where=str(config), key="models.nowcast").params()
    except WarnError as problem:
        print_problems(problem.problems, err)
        raise typer.Exit(2) from None
    reach = params.lead if lead is None else timedelta(minutes=lead)
    if reach % params.step:
        raise typer.BadParameter(f"a multiple of the step, {params.step.total_seconds() / 60:g} min "
                                 "(models/nowcast.yaml)", param_hint="--lead")
    if members is not None and members != params.members:
        params = replace(params, members=members, method="steps" if members > 1 else "extrapolation")
    try:
        observed = read_frames(frames, every=params.step, limits=settings.files)
        u, v = motion(observed, params)
        rain = extrapolate(observed, params, lead=reach)
        write_forecast(rain, out, title=f"warn nowcast of {len(frames)} radar frames "
                                        f"({params.method}, {params.motion})")
    except WarnError as problem:
        print_problems(problem.problems, err)
        raise typer.Exit(1) from None
    moved = drift(observed, u, v)
    show = console()
    if math.isnan(moved.speed_kmh):
        show.print("移动 / motion: 末帧无雨，无法估计 / no rain in the last frame to move")
    else:
        point = POINTS[round(moved.toward_deg / 22.5) % 16]
        show.print(f"移动 / motion: {moved.speed_kmh:.1f} km/h 向 toward {moved.toward_deg:.0f}° ({point}); "
                   f"东向 east {moved.u_kmh:+.1f}, 北向 north {moved.v_kmh:+.1f} km/h", markup=False)
    ensemble = f", {params.members} 成员 members" if params.members > 1 else ""
    show.print(f"已写入 / wrote {out}: {rain.sizes['time']} 步 steps of {rain.attrs['step']}, "
               f"起报 issued {rain.attrs['issued_at']}, {params.method} ({params.motion}){ensemble}; "
               f"{rain.attrs['frames_used']}", markup=False)
