"""Markdown 报告 / the incident report as Markdown, for pasting into 渝快政 or an e-mail.

The first line is the timeline's integrity (a failed verification first of all), then the
header and the tables of :func:`warn.reports.content.tables`; no images (say so once).
Text from the store (names, notes, reasons, texts from people and feeds) is escaped
(:func:`escape`): the Markdown shows it as written, never as HTML, links or emphasis.
"""

from __future__ import annotations

import re

from warn.reports.content import Report, facts, tables, verification_line

#: Characters that would make text Markdown or HTML: backslash-escaped (CommonMark allows any ASCII punctuation).
_MARKUP = re.compile(r"([\\`*_\[\]<>&|#~!])")

#: Marks a row new since the previous report (续报).
NEW = "🆕"


def render(report: Report) -> str:
    """The report as Markdown text (zh-CN first, then English)."""
    lines = [f"**{escape(verification_line(report))}**", "", f"# {escape(report.title)}", ""]
    lines += [f"- **{label}**: {_cell(value)}" for label, value in facts(report)]
    if report.rain is not None:
        r = report.rain
        lines += ["", "## 雨量 Rainfall", "",
                  (f"- 最大雨量区域 worst zone: {escape(r.worst_zone_name)} ({escape(r.worst_zone_id)}), "
                   f"时段累计 total {sum(r.worst_mm):.1f} mm, 最大小时雨量 max 1 h {max(r.worst_mm):.1f} mm"),
                  (f"- 全区平均 district mean: 累计 total {sum(r.district_mean_mm):.1f} mm, "
                   f"最大小时雨量 max 1 h {max(r.district_mean_mm):.1f} mm")]
    for table in tables(report):
        lines += ["", f"## {table.title}", ""] + ([f"*{_cell(table.note)}*", ""] if table.note else [])
        if not table.rows:
            lines.append("无 none")
            continue
        mark = any(table.new)
        columns = ([NEW] if mark else []) + table.columns
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(([NEW if new else ""] if mark else []) + [_cell(c) for c in row]) + " |"
                  for row, new in zip(table.rows, table.new, strict=True)]
    lines += ["", "## 说明 Notes", ""] + [f"- {_cell(note)}" for note in report.notes]
    lines += ["- 地图与图表见 HTML / PDF 版 / the map and plots are in the HTML and PDF versions", "",
              escape(verification_line(report)), ""]
    return "\n".join(lines)


def escape(text: str) -> str:
    """``text`` shown as written in Markdown: its markup characters (HTML ``<``, ``&``, links, emphasis,
    pipes) backslash-escaped."""
    return _MARKUP.sub(r"\\\1", text)


def _cell(text: str) -> str:
    """Text safe in a table cell or a list item: escaped, on one line."""
    return " ".join(escape(text).splitlines())
