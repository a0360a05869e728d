"""The web service on a real uvicorn server (127.0.0.1, a free port) over a copy of a replayed store.

The store is the demo storm replayed up to 05:00Z (``early``, tests/conftest.py), when the landslide warnings of
DEMO-T04, DEMO-T16 and DEMO-T19 have just called their town leaders and communities (unanswered) and given them
tasks; the service's clock reads 05:05Z.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.looking import looking  # noqa: F401 - the read routes' served store
from tests.web.serving import Served, running


@pytest.fixture
def served(early: Path, tmp_path: Path) -> Iterator[Served]:
    with running(Path(shutil.copy(early, tmp_path / "warn.db"))) as service:
        yield service
