"""The typed registry: entries registered by modules it imports on first use."""

from __future__ import annotations

import importlib
import sys
import uuid

import pytest

from warn.errors import UnknownNameError


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Modules on the path that register ``alpha`` and ``beta`` with ``REG`` of their home module, which
    also holds a registry whose only module cannot be imported; return the home module."""
    tag = f"reg{uuid.uuid4().hex[:8]}"
    files = {
        f"{tag}_home": "from warn.registry import Registry\nIMPORTED = []\n"
                       f"REG = Registry('thing', modules=('{tag}_a', '{tag}_b'))\n"
                       f"BROKEN = Registry('thing', modules=('{tag}_broken',))\n",
        f"{tag}_a": f"from {tag}_home import IMPORTED, REG\nIMPORTED.append('a')\nREG.add('alpha', 1)\n",
        f"{tag}_b": f"from {tag}_home import IMPORTED, REG\nIMPORTED.append('b')\nREG.add('beta', 2)\n",
        f"{tag}_broken": f"from {tag}_home import IMPORTED\nIMPORTED.append('broken')\nraise ImportError('no paho')\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(f"{tag}_home")
    for name in files:
        sys.modules.pop(name, None)


def test_a_lookup_imports_the_modules_in_order_until_the_name_is_registered(plugins):
    assert plugins.IMPORTED == []
    assert plugins.REG.get("alpha") == 1 and "alpha" in plugins.REG
    assert plugins.IMPORTED == ["a"]


def test_listing_the_names_and_an_unknown_name_import_every_module(plugins):
    with pytest.raises(UnknownNameError, match=r"expected a thing among alpha, beta, got 'bet' \(did you mean 'beta'"):
        plugins.REG.get("bet")
    assert plugins.REG.names() == ["alpha", "beta"] and plugins.IMPORTED == ["a", "b"]


def test_a_module_that_cannot_be_imported_fails_every_lookup(plugins):
    for lookup in (lambda: plugins.BROKEN.get("alpha"), lambda: plugins.BROKEN.get("alpha"), plugins.BROKEN.names):
        with pytest.raises(ImportError, match="no paho"):
            lookup()
    assert plugins.IMPORTED == ["broken"] * 3
