"""``warn status`` and ``warn watch``: the duty officer's one screen, once or refreshing in place.

Both read the store through :class:`warn.store.views.Views` as of ``--at`` (default now) and
import nothing heavy: ``warn status`` must answer within 300 ms.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from warn.cli.options import (
    DEFAULT_CONFIG,
    DEFAULT_EVERY,
    AtOption,
    ConfigOption,
    EveryOption,
    JsonOption,
    LangOption,
    StoreOption,
)
from warn.cli.output import (
    age_text,
    clean,
    console,
    level_label,
    local_time,
    print_json,
    print_problems,
    say,
    shown,
)
from warn.errors import ConfigError, WarnError
from warn.vocab import Level

if TYPE_CHECKING:
    from warn.config import Settings
    from warn.store.views import StatusView, Views

#: Rows of a list shown on the status screen before "… and N more".
SHOWN = 8
#: Data notices named on the status screen before "… and N more".
NOTICES_SHOWN = 3
#: The four warning levels, highest first.
LEVELS = (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)
_RESPONSE = {1: ("四级响应", "level IV"), 2: ("三级响应", "level III"), 3: ("二级响应", "level II"),
             4: ("一级响应", "level I")}

STATUS_JSON = ("`--json`: one object with keys `at`, `mode` {`mode`, `response_level` (0 none, 1 IV … 4 I), "
               "`since`, `decided_by`, `pending_proposals`}, `warnings` {hazard: {colour: count}}, "
               "`overdue_tasks` [task as in `warn tasks --json`], `unanswered_calls` [{`request_id`, "
               "`addressee`, `escalation_step`, `deadline`, `created_at`, `overdue_s`}], `feeds` (how many sources "
               "are on record), `stale_feeds` (those not ok) "
               "[feed as in `warn feeds --json`], `notices` [{`notice`, `began_at`}] (the data notices in force at "
               "`--at`, from the timeline), `last_cycle` {`at`, `status`, `age_s`, `every_s` (the cycle "
               "interval, `--every`), `late` (older than twice the interval)} or null, `quarantined` [{`id`, `kind`, `at`, "
               "`quarantined_at`, `error`}] (inbox events the command step set aside, never retried). "
               "Times ISO 8601 UTC.")


@dataclass(frozen=True)
class Seeing:
    """What every seeing command works with: the store's views, the "as of" time, the language
    and the deployment's time zone (times are shown on its wall clock)."""

    views: Views
    at: datetime
    lang: str
    zone: tzinfo
    settings: Settings

    def now(self, fixed: datetime | None) -> Seeing:
        """The same, as of ``fixed`` or, without it, the wall clock now."""
        return replace(self, at=fixed or datetime.now(UTC))


@contextmanager
def seeing(config: Path, store: str | None, at: datetime | None, lang: str | None) -> Iterator[Seeing]:
    """Open the store read-only for a seeing command; problems exit 2 (configuration) or 1 (store)."""
    from zoneinfo import ZoneInfo

    from warn.config import load_settings, store_url
    from warn.store.views import Views, stale_factor

    try:
        settings = load_settings(config)
        chosen = lang or settings.deployment.language
        if chosen not in ("zh", "en"):
            raise typer.BadParameter(f"expected zh or en, got {chosen!r}", param_hint="--lang")
        views = Views.open(store_url(store, settings), stale_factor=stale_factor(settings))
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    with views:
        try:
            yield Seeing(views, at or datetime.now(UTC), chosen, ZoneInfo(settings.deployment.timezone), settings)
        except WarnError as err:  # the store failed a query
            print_problems(err.problems, console(stderr=True))
            raise typer.Exit(1) from None


def hazard_name(hazard: str, lang: str) -> str:
    """``地质灾害`` / ``landslide``."""
    from warn import hazards

    return hazard if lang == "en" else hazards.incident_names_zh().get(hazard, hazard)


def render_status(view: StatusView, lang: str, zone: tzinfo) -> RenderableType:
    """The status screen: mode line, cycle line, warnings by hazard and level, overdue tasks,
    unanswered 叫应 calls and stale feeds — laid out for 80 columns."""
    mode = view.mode
    response = _RESPONSE.get(mode.response_level, ("无响应", "no response level"))
    head = Text()
    head.append(say(lang, "战时" if mode.mode == "wartime" else "平时", mode.mode),
                style="bold red" if mode.mode == "wartime" else "bold green")
    head.append(" · " + say(lang, *response))
    if mode.since is not None:
        head.append(say(lang, f"（自 {local_time(mode.since, zone)}，{clean(mode.decided_by)} 决定）",
                        f" (since {local_time(mode.since, zone)}, decided by {clean(mode.decided_by)})"))
    if mode.pending_proposals:
        head.append(say(lang, f"  待审批转换 {mode.pending_proposals}", f"  proposals pending {mode.pending_proposals}"),
                    style="bold yellow")
    cycle = view.last_cycle
    clock = Text(say(lang, f"截至 {local_time(view.at, zone)}  ", f"as of {local_time(view.at, zone)}  "),
                 style="dim")
    if cycle is None:
        clock.append(say(lang, "尚无预警周期", "no warning cycle yet"), style="bold magenta")
    else:
        clock.append(say(lang, f"最近周期 {local_time(cycle.at, zone)}（{age_text(cycle.age_s, lang)}前，{cycle.status}）",
                         f"last cycle {local_time(cycle.at, zone)} ({age_text(cycle.age_s, lang)} ago, {cycle.status})"),
                     style="bold red" if cycle.status == "failed" or cycle.late else "")
        if cycle.late:
            every = age_text(cycle.every_s, lang)
            clock.append(say(lang, f"  ✗ 周期超时：应每 {every} 一次", f"  ✗ cycle late: due every {every}"),
                         style="bold red")
    parts: list[RenderableType] = [head, clock, _warnings_table(view, lang)]
    parts += _overdue(view, lang, zone)
    parts += _calls(view, lang, zone)
    parts.append(_feeds_line(view, lang))
    parts += _notices(view, lang, zone)
    parts += _quarantined(view, lang, zone)
    return Group(*parts)


