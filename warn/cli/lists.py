"""The duty officer's lists: ``warn warnings``, ``zones``, ``incidents``, ``tasks``, ``calls``, ``timeline``, ``feeds``.

Each reads the store through :class:`warn.store.views.Views` as of ``--at`` (see
:func:`warn.cli.status.seeing`), prints a table (zh-CN, or English with ``--lang en``) or,
with ``--json``, a JSON array whose objects have the keys named in the command's help.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from warn import hazards
from warn.cli.options import (
    DEFAULT_CONFIG,
    ActorOption,
    AtOption,
    ConfigOption,
    JsonOption,
    LangOption,
    StoreOption,
    parse_at,
)
from warn.cli.output import (
    age_text,
    clean,
    console,
    level_label,
    local_time,
    print_json,
    say,
    shown,
)
from warn.cli.status import Seeing, hazard_name, one_language, seeing
from warn.vocab import LEVEL_OF, Level

if TYPE_CHECKING:
    from warn.store.views import TaskView

_LEVEL_NAMES = {level.colour: level for level in Level}
_TASK_ZH = {"open": "待签收", "acknowledged": "已签收", "done": "已完成", "cancelled": "已取消"}


def _level(value: str) -> Level:
    """A level by colour name (``orange``) or number (3)."""
    if value.lstrip("-").isdigit() and int(value) in LEVEL_OF:
        return Level(int(value))
    if value in _LEVEL_NAMES:
        return _LEVEL_NAMES[value]
    raise typer.BadParameter(f"expected one of {', '.join(_LEVEL_NAMES)} or −1…4, got {value!r}", param_hint="--level")


def _json_rows(rows: list) -> None:
    """Print ``rows`` (dataclasses) as a JSON array, each with a ``colour`` beside its ``level``."""
    from warn.store.forms import rows_json

    print_json(rows_json(rows))


def _table(ctx: Seeing, zh: str, en: str, *columns: str) -> Table:
    """A list's table: every column on one line but the last, which takes the rest of the width."""
    table = Table(title=say(ctx.lang, zh, en), title_justify="left")
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], ratio=1)
    return table


def warnings(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
             lang: LangOption = None, as_json: JsonOption = False) -> None:
    """生效预警 / active warning threads, highest level first.

    Example: ``warn warnings --store var/demo/warn.db --json``. ``--json``: an array of
    {`thread_id`, `hazard`, `item_id`, `level` (1 blue … 4 red), `colour`, `version`, `onset`,
    `updated_at` (its last message), `incident_id`}.
    """
    with seeing(config, store, at, lang) as ctx:
        rows = ctx.views.warnings(ctx.at)
    if as_json:
        _json_rows(rows)
        return
    table = _table(ctx, f"生效预警 {len(rows)}", f"active warnings {len(rows)}",
                   say(ctx.lang, "等级", "level"), say(ctx.lang, "灾种", "hazard"), say(ctx.lang, "对象", "item"),
                   say(ctx.lang, "发布", "onset"), say(ctx.lang, "更新", "updated"), say(ctx.lang, "事件", "incident"))
    for w in rows:
        table.add_row(level_label(Level(w.level), ctx.lang), hazard_name(w.hazard, ctx.lang), shown(w.item_id),
                      local_time(w.onset, ctx.zone), local_time(w.updated_at, ctx.zone), shown(w.incident_id or "—"))
    console().print(table)


