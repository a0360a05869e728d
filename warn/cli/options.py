"""Options shared by several commands, declared once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from warn import DEFAULT_CONFIG
from warn.durations import CYCLE_EVERY, iso_duration

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="部署配置文件 / deployment file (config.yaml).", envvar="WARN_CONFIG"),
]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", envvar="WARN_STORE", show_default="config.yaml store.url",
                 help="存储库：SQLAlchemy URL，或 SQLite 文件路径 / the store: an SQLAlchemy URL "
                      "(sqlite:///…, postgresql+psycopg://…) or the path of an SQLite file."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出 / print JSON instead of a table.")]
ActorOption = Annotated[
    str | None,
    typer.Option("--as", envvar="WARN_USER", show_default=False,
                 help="操作人（须在值班表上）/ who is acting (a person on the roster)."),
]
DrillActorOption = Annotated[
    str | None,
    typer.Option("--as", envvar="WARN_USER", show_default=False,
                 help="演练时的操作人（须在值班表上）；正式运行时由 WARN_TOKEN 或系统用户确定 / who acts, in a drill "
                      "only (a person on the roster); live, your WARN_TOKEN or OS login says who you are."),
]
LangOption = Annotated[
    str | None,
    typer.Option("--lang", envvar="WARN_LANG", show_default="zh (config deployment.language)",
                 help="输出语言 zh 或 en / output language, zh or en."),
]


def parse_at(value: str) -> datetime:
    """An aware time from ISO 8601 with a zone (``2026-07-15T12:00Z``, ``2026-07-15T20:00+08:00``)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected ISO 8601 with a zone, e.g. 2026-07-15T20:00+08:00, got {value!r}") from None
    if parsed.utcoffset() is None:
        raise typer.BadParameter(f"expected a time with a zone (Z or +08:00), got {value!r}")
    return parsed


AtOption = Annotated[
    datetime | None,
    typer.Option("--at", envvar="WARN_AT", parser=parse_at, metavar="TIME", show_default="now",
                 help="以此时刻为准（演练、复盘回放用）/ the \"as of\" time for ages, overdue and staleness, "
                      "ISO 8601 with a zone — for drills and reviewing a replay."),
]

DrillAtOption = Annotated[
    datetime | None,
    typer.Option("--at", envvar="WARN_AT", parser=parse_at, metavar="TIME", show_default="now",
                 help="演练时以此时刻记录操作（ISO 8601，带时区）；正式运行时按真实时刻 / the time the action is "
                      "recorded at, in a drill only (ISO 8601 with a zone); live, the real time."),
]

#: ``--every``'s default: :data:`warn.durations.CYCLE_EVERY` written ISO 8601 (``PT10M``).
DEFAULT_EVERY = iso_duration(CYCLE_EVERY)
EveryOption = Annotated[
    str,
    typer.Option("--every", help="预警周期间隔（ISO-8601）/ cycle interval (ISO-8601): `warn run` runs the cycle "
                                 "this often; `warn status` calls a cycle late after twice this."),
]

ClockStartOption = Annotated[
    datetime | None,
    typer.Option("--clock-start", envvar="WARN_CLOCK_START", parser=parse_at, metavar="TIME",
                 show_default="the wall clock",
                 help="时钟从此时刻起按实际速度走（演练、测试用）/ start the clock at this instant (ISO 8601 with a "
                      "zone) and run it at real speed — for drills and tests."),
]

__all__ = ["DEFAULT_CONFIG", "DEFAULT_EVERY", "ActorOption", "AtOption", "ClockStartOption", "ConfigOption",
           "DrillActorOption", "DrillAtOption",
           "EveryOption", "JsonOption", "LangOption", "StoreOption"]
