"""The big screen (``GET /``) in a real browser (Debian's chromium driven by Playwright) at 1920 × 1080.

Over a real uvicorn server on a copy of the demo storm replayed to its peak (07:30Z: wartime level II, the
landslide towns red), the service's clock at 07:35Z. The screenshots go to ``var/screens/`` of the
checkout, to be looked at. Every test records the requests the page makes and asserts none left the
service (the page works without the internet).
"""

from __future__ import annotations

import http.server
import io
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import ROOT, replay_demo
from tests.web.browsing import launch, sync_api
from tests.web.serving import ENV, Served, person_of
from tests.helpers import demo_deployment
from tests.web.login import bearer, browser_login, give_password
from warn.config import BasemapSpec, Settings, load_settings
from warn.store import Store
from warn.web import create_app
from warn.web.server import Background

pytestmark = pytest.mark.slow

#: The service's time: just after the drill's peak cycle.
PEAK = datetime(2026, 7, 15, 7, 35, tzinfo=UTC)
#: Where the screenshots go.
SCREENS = ROOT / "var" / "screens"
DUTY, COMMANDER, LEADER05 = "演示值班员01", "演示指挥长01", "演示镇街负责人05"
#: Red on the towns' canvas (#e60000), allowing for antialiasing; the canvas carries the layer's opacity (0.72).
RED = (230, 0, 0)


@pytest.fixture(scope="session")
def peak(tmp_path_factory) -> Path:
    """The demo storm replayed from dry weather to 07:30Z (a SQLite file), made once; copy it before changing it."""
    return replay_demo(tmp_path_factory.mktemp("peak"), "--from", "2026-07-14T21:00Z", "--to", "2026-07-15T07:30Z",
                       "--every", "PT30M", "--step", "PT10M")


@pytest.fixture
def screen(peak: Path, tmp_path: Path) -> Iterator[Serving]:
    with serving(peak, tmp_path) as served:
        yield served


@dataclass
class Serving(Served):
    """The served store, its application and the server running it (to stop and start again)."""

    running: Background = field(kw_only=True)


@contextmanager
def serving(store_file: Path, folder: Path, *, fixed: datetime | None = None,
            settings: Settings | None = None) -> Iterator[Serving]:
    """The web service of the demo deployment (or ``settings``) over a copy of ``store_file``, its clock at
    :data:`PEAK`, the moment fixed at ``fixed`` (as ``warn serve --at``) if given; its client calls the API as the
    district duty officer (a bearer token)."""
    db = Path(shutil.copy(store_file, folder / "warn.db"))
    settings, setup, store = demo_deployment(db, lambda: PEAK, settings)
    app = create_app(settings, store, setup, clock=lambda: PEAK, env=ENV, config=ROOT / "config.yaml",
                     people=person_of)
    app.state.fixed_at = fixed
    running = Background(app, "127.0.0.1", 0).start()
    served = Serving(running.url, db, store, httpx.Client(base_url=running.url, timeout=30), app, running=running)
    served.client.headers.update(bearer(served, DUTY))
    try:
        yield served
    finally:
        served.client.close()
        served.running.stop()
        store.close()


class Browser:
    """Chromium with one or more 1920 × 1080 pages, each logged in as someone, recording any request that
    leaves the service."""

    def __init__(self, playwright, served: Served, folder: Path) -> None:
        self.served = served
        self.browser = launch(playwright, folder)
        self.outside: list[str] = []

    def open(self, person: str, path: str = "/", *, password: bool = False):
        """A new page (in a new context: nothing cached) at ``path`` of ``person``: logged in through the login
        page's form with their password when ``password``, else entering the drill as them by a request of the
        context (so the page's own navigation starts at ``path``)."""
        context = self.browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        context.route("**/*", lambda route: (self.outside.append(route.request.url)
                                             if not route.request.url.startswith(self.served.url) else None,
                                             route.continue_()))
        page = context.new_page()
        if password:
            give_password(self.served, person)
            browser_login(page, self.served.url, person, path=path)
        else:
            entered = context.request.post(f"{self.served.url}/login", form={"mode": "drill", "person": person},
                                           max_redirects=0)
            assert entered.status == 303, entered.text()
            page.goto(self.served.url + path)
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        return page

    def close(self) -> None:
        self.browser.close()