def zones(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
          lang: LangOption = None, as_json: JsonOption = False,
          hazard: Annotated[str | None, typer.Option("--hazard", help="只看此灾种 / only this hazard "
                                                     f"({', '.join(hazards.names())}).")] = None,
          level: Annotated[str | None, typer.Option("--level", help="只看此等级及以上 / only at or above this "
                                                    "level (blue, yellow, orange, red).")] = None) -> None:
    """各区域与点位等级 / every zone's and point's level as the warning cycles by ``--at`` left it.

    Example: ``warn zones --hazard landslide --level yellow --at 2026-07-15T11:00+08:00``. ``--json``:
    an array of {`hazard`, `kind` (zone, point, district), `item_id`, `level` (−1 unknown, 0 none …
    4 red), `colour`, `cycle_at` (the cycle the level is from)}; empty before the first cycle.
    """
    floor = _level(level) if level is not None else None
    with seeing(config, store, at, lang) as ctx:
        rows = [z for z in ctx.views.zones(ctx.at)
                if (hazard is None or z.hazard == hazard) and (floor is None or z.level >= floor)]
        cycle = ctx.views.last_cycle(ctx.at)
    if as_json:
        _json_rows(rows)
        return
    if cycle is None:
        console().print(say(ctx.lang, f"截至 {local_time(ctx.at, ctx.zone)} 尚无预警周期：各区域等级未知",
                            f"no warning cycle by {local_time(ctx.at, ctx.zone)}: every level unknown"),
                        style="bold magenta")
        return
    when, age = local_time(cycle.at, ctx.zone), age_text(cycle.age_s, ctx.lang)
    table = _table(ctx, f"区域与点位 {len(rows)}（周期 {when} 的等级，{age}前）",
                   f"zones and points {len(rows)} (levels of the cycle at {when}, {age} ago)",
                   say(ctx.lang, "等级", "level"), say(ctx.lang, "灾种", "hazard"), say(ctx.lang, "类型", "kind"),
                   say(ctx.lang, "对象", "item"))
    if cycle.late:
        table.title_style = "bold red"
    for z in rows:
        table.add_row(level_label(Level(z.level), ctx.lang), hazard_name(z.hazard, ctx.lang), shown(z.kind), shown(z.item_id))
    console().print(table)


def incidents(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
              lang: LangOption = None, as_json: JsonOption = False) -> None:
    """事件 / incidents, newest first, with open tasks and active warnings.

    Example: ``warn incidents --json``. ``--json``: an array of {`incident_id`, `hazard`,
    `opened_at`, `closed_at` (null while open), `mode`, `response_level` (0 none, 1 IV … 4 I),
    `open_tasks`, `warnings`}.
    """
    with seeing(config, store, at, lang) as ctx:
        rows = ctx.views.incidents(ctx.at)
    if as_json:
        _json_rows(rows)
        return
    table = _table(ctx, f"事件 {len(rows)}", f"incidents {len(rows)}", say(ctx.lang, "事件", "incident"),
                   say(ctx.lang, "灾种", "hazard"), say(ctx.lang, "开启", "opened"), say(ctx.lang, "关闭", "closed"),
                   say(ctx.lang, "待办", "open tasks"), say(ctx.lang, "预警", "warnings"))
    for i in rows:
        table.add_row(shown(i.incident_id), hazard_name(i.hazard, ctx.lang), local_time(i.opened_at, ctx.zone),
                      local_time(i.closed_at, ctx.zone), str(i.open_tasks), str(i.warnings))
    console().print(table)


def tasks(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
          lang: LangOption = None, as_json: JsonOption = False, actor: ActorOption = None,
          overdue: Annotated[bool, typer.Option("--overdue", help="只看逾期 / only overdue tasks.")] = False,
          mine: Annotated[bool, typer.Option("--mine", help="只看我的岗位（需 --as）/ only tasks of the posts "
                                             "the --as person holds on the roster at --at.")] = False) -> None:
    """任务 / tasks as they stood at ``--at``, most overdue first.

    Example: ``warn tasks --overdue --mine --as 演示值班员01``. ``--json``: an array of
    {`task_id`, `incident_id`, `summary`, `owner_role`, `org_unit`, `due_at`, `status` (open,
    acknowledged, done, cancelled), `acked_by`, `done_by`, `overdue_s` (0 unless overdue)}.
    Exit 1 when ``--as`` names nobody on the roster, 2 for ``--mine`` without ``--as``.
    """
    if mine and not actor:
        raise typer.BadParameter("--mine needs --as (or WARN_USER): whose tasks?", param_hint="--mine")
    with seeing(config, store, at, lang) as ctx:
        rows = ctx.views.tasks(ctx.at, overdue=overdue)
    if mine:
        rows = _mine(ctx, rows, actor)
    if as_json:
        _json_rows(rows)
        return
    out = console()
    out.print(say(ctx.lang, f"任务 {len(rows)}（截至 {local_time(ctx.at, ctx.zone)}）",
                  f"tasks {len(rows)} (as of {local_time(ctx.at, ctx.zone)})"), style="bold", markup=False)
    for t in rows:
        _print_task(out, ctx, t)


