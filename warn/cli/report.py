"""``warn report``: render an incident report (初报 / 续报 / 终报) from the store as HTML, PDF or Markdown.

A reading command: it opens the store, builds :class:`warn.reports.content.Report` and writes
one file in one of the formats of :data:`warn.reports.formats.FORMATS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from warn.cli.options import (
    DEFAULT_CONFIG,
    AtOption,
    ConfigOption,
    LangOption,
    StoreOption,
)
from warn.cli.output import clean, console, print_problems, say
from warn.errors import ConfigError, WarnError
from warn.reports.formats import FORMATS

def _refuse_overwrite(path: Path, lang: str | None) -> NoReturn:
    """Refuse to write over ``path`` (exit 1), saying how to."""
    console(stderr=True).print(say(lang or "zh", f"✗ 拒绝覆盖已有文件 {path}（确需覆盖请加 --force）",
                                   f"✗ refused to overwrite {path}: it exists (add --force to replace it)"),
                               style="bold red", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS.names())}, got {value!r}")
    return value


def _kind(value: str) -> str:
    from warn.reports.content import KINDS

    if value not in KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(KINDS)}, got {value!r}")
    return value


def report(
    incident: Annotated[str, typer.Argument(help="事件编号 / the incident id (see `warn incidents`).")],
    fmt: Annotated[str, typer.Option("--format", parser=_format, help="html | pdf | md.")] = "html",
    out: Annotated[Path | None, typer.Option("--out", show_default="var/reports/<incident>-<kind>.<format>",
                                             help="输出文件 / the file to write.")] = None,
    kind: Annotated[str, typer.Option("--kind", parser=_kind,
                                      help="initial (初报) | followup (续报) | final (终报).")] = "followup",
    force: Annotated[bool, typer.Option("--force", help="覆盖已有文件 / overwrite the file if it exists.")] = False,
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None, lang: LangOption = None,
) -> None:
    """事件报告 / render an incident report from the timeline and the store: HTML (self-contained, printable,
    the timeline filterable by role), PDF or Markdown.

    The timeline's hash chain is verified at render time and the head hash printed; a store that
    fails verification still renders, the failure on top. Exit 1 for an unknown incident, or when
    the file to write exists already and ``--force`` is not given (it is left as it was).

    Example: warn report INC-storm-20260715T0420Z --kind final --format pdf --store var/demo/warn.db
    """
    from warn.config import load_settings, store_url
    from warn.reports.content import UnknownIncident, build
    from warn.store import Store

    moment = at or datetime.now(UTC)
    path = out or Path("var/reports") / f"{incident}-{kind}.{fmt}"
    if path.exists() and not force:
        _refuse_overwrite(path, lang)
    try:
        settings = load_settings(config)
        with Store.connect(store_url(store, settings)) as opened:
            opened.require_head()
            built = build(opened, settings, incident, kind=kind, at=moment)
        data = FORMATS.get(fmt)(built, settings)
    except UnknownIncident:
        console(stderr=True).print(say(lang or "zh", f"无此事件 {incident}（见 warn incidents）",
                                       f"no incident {incident} (see warn incidents)"), markup=False)
        raise typer.Exit(1) from None
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("wb" if force else "xb") as written:
            written.write(data)
    except FileExistsError:
        _refuse_overwrite(path, lang)
    if not built.integrity.ok:
        problem = clean(built.integrity.problem)  # names rows' values, which come from the store
        console(stderr=True).print(say(lang or "zh", f"✗ 时间线校验失败：{problem}",
                                       f"✗ timeline verification failed: {problem}"),
                                   style="bold red", markup=False, soft_wrap=True)
    console().print(str(path), markup=False, soft_wrap=True)