@pytest.fixture
def browser(screen: Served, tmp_path: Path) -> Iterator[Browser]:
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        opened = Browser(playwright, screen, tmp_path)
        try:
            yield opened
            assert opened.outside == []  # nothing was asked of anyone but the service
        finally:
            opened.close()


#: The colour of each town's interior point on the towns layer's own canvas (labels are on another layer).
TOWN_PIXELS = """() => {
  const w = window.warnScreen, out = {};
  const canvas = document.querySelector('.towns canvas'), ctx = canvas.getContext('2d');
  const ratio = canvas.width / canvas.getBoundingClientRect().width;
  for (const f of w.towns.getSource().getFeatures()) {
    const g = f.getGeometry();
    const parts = g.getType() === 'MultiPolygon' ? g.getPolygons() : [g];
    const p = parts.reduce((a, b) => (b.getArea() > a.getArea() ? b : a)).getInteriorPoint().getCoordinates();
    const px = w.map.getPixelFromCoordinate(p.slice(0, 2));
    out[w.townId(f)] = Array.from(ctx.getImageData(Math.round(px[0] * ratio), Math.round(px[1] * ratio), 1, 1).data);
  }
  return out;
}"""


def _red(pixel: list[int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel[:3], RED, strict=True)) and pixel[3] > 150  # the layer's opacity


def test_the_big_screen_paints_the_red_towns_of_the_peak(screen: Served, browser):
    situation = screen.client.get("/api/v1/situation").json()
    page = browser.open(DUTY)
    # how fast: bench/screen.py, against the login page's load in the same run (the machine is shared)
    print(f"first render (navigation start → map drawn): {page.evaluate('window.warnScreen.firstRender'):.0f} ms")
    page.screenshot(path=SCREENS / "peak-1920.png")
    seen_red: set[str] = set()
    for hazard in situation["hazards"]:
        page.click(f"#hazards button[data-hazard='{hazard['name']}']")
        page.wait_for_timeout(300)  # the next frame is drawn
        painted = {town for town, pixel in page.evaluate(TOWN_PIXELS).items() if _red(pixel)}
        red = {t["id"] for t in situation["towns"] if t["levels"].get(hazard["name"]) == 4}
        assert painted == red, (hazard["name"], page.evaluate(TOWN_PIXELS))
        seen_red |= red
    assert seen_red  # the peak has red towns
    assert "战时" in page.inner_text("#mode") and "数据陈旧" not in page.inner_text("#state")


def test_a_duty_officer_logs_in_acknowledges_a_task_and_the_panels_change_without_a_reload(screen: Served, browser):
    page = browser.open(DUTY, password=True)
    page.evaluate("window.notReloaded = true")
    row = page.locator("#tasks li", has=page.locator("button[data-act='acknowledge']")).first
    task = row.get_attribute("data-id")
    row.locator("button[data-act='acknowledge']").click()
    page.wait_for_selector("#toast.show:not(.refused)")
    page.wait_for_function(f"""() => [...document.querySelectorAll('#tasks li')].some(li =>
        li.dataset.id === {task!r} && !li.querySelector("button[data-act='acknowledge']"))""")
    page.screenshot(path=SCREENS / "acknowledged-1920.png")
    assert page.evaluate("window.notReloaded") is True
    assert screen.query("select status, acked_by from tasks where task_id = ?", task) == [("acknowledged", DUTY)]


def test_a_commanders_mode_switch_shows_on_a_second_open_screen_within_two_seconds(screen: Served, browser):
    watching = browser.open(DUTY)
    before = watching.inner_text("#mode")
    commander = browser.open(COMMANDER)
    commander.select_option("#mode-form select[name=to]", "wartime")
    commander.select_option("#mode-form select[name=level]", "I")
    commander.fill("#mode-form input[name=reason]", "多镇街红色预警，提升至一级响应")
    commander.click("#mode-form button")
    commander.wait_for_selector("#toast.show")
    assert "refused" not in commander.get_attribute("#toast", "class"), commander.inner_text("#toast")
    switched = time.monotonic()
    watching.wait_for_function(f"document.querySelector('#mode').textContent !== {before!r}", timeout=2000)
    print(f"mode switch on the second screen after {1000 * (time.monotonic() - switched):.0f} ms")
    assert "Ⅰ级" in watching.inner_text("#mode")
    watching.screenshot(path=SCREENS / "mode-switched-1920.png")