def _warnings_table(view: StatusView, lang: str) -> RenderableType:
    total = sum(n for counts in view.warnings.values() for n in counts.values())
    if not total:
        return Text(say(lang, "✓ 无生效预警", "✓ no active warnings"), style="green")
    table = Table(title=say(lang, f"生效预警 {total}", f"active warnings {total}"), title_justify="left")
    table.add_column(say(lang, "灾种", "hazard"))
    for level in LEVELS:
        table.add_column(level_label(level, lang), justify="right")
    for hazard, counts in view.warnings.items():
        table.add_row(hazard_name(hazard, lang),
                      *[Text(str(counts[level]), style="bold") if counts.get(level) else Text("·", style="dim")
                        for level in LEVELS])
    return table


def _overdue(view: StatusView, lang: str, zone: tzinfo) -> list[RenderableType]:
    if not view.overdue_tasks:
        return [Text(say(lang, "✓ 无逾期任务", "✓ no overdue tasks"), style="green")]
    table = Table(title=say(lang, f"逾期任务 {len(view.overdue_tasks)}", f"overdue tasks {len(view.overdue_tasks)}"),
                  title_justify="left", title_style="bold red")
    table.add_column(say(lang, "逾期", "overdue"), style="bold red", no_wrap=True)
    table.add_column(say(lang, "责任岗位", "owner"), no_wrap=True, overflow="ellipsis", max_width=20)
    table.add_column(say(lang, "任务", "task"))  # wraps: a no-wrap column here squeezes the first one out at 80 columns
    for task in view.overdue_tasks[:SHOWN]:
        table.add_row(age_text(task.overdue_s, lang), shown(f"{task.org_unit}.{task.owner_role}"), shown(task.summary))
    return [table, *_more(len(view.overdue_tasks), lang)]


def _calls(view: StatusView, lang: str, zone: tzinfo) -> list[RenderableType]:
    if not view.unanswered_calls:
        return [Text(say(lang, "✓ 叫应均已应答", "✓ every 叫应 call answered"), style="green")]
    table = Table(title=say(lang, f"未应答叫应 {len(view.unanswered_calls)}",
                            f"unanswered 叫应 calls {len(view.unanswered_calls)}"),
                  title_justify="left", title_style="bold red")
    table.add_column(say(lang, "当前对象", "now with"), no_wrap=True)
    table.add_column(say(lang, "升级", "step"), justify="right")
    table.add_column(say(lang, "时限", "deadline"), no_wrap=True)
    table.add_column(say(lang, "超时", "late"), style="bold red", no_wrap=True)
    for call in view.unanswered_calls[:SHOWN]:
        table.add_row(shown(call.addressee), str(call.escalation_step), local_time(call.deadline, zone),
                      age_text(call.overdue_s, lang) if call.overdue_s else "—")
    return [table, *_more(len(view.unanswered_calls), lang)]


def _quarantined(view: StatusView, lang: str, zone: tzinfo) -> list[RenderableType]:
    """Inbox events set aside (shown only when there are some): the duty officer must act on each."""
    if not view.quarantined:
        return []
    table = Table(title=say(lang, f"✗ 已隔离的收件事件 {len(view.quarantined)}（不会自动重试，请人工处理）",
                            f"✗ quarantined inbox events {len(view.quarantined)} (never retried: act on them)"),
                  title_justify="left", title_style="bold red")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column(say(lang, "类型", "kind"), no_wrap=True)
    table.add_column(say(lang, "隔离时间", "quarantined"), no_wrap=True)
    table.add_column(say(lang, "原因", "error"))
    for event in view.quarantined[:SHOWN]:
        table.add_row(str(event.id), shown(event.kind), local_time(event.quarantined_at, zone), shown(event.error))
    return [table, *_more(len(view.quarantined), lang)]


