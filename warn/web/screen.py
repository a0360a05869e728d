"""The centre's big screen (挂图作战): the situation map page at ``/`` and its bundled assets at ``/static``.

``GET /`` answers one HTML shell, zh-CN, for a 1920 × 1080 screen and up: the mode banner, the side
panels, the map and the duty desk's forms. Everything on it is drawn in the browser by
``static/screen.js`` from the service's JSON (``/api/v1/situation``, ``/api/v1/items/…``,
``/map/layers.json``, ``/map/rain/…``) and kept live by the server-sent events of ``/events``; the desk's
buttons and forms call the acting routes (``/api/v1/ack`` …) with the session's CSRF token, which the
shell carries in ``<meta name="csrf-token">``. The shell also carries what the script cannot ask the
API for: the deployment's timezone, the configured background map (``serve.basemap``) and the moment
``warn serve --at`` fixed.

Every script, style and font the page loads is served here, from the package (``static/``: OpenLayers
from its npm package, see ``static/PROVENANCE.md``) and from the project's own CJK font package
(:func:`warn.reports.fonts.font_file`) — the page works without the internet.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from warn.config import Settings
from warn.reports.fonts import font_file
from warn.vocab import COLOURS, Level, Mode, ResponseLevel
from warn.web.auth import csrf_token

#: The folder of the page's own assets inside the package.
STATIC = Path(str(resources.files("warn.web").joinpath("static")))
#: Where the page asks for its CJK font.
FONT_PATH = "/static/fonts/NotoSansSC-Regular.otf"


async def _show(request: Request) -> Response:
    """The page's shell, carrying the session's CSRF token for its forms."""
    desk = request.app.state.desk
    fixed = getattr(request.app.state, "fixed_at", None)
    return HTMLResponse(shell(desk.settings, fixed, csrf_token(request)),
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def _font(_request: Request) -> Response:
    return FileResponse(font_file(), media_type="font/otf", headers={"Cache-Control": "max-age=86400"})


def shell(settings: Settings, fixed: datetime | None, csrf: str) -> str:
    """The page's HTML: the layout the script fills, with the deployment's settings the script needs.

    Parameters
    ----------
    settings
        The deployment (its timezone, district name and background map).
    fixed
        The moment ``warn serve --at`` fixed (UTC-aware), or ``None`` (live).
    csrf
        The session's CSRF token (empty: none).
    """
    basemap = settings.serve.basemap
    config = {"name": settings.deployment.name, "district": settings.deployment.district_code,
              "timezone": settings.deployment.timezone,
              "fixed": None if fixed is None else fixed.isoformat(),
              "basemap": None if basemap is None else basemap.model_dump(), "font": FONT_PATH}
    data = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="referrer" content="no-referrer"><meta name="csrf-token" content="{escape(csrf)}">'
            f'<title>{escape(settings.deployment.name)} 态势图 / situation map</title><script>{EARLY}</script>'
            f'<link rel="stylesheet" href="/static/vendor/ol.css"><link rel="stylesheet" href="/static/screen.css">'
            f'<link rel="icon" href="data:,"><script id="config" type="application/json">{data}</script>'
            f'</head><body>{body()}'
            f'<script src="/static/vendor/ol.js"></script><script src="/static/screen.js"></script></body></html>')


#: Asks for the layers and the situation (as of the fixed moment, if any) while the map library loads.
EARLY = ('var warnEarly=(function(){var o={credentials:"same-origin",headers:{Accept:"application/json"}};'
         'return {layers:fetch("/map/layers.json",o),situation:fetch("/api/v1/situation",o)};})();')


def body() -> str:
    """The layout: banner, the left panels, the map with its controls, the right panels and the time bar; the
    desk's choices (modes, response levels, warning colours) from the vocabulary."""
    modes = "".join(f'<option value="{m.value}">{m.zh} / {m.value}</option>' for m in reversed(Mode))
    responses = "".join(f'<option value="{r.name}">{r.zh} / {r.name}</option>' for r in ResponseLevel)
    colours = "".join(f'<option value="{c}">{Level.of_colour(c).zh} / {c}</option>' for c in COLOURS)
    return LAYOUT.format(modes=modes, responses=responses, colours=colours)


#: The page's layout, with the desk's choices to fill in.
LAYOUT = """
<header id="banner" class="mode-normal">
 <div class="title"><b id="district"></b><span>防汛态势 / situation</span></div>
 <div id="mode" class="mode"></div><div id="decided" class="decided"></div>
 <div id="state" class="state"></div><div id="clock" class="clock"></div>
</header>
<main>
 <aside id="left">
  <section><h2>生效预警 <span class="en">active warnings</span> <i id="n-warnings"></i></h2><ul id="warnings"></ul></section>
  <section><h2>未应答叫应 <span class="en">unanswered calls</span> <i id="n-calls"></i></h2><ul id="calls"></ul></section>
  <section><h2>任务 <span class="en">open tasks</span> <i id="n-tasks"></i></h2><ul id="tasks"></ul></section>
  <section><h2>数据提示 <span class="en">data notices</span> <i id="n-notices"></i></h2><ul id="notices"></ul></section>
 </aside>
 <div id="centre">
  <div id="map"></div>
  <div id="hazards" class="overlay"></div>
  <div id="legend" class="overlay"></div>
  <div id="rainbar" class="overlay"><label>降雨 <span class="en">rain</span>
   <input id="rain-on" type="checkbox" checked></label><input id="lead" type="range" min="0" max="0" value="0">
   <span id="lead-text"></span><div id="rain-legend"></div></div>
  <div id="toast" role="status" aria-live="polite"></div>
 </div>
 <aside id="right">
  <section id="detail" hidden><h2 id="detail-title"></h2><div id="detail-body"></div></section>
  <section id="desk"><h2>值班操作 <span class="en">duty desk</span></h2><p id="desk-off" class="off" hidden></p>
   <form id="note-form" data-act="notes"><label>记录 <span class="en">note</span>
    <textarea name="text" required maxlength="2000"></textarea></label><button>记录 / note</button></form>
   <form id="mode-form" data-act="mode"><label>平急转换 <span class="en">mode</span>
    <select name="to">{modes}</select><select name="level"><option value="">响应级别 / level</option>{responses}</select>
    </label>
    <input name="reason" required placeholder="理由 / reason"><label class="check">
    <input type="checkbox" name="override"> 越过未解除预警转平时 <span class="en">override</span></label><button>转换 / switch</button></form>
   <form id="broadcast-form" data-act="broadcasts"><label>人工发布预警 <span class="en">manual warning</span>
    <select name="hazard"></select><select name="zone"></select>
    <select name="level">{colours}</select></label>
    <textarea name="text" required maxlength="2000" placeholder="预警内容 / text"></textarea><button>发布 / publish</button></form>
  </section>
  <section id="timeline-box"><h2>事件时间线 <span class="en">timeline</span></h2><ol id="timeline"></ol></section>
 </aside>
</main>
<footer><button id="live" type="button">实时 / live</button><input id="at" type="range" min="0" max="0" value="0">
 <span id="at-text"></span></footer>
"""


#: The big screen's routes: the page at ``/``, its font, and the bundled assets under ``/static``.
routes: list[BaseRoute] = [Route("/", _show, methods=["GET"]), Route(FONT_PATH, _font, methods=["GET"]),
                           Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
