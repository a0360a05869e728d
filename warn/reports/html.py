"""HTML 报告 / the incident report as one self-contained, printable HTML page.

Inline CSS (with ``@media print``), the images as base64 ``data:`` URIs, no external
resource. The integrity status is the first thing on the page — in red when the timeline
failed verification. The timeline table can be filtered by role (an ICS-214-style activity
log per role) with a small inline script; printing shows what is filtered.
"""

from __future__ import annotations

import base64
from html import escape

from warn.reports.content import Report, Table, facts, tables, verification_line

#: Image keys (from :func:`warn.reports.figures.render_all`) → zh-CN / English caption, in page order.
CAPTIONS = {"map": "各镇街最高预警等级 Highest level per town, points warned",
            "rain": "降雨时段逐时雨量，及暴雨预警信号各时段（3/6/12 h）累计雨量与其阈值 The storm's hourly rain, and "
                    "the rain accumulated over each window of the rainstorm signal (3/6/12 h) against its criteria",
            "levels": "预警点位水位及阈值（质控标记读数单独标出） Water levels at the points that warned, with "
                      "thresholds and QC-flagged readings"}

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
 margin:1.5em auto;max-width:1100px;color:#222;font-size:14px}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.4em}
.integrity{padding:.6em 1em;border-radius:4px;font-weight:bold;word-break:break-all}
.ok{background:#e6f4ea;color:#135e2c}.failed{background:#c62828;color:#fff;font-size:1.2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #bbb;padding:.25em .4em;
 text-align:left;vertical-align:top}th{background:#eee}tr.new td{background:#fff8d6}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:bold}
figure{margin:1em 0;page-break-inside:avoid}figure img{max-width:100%}figcaption{color:#555}
.note{color:#444;font-size:.9em}
@media print{body{margin:0;max-width:none;font-size:11px}.noprint{display:none}
 tr{page-break-inside:avoid}h2{page-break-after:avoid}}
"""

_SCRIPT = """
document.getElementById('role').addEventListener('change',function(e){
 var v=e.target.value;document.querySelectorAll('#timeline tbody tr').forEach(function(r){
  r.style.display=(!v||r.dataset.role===v)?'':'none';});});
"""


def render(report: Report, images: dict[str, bytes]) -> str:
    """The page as HTML text; ``images`` PNG bytes by key (``map``, ``rain``, ``levels``; missing ones are skipped)."""
    state = "ok" if report.integrity.ok else "failed"
    parts = [f'<div class="integrity {state}">{escape(verification_line(report))}</div>',
             f"<h1>{escape(report.title)}</h1>", "<dl>"]
    parts += [f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in facts(report)]
    parts.append("</dl>")
    for key, caption in CAPTIONS.items():
        if key in images:
            data = base64.b64encode(images[key]).decode("ascii")
            parts.append(f'<figure><img alt="{escape(key)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{escape(caption)}</figcaption></figure>")
    parts += [_table(t) for t in tables(report)]
    parts += ["<h2>说明 Notes</h2><ul>"] + [f"<li>{escape(n)}</li>" for n in report.notes] + ["</ul>"]
    parts.append(f'<p class="integrity {state}">{escape(verification_line(report))}</p>')
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(parts) + f"\n<script>{_SCRIPT}</script></body></html>\n")


def _table(table: Table) -> str:
    """A table; the timeline's rows carry their role and a role filter above them."""
    head = f"<h2>{escape(table.title)}</h2>" + (f'<p class="note">{escape(table.note)}</p>' if table.note else "")
    if not table.rows:
        return head + "<p>无 none</p>"
    role = table.columns.index("角色 role") if table.key == "timeline" else None
    if role is not None:
        roles = sorted({row[role] for row in table.rows})
        head += ('<p class="noprint"><label>按角色筛选 Filter by role: <select id="role"><option value="">全部 all'
                 "</option>" + "".join(f'<option value="{escape(r)}">{escape(r)}</option>' for r in roles)
                 + "</select></label></p>")
    rows = []
    for row, new in zip(table.rows, table.new, strict=True):
        attrs = (' class="new"' if new else "") + (f' data-role="{escape(row[role])}"' if role is not None else "")
        rows.append(f"<tr{attrs}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return (head + f'<table id="{escape(table.key)}"><thead><tr>'
            + "".join(f"<th>{escape(c)}</th>" for c in table.columns) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
