"""The incident report as an A4 PDF, drawn with matplotlib's PdfPages.

事件报告 PDF（A4）：第 1 页先写时间线校验结果，再写事件概况与辖区图；其后为雨量、水位、
预警—防控—处置闭环、发布记录与时间线。
Page 1 opens with the integrity line — the timeline hash chain as verified when the report
was built: "时间线校验通过 / timeline verified · head <hash>", or a red box
"时间线校验失败 / timeline FAILED verification: <problem>" — then the incident's header and the
district map; then the rain and water-level figures; then the loop figures, the broadcasts
and the timeline as paginated text tables (cells wrapped, CJK counted double width). Text
is set in Noto Sans SC (:func:`warn.reports.fonts.use_cjk_font`) and embedded by matplotlib
(default ``pdf.fonttype``), so the PDF reads the same on a machine without CJK fonts.
Figures arrive as PNG bytes (:func:`warn.reports.figures.render_all`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from warn.reports.content import level_label, minutes_between, percent
from warn.reports.loop import HANDLING, handling
from warn.reports.fonts import use_cjk_font
from warn.reports.text import wrap
from warn.vocab import Level

if TYPE_CHECKING:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from warn.reports.content import Report

A4_IN = (8.27, 11.69)
#: Page margins as figure fractions: left, right, top, bottom.
_LEFT, _RIGHT, _TOP, _BOTTOM = 0.07, 0.93, 0.95, 0.05
_LINE = 0.0135  # height of one 7.5 pt text line as a fraction of the A4 height
_CHARS = 128  # half-width characters across the text block at 7.5 pt
_FAIL_RED = "#B00020"


def render(report: Report, images: Mapping[str, bytes]) -> bytes:
    """The report as PDF bytes.

    Parameters
    ----------
    report
        The built report (:func:`warn.reports.content.build`).
    images
        PNG bytes by name: ``"map"``, ``"rain"`` and ``"levels"``; a missing one is skipped.

    Returns
    -------
    bytes
        The PDF, A4 portrait.
    """
    use_cjk_font()
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    head = report.incident
    t = report.local
    with PdfPages(buf, metadata={"Title": f"{head.incident_id} 事件报告 incident report",
                                 "Subject": f"{head.hazard_zh} {head.hazard}", "Creator": "warn"}) as pdf:
        _first_page(pdf, report, images.get("map"))
        for name in ("rain", "levels"):
            if name in images:
                page = _page()
                _image(page, images[name], top=_TOP, bottom=_BOTTOM)
                _save(pdf, page)
        _loop_pages(pdf, report)
        _table_pages(pdf, "发布记录 broadcasts", ["标识 identifier", "类型 type", "等级 level", "发送 sent", "渠道 channels"],
                     [0.36, 0.1, 0.12, 0.17, 0.25],
                     [[b.identifier, b.msg_type, level_label(b.level), t(b.sent_at),
                       ", ".join(f"{c}: {status}" for c, status in b.channels.items())]
                      for b in report.broadcasts])
        _table_pages(pdf, "时间线 timeline", ["#", "时间 time", "人员 actor", "岗位 role", "单位 org unit", "类别 kind",
                                           "摘要 summary"], [0.04, 0.15, 0.1, 0.1, 0.12, 0.09, 0.4],
                     [[str(e.seq), t(e.occurred_at), e.actor, e.role, e.org_unit, e.kind, e.summary]
                      for e in report.timeline])
    return buf.getvalue()


def _first_page(pdf: PdfPages, report: Report, map_png: bytes | None) -> None:
    """Integrity line, header and the district map."""
    page = _page()
    check = report.integrity
    if check.ok:
        page.text(_LEFT, _TOP, f"时间线校验通过 / timeline verified · {check.entries} 条 entries · head {check.head_hash}",
                  fontsize=7.5, color="#1B5E20", va="top")
        y = _TOP - 2 * _LINE
    else:
        page.text(_LEFT + 0.01, _TOP - 0.008,
                  wrap(f"时间线校验失败 / timeline FAILED verification: {check.problem}", _CHARS - 8, 9.5 / 7.5),
                  fontsize=9.5, color="white", va="top",
                  bbox={"boxstyle": "square,pad=0.6", "fc": _FAIL_RED, "ec": _FAIL_RED})
        y = _TOP - 5 * _LINE
    head = report.incident
    page.text(_LEFT, y, report.title, fontsize=13, va="top")
    y -= 2.4 * _LINE
    t = report.local
    start, end = report.period
    lines = [
        f"灾种 hazard: {head.hazard_zh} {head.hazard}    区域 area: {'、'.join(head.area) or '—'}",
        f"时段 period: {t(start)} — {t(end)} ({report.timezone})    生成 rendered: {t(report.rendered_at)}",
        f"开启 opened: {t(head.opened_at)}    结束 closed: {t(head.closed_at) if head.closed_at else '未结束 open'}",
        f"最高等级 highest level: {level_label(head.highest_level)}",
        "平急转换 mode changes (决定人 decided by):",
        *(f"  · {t(m.at)} {m.from_mode} → {m.to_mode}"
          f"{' ' + Level(m.response_level).grade + ' 级响应 response' if m.response_level > 0 else ''}"
          f" · {m.decided_by} · {m.rule_id} · {m.reason}" for m in head.mode_changes),
        *(["  · 无 none"] if not head.mode_changes else []),
        *(f"注 note: {n}" for n in report.notes),
    ]
    text = "\n".join(wrap(line, _CHARS) for line in lines)
    page.text(_LEFT, y, text, fontsize=7.5, va="top", linespacing=1.5)
    y -= (text.count("\n") + 1) * _LINE * 1.1 + _LINE
    if map_png is not None:
        _image(page, map_png, top=y, bottom=_BOTTOM)
    _save(pdf, page)


def _loop_pages(pdf: PdfPages, report: Report) -> None:
    """The warn → prevent → respond loop: its figures, then warnings, tasks and calls."""
    t = report.local
    loop = report.loop
    _table_pages(pdf, "闭环 warn → prevent → respond loop", ["指标 figure", "统计对象 counted over", "完成/总数 of",
                                                             "数值 value"], [0.16, 0.54, 0.15, 0.15],
                 [[k.name, k.over, f"{k.part}/{k.whole}", percent(k.value)] for k in loop.figures],
                 note=f"指标口径 what counts: {HANDLING}")
    _table_pages(pdf, "需处置而未处置或未按期 required action, not handled or not on time",
                 ["对象 warning / incident", "点位 item", "等级 level", "首发 first", "原因 why"],
                 [0.3, 0.12, 0.12, 0.14, 0.32],
                 [[u.what, u.item_id, level_label(u.level), t(u.first_at), u.reason] for u in loop.unhandled])
    _table_pages(pdf, "预警闭环 warnings", ["预警 thread", "对象 item", "等级 level", "首发 first", "响应 acked",
                                         "首个处置 first action", "解除 closed", "处置 handled"],
                 [0.18, 0.1, 0.1, 0.12, 0.12, 0.12, 0.12, 0.14],
                 [[w.thread_id, w.item_id, level_label(w.level), t(w.first_at),
                   f"{t(w.acked_at)} (+{minutes_between(w.first_at, w.acked_at)})",
                   f"{t(w.first_action_at)} (+{minutes_between(w.first_at, w.first_action_at)})", t(w.closed_at),
                   handling(w)]
                  for w in loop.warnings])
    _table_pages(pdf, "任务 tasks", ["任务 task", "内容 summary", "责任 owner", "期限 due", "完成 done", "状态 status"],
                 [0.14, 0.34, 0.16, 0.12, 0.12, 0.12],
                 [[k.task_id, k.summary, k.owner, t(k.due_at), t(k.done_at),
                   k.status + (" 超期 overdue" if k.overdue else "") + (" 已上报 escalated" if k.escalated else "")]
                  for k in loop.tasks])
    _table_pages(pdf, "叫应 calls", ["请求 request", "对象 addressee", "发起 asked", "应答人 answered by", "应答 answered",
                                   "升级 escalations"], [0.16, 0.26, 0.14, 0.16, 0.16, 0.12],
                 [[c.request_id, c.addressee, t(c.created_at), c.answered_by or "—",
                   f"{t(c.answered_at)} (+{minutes_between(c.created_at, c.answered_at)})", str(c.escalations)]
                  for c in loop.calls])


def _table_pages(pdf: PdfPages, title: str, header: Sequence[str], widths: Sequence[float],
                 rows: Iterable[Sequence[str]], *, note: str = "") -> None:
    """Rows as a wrapped text table over as many pages as needed; "无 none" when there are no rows; ``note``
    (what the figures count) in small type under the title."""
    block = _RIGHT - _LEFT
    lefts = [_LEFT + block * sum(widths[:i]) for i in range(len(widths))]
    chars = [max(3, int(_CHARS * w) - 1) for w in widths]
    page, y = _table_page(title, header, lefts, chars, continued=False, note=note)
    empty = True
    for row in rows:
        empty = False
        cells = [wrap(str(c), n) for c, n in zip(row, chars)]
        height = max(c.count("\n") + 1 for c in cells) * _LINE + 0.3 * _LINE
        if y - height < _BOTTOM:
            _save(pdf, page)
            page, y = _table_page(title, header, lefts, chars, continued=True)
        for x, cell in zip(lefts, cells):
            page.text(x, y, cell, fontsize=7.5, va="top", linespacing=1.2)
        y -= height
        page.add_artist(_rule(y + 0.15 * _LINE, "#CCCCCC"))
    if empty:
        page.text(_LEFT, y, "无 none", fontsize=7.5, va="top")
    _save(pdf, page)


def _table_page(title: str, header: Sequence[str], lefts: Sequence[float], chars: Sequence[int], *,
                continued: bool, note: str = "") -> tuple[Figure, float]:
    """A new page with the table's title, ``note`` and header row; returns it and the y of the first row."""
    page = _page()
    page.text(_LEFT, _TOP, title + ("（续 continued）" if continued else ""), fontsize=11, va="top")
    y = _TOP - 2.2 * _LINE
    if note:
        wrapped = wrap(note, _CHARS, 6.5 / 7.5)
        page.text(_LEFT, y, wrapped, fontsize=6.5, va="top", color="#333333", linespacing=1.3)
        y -= (wrapped.count("\n") + 1) * _LINE * 1.05 + 0.5 * _LINE
    cells = [wrap(h, n) for h, n in zip(header, chars)]
    for x, cell in zip(lefts, cells):
        page.text(x, y, cell, fontsize=7.5, va="top", color="#333333", linespacing=1.2)
    y -= max(c.count("\n") + 1 for c in cells) * _LINE + 0.3 * _LINE
    page.add_artist(_rule(y + 0.15 * _LINE, "black"))
    return page, y


def _rule(y: float, colour: str) -> Line2D:
    """A horizontal rule across the text block at figure height ``y``."""
    from matplotlib.lines import Line2D

    return Line2D([_LEFT, _RIGHT], [y, y], lw=0.4, color=colour)


def _page() -> Figure:
    """A blank A4 page."""
    from matplotlib.figure import Figure

    return Figure(figsize=A4_IN)


def _save(pdf: PdfPages, page: Figure) -> None:
    """Append the page to the PDF."""
    pdf.savefig(page)


def _image(page: Figure, png: bytes, *, top: float, bottom: float) -> None:
    """Place a PNG across the text block under ``top``, scaled to fit above ``bottom``, aspect kept."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")
    rows, cols = pixels.shape[:2]
    width = _RIGHT - _LEFT
    height = width * rows / cols * A4_IN[0] / A4_IN[1]
    if height > top - bottom:
        width *= (top - bottom) / height
        height = top - bottom
    ax = page.add_axes((0.5 - width / 2, top - height, width, height))
    ax.imshow(pixels, interpolation="antialiased")
    ax.set_axis_off()
