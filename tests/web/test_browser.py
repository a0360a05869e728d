"""The phone page in a real browser (Debian's chromium driven by Playwright) at a phone's 390 × 844.

Skipped, saying why, when /usr/bin/chromium or Playwright is missing (.ci/run installs both); Playwright
never downloads a browser here. The screenshots are kept in the test's tmp_path (``answer.png``,
``task.png``) to be looked at. The machine need not have a CJK font: chromium is given the project's
own Noto Sans SC (:mod:`warn.reports.fonts`) through a fontconfig file, as a phone has its system's
(tests/web/browsing.py).
"""

from __future__ import annotations

from tests.web.browsing import CHROMIUM, fontconfig, launch, sync_api  # noqa: F401 - CHROMIUM, fontconfig: other tests import them from here
from tests.web.serving import CALL04, LEADER04, TASK04, Served
from warn.links import Purpose


def test_the_answer_and_task_pages_work_on_a_390_px_phone(served: Served, tmp_path):
    answer = served.link(Purpose.ANSWER, CALL04, LEADER04)
    task = served.link(Purpose.TASK, TASK04, LEADER04)
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright, tmp_path)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                          is_mobile=True, has_touch=True, locale="zh-CN",
                                          geolocation={"longitude": 106.631, "latitude": 29.718},
                                          permissions=["geolocation"])
            outside: list[str] = []
            context.route("**/*", lambda route: (outside.append(route.request.url)
                                                 if not route.request.url.startswith(served.url) else None,
                                                 route.continue_()))
            page = context.new_page()
            page.goto(f"{served.url}/a/{answer}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
            for label in ("收到", "已到岗", "需要支援"):
                box = page.get_by_role("button", name=label).bounding_box()
                assert box is not None and box["height"] >= 48 and box["width"] >= 300
            page.screenshot(path=tmp_path / "answer.png", full_page=True)
            page.get_by_role("button", name="已到岗").click()
            page.wait_for_load_state()
            assert "已应答" in page.content()
            page.goto(f"{served.url}/a/{task}")
            page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")
            page.fill("textarea[name=note]", "抢险队已集结")
            page.screenshot(path=tmp_path / "task.png", full_page=True)
            page.get_by_role("button", name="标记办结").click()
            page.wait_for_load_state()
            assert "任务已办结" in page.content()
            assert outside == []  # no external asset was asked for
        finally:
            browser.close()
    assert served.query("select answered_by, channel from ack_requests where request_id = ?", CALL04) == [
        (LEADER04, "link")]
    assert served.query("select status, evidence from tasks where task_id = ?", TASK04) == [
        ("done", "lon=106.631000 lat=29.718000")]