def test_a_town_account_sees_only_its_own_towns_tasks_on_the_page_and_in_the_api(screen: Served, browser):
    page = browser.open(LEADER05)
    shown = set(page.eval_on_selector_all("#tasks li[data-id]", "rows => rows.map(r => r.dataset.id)"))
    mine = screen.client.get("/api/v1/situation", headers=bearer(screen, LEADER05)).json()["tasks"]
    assert shown == {t["task_id"] for t in mine} and {t["town"] for t in mine} == {"DEMO-T05"}
    everyone = screen.client.get("/api/v1/situation").json()["tasks"]
    others = {t["task_id"] for t in everyone if t["town"] != "DEMO-T05"}
    assert others and not others & shown  # the district sees other towns' tasks; the town account none of them
    assert page.evaluate("fetch('/api/v1/items/DEMO-T11').then(r => r.status)") == 403
    listed = set(page.evaluate("fetch('/api/v1/tasks').then(r => r.json()).then(ts => ts.map(t => t.task_id))"))
    assert listed >= shown and not listed & others
    painted = {town for town, pixel in page.evaluate(TOWN_PIXELS).items() if pixel[3] > 0}
    assert painted == {"DEMO-T05"}  # the other towns are outlined only: not theirs to see, not "unknown"
    assert page.is_hidden("#mode-form") and page.is_hidden("#broadcast-form") and page.is_visible("#note-form")
    page.screenshot(path=SCREENS / "town-DEMO-T05-1920.png")


def test_the_page_shows_a_new_warning_cycle_within_two_seconds(screen: Served, browser):
    page = browser.open(DUTY)
    assert "15:30" in page.inner_text("#cycle")
    ran = run_cycle(screen.db, PEAK)
    page.wait_for_function("document.querySelector('#cycle').textContent.includes('15:35')", timeout=2000)
    pushed = time.monotonic() - ran
    print(f"a cycle on the page after {1000 * pushed:.0f} ms")
    assert pushed < 2


def run_cycle(db: Path, at: datetime) -> float:
    """One real warning cycle at ``at`` on the store ``db``, by the demo world's service in another connection
    (as ``warn run`` beside the web service); the monotonic time it was recorded."""
    from warn.cli.drill import SENDER
    from warn.config import drill_settings
    from warn.service import open_service
    from warn.sim.clock import SimClock
    from warn.sim.demo import DemoWorld, demo_secrets
    from warn.vocab import CapStatus

    settings = load_settings(ROOT / "config.yaml")
    with DemoWorld(settings, db.parent) as world:
        drill = drill_settings(settings, db.parent, world.urls)
        clock = SimClock(at)
        with Store.connect(drill.store.url, now=clock) as store:
            service = open_service(drill, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock,
                                   urls=world.urls, env=demo_secrets(drill))
            world.advance(at)
            report = service.cycle(at)
            recorded = time.monotonic()
    assert report.at == at and not report.repeated
    return recorded


def click_item(page, item_id: str) -> None:
    """Click the map where the item ``item_id`` (a point of the items layer, or a town) is drawn."""
    x, y = page.evaluate("""(id) => {
      const w = window.warnScreen;
      const point = w.items.getSource().getFeatures().find(f => f.get('itemId') === id);
      const town = w.towns.getSource().getFeatures().find(f => w.townId(f) === id);
      const g = (point || town).getGeometry();
      const at = point ? g.getCoordinates() : (g.getType() === 'MultiPolygon' ? g.getPolygons() : [g])
        .reduce((a, b) => (b.getArea() > a.getArea() ? b : a)).getInteriorPoint().getCoordinates();
      const px = w.map.getPixelFromCoordinate(at.slice(0, 2)), box = w.map.getTargetElement().getBoundingClientRect();
      return [box.left + px[0], box.top + px[1]];
    }""", item_id)
    page.mouse.click(x, y)