def _print_task(out: Console, ctx: Seeing, task: TaskView) -> None:
    """One task in three lines, readable at 80 columns and piped: status, overdue, due and owner; its id
    whole on a line of its own (never cut: ``warn ack`` and ``warn done`` need it); the summary on one
    line, cut with … where the width ends."""
    head = Text()
    head.append("● ", style="bold red" if task.overdue else "dim")
    head.append(say(ctx.lang, _TASK_ZH.get(task.status, task.status), task.status), style="bold")
    if task.overdue:
        head.append(say(ctx.lang, f"  逾期 {age_text(task.overdue_s, ctx.lang)}",
                        f"  overdue {age_text(task.overdue_s, ctx.lang)}"), style="bold red")
    head.append(say(ctx.lang, f"  应完成 {local_time(task.due_at, ctx.zone)}", f"  due {local_time(task.due_at, ctx.zone)}"))
    head.append(f"  {clean(task.org_unit)}.{clean(task.owner_role)}", style="dim")
    out.print(head, no_wrap=True, overflow="ellipsis")
    out.print(Text(f"  {clean(task.task_id)}", style="cyan"), soft_wrap=True)
    out.print(Text(f"  {clean(task.summary)}"), no_wrap=True, overflow="ellipsis")


def _mine(ctx: Seeing, rows: list[TaskView], actor: str) -> list[TaskView]:
    """The tasks whose post (org unit and role) ``actor`` holds at ``ctx.at`` (the roster and the directory's posts)."""
    from warn import hazards
    from warn.command.loading import load_setup
    from warn.command.model import OrgUnit, Role
    from warn.vocab import OrgLevel

    if ctx.settings.command is None:
        console(stderr=True).print("✗ config.yaml 无 command.roster / no roster configured (command.roster)",
                                   style="bold red")
        raise typer.Exit(2)
    roster = load_setup(ctx.settings.command, ctx.settings.deployment.district_code, hazards.names_zh(),
                        roster_limit=ctx.settings.files.max_roster_bytes).roster
    if not any(s.person == actor for s in roster.shifts):
        console(stderr=True).print(f"✗ 值班表上无此人 / nobody called {actor!r} on the roster "
                                   f"({ctx.settings.command.roster}) — check --as", style="bold red", markup=False)
        raise typer.Exit(1)

    def holds(task: TaskView) -> bool:
        level, _, code = task.org_unit.partition(".")
        return (level in OrgLevel.__members__.values() and task.owner_role in Role.__members__.values()
                and roster.who(Role(task.owner_role), OrgUnit(OrgLevel(level), code), ctx.at) == actor)

    return [t for t in rows if holds(t)]


_CALL_ZH = {"answered": "已应答", "waiting": "待应答", "escalated": "已上转", "exhausted": "无人应答"}


def calls(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
          lang: LangOption = None, as_json: JsonOption = False) -> None:
    """叫应 / every 叫应 call made by ``--at``: who was called, on which channels, who answered how and when.

    Example: ``warn calls --store var/demo/warn.db --json``. ``--json``: an array of {`request_id`,
    `org_level` (district, town, community, grid, point), `addressee` (who answered, else who it was last
    sent to), `post`, `channels` (channel kinds, in the order used), `first_delivered_at`, `answered_at`,
    `answered_via` (sms, work_notice, wecom, voice, link, cli), `escalation_step`, `status` (answered,
    waiting, escalated, exhausted)}.
    """
    with seeing(config, store, at, lang) as ctx:
        rows = ctx.views.call_log(ctx.at)
    if as_json:
        _json_rows(rows)
        return
    table = _table(ctx, f"叫应 {len(rows)}", f"calls {len(rows)}", say(ctx.lang, "状态", "status"),
                   say(ctx.lang, "层级", "level"), say(ctx.lang, "岗位", "post"), say(ctx.lang, "人员", "person"),
                   say(ctx.lang, "渠道", "channels"), say(ctx.lang, "送达", "delivered"),
                   say(ctx.lang, "应答", "answered"), say(ctx.lang, "请求", "request"))
    for c in rows:
        answered = "—" if c.answered_at is None else f"{local_time(c.answered_at, ctx.zone)} {c.answered_via}"
        table.add_row(say(ctx.lang, _CALL_ZH.get(c.status, c.status), c.status), c.org_level, shown(c.post),
                      shown(c.addressee or "—"), ", ".join(c.channels) or "—",
                      local_time(c.first_delivered_at, ctx.zone) if c.first_delivered_at else "—", answered,
                      shown(c.request_id))
    console().print(table)


