"""The drill summary for people: the object of :func:`warn.reports.summary.summary` as tables."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from warn.cli.output import clean, level_text
from warn import hazards
from warn.vocab import ResponseLevel
from warn.vocab import Level

_COLOURS = {level.colour: level for level in (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)}
_MODES = {"peacetime": "平时", "wartime": "战时"}


def print_summary(out: Console, result: dict[str, Any]) -> None:
    """Print the drill summary: warnings, CAP messages, tasks, 叫应, mode changes, notices, where things are."""
    drill = result["drill"]
    out.print(f"\n演练小结 / drill summary  {drill['from']} → {drill['to']}  "
              f"（{drill['cycles']} 个周期 cycles，{drill['seconds']} s）", style="bold")
    out.print(_warnings(result["warnings"]))
    caps = result["cap_messages"]
    out.print(f"CAP 消息 messages: {caps['total']}（Alert {caps['by_type'].get('Alert', 0)}，"
              f"Update {caps['by_type'].get('Update', 0)}，其中解除 all-clear {caps['all_clear']}）；"
              f"XSD 校验通过 valid {caps['valid']}/{caps['total']}；接收端收到 received {drill['received']} 次投递")
    tasks = result["tasks"]
    out.print(f"任务 tasks: 创建 created {tasks['created']}，签收 acknowledged {tasks['acknowledged']}，"
              f"完成 done {tasks['done']}，逾期 overdue {tasks['overdue']}，未完成 open {tasks['open']}")
    acks = result["acks"]
    out.print(f"叫应与应答 requests: {acks['requests']}（叫应 calls {acks['calls']}），已应答 answered "
              f"{acks['answered']}，逐级上报 escalated {acks['escalated']}，未应答 unanswered {acks['unanswered']}")
    people = result["deliveries"]
    out.print(f"送达到人 to persons: {people['total']} 条（按渠道 by channel "
              f"{_counts(people['by_channel'])}；按层级 by level {_counts(people['by_org_level'])}）；"
              f"应答渠道 answered via {_counts(result['answered_via'])}", markup=False)
    for change in result["mode_changes"]:
        response = f"（{ResponseLevel[change['response']].zh} {change['response']}）" if change["response"] else ""
        out.print(f"平急转换 mode: {change['at']}  {_MODES[change['from']]} → {_MODES[change['to']]}{response}  "
                  f"决定人 decided by {change['decided_by']}")
    notices = result["notices"]
    out.print(f"数据告警 data notices: 开始 began {notices['began']}，恢复 ended {notices['ended']}")
    for line in notices["first"]:
        out.print(f"  · {line}", markup=False)
    _outbox(out, result["outbox"])
    out.print(f"输出 outputs: {drill['folder']}/warn.db, cap/*.xml, outbox.jsonl", markup=False)
    for incident, path in result["report"].items():
        out.print(f"终报 final report {incident}: {path}", markup=False, soft_wrap=True)
    if "map" in result:
        out.print(f"态势图 situation map: {result['map']['command']}  →  {result['map']['url']}", style="bold",
                  markup=False, soft_wrap=True)


def _counts(counts: dict[str, int]) -> str:
    """``sms 12, voice 3`` (or ``—``)."""
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "—"


_STATUS = {"queued": "待发 queued", "sending": "发送中 sending", "failed": "失败 failed", "refused": "拒发 refused"}


def _outbox(out: Console, outbox: dict[str, Any]) -> None:
    """Deliveries made, and every one not made per channel, status and reason (red when there are some)."""
    left = sum(entry["count"] for entry in outbox["undelivered"])
    out.print(f"外发 outbox: 已送达 delivered {outbox['sent']}，未送达 undelivered {left}",
              style="bold red" if left else None)
    for entry in outbox["undelivered"]:
        out.print(f"  · {entry['channel']} {_STATUS.get(entry['status'], entry['status'])} ×{entry['count']}："
                  f"{clean(entry['reason'])}", markup=False)


def _warnings(warnings: dict[str, Any]) -> Table:
    table = Table(title="预警 / warnings", title_justify="left", box=box.SIMPLE_HEAD)
    for heading in ("灾种 hazard", "发布 raised", "解除 cleared", "生效 active", "最高等级 highest level"):
        table.add_column(heading, justify="left" if heading.startswith(("灾种", "最高")) else "right")
    for hazard, entry in warnings.items():
        levels = Text(", ").join(level_text(_COLOURS[c]) + Text(f" ×{n}")
                                 for c, n in sorted(entry["highest"].items(), key=lambda kv: -_COLOURS[kv[0]]))
        table.add_row(f"{hazards.names_zh().get(hazard, hazard)} {hazard}", str(entry["raised"]), str(entry["cleared"]),
                      str(entry["active"]), levels)
    return table
