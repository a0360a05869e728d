"""The last success and last failure of each pulled source, read from the cycles' records as of a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import ROOT
from warn.config import load_settings
from warn.cycle.inputs import Sources, fetch_due
from warn.store import Store
from warn.store.pulls import Pull, pulls_of, read_pulls
from warn.store.views import Views

T0 = datetime(2026, 7, 15, 10, tzinfo=UTC)


def _record(*, forecast: dict | None, problems: list[str], official_failure: str | None = None,
            feed_failure: str = "") -> dict:
    """A cycle's inputs as :func:`warn.cycle.inputs.pull` records them."""
    return {"forecast": forecast, "problems": problems, "inbox": 0,
            "official": {"in_force": [], "sources": {"geohazard": {"failure": official_failure, "messages": 1,
                                                                   "fetched_at": T0.isoformat()}}},
            "sensors": {"feeds": {"demo_sta": {"failure": feed_failure, "received": 7, "rejected": 0}}}}


def _failed_forecast_problems(tmp_path) -> list[str]:
    """What the cycle records when the forecast source serves nothing: the real sentences of fetch_due."""
    settings = load_settings(ROOT / "config.yaml").model_copy(update={"cache_dir": tmp_path / "cache"})
    with Store.connect(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        store.upgrade()
        rain, run, _, problems = fetch_due(settings, store, Sources("demo", {"feed": (tmp_path / "none").as_uri()}),
                                           T0)
    assert rain is None and run is None
    return problems


def test_a_cycle_without_a_forecast_run_is_a_failure_of_its_source(tmp_path):
    problems = _failed_forecast_problems(tmp_path)
    pulls = pulls_of(T0, _record(forecast=None, problems=problems, official_failure="HTTP 503"))
    assert pulls["forecast:demo"].failed_at == T0 and "no usable run of demo" in pulls["forecast:demo"].failure
    assert pulls["official:geohazard"] == Pull(failed_at=T0, failure="HTTP 503")
    assert pulls["feed:demo_sta"] == Pull(ok_at=T0, ok="7 readings received")
    fallback = pulls_of(T0, _record(forecast={"source": "demo", "issued": "2026-07-15T09:00:00+00:00"},
                                    problems=problems[:1]))
    assert fallback["forecast:demo"].ok_at == T0 and fallback["forecast:demo"].failed_at == T0  # an older run used
    assert pulls_of(T0, {}) == {}  # a cycle that failed before pulling tells nothing


def test_feeds_list_every_configured_source_with_its_last_success_and_failure(tmp_path):
    """Attack: ``warn feeds`` left out the forecast and official sources; a failing source looked fine."""
    problems = _failed_forecast_problems(tmp_path)
    path = tmp_path / "pulls.db"
    ok = {"source": "demo", "issued": "2026-07-15T10:00:00+00:00"}
    history = [(T0, _record(forecast=ok, problems=[])),
               (T0 + timedelta(minutes=10), _record(forecast=None, problems=problems, official_failure="HTTP 503",
                                                    feed_failure="connection refused")),
               (T0 + timedelta(minutes=20), _record(forecast=ok, problems=[]))]
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade()
        for at, inputs in history:
            store.cycles.begin(at)
            store.cycles.finish(at, inputs=inputs, items=0, crossings=0, actions=0, applied=0, messages=0)
    wanted = {"forecast:demo": 600.0, "official:geohazard": 600.0, "feed:demo_sta": 60.0, "official:never": 600.0}
    with Views.open(f"sqlite:///{path}") as views:
        during = {f.source: f for f in views.feeds(T0 + timedelta(minutes=15), pulled=wanted)}
        after = {f.source: f for f in views.feeds(T0 + timedelta(minutes=25), pulled=wanted)}
        assert read_pulls(views.database.rows, T0 - timedelta(minutes=1), wanted) == {}
    assert set(wanted) <= set(during)
    assert during["forecast:demo"].health == "failing" and during["forecast:demo"].last_seen == T0
    assert during["forecast:demo"].last_failure == T0 + timedelta(minutes=10)
    assert during["official:geohazard"].failure == "HTTP 503" and during["official:geohazard"].health == "failing"
    assert during["feed:demo_sta"].failure == "connection refused"
    assert during["official:never"].health == "unknown" and during["official:never"].last_seen is None
    assert after["forecast:demo"].health == "ok" and after["forecast:demo"].last_seen == T0 + timedelta(minutes=20)
    assert after["forecast:demo"].last_failure == T0 + timedelta(minutes=10)  # the last failure is still shown
    assert after["forecast:demo"].detail == "run issued 2026-07-15T10:00:00+00:00"


def test_warn_feeds_says_when_and_why_a_source_last_failed(tmp_path):
    from typer.testing import CliRunner

    from warn.cli.main import app

    path = tmp_path / "failed.db"
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade()
        store.cycles.begin(T0)
        store.cycles.finish(T0, inputs=_record(forecast=None, problems=_failed_forecast_problems(tmp_path),
                                               official_failure="HTTP 503"),
                            items=0, crossings=0, actions=0, applied=0, messages=0)
    result = CliRunner().invoke(app, ["feeds", "--config", str(ROOT / "config.yaml"), "--store", str(path), "--at",
                                      (T0 + timedelta(minutes=5)).isoformat(), "--lang", "en"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "forecast:demo" in text and "failing" not in text  # no success ever: never, with the failure
    assert "last failed 07-15 18:00: HTTP 503" in text and "usable run of demo" in text
