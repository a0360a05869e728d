/* The big screen (warn/web/screen.py): draws the situation map, the panels and the duty desk from the
 * service's JSON, and keeps them live with the server-sent events of /events. OpenLayers (global `ol`,
 * static/vendor/ol.js) draws the map in lon/lat (EPSG:4326), the deployment's own layers from
 * /map/layers.json, with an optional background map of the city's intranet (serve.basemap).
 * Everything a person or the store wrote is put on the page as text, never as HTML. */
(function () {
  "use strict";
  performance.mark("warn:script");

  const CONFIG = JSON.parse(document.getElementById("config").textContent);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  /* Levels: -1 unknown … 4 red; the colours of the warning levels (GB/T 27962 style). */
  const FILL = {"-1": "#9aa3ad", "0": "#d9dde3", "1": "#1e6fd9", "2": "#f5c400", "3": "#ff7f00", "4": "#e60000"};
  const LEVEL_ZH = {"-1": "未知", "0": "无", "1": "蓝色", "2": "黄色", "3": "橙色", "4": "红色"};
  const LEVEL_EN = {"-1": "unknown", "0": "none", "1": "blue", "2": "yellow", "3": "orange", "4": "red"};
  /* Silence after which the page says its connection is lost (the server pings every 10 s). */
  const SILENCE_MS = 25000;

  const state = {at: CONFIG.fixed, hazard: null, situation: null, item: null, lead: 0, lost: false,
                 storeDown: false, heard: Date.now(), version: null, busy: null, again: false, drawn: false};
  const $ = (id) => document.getElementById(id);
  const time = new Intl.DateTimeFormat("zh-CN", {timeZone: CONFIG.timezone, month: "2-digit", day: "2-digit",
                                                  hour: "2-digit", minute: "2-digit", hour12: false});

  function local(iso) {
    return iso ? time.format(new Date(iso)) : "—";
  }

  /* An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function level(value) {
    return value === undefined || value === null ? -1 : Number(value);
  }

  /* ---------------- the map ---------------- */

  const hatch = (function () {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 10;
    const g = canvas.getContext("2d");
    g.fillStyle = FILL["-1"];
    g.fillRect(0, 0, 10, 10);
    g.strokeStyle = "#5b6470";
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(0, 10);
    g.lineTo(10, 0);
    g.stroke();
    return g.createPattern(canvas, "repeat");
  })();

  function townId(feature) {
    return feature.get("id") ?? feature.get("zone_id") ?? feature.getId();
  }

  function townOf(id) {
    return (state.situation?.towns || []).find((t) => t.id === id);
  }

  function townLevel(id) {
    const town = townOf(id);
    return town ? level(town.levels[state.hazard]) : -1;
  }

  /* A town outside the viewer's towns: outlined only, neither coloured nor "unknown". */
  const outside = new ol.style.Style({stroke: new ol.style.Stroke({color: "#3b4f6b", width: 1})});
  const townStyles = {};
  function townStyle(feature) {
    if (!townOf(townId(feature))) return outside;
    const lv = townLevel(townId(feature));
    if (!townStyles[lv]) {
      townStyles[lv] = new ol.style.Style({
        fill: new ol.style.Fill({color: lv < 0 ? hatch : FILL[lv]}),
        stroke: new ol.style.Stroke({color: "#0b1828", width: 1.2})});
    }
    return townStyles[lv];
  }

  function labelStyle(feature) {
    const id = townId(feature);
    const town = townOf(id);
    const lv = townLevel(id);
    const name = town?.name || feature.get("name") || id;
    return new ol.style.Style({text: new ol.style.Text({
      text: town && lv < 0 ? name + "\n未知 / unknown" : name, font: '600 14px "Noto Sans SC",sans-serif',
      fill: new ol.style.Fill({color: town ? "#08121f" : "#6b7d95"}),
      stroke: new ol.style.Stroke({color: town ? "#fff" : "#0e1f33", width: 3}), overflow: true})});
  }

  function pointStyle(feature) {
    const lv = level(feature.get("level"));
    return new ol.style.Style({image: new ol.style.Circle({
      radius: feature.get("kind") === "catchment" ? 8 : 6,
      fill: new ol.style.Fill({color: lv < 0 ? FILL["-1"] : FILL[lv]}),
      stroke: new ol.style.Stroke({color: "#fff", width: 1.5})})});
  }

  function sensorStyle(feature) {
    const health = feature.get("health");
    const bad = health !== "ok" || (feature.get("qc") && feature.get("qc") !== "ok");
    const value = feature.get("value");
    return new ol.style.Style({
      image: new ol.style.RegularShape({points: 4, radius: 4, angle: Math.PI / 4,
        fill: new ol.style.Fill({color: bad ? "#9aa3ad" : "#38e1ff"}),
        stroke: new ol.style.Stroke({color: "#08121f", width: 1})}),
      text: new ol.style.Text({text: value === null || value === undefined ? "—" : `${value}${feature.get("unit") || ""}`,
        offsetY: -11, font: "11px sans-serif", fill: new ol.style.Fill({color: bad ? "#c7ccd3" : "#b8f3ff"}),
        stroke: new ol.style.Stroke({color: "#08121f", width: 3})})});
  }

  const vector = (className, style, extra) => new ol.layer.Vector(
    {className, source: new ol.source.Vector(), style, ...(extra || {})});
  const district = vector("district", new ol.style.Style({stroke: new ol.style.Stroke({color: "#ffffff", width: 2.5})}));
  const towns = vector("towns", townStyle, {opacity: 0.72});
  const labels = new ol.layer.Vector({className: "labels", source: towns.getSource(), style: labelStyle, declutter: true});
  const rain = new ol.layer.Image({className: "rain", opacity: 0.8});
  const items = vector("items", pointStyle);
  const sensors = vector("sensors", sensorStyle, {declutter: true});
  const map = new ol.Map({target: "map", layers: [rain, district, towns, labels, items, sensors],
    view: new ol.View({projection: "EPSG:4326", center: [0, 0], zoom: 2}),
    controls: ol.control.defaults.defaults({rotate: false})});

  function addBasemap(basemap) {
    if (!basemap) return;
    const attributions = basemap.attribution ? [basemap.attribution] : undefined;
    if (basemap.kind === "xyz") {
      map.getLayers().insertAt(0, new ol.layer.Tile({source: new ol.source.XYZ({url: basemap.url, attributions})}));
      return;
    }
    const url = new URL(basemap.url, location.href);
    url.searchParams.set("SERVICE", "WMTS");
    url.searchParams.set("REQUEST", "GetCapabilities");
    fetch(url).then((r) => r.text()).then((text) => {
      const caps = new ol.format.WMTSCapabilities().read(text);
      const options = ol.source.WMTS.optionsFromCapabilities(caps, {layer: basemap.layer, matrixSet: basemap.matrix_set});
      map.getLayers().insertAt(0, new ol.layer.Tile({source: new ol.source.WMTS({...options, attributions})}));
    }).catch(() => toast("背景底图服务无法访问 / the background map service cannot be reached", true));
  }

  function drawLayers(layers) {
    const geojson = new ol.format.GeoJSON();
    const read = (fc) => (fc ? geojson.readFeatures(fc) : []);
    district.getSource().addFeatures(read(layers.district));
    towns.getSource().addFeatures(read(layers.towns));
    const extent = (layers.district ? district : towns).getSource().getExtent();
    if (extent.every(Number.isFinite)) map.getView().fit(extent, {padding: [60, 40, 60, 40]});
  }

  /* A town account's map opens on its own towns (a district viewer's on the whole district). */
  function fitTowns(codes) {
    const mine = towns.getSource().getFeatures().filter((f) => codes?.includes(townId(f)));
    if (!mine.length) return;
    const extent = ol.extent.createEmpty();
    for (const f of mine) ol.extent.extend(extent, f.getGeometry().getExtent());
    map.getView().fit(extent, {padding: [120, 120, 120, 120], maxZoom: 14});
  }

  function drawPoints(s) {
    items.getSource().clear(true);
    items.getSource().addFeatures(s.items.filter((i) => i.hazard === state.hazard && i.lon !== null && i.lat !== null)
      .map((i) => new ol.Feature({geometry: new ol.geom.Point([i.lon, i.lat]), itemId: i.id, ...i})));
    sensors.getSource().clear(true);
    sensors.getSource().addFeatures(s.sensors.filter((i) => i.lon !== null && i.lat !== null)
      .map((i) => new ol.Feature({geometry: new ol.geom.Point([i.lon, i.lat]), ...i})));
  }

  function drawRain(r) {
    const frames = r?.frames || [];
    const slider = $("lead");
    slider.max = Math.max(0, frames.length - 1);
    state.lead = Math.min(state.lead, frames.length - 1);
    const frame = frames[Math.max(0, state.lead)];
    $("lead-text").textContent = frame
      ? `${frame.kind === "forecast" ? "预报" : frame.kind === "nowcast" ? "临近预报" : "实况"} +${frame.lead_h}h ` +
        `${local(frame.valid_from)}–${local(frame.valid_to)}`
      : (r?.missing ? `缺降雨场 / rain field missing: ${r.missing}` : "无降雨场 / no rain field");
    slider.value = Math.max(0, state.lead);
    rain.setSource(frame ? new ol.source.ImageStatic({url: frame.url, imageExtent: r.extent, projection: "EPSG:4326"}) : null);
    rain.setVisible($("rain-on").checked);
    $("rain-legend").replaceChildren(...(r?.legend || []).map((step) =>
      el("span", {style: `background:${step.colour}`}, `≥${step.mm}`)), el("span", {style: "background:none;color:#8ea3bd"}, "mm/h"));
  }

  map.on("singleclick", (event) => {
    const hit = map.forEachFeatureAtPixel(event.pixel, (f) => f.get("itemId") || (f.getGeometry().getType().includes("Polygon") && townId(f)),
      {layerFilter: (layer) => layer === items || layer === towns});
    if (hit) showItem(hit);
  });
  map.on("pointermove", (event) => {
    map.getTargetElement().style.cursor = map.hasFeatureAtPixel(event.pixel, {layerFilter: (l) => l === items || l === towns}) ? "pointer" : "";
  });

  /* ---------------- the service ---------------- */

  class Refused extends Error {
    constructor(status, body) {
      const e = body?.error || {};
      super(`${e.zh || "请求失败"} / ${e.en || "request failed"} (${status})`);
      this.status = status;
    }
  }

  /* The JSON at ``url`` (or of the response ``asked`` already promised); a refusal throws. */
  async function getJSON(url, asked) {
    const response = await (asked || fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"}));
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Refused(response.status, body);
    return body;
  }

  function query(extra) {
    const params = new URLSearchParams(extra || {});
    if (state.at) params.set("at", state.at);
    return params.toString() ? "?" + params : "";
  }

  /* The shell's head asked for the layers and the situation already (window.warnEarly), while this loaded. */
  const early = window.warnEarly || {};
  const layersLoaded = getJSON("/map/layers.json", early.layers).then(drawLayers)
    .catch((error) => toast(error.message, true));

  /* Fetch the situation and redraw; one fetch at a time, the last request wins. */
  async function refresh() {
    if (state.busy) {
      state.again = true;
      return state.busy;
    }
    state.busy = (async () => {
      do {
        state.again = false;
        try {
          const asked = early.situation;
          early.situation = null;
          const [s] = await Promise.all([getJSON("/api/v1/situation" + query(), asked), layersLoaded]);
          draw(s);
          if (state.item) await showItem(state.item, true);
        } catch (error) {
          toast(error.message, true);
        }
      } while (state.again);
    })();
    await state.busy;
    state.busy = null;
  }

  function draw(s) {
    performance.mark("warn:data");
    state.situation = s;
    if (!state.hazard || !s.hazards.some((h) => h.name === state.hazard)) state.hazard = worst(s);
    drawBanner();
    drawHazards(s.hazards);
    towns.changed();
    labels.changed();
    drawPoints(s);
    drawRain(s.rain);
    drawLists(s);
    drawDesk(s);
    drawTimeBar(s);
    if (!state.drawn) {
      state.drawn = true;
      fitTowns(s.viewer?.towns);
      towns.once("postrender", () => {
        window.warnScreen.firstRender = performance.now();
        document.body.dataset.ready = "1";
        loadFont();
      });
      map.once("rendercomplete", () => { window.warnScreen.complete = performance.now(); });
      map.render();
    }
    performance.mark("warn:drawn");
    document.body.dataset.version = String(Number(document.body.dataset.version || 0) + 1);
  }

  /* The hazard with the highest town level (the first in the registry's order on a tie): shown first. */
  function worst(s) {
    const top = (name) => Math.max(-1, ...s.towns.map((t) => level(t.levels[name])));
    return s.hazards.reduce((best, h) => (best === null || top(h.name) > top(best) ? h.name : best), null);
  }

  /* The bundled CJK font (8 MB), asked for once the map is drawn so it does not hold the first render up;
   * the page and the map's labels are redrawn with it when it is in. */
  function loadFont() {
    new FontFace("Noto Sans SC", `url(${CONFIG.font})`).load().then((font) => {
      document.fonts.add(font);
      labels.changed();
      sensors.changed();
    }).catch(() => toast("字体未能加载 / the font did not load", true));
  }

  /* ---------------- banner and time ---------------- */

  function drawBanner() {
    const s = state.situation;
    if (!s) return;
    const wartime = s.mode.mode === "wartime";
    $("district").textContent = CONFIG.name;
    $("banner").className = wartime ? "mode-emergency" : "mode-normal";
    $("mode").textContent = s.mode.zh;
    $("decided").textContent = s.mode.decided_by
      ? `${s.mode.decided_by} 决定 · 自 ${local(s.mode.since)} / decided, since` : "";
    const status = $("state");
    const flags = [];
    if (state.storeDown) flags.push(["lost", "存储库中断 / the store is unreachable"]);
    if (state.lost) flags.push(["lost", "连接中断 / connection lost"]);
    if (s.stale) flags.push(["stale", "数据陈旧 / data stale"]);
    if (state.at) flags.push(["past", `查看历史 ${local(s.at)} / the past`]);
    status.className = "state " + (flags[0]?.[0] || "live");
    status.textContent = flags.length ? flags.map((f) => f[1]).join(" · ") : "实时 / live";
    $("clock").replaceChildren(local(s.at), el("span", {id: "cycle", class: "en"},
      s.last_cycle ? ` 周期 ${local(s.last_cycle.at)} / cycle` : " 尚无周期 / no cycle yet"));
  }

  function drawTimeBar(s) {
    const slider = $("at");
    const first = Date.parse(s.span?.first || s.at);
    const last = Date.parse(s.span?.last || s.at);
    slider.max = Math.max(0, Math.round((last - first) / 60000));
    slider.step = 10;
    slider.dataset.first = String(first);
    slider.value = Math.round((Date.parse(s.at) - first) / 60000);
    $("at-text").textContent = `${local(s.at)}（${local(s.span?.first)} – ${local(s.span?.last)}）`;
    $("live").className = state.at ? "" : "on";
  }

  $("at").addEventListener("input", (e) => {
    $("at-text").textContent = local(new Date(Number(e.target.dataset.first) + e.target.value * 60000).toISOString());
  });
  $("at").addEventListener("change", (e) => {
    state.at = new Date(Number(e.target.dataset.first) + e.target.value * 60000).toISOString();
    refresh();
  });
  $("live").addEventListener("click", () => {
    state.at = null;
    refresh();
  });
  $("lead").addEventListener("input", (e) => {
    state.lead = Number(e.target.value);
    drawRain(state.situation?.rain);
  });
  $("rain-on").addEventListener("change", () => rain.setVisible($("rain-on").checked));

  function drawHazards(hazards) {
    $("hazards").replaceChildren(...hazards.map((h) => el("button", {
      type: "button", class: h.name === state.hazard ? "on" : "", "data-hazard": h.name,
      onclick: () => { state.hazard = h.name; draw(state.situation); }}, h.zh)));
    $("legend").replaceChildren(...["4", "3", "2", "1", "0", "-1"].map((lv) => [
      el("span", {style: lv === "-1" ? "background:repeating-linear-gradient(45deg,#9aa3ad 0 3px,#5b6470 3px 5px)"
                                     : `background:${FILL[lv]}`}), `${LEVEL_ZH[lv]}`]).flat());
  }

  /* ---------------- the panels ---------------- */

  function hazardZh(name) {
    return state.situation?.hazards.find((h) => h.name === name)?.zh || name;
  }

  function itemName(id) {
    const s = state.situation;
    return (s.items.find((i) => i.id === id) || s.towns.find((t) => t.id === id))?.name || id;
  }

  function fill(list, rows, count) {
    $("n-" + list).textContent = String(count ?? rows.length);
    $(list).replaceChildren(...(rows.length ? rows : [el("li", {class: "none"}, "无 / none")]));
  }

  function warningRow(w) {
    return el("li", {class: `l${w.level}`, onclick: () => showItem(w.item_id)},
      `${hazardZh(w.hazard)} ${LEVEL_ZH[w.level]}预警 · ${itemName(w.item_id)}`,
      el("div", {class: "meta"}, `${local(w.onset)} 起 · 第${w.version}版 · ${w.town || "全区"}`));
  }

  function callRow(c) {
    const approval = c.kind === "approval";
    return el("li", {class: c.overdue_s > 0 ? "overdue" : "", "data-id": c.request_id},
      `${c.addressee}`, el("div", {class: "meta"},
        `叫应第${c.escalation_step}级 · 时限 ${local(c.deadline)}${c.overdue_s > 0 ? ` · 超时 ${Math.round(c.overdue_s / 60)} 分` : ""}`),
      el("div", {class: "acts"}, approval
        ? [button("同意", "approve", () => act("approve", {request: c.request_id})),
           button("不同意", "reject", () => act("reject", {request: c.request_id}), "no")]
        : [button("应答", "answer", () => act("ack", {target: c.request_id}))]));
  }

  function taskRow(t) {
    const row = el("li", {class: t.overdue_s > 0 ? "overdue" : "", "data-id": t.task_id},
      t.summary, el("div", {class: "meta"},
        `${t.org_unit} · ${t.owner_role} · ${t.status === "open" ? "待签收" : "已签收 " + (t.acked_by || "")}` +
        ` · 时限 ${local(t.due_at)}${t.overdue_s > 0 ? ` · 超时 ${Math.round(t.overdue_s / 60)} 分` : ""}`));
    const acts = el("div", {class: "acts"},
      t.status === "open" ? button("签收", "acknowledge", () => act("ack", {target: t.task_id})) : null,
      button("办结", "done", () => inline(row, [["note", "办理情况 / what was done"]],
        (v) => act("done", {task: t.task_id, note: v.note}))),
      button("改派", "reassign", () => inline(row, [["to", "岗位或人员 / post or person"], ["reason", "理由 / reason"]],
        (v) => act("assign", {task: t.task_id, to: v.to, reason: v.reason}))));
    row.append(acts);
    return row;
  }

  function button(zh, en, onclick, cls) {
    return el("button", {type: "button", class: cls || null, title: en, "data-act": en, disabled: pastReason() ? "" : null,
      onclick: (e) => { e.stopPropagation(); onclick(); }}, zh);
  }

  /* A small form inside a row (办结's note, 改派's post and reason); the lists wait while it is open. */
  function inline(row, fields, submit) {
    row.querySelector("form")?.remove();
    const form = el("form", {class: "inline", onclick: (e) => e.stopPropagation()},
      ...fields.map(([name, hint]) => el("input", {name, placeholder: hint, required: ""})),
      el("button", {type: "submit"}, "确定 / ok"),
      el("button", {type: "button", class: "no", onclick: () => { form.remove(); refresh(); }}, "取消 / cancel"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const values = Object.fromEntries(new FormData(form));
      if (await submit(values)) form.remove();
    });
    row.append(form);
    form.querySelector("input").focus();
  }

  function drawLists(s) {
    fill("warnings", s.warnings.map(warningRow));
    fill("calls", s.calls.map(callRow));
    if (!document.querySelector("#tasks form.inline")) fill("tasks", s.tasks.map(taskRow));
    fill("notices", s.notices.map((n) => el("li", {}, n.notice, el("div", {class: "meta"}, `自 ${local(n.began_at)}`))));
    const entries = [...s.timeline].sort((a, b) => b.seq - a.seq);
    $("timeline").replaceChildren(...entries.map((e) => el("li", {},
      el("div", {class: "meta"}, `${local(e.occurred_at)} · ${e.actor}${e.role ? "（" + e.role + "）" : ""} · ${e.kind}`),
      e.summary)));
  }

  /* ---------------- the click panel ---------------- */

  function itemPath(id) {
    return "/api/v1/items/" + String(id).split("/").map(encodeURIComponent).join("/");
  }

  async function showItem(id, quiet) {
    state.item = id;
    let item;
    try {
      item = await getJSON(itemPath(id) + query());
    } catch (error) {
      if (!quiet) toast(error.message, true);
      return;
    }
    $("detail").hidden = false;
    $("detail-title").replaceChildren(`${item.name || id}`, el("span", {class: "en"}, ` ${item.kind || ""} ${item.town || ""}`),
      el("button", {type: "button", class: "no", style: "float:right", onclick: () => { state.item = null; $("detail").hidden = true; }}, "关闭"));
    const levels = (item.levels || []).map((row) => {
      const lv = level(row.level);
      return el("tr", {}, el("td", {}, hazardZh(row.hazard)), el("td", {}, row.lead || ""),
        el("td", {style: `color:${FILL[lv]}`}, `${LEVEL_ZH[lv]} / ${LEVEL_EN[lv]}`),
        el("td", {}, row.score === null || row.score === undefined ? "" : String(+Number(row.score).toFixed(2))),
        el("td", {}, (row.drivers || []).join("；")));
    });
    $("detail-body").replaceChildren(
      el("table", {}, el("tr", {class: "meta"}, ["灾种", "时效", "等级", "得分", "驱动因素"].map((h) => el("td", {}, h))), levels),
      ...(item.sensors || []).map((sensor) => el("div", {class: "sensor"},
        el("div", {class: "meta"}, `${sensor.name || sensor.sensor_id} · ${sensor.kind || ""} · ${sensor.value ?? "—"}${sensor.unit || ""} · ${local(sensor.observed_at)}`),
        chart(sensor.hydrograph || [], sensor.unit || "", sensor.thresholds || []), el("div", {class: "meta"},
          `质控 QC ${sensor.qc || "—"}`))),
      el("ul", {}, (item.tasks || []).map(taskRow), (item.calls || []).map(callRow), (item.warnings || []).map(warningRow)),
      el("table", {class: "attributes"}, Object.entries(item.attributes || {}).map(([key, value]) =>
        el("tr", {}, el("td", {class: "meta"}, key), el("td", {}, String(value))))));
  }

  /* A small line chart (SVG) of [[iso, value]…], with the thresholds as dashed lines. */
  function chart(points, unit, thresholds) {
    const NS = "http://www.w3.org/2000/svg";
    const W = 400, H = 130, L = 38, B = 18;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.setAttribute("class", "hydrograph");
    const line = (attrs) => {
      const node = document.createElementNS(NS, attrs.tag || "line");
      for (const [k, v] of Object.entries(attrs)) if (k !== "tag" && k !== "text") node.setAttribute(k, v);
      if (attrs.text) node.textContent = attrs.text;
      svg.append(node);
    };
    const data = points.filter((p) => p[1] !== null).map(([t, v]) => [Date.parse(t), Number(v)]);
    if (!data.length) {
      line({tag: "text", x: 10, y: H / 2, fill: "#8ea3bd", "font-size": 12, text: "无读数 / no readings"});
      return svg;
    }
    const marks = thresholds.map((t) => (typeof t === "object" ? t : {value: t}));
    const values = data.map((d) => d[1]).concat(marks.map((m) => Number(m.value)));
    const lo = Math.min(0, ...values), hi = Math.max(...values) || 1;
    const t0 = data[0][0], t1 = Math.max(data[data.length - 1][0], t0 + 1);
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - 6);
    const y = (v) => H - B - ((v - lo) / (hi - lo || 1)) * (H - B - 8);
    for (const m of marks) {
      line({x1: L, x2: W - 6, y1: y(m.value), y2: y(m.value), stroke: "#ff7f00", "stroke-dasharray": "4 3"});
      line({tag: "text", x: W - 8, y: y(m.value) - 2, fill: "#ff7f00", "font-size": 10, "text-anchor": "end", text: m.label || String(m.value)});
    }
    line({tag: "polyline", fill: "none", stroke: "#38e1ff", "stroke-width": 1.8,
          points: data.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")});
    line({x1: L, x2: L, y1: 4, y2: H - B, stroke: "#55657a"});
    line({x1: L, x2: W - 6, y1: H - B, y2: H - B, stroke: "#55657a"});
    line({tag: "text", x: L - 4, y: y(hi) + 4, fill: "#9fb2c9", "font-size": 10, "text-anchor": "end", text: `${+hi.toFixed(2)}`});
    line({tag: "text", x: L - 4, y: H - B, fill: "#9fb2c9", "font-size": 10, "text-anchor": "end", text: `${+lo.toFixed(2)}`});
    line({tag: "text", x: 2, y: 12, fill: "#9fb2c9", "font-size": 10, text: unit});
    line({tag: "text", x: L, y: H - 4, fill: "#9fb2c9", "font-size": 10, text: local(new Date(t0).toISOString())});
    line({tag: "text", x: W - 6, y: H - 4, fill: "#9fb2c9", "font-size": 10, "text-anchor": "end", text: local(new Date(t1).toISOString())});
    return svg;
  }

  /* ---------------- the duty desk ---------------- */

  function pastReason() {
    const s = state.situation;
    if (state.at || s?.fixed) return "查看历史时不能操作 / cannot act while looking at the past";
    return "";
  }

  function toast(text, refused) {
    const box = $("toast");
    box.textContent = text;
    box.className = "show" + (refused ? " refused" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.className = ""; }, 8000);
  }

  async function act(name, body) {
    const reason = pastReason();
    if (reason) {
      toast(reason, true);
      return false;
    }
    let response, out;
    try {
      response = await fetch("/api/v1/" + name, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": CSRF},
        body: JSON.stringify(body)});
      out = await response.json();
    } catch (error) {
      toast("服务无应答 / no answer from the service", true);
      return false;
    }
    if (response.ok && out.ok) {
      toast(`${out.zh} / ${out.en}`, false);
      refresh();
      return true;
    }
    const e = out.error || {};
    toast(`拒绝：${e.zh || response.status} / refused: ${e.en || response.statusText}`, true);
    return false;
  }

  function drawDesk(s) {
    const district = !s.viewer?.towns;  /* the mode and manual warnings are the district's (authority.py) */
    for (const id of ["mode-form", "broadcast-form"]) $(id).hidden = !district;
    const reason = pastReason();
    $("desk-off").hidden = !reason;
    $("desk-off").textContent = reason;
    for (const control of document.querySelectorAll("#desk button, #desk input, #desk select, #desk textarea")) {
      control.disabled = Boolean(reason);
    }
    const hazard = document.querySelector("#broadcast-form select[name=hazard]");
    if (!hazard.options.length) {
      hazard.replaceChildren(...s.hazards.map((h) => el("option", {value: h.name}, `${h.zh} / ${h.name}`)));
      document.querySelector("#broadcast-form select[name=zone]").replaceChildren(
        ...s.towns.map((t) => el("option", {value: t.id}, `${t.name} ${t.id}`)),
        s.viewer?.towns ? null : el("option", {value: CONFIG.district}, `全区 / district ${CONFIG.district}`));
    }
  }

  function formBody(form) {
    const data = new FormData(form);
    const body = {};
    for (const [key, value] of data) if (value !== "") body[key] = value;
    if (form.id === "mode-form") body.override = data.has("override");
    return body;
  }

  for (const form of document.querySelectorAll("#desk form")) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (await act(form.dataset.act, formBody(form))) form.reset();
    });
  }

  /* ---------------- live ---------------- */

  function listen() {
    const events = new EventSource("/events");
    const heard = () => {
      state.heard = Date.now();
      if (state.lost) {
        state.lost = false;
        refresh();
      }
    };
    events.addEventListener("open", heard);
    events.addEventListener("ping", heard);
    events.addEventListener("change", (e) => {
      heard();
      const version = JSON.parse(e.data).version;
      if (state.version !== null && version !== state.version) refresh();
      state.version = version;
    });
    events.addEventListener("store", (e) => {
      heard();
      state.storeDown = !JSON.parse(e.data).ok;
      drawBanner();
      if (!state.storeDown) refresh();
    });
    events.addEventListener("error", () => {
      state.lost = true;
      drawBanner();
      if (events.readyState === EventSource.CLOSED) setTimeout(listen, 3000);
    });
  }

  setInterval(() => {
    if (!state.lost && Date.now() - state.heard > SILENCE_MS) {
      state.lost = true;
      drawBanner();
    }
  }, 5000);

  window.warnScreen = {map, towns, items, townId, refresh, firstRender: null, complete: null};
  addBasemap(CONFIG.basemap);
  refresh();
  listen();
})();
