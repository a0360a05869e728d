"""The sensor feed kinds' registry: every kind builds, an unknown kind is refused, no import cycle."""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations, permutations

import pytest

from warn.config import SensorFeedSpec
from warn.errors import UnknownNameError
from warn.sources.feeds import FEEDS, KIND_MODULES, FeedOptions, build_feed

FIELDS = {"sensor_id": "stcd", "time": "tm", "value": "z"}

#: The fewest settings each registered kind builds from (building fetches and connects nothing).
MINIMAL = {
    "sensorthings": SensorFeedSpec(kind="sensorthings", url="http://127.0.0.1:9/v1.1"),
    "json": SensorFeedSpec(kind="json", url="http://127.0.0.1:9/levels.json", fields=FIELDS, unit="m"),
    "csv": SensorFeedSpec(kind="csv", url="http://127.0.0.1:9/levels.csv", fields=FIELDS, unit="cm"),
    "mqtt": SensorFeedSpec(kind="mqtt", topic="warn/test/+", fields=FIELDS, unit="cm"),
}


@pytest.fixture(scope="module")
def graph():
    """The import graph of the warn package (static imports, including those only for type checking)."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter, in the lint extra")
    return grimp.build_graph("warn", cache_dir=None)


def test_registry_lists_every_kind_and_names_the_closest_for_a_typo():
    assert FEEDS.names() == ["csv", "json", "mqtt", "sensorthings"]
    with pytest.raises(UnknownNameError, match="sensorthings"):
        FEEDS.get("sensorthing")


def test_every_registered_kind_has_minimal_settings_here():
    assert sorted(MINIMAL) == FEEDS.names()


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_every_kind_builds_from_minimal_settings(kind):
    feed = build_feed(f"min_{kind}", MINIMAL[kind], FeedOptions(handler=lambda batch: None))
    assert feed.name == f"min_{kind}"
    polled = callable(getattr(feed, "poll", None))
    pushed = callable(getattr(feed, "start", None)) and callable(getattr(feed, "stop", None))
    assert polled != pushed


def test_an_unknown_kind_names_the_feed_the_kinds_and_the_closest():
    spec = SensorFeedSpec.model_construct(kind="sensorthing")
    with pytest.raises(UnknownNameError) as err:
        build_feed("levels", spec)
    assert str(err.value) == ("sensors.feeds.levels: kind: expected a sensor feed kind among csv, json, mqtt, "
                              "sensorthings, got 'sensorthing' (did you mean 'sensorthings'?)")


def test_polled_kinds_build_without_importing_paho():
    code = """
import sys
from warn.config import SensorFeedSpec
from warn.sources.feeds import FEEDS, build_feed
fields = {"sensor_id": "stcd", "time": "tm", "value": "z"}
for kind in ("sensorthings", "json", "csv"):
    build_feed(kind, SensorFeedSpec(kind=kind, url="http://127.0.0.1:9/x", fields=fields, unit="m"))
assert "paho" not in sys.modules, "a polled feed imported paho"
FEEDS.names()
assert "paho" in sys.modules, "listing the kinds did not import the MQTT kind"
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_registry_imports_no_kind_and_no_kind_imports_another(graph):
    for kind_module in KIND_MODULES:
        assert not graph.chain_exists(importer="warn.sources.feeds", imported=kind_module), kind_module
    for importer, imported in permutations(KIND_MODULES, 2):
        assert not graph.chain_exists(importer=importer, imported=imported), f"{importer} imports {imported}"


def test_no_module_of_warn_sources_imports_one_that_imports_it_back(graph):
    modules = sorted(module for module in graph.modules if module.startswith("warn.sources."))
    cycles = [(a, b) for a, b in combinations(modules, 2)
              if graph.chain_exists(importer=a, imported=b) and graph.chain_exists(importer=b, imported=a)]
    assert cycles == []
