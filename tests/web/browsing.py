"""What the browser tests share: Debian's chromium driven by Playwright, with the project's CJK font.

Playwright never downloads a browser here; a test module that uses this skips, saying why, when
/usr/bin/chromium or Playwright is missing (.ci/run installs both). The machine need not have a CJK font:
chromium is given the project's own Noto Sans SC (:mod:`warn.reports.fonts`) through a fontconfig file.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install .[test])")
if not shutil.which("chromium"):
    pytest.skip("no chromium on this machine (apt-get install chromium; .ci/run does)", allow_module_level=True)


def fontconfig(folder: Path) -> Path:
    """A fontconfig file: the system's fonts and the project's Noto Sans SC."""
    from warn.reports import fonts

    font_dir = Path(str(resources.files(fonts._PACKAGE)))
    path = folder / "fonts.conf"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    f'<include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>{font_dir}</dir>'
                    f'<cachedir>{folder / "fontcache"}</cachedir></fontconfig>', encoding="utf-8")
    return path


def launch(playwright, folder: Path):
    """Debian's chromium, headless, with the project's CJK font (``folder`` holds the fontconfig file)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                      env={**os.environ, "FONTCONFIG_FILE": str(fontconfig(folder))})
