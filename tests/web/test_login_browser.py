"""The login page in a real browser (Debian's chromium driven by Playwright) at a phone's 390 × 844 and the
hall's 1920 × 1080: the gate sends a page to the login and back, a wrong password is said, the session
cookie is HttpOnly and SameSite=Strict, and no asset comes from elsewhere. Screenshots under var/screens/."""

from __future__ import annotations

import os

import pytest

from tests.conftest import ROOT
from tests.web.login import PASSWORD, browser_drill_login, browser_login, give_password
from tests.web.test_browser import CHROMIUM, fontconfig, sync_api
from warn.web.auth import COOKIE

DUTY, LEADER = "演示值班员01", "演示镇街负责人04"
SCREENS = ROOT / "var" / "screens"


@pytest.mark.slow
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1920, 1080)])
def test_the_login_page_logs_in_and_returns_to_the_page_asked_for(served, tmp_path, width, height):
    give_password(served, DUTY)
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                              env={**os.environ, "FONTCONFIG_FILE": str(fontconfig(tmp_path))})
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
            outside: list[str] = []
            context.route("**/*", lambda route: (outside.append(route.request.url)
                                                 if not route.request.url.startswith(served.url) else None,
                                                 route.continue_()))
            page = context.new_page()
            browser_login(page, served.url, DUTY, "not the password", path="/some/page?at=2026-07-15T05:00Z")
            assert page.url == f"{served.url}/login" and "用户名或密码错误" in page.content()  # next kept in the form
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.get_by_role("button", name="进入演练").is_visible()  # the demo is a drill
            page.screenshot(path=SCREENS / f"login-{width}.png", full_page=True)
            page.fill("input[name=name]", DUTY)
            page.fill("input[name=password]", PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_load_state()
            assert page.url == f"{served.url}/some/page?at=2026-07-15T05:00Z"
            [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            context.clear_cookies()
            assert page.goto(f"{served.url}/api/v1/me").status == 401  # a JSON path: 401, not the login
            browser_drill_login(page, served.url, LEADER)
            assert page.url == f"{served.url}/"
            assert page.goto(f"{served.url}/api/v1/me").status == 200 and LEADER in page.content()
            assert outside == []
        finally:
            browser.close()
