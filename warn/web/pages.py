"""The phone pages: server-rendered HTML, zh-CN first then English, for a 390 px screen.

Pure functions from what a page shows to its HTML. Every page is one document with its CSS inline and
no external asset — no CDN, no web font, no script from elsewhere; the only script is the few inline
lines of :data:`LOCATE` that put the phone's location into a form's hidden ``lon`` / ``lat`` fields
when the person allows it. Everything a person or the store wrote is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from warn.command.model import AckKind, Reply

#: The page's style: one column, big targets, readable in sunlight.
STYLE = """
*{box-sizing:border-box}
body{margin:0;font:17px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;
background:#f4f5f7;color:#16181d}
header{background:#0b4f8a;color:#fff;padding:14px 16px}
header h1{margin:0;font-size:20px}
header p{margin:2px 0 0;font-size:13px;opacity:.85}
main{padding:14px 16px 32px;max-width:560px;margin:0 auto}
.card{background:#fff;border-radius:10px;padding:14px;margin:0 0 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card h2{margin:0 0 6px;font-size:18px}
.meta{color:#555;font-size:14px;margin:2px 0;word-break:break-all}
.en{color:#666;font-size:13px}
label{display:block;font-weight:600;margin:12px 0 4px}
textarea,input[type=text]{width:100%;font:inherit;padding:10px;border:1px solid #bbb;border-radius:8px}
textarea{min-height:84px}
input[type=file]{width:100%;font-size:15px;margin:4px 0}
button,.button{display:block;width:100%;min-height:56px;margin:10px 0 0;border:0;border-radius:10px;
font:inherit;font-size:19px;font-weight:700;color:#fff;background:#0b6bcb;text-align:center;
text-decoration:none;padding:14px}
button.ok{background:#1f8a3b}button.here{background:#0b6bcb}button.help{background:#c2410c}
button.no{background:#6b7280}
button .en,.button .en{color:inherit;opacity:.9;font-weight:400}
.where{font-size:14px;color:#555;margin:8px 0 0}
.refused{border-left:6px solid #b91c1c}.done{border-left:6px solid #1f8a3b}
"""
#: Fills the hidden lon/lat fields of every form with the phone's location, when it gives one.
LOCATE = """
(function(){var s=document.getElementById('where');if(!navigator.geolocation){if(s)s.textContent=
'本机无法定位 / no location on this phone';return;}
navigator.geolocation.getCurrentPosition(function(p){document.querySelectorAll('input[name=lon]').forEach(
function(e){e.value=p.coords.longitude.toFixed(6)});document.querySelectorAll('input[name=lat]').forEach(
function(e){e.value=p.coords.latitude.toFixed(6)});if(s)s.textContent='已获取位置 / location: '+
p.coords.latitude.toFixed(5)+', '+p.coords.longitude.toFixed(5);},function(){if(s)s.textContent=
'未获取位置（可不填）/ no location (optional)';},{enableHighAccuracy:true,timeout:10000});})();
"""
#: The answers to a 叫应 call, their button class.
CALL_BUTTONS = ((Reply.RECEIVED, "ok", "received"), (Reply.ON_SITE, "here", "on site"),
                (Reply.NEED_SUPPORT, "help", "need support"))

#: The two answers of a request that is accepted or not: (zh, en) of yes, then of no.
YES_NO = {AckKind.APPROVAL: (("同意", "approve"), ("不同意", "refuse")),
          AckKind.VERIFY: (("属实", "true"), ("不属实", "not true"))}


@dataclass(frozen=True)
class TaskItem:
    """One task on a person's list: its id, what to do, its post, due time, status, and its page's path."""

    task_id: str
    summary: str
    post: str
    due_at: datetime | None
    status: str
    path: str


def page(title: str, subtitle: str, body: str, *, locate: bool = False) -> str:
    """A whole HTML document: ``title`` and ``subtitle`` in the header, ``body`` (HTML) below it."""
    script = f"<script>{LOCATE}</script>" if locate else ""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="referrer" content="no-referrer"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p>"
            f"</header><main>{body}</main>{script}</body></html>")


def when(at: datetime | None, tz: tzinfo) -> str:
    """``at`` in the deployment's time zone (``07-15 20:30``), or ``—``."""
    return at.astimezone(tz).strftime("%m-%d %H:%M") if at is not None else "—"


def answer_page(person: str, kind: AckKind, request: str, post: str, deadline: datetime, tz: tzinfo) -> str:
    """The answer page of a request: what it is, by when, and its buttons (a call: 收到 / 已到岗 / 需要支援; an
    approval: 同意 / 不同意; a verification: 属实 / 不属实)."""
    if kind in YES_NO:
        (yes_zh, yes_en), (no_zh, no_en) = YES_NO[kind]
        buttons = (f'<button class="ok" name="reply" value="yes">{yes_zh} <span class="en">{yes_en}</span></button>'
                   f'<button class="no" name="reply" value="no">{no_zh} <span class="en">{no_en}</span></button>')
    else:
        buttons = "".join(f'<button class="{css}" name="reply" value="{reply}">{reply.zh} '
                          f'<span class="en">{en}</span></button>' for reply, css, en in CALL_BUTTONS)
    body = (f'<div class="card"><h2>{escape(kind.zh)}</h2><p class="meta">{escape(request)}</p>'
            f'<p class="meta">应答岗位 post: {escape(post)}</p>'
            f'<p class="meta">请于 {when(deadline, tz)} 前应答 <span class="en">answer by</span></p></div>'
            f'<form method="post" class="card"><label for="note">说明（需要支援时请写明）'
            f'<span class="en"> note</span></label><textarea id="note" name="note" maxlength="500"></textarea>'
            f"{buttons}</form>")
    return page(f"{kind.zh} · {person}", "请点击一项应答 / tap one to answer", body)


def task_page(person: str, task: str, summary: str, post: str, due_at: datetime | None, tz: tzinfo) -> str:
    """A task's page: what to do, by when, and the form to mark it done with a note, a photo and the location."""
    body = (f'<div class="card"><h2>{escape(summary)}</h2><p class="meta">{escape(task)}</p>'
            f'<p class="meta">责任岗位 post: {escape(post)}</p>'
            f'<p class="meta">完成时限 due: {when(due_at, tz)}</p></div>'
            f'<form method="post" enctype="multipart/form-data" class="card">'
            f'<label for="note">办理情况<span class="en"> what was done</span></label>'
            f'<textarea id="note" name="note" maxlength="500" required></textarea>'
            f'<label for="photo">现场照片<span class="en"> photo</span></label>'
            f'<input id="photo" type="file" name="photo" accept="image/*" capture="environment">'
            f'<input type="hidden" name="lon"><input type="hidden" name="lat">'
            f'<p class="where" id="where">正在获取位置… / locating…</p>'
            f'<button class="ok" type="submit">标记办结 <span class="en">mark done</span></button></form>')
    return page(f"任务 · {person}", "办结后请如实反馈 / report what was done", body, locate=True)


def tasks_page(person: str, items: Sequence[TaskItem], tz: tzinfo) -> str:
    """A person's open tasks, each with the link to its page."""
    cards = "".join(f'<div class="card"><h2>{escape(t.summary)}</h2><p class="meta">{escape(t.post)} · '
                    f'{escape(t.status)} · 时限 due {when(t.due_at, tz)}</p>'
                    f'<a class="button" href="{escape(t.path)}">反馈办结 <span class="en">report done</span></a></div>'
                    for t in items)
    body = cards or '<div class="card"><h2>暂无待办任务</h2><p class="en">no open tasks</p></div>'
    return page(f"我的任务 · {person}", f"{len(items)} 项待办 / open tasks", body)


def report_page(person: str, post: str) -> str:
    """The 险情上报 form: what, where, a photo and the phone's location."""
    body = (f'<form method="post" enctype="multipart/form-data" class="card">'
            f'<p class="meta">上报人 by: {escape(person)}（{escape(post)}）</p>'
            f'<label for="what">险情（看到了什么）<span class="en"> what you see</span></label>'
            f'<textarea id="what" name="what" maxlength="500" required></textarea>'
            f'<label for="place">地点<span class="en"> where</span></label>'
            f'<input id="place" type="text" name="place" maxlength="200">'
            f'<label for="photo">现场照片<span class="en"> photo</span></label>'
            f'<input id="photo" type="file" name="photo" accept="image/*" capture="environment">'
            f'<input type="hidden" name="lon"><input type="hidden" name="lat">'
            f'<p class="where" id="where">正在获取位置… / locating…</p>'
            f'<button class="help" type="submit">上报险情 <span class="en">report</span></button></form>')
    return page("险情上报", "Report a danger", body, locate=True)


def done_page(zh: str, en: str) -> str:
    """What was recorded."""
    return page("已记录", "Recorded", f'<div class="card done"><h2>{escape(zh)}</h2><p class="en">{escape(en)}</p>'
                                      f"</div>")


def refused_page(status: int, zh: str, en: str) -> str:
    """Why nothing was recorded."""
    return page("未记录", f"Not recorded ({status})",
                f'<div class="card refused"><h2>{escape(zh)}</h2><p class="en">{escape(en)}</p></div>')