def test_clicking_a_town_and_a_point_shows_their_levels_drivers_hydrograph_and_tasks(screen: Served, browser):
    page = browser.open(DUTY)
    click_item(page, "DEMO-T11")
    page.wait_for_selector("#detail:not([hidden]) #detail-body table tr >> nth=1")
    assert "演示镇街11" in page.inner_text("#detail-title")
    body = page.inner_text("#detail-body")
    assert "红色" in body and "地质灾害" in body  # the town's landslide level, with its drivers
    shown = page.eval_on_selector_all("#detail-body li[data-id]", "rows => rows.map(r => r.dataset.id)")
    town = screen.client.get("/api/v1/items/DEMO-T11").json()
    assert town["tasks"] and shown == [t["task_id"] for t in town["tasks"]] + [c["request_id"] for c in town["calls"]]
    page.click("#hazards button[data-hazard='waterlogging']")
    click_item(page, "DEMO-W04")
    page.wait_for_function("(document.querySelector('#detail-body table.attributes') || {}).textContent"
                           "?.includes('depth_red_cm')")  # the point's detail, not the town's still shown
    assert "depth_red_cm" in page.inner_text("#detail-body table.attributes")  # the layer's attributes
    points = page.get_attribute("#detail-body svg.hydrograph polyline", "points")
    assert points and len(points.split()) > 10  # a day of readings drawn
    page.screenshot(path=SCREENS / "detail-1920.png")


def test_looking_at_the_past_with_the_time_slider_and_back_to_live(screen: Served, browser):
    page = browser.open(DUTY)
    version = page.evaluate("document.body.dataset.version")
    page.eval_on_selector("#at", "(s) => { s.value = 120; s.dispatchEvent(new Event('change')); }")  # 23:00Z
    page.wait_for_function(f"document.body.dataset.version !== {version!r}")
    assert "查看历史" in page.inner_text("#state") and "07/15 07:00" in page.inner_text("#clock")
    assert "平时" in page.inner_text("#mode")
    assert page.is_disabled("#mode-form button") and "查看历史时不能操作" in page.inner_text("#desk-off")
    page.screenshot(path=SCREENS / "past-1920.png")
    page.click("#live")
    page.wait_for_function("document.querySelector('#mode').textContent.includes('战时')")
    assert "实时" in page.inner_text("#state") and not page.is_disabled("#mode-form button")


def test_a_fixed_moment_opens_the_page_there_with_the_desk_closed(peak: Path, tmp_path: Path):
    with serving(peak, tmp_path, fixed=datetime(2026, 7, 15, 5, 0, tzinfo=UTC)) as served, \
            sync_api.sync_playwright() as playwright:
        opened = Browser(playwright, served, tmp_path)
        try:
            page = opened.open(DUTY)
            assert "07/15 13:00" in page.inner_text("#clock") and "查看历史" in page.inner_text("#state")
            assert page.is_disabled("#note-form button") and "查看历史时不能操作" in page.inner_text("#desk-off")
        finally:
            opened.close()


def test_the_page_says_when_its_connection_is_lost_and_recovers(peak: Path, tmp_path: Path):
    with serving(peak, tmp_path) as served, sync_api.sync_playwright() as playwright:
        opened = Browser(playwright, served, tmp_path)
        try:
            page = opened.open(DUTY)
            began = time.monotonic()
            served.running.stop()
            print(f"stopped in {time.monotonic() - began:.1f} s")
            page.wait_for_function("document.querySelector('#state').textContent.includes('连接中断')", timeout=15_000)
            page.screenshot(path=SCREENS / "connection-lost-1920.png")
            served.running = Background(served.app, "127.0.0.1", served.running.port).start()
            page.wait_for_function("!document.querySelector('#state').textContent.includes('连接中断')",
                                   timeout=15_000)
            assert "实时" in page.inner_text("#state")
        finally:
            opened.close()


def test_an_empty_store_is_shown_as_stale_not_as_all_clear(tmp_path: Path):
    empty = tmp_path / "empty.db"
    with Store.connect(f"sqlite:///{empty}") as store:
        store.upgrade()
    folder = tmp_path / "served"
    folder.mkdir()
    with serving(empty, folder) as served, sync_api.sync_playwright() as playwright:
        opened = Browser(playwright, served, tmp_path)
        try:
            page = opened.open(DUTY)
            assert "数据陈旧" in page.inner_text("#state") and "尚无周期" in page.inner_text("#cycle")
            assert page.eval_on_selector_all("#tasks li[data-id], #warnings li.l4", "rows => rows.length") == 0
            assert opened.outside == []
        finally:
            opened.close()


