"""Shared fixtures and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def rainstorm_params():
    """The committed rain model's parameters."""
    from warn.modelfiles import load_model_file

    return load_model_file("rainstorm", ROOT / "models" / "rainstorm.yaml").params()
