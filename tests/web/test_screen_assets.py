"""The big screen's shell and bundled assets over a real server (no browser): everything the page loads is
served by the service, the vendored files are those PROVENANCE.md names, the desk's choices come from the
vocabulary."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser

from tests.web.login import drill_login
from tests.web.serving import Served
from warn.vocab import COLOURS, RESPONSE_NAMES, Mode
from warn.web.screen import STATIC


class Shell(HTMLParser):
    """What the page asks for (scripts, styles), its CSRF meta, its config and the desk's options."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.csrf: str | None = None
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None
        self._config = False
        self.config = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.assets.append(str(a["src"]))
        if tag == "link" and a.get("rel") == "stylesheet":
            self.assets.append(str(a["href"]))
        if tag == "meta" and a.get("name") == "csrf-token":
            self.csrf = a.get("content")
        if tag == "select":
            self._select = str(a.get("name"))
        if tag == "option" and self._select and a.get("value"):
            self.options.setdefault(self._select, []).append(str(a["value"]))
        self._config = tag == "script" and a.get("id") == "config"

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._config:
            self.config += data


def test_the_shell_loads_only_the_services_own_assets_and_carries_the_settings(served: Served) -> None:
    assert served.client.get("/").status_code == 303  # to the login
    csrf = drill_login(served, "演示值班员01")
    page = served.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    shell = Shell()
    shell.feed(page.text)
    assert shell.csrf == csrf  # the session's, for the desk's forms
    config = json.loads(shell.config)
    assert config["timezone"] == "Asia/Shanghai" and config["fixed"] is None and config["basemap"] is None
    assert shell.options["to"] == [m.value for m in reversed(Mode)]
    assert shell.options["level"] == [*RESPONSE_NAMES, *COLOURS]  # the mode form's, then the warning form's
    css = served.client.get("/static/screen.css").text
    assets = shell.assets + [config["font"]] + re.findall(r"url\((/[^)]+)\)", css)
    assert all(path.startswith("/static/") for path in assets)
    for path in assets:
        answer = served.client.get(path)
        assert answer.status_code == 200 and len(answer.content) > 1000, path
    assert served.client.get(config["font"]).headers["content-type"] == "font/otf"
    assert served.client.get("/static/nothing.js").status_code == 404


def test_the_vendored_files_are_the_ones_provenance_names() -> None:
    provenance = (STATIC / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(vendor/[^`]+)` \|.*\| `([0-9a-f]{64})` \|", provenance, flags=re.MULTILINE)
    assert {name for name, _ in rows} == {f"vendor/{p.name}" for p in (STATIC / "vendor").iterdir()}
    for name, sha in rows:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == sha, name