def test_the_rain_lead_slider_shows_each_forecast_hour(screen: Served, browser):
    page = browser.open(DUTY)
    frames = screen.client.get("/api/v1/situation").json()["rain"]["frames"]
    assert len(frames) > 1
    with page.expect_response(lambda r: r.url.endswith(frames[1]["url"]) and r.status == 200):
        page.eval_on_selector("#lead", "(s) => { s.value = 1; s.dispatchEvent(new Event('input')); }")
    assert f"+{frames[1]['lead_h']:g}h" in page.inner_text("#lead-text")


def test_a_note_goes_on_the_timeline_panel_and_a_refusal_is_shown_in_both_languages(screen: Served, browser):
    page = browser.open(DUTY)
    page.fill("#note-form textarea[name=text]", "演示镇街11来电：村道出现裂缝")
    page.click("#note-form button")
    page.wait_for_function("document.querySelector('#timeline li').textContent.includes('村道出现裂缝')")
    before = screen.snapshot()
    body = {"to": "peacetime", "reason": "雨停了", "override": False}
    refusal = screen.client.post("/api/v1/mode", json=body).json()["error"]  # the duty officer's: the commander's
    page.select_option("#mode-form select[name=to]", "peacetime")
    page.fill("#mode-form input[name=reason]", "雨停了")
    page.click("#mode-form button")
    page.wait_for_selector("#toast.show.refused")
    shown = page.inner_text("#toast")
    assert refusal["zh"] in shown and refusal["en"] in shown
    assert screen.snapshot() == before  # the refusal wrote nothing
    page.screenshot(path=SCREENS / "refused-1920.png")


def test_the_commander_approves_a_manual_warning_from_the_calls_panel(screen: Served, browser):
    asked = screen.client.post("/api/v1/broadcasts", json={"hazard": "rainstorm", "zone": "DEMO-T04", "level": "red",
                                                          "text": "人工红色暴雨预警（演练）"}).json()
    request = next(c["request_id"] for c in screen.client.get("/api/v1/situation").json()["calls"]
                   if c["kind"] == "approval" and c["request_id"].startswith("manual/rainstorm/DEMO-T04/"))
    assert "审批" in asked["zh"]
    page = browser.open(COMMANDER)
    row = page.locator(f"#calls li[data-id='{request}']")
    row.locator("button[data-act='approve']").click()
    page.wait_for_selector("#toast.show:not(.refused)")
    page.wait_for_selector(f"#calls li[data-id='{request}']", state="detached")
    assert screen.query("select answered_by, channel from ack_requests where request_id = ?", request) == [
        (COMMANDER, "web")]


class Tiles(http.server.BaseHTTPRequestHandler):
    """A tile service of the city's intranet: one blue 256 px PNG for every ``/tiles/{z}/{x}/{y}.png``."""

    asked: list[str] = []
    tile = b""

    def do_GET(self) -> None:  # noqa: N802 - the handler's name
        if not re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", self.path):
            self.send_error(404)
            return
        Tiles.asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.tile)))
        self.end_headers()
        self.wfile.write(self.tile)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_configured_tile_service_is_the_background_under_the_districts_own_layers(peak: Path, tmp_path: Path):
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (20, 60, 200)).save(buffer, format="PNG")
    Tiles.tile, Tiles.asked = buffer.getvalue(), []
    tiles = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{tiles.server_port}"
    settings = load_settings(ROOT / "config.yaml")
    settings = settings.model_copy(update={"serve": settings.serve.model_copy(update={"basemap": BasemapSpec(
        kind="xyz", url=base + "/tiles/{z}/{x}/{y}.png", attribution="演示底图 / demo basemap")})})
    try:
        with serving(peak, tmp_path, settings=settings) as served, sync_api.sync_playwright() as playwright:
            opened = Browser(playwright, served, tmp_path)
            try:
                page = opened.open(DUTY)
                page.wait_for_function("window.warnScreen.map.getLayers().item(0) instanceof ol.layer.Tile")
                page.wait_for_timeout(500)  # the tiles in view are asked for
                assert Tiles.asked and set(opened.outside) <= {base + path for path in Tiles.asked}
                page.screenshot(path=SCREENS / "basemap-1920.png")
            finally:
                opened.close()
    finally:
        tiles.shutdown()