def timeline(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
             lang: LangOption = None, as_json: JsonOption = False,
             incident: Annotated[str | None, typer.Argument(help="事件编号 / incident id (default: all).")] = None,
             since: Annotated[datetime | None, typer.Option("--since", parser=parse_at, metavar="TIME",
                                                            help="此时刻起 / entries from this time (ISO 8601 "
                                                                 "with a zone).")] = None,
             last: Annotated[int, typer.Option("--last", min=1, help="最近几条 / the last N entries.")] = 50) -> None:
    """时间线 / the timeline (oldest first), of one incident or all, up to ``--at``.

    Example: ``warn timeline INC-storm-20260715T0500Z --since 2026-07-15T18:00+08:00``.
    ``--json``: an array of {`seq`, `occurred_at`, `incident_id`, `actor`, `role`, `kind`, `summary`}.
    """
    with seeing(config, store, at, lang) as ctx:
        rows = ctx.views.timeline(ctx.at, incident=incident, since=since, limit=last)
    if as_json:
        _json_rows(rows)
        return
    table = _table(ctx, f"时间线 {len(rows)}", f"timeline {len(rows)}", "#", say(ctx.lang, "时间", "time"),
                   say(ctx.lang, "类别", "kind"), say(ctx.lang, "人员", "actor"), say(ctx.lang, "内容", "summary"))
    for e in rows:
        table.add_row(str(e.seq), local_time(e.occurred_at, ctx.zone), shown(e.kind), shown(e.actor), shown(e.summary))
    console().print(table)


def feeds(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, at: AtOption = None,
          lang: LangOption = None, as_json: JsonOption = False) -> None:
    """数据源 / every source — forecasts, official warnings, sensor feeds and each sensor — with its last
    data, last failure, age at ``--at`` and health.

    Example: ``warn feeds --json``. ``--json``: an array of {`source` (``forecast:<name>``,
    ``official:<name>``, ``feed:<name>``, ``sensor:<id>``), `last_seen` (its last data: a sensor's
    newest reading, a pulled source's last successful pull), `age_s`, `expected_s`, `health` at ``--at``
    (ok; stale: silent for more than k × its interval, k from models/sensors.yaml; failing: its last pull
    failed; never: no data yet; unknown: nothing on record by then), `detail`, `rejected`: payloads or
    records it sent by ``--at`` that were refused, `last_failure` and `failure`: the last pull by ``--at``
    that failed and why}.
    """
    with seeing(config, store, at, lang) as ctx:
        from warn.store.views import pulled_sources

        rows = ctx.views.feeds(ctx.at, pulled=pulled_sources(ctx.settings))
    if as_json:
        _json_rows(rows)
        return
    health = {"ok": ("正常", "green"), "stale": ("中断", "bold magenta"), "never": ("无数据", "bold magenta"),
              "unknown": ("未知", "bold magenta"), "failing": ("失败", "bold red")}
    table = _table(ctx, f"数据源 {len(rows)}", f"sources {len(rows)}", say(ctx.lang, "状态", "health"),
                   say(ctx.lang, "数据源", "source"), say(ctx.lang, "最近成功", "last ok"),
                   say(ctx.lang, "时长", "age"), say(ctx.lang, "拒收", "rejected"),
                   say(ctx.lang, "说明（最近失败）", "detail (last failure)"))
    for f in rows:
        zh, style = health[f.health]
        detail = shown(one_language(f.detail, ctx.lang))
        if f.last_failure is not None:
            when = local_time(f.last_failure, ctx.zone)
            detail.append(say(ctx.lang, f"{'；' if f.detail else ''}最近失败 {when}：",
                              f"{'; ' if f.detail else ''}last failed {when}: ")
                          + clean(one_language(f.failure, ctx.lang)), style="red")
        table.add_row(Text(say(ctx.lang, zh, f.health), style=style), shown(f.source), local_time(f.last_seen, ctx.zone),
                      age_text(f.age_s, ctx.lang), Text(str(f.rejected), style="bold red" if f.rejected else "dim"),
                      detail)
    console().print(table)