def _feeds_line(view: StatusView, lang: str) -> Text:
    if not view.feeds:
        return Text(say(lang, "✗ 无数据源记录：未收到任何数据", "✗ no feed on record: no data received"),
                    style="bold magenta")
    if not view.stale_feeds:
        if view.notices:
            return Text(say(lang, "数据源均有数据，但有数据告警（见下）", "every feed fresh, but data notices are in "
                                                                         "force (below)"), style="bold magenta")
        return Text(say(lang, "✓ 数据源正常，无数据告警", "✓ every feed fresh, no data notice"), style="green")
    silent = [f.source for f in view.stale_feeds if f.health != "unknown"]
    unknown = [f.source for f in view.stale_feeds if f.health == "unknown"]
    line = Text(style="bold magenta")
    if silent:
        line.append(say(lang, f"✗ 数据中断 {len(silent)}：{_names(silent, lang)}",
                        f"✗ stale feeds {len(silent)}: {_names(silent, lang)}"))
    if unknown:
        line.append(("\n" if silent else "") + say(lang, f"? 状态未知 {len(unknown)}：{_names(unknown, lang)}",
                                                   f"? feeds unknown at this time {len(unknown)}: "
                                                   f"{_names(unknown, lang)}"))
    return line


def _notices(view: StatusView, lang: str, zone: tzinfo) -> list[RenderableType]:
    """The data notices in force (a flatline, a silent source, no forecast run): how many and the first few."""
    if not view.notices:
        return []
    lines = Text(say(lang, f"✗ 数据告警 {len(view.notices)}", f"✗ data notices in force {len(view.notices)}"),
                 style="bold magenta")
    for notice in view.notices[:NOTICES_SHOWN]:
        lines.append(say(lang, f"\n  · {local_time(notice.began_at, zone)} 起 ", f"\n  · since "
                                                                                 f"{local_time(notice.began_at, zone)} "),
                     style="dim")
        lines.append(clean(one_language(notice.notice, lang)), style="")
    if len(view.notices) > NOTICES_SHOWN:
        lines.append(say(lang, f"\n  … 另有 {len(view.notices) - NOTICES_SHOWN} 项",
                         f"\n  … and {len(view.notices) - NOTICES_SHOWN} more"), style="dim")
    return [lines]


def one_language(text: str, lang: str) -> str:
    """The half of a bilingual text from the store (``zh-CN 文字 / English text``: a notice, a feed's detail)
    in ``lang``; the whole text when it is not written in two halves."""
    zh, sep, en = text.partition(" / ")
    return (en if lang == "en" else zh) if sep else text


def _names(sources: list[str], lang: str) -> str:
    more = say(lang, f" 等 {len(sources)} 个", f" … {len(sources)} in all") if len(sources) > SHOWN else ""
    return ", ".join(clean(s) for s in sources[:SHOWN]) + more


def _more(count: int, lang: str) -> list[RenderableType]:
    if count <= SHOWN:
        return []
    return [Text(say(lang, f"  … 另有 {count - SHOWN} 项", f"  … and {count - SHOWN} more"), style="dim")]


def cycle_every(every: str) -> timedelta:
    """The ``--every`` interval; a usage error (exit 2) when it is not an ISO-8601 duration longer than zero."""
    from warn.durations import parse_interval

    try:
        return parse_interval(every)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--every") from None


def status(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
           lang: LangOption = None, as_json: JsonOption = False, every: EveryOption = DEFAULT_EVERY) -> None:
    """值班总览 / the duty officer's one screen: mode and response level, active warnings by hazard
    and level, overdue tasks, unanswered 叫应 calls, stale feeds, last cycle and its age.

    Example: ``warn status --store var/demo/warn.db --at 2026-07-15T20:00+08:00``.

    Exit 0 (whatever the situation), 1 when the store cannot be read, 2 on a usage or
    configuration error.
    """
    interval = cycle_every(every)
    with seeing(config, store, at, lang) as ctx:
        view = ctx.views.status(ctx.at, every=interval)
    if as_json:
        from warn.store.forms import status_json

        print_json(status_json(view))
        return
    console().print(render_status(view, ctx.lang, ctx.zone))


status.__doc__ = f"{status.__doc__}\n    {STATUS_JSON}\n"


def watch(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
          lang: LangOption = None, every: EveryOption = DEFAULT_EVERY,
          interval: float = typer.Option(10.0, "--interval", min=0.2, help="刷新间隔（秒）/ seconds between refreshes.")
          ) -> None:
    """持续值守 / ``warn status`` refreshing in place until Ctrl-C (exit 0).

    Example: ``warn watch --store var/demo/warn.db --interval 5``. With ``--at`` the screen
    stays at that time (reviewing a replay); without it, each refresh is as of now.
    """
    from rich.live import Live

    out = console()
    cycle = cycle_every(every)
    with seeing(config, store, at, lang) as ctx:
        try:
            with Live(console=out, auto_refresh=False, transient=False) as live:
                while True:
                    now = ctx.now(at)
                    live.update(render_status(now.views.status(now.at, every=cycle), now.lang, now.zone),
                                refresh=True)
                    time.sleep(interval)
        except KeyboardInterrupt:
            out.print(say(ctx.lang, "已停止值守。", "stopped."), style="dim")
