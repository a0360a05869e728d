"""Warning skill: hand contingency tables, undefined scores, windows, area shares, and the
NASA Global Landslide Catalog (China subset, tests/data/PROVENANCE.md) against warning
histories built here with known counts."""

from __future__ import annotations

import math
from datetime import timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from tests.conftest import DATA
from warn.geo.layers import area_km2
from warn.risk.skill import (
    COLUMNS,
    BulletinWindows,
    Contingency,
    contingency,
    verify,
    warned_levels,
    zone_of_points,
)

GLC = DATA / "nasa_glc_china_subset.csv"
NAN = float("nan")


def t(text):
    return np.datetime64(text, "s")


def cells(lon0, lon1, lat0, lat1):
    """1° × 1° cells, west to east then south to north; position = (lon − lon0)·rows + (lat − lat0)."""
    return [box(x, y, x + 1, y + 1) for x in range(lon0, lon1) for y in range(lat0, lat1)]


def catalogue():
    """The GLC China subset with UTC times (event_date read as UTC, as the CLI does)."""
    frame = pd.read_csv(GLC)
    frame["time"] = pd.to_datetime(frame["event_date"], format="%m/%d/%Y %H:%M")
    return frame


def warning_rows(rows):
    """A warnings frame from (zone, level, lead, valid_from, valid_to) tuples."""
    frame = pd.DataFrame(rows, columns=["zone", "level", "lead", "valid_from", "valid_to"])
    frame["valid_from"] = pd.to_datetime(frame["valid_from"])
    frame["valid_to"] = pd.to_datetime(frame["valid_to"])
    return frame


def test_hand_contingency_table_and_scores():
    table = Contingency(hits=6, false_alarms=4, misses=2, correct_negatives=88)
    assert table.pod == table.hit_rate == 6 / 8
    assert table.miss_rate == 2 / 8
    assert table.far == table.false_alarm_ratio == 4 / 10
    assert table.csi == 6 / 12
    assert table.pofd == 4 / 92
    assert table.tss == pytest.approx(6 / 8 - 4 / 92)


def test_contingency_counts_units():
    warned = np.array([[True, True, False, False], [True, False, False, False]])
    observed = np.array([[True, False, True, False], [False, False, False, False]])
    assert contingency(warned, observed) == Contingency(1, 2, 1, 4)


@pytest.mark.parametrize("table, undefined", [
    (Contingency(0, 0, 0, 50), {"pod", "far", "csi", "tss", "hit_rate", "miss_rate", "false_alarm_ratio"}),
    (Contingency(0, 3, 0, 0), {"pod", "tss", "hit_rate", "miss_rate"}),
    (Contingency(0, 0, 4, 0), {"far", "pofd", "tss", "false_alarm_ratio"}),
])
def test_zero_denominators_are_nan_not_zero(table, undefined):
    names = ("pod", "far", "csi", "pofd", "tss", "hit_rate", "miss_rate", "false_alarm_ratio")
    assert {name for name in names if math.isnan(getattr(table, name))} == undefined
    assert all(getattr(table, name) is not None for name in names)


def test_bulletin_window_is_20_to_20_beijing_time():
    windows = BulletinWindows()
    k = windows.index(np.array([t("2010-07-18T12:00:00"), t("2010-07-19T11:59:59"), t("2010-07-19T12:00:00")]))
    assert k[1] == k[0] and k[2] == k[0] + 1
    assert windows.opens(k[0]) == t("2010-07-18T12:00:00")
    assert BulletinWindows(start=timedelta(0)).opens(BulletinWindows(start=timedelta(0)).index(
        t("2010-07-19T11:00:00"))) == t("2010-07-19T00:00:00")


def test_warned_levels_overlap_and_keep_the_highest():
    windows = BulletinWindows()
    first = int(windows.index(t("2010-07-01T12:00:00")))
    grid = warned_levels(
        np.array([0, 0, 1, 1, 1]), np.array([2, 3, 1, 4, 0]),
        np.array([t("2010-07-01T18:00:00"), t("2010-07-02T06:00:00"), t("2010-07-02T12:00:00"),
                  t("2010-06-20T00:00:00"), t("2010-07-01T12:00:00")], dtype="datetime64[s]"),
        np.array([t("2010-07-03T13:00:00"), t("2010-07-02T07:00:00"), t("2010-07-03T12:00:00"),
                  t("2010-07-01T12:00:00"), t("2010-07-05T00:00:00")], dtype="datetime64[s]"),
        n_zones=2, first=first, n_windows=4, windows=windows)
    # Zone 0: yellow over windows 0–2 (ends 1 h into window 2), orange inside window 0.
    # Zone 1: blue for window 1 only (valid_to is exclusive), red ends when window 0 opens, level 0 warns nothing.
    assert grid.tolist() == [[3, 2, 2, 0], [0, 1, 0, 0]]


def test_zone_of_points_inside_outside_and_shared_edges():
    zones = cells(106, 108, 29, 30)  # (106, 29) then (107, 29)
    found = zone_of_points(np.array([106.5, 107.5, 107.0, 110.0]), np.array([29.5, 29.5, 29.5, 29.5]), zones)
    assert found.tolist() == [0, 1, 0, -1]


def test_area_shares_are_area_weighted():
    # Two zones of 1 and 3 km², two windows; the big zone warned blue in both windows.
    warnings = warning_rows([(1, 1, "now", "2010-07-01T12:00", "2010-07-03T12:00")])
    events = np.array([1, 1, 1, 0]), np.array(["2010-07-01T13:00", "2010-07-01T14:00", "2010-07-02T13:00",
                                               "2010-07-02T13:00"], dtype="datetime64[s]")
    result = verify(*events, warnings, np.array([1.0, 3.0]), leads=("now",))
    row = result.table.set_index("level").loc[1]
    assert (row.events, row.events_warned, row.event_share, row.area_share) == (4, 3, 0.75, 0.75)
    assert (row.hits, row.false_alarms, row.misses, row.correct_negatives) == (2, 0, 1, 1)
    assert result.table.set_index("level").loc[2].area_share == 0.0
    assert list(result.table.columns) == list(COLUMNS)


def chongqing_case():
    """The 7 Chongqing events of the GLC on 1° cells 105–110 E × 28–33 N, and a warning history:
    2096 warned orange on its day (hit), 4360 yellow for half of its day (hit), 2595 blue one
    day late (a miss and a false alarm), a red warning on an empty cell (false alarm); 4322,
    53, 405 and 2039 are not warned (misses)."""
    frame = catalogue()
    cq = frame[frame["admin_division_name"].str.contains("Chongqing", na=False)]
    assert sorted(cq["event_id"]) == [53, 405, 2039, 2096, 2595, 4322, 4360]
    zones = cells(105, 110, 28, 33)
    zone = zone_of_points(cq["longitude"].to_numpy(), cq["latitude"].to_numpy(), zones)
    where = dict(zip(cq["event_id"], zone))
    warnings = warning_rows([
        (where[2096], 3, "24h", "2010-07-18T12:00", "2010-07-19T12:00"),
        (where[4360], 2, "24h", "2012-05-15T00:00", "2012-05-15T12:00"),
        (where[2595], 1, "24h", "2010-10-14T12:00", "2010-10-15T12:00"),
        (0, 4, "24h", "2011-06-01T12:00", "2011-06-02T12:00"),
    ])
    areas = np.ones(len(zones))
    return cq, zone, warnings, areas


def test_chongqing_events_hand_table():
    cq, zone, warnings, areas = chongqing_case()
    assert (zone >= 0).all()
    result = verify(zone, cq["time"].to_numpy(), warnings, areas,
                    period=(t("2007-01-01T12:00:00"), t("2013-01-01T12:00:00")), leads=("24h", "now"))
    assert (result.n_zones, result.n_windows, result.events_used) == (25, 2192, 7)
    assert result.first_window == t("2007-01-01T12:00:00")
    table = result.table.set_index(["lead", "level"])
    units = 25 * 2192
    expected = {1: (2, 2, 5), 2: (2, 1, 5), 3: (1, 1, 6), 4: (0, 1, 7)}  # a, b, c
    for level, (a, b, c) in expected.items():
        row = table.loc[("24h", level)]
        assert (row.hits, row.false_alarms, row.misses, row.correct_negatives) == (a, b, c, units - a - b - c)
        assert row.pod == pytest.approx(a / (a + c)) and row.miss_rate == pytest.approx(c / (a + c))
        assert row.far == pytest.approx(b / (a + b)) and row.csi == pytest.approx(a / (a + b + c))
        assert row.tss == pytest.approx(a / (a + c) - b / (units - a - c))
        assert row.event_share == pytest.approx(a / 7)
    # Nothing issued at lead "now": POD 0, FAR undefined.
    now = table.loc[("now", 1)]
    assert (now.hits, now.misses, now.pod) == (0, 7, 0.0) and math.isnan(now.far)


def test_default_period_is_the_span_of_the_warnings():
    cq, zone, warnings, areas = chongqing_case()
    result = verify(zone, cq["time"].to_numpy(), warnings, areas, leads=("24h",))
    # 2010-07-18T12Z … 2012-05-15T12Z: events 2096, 2595, 4322, 4360 inside; 53, 405, 2039 before.
    assert (result.events_used, result.events_outside_period, result.events_outside_zones) == (4, 3, 0)
    assert result.first_window == t("2010-07-18T12:00:00")


def test_catalogue_on_1_degree_cells_with_known_counts():
    frame = catalogue()
    lon0, lon1, lat0, lat1 = 75, 129, 18, 47
    zones = cells(lon0, lon1, lat0, lat1)
    areas = area_km2(gpd.GeoDataFrame(geometry=zones, crs="EPSG:4326")).to_numpy()
    zone = zone_of_points(frame["longitude"].to_numpy(), frame["latitude"].to_numpy(), zones)
    assert (zone >= 0).all()
    start, end = t("2010-01-01T12:00:00"), t("2013-01-01T12:00:00")  # bulletin days 2010–2012
    days = ((frame["time"] - pd.Timestamp("1970-01-01T12:00")) // pd.Timedelta("1D")).to_numpy()
    # Independent unit arithmetic: cell from ceil(lon/lat) − 1 (a point on an edge, as events
    # 2370 and 702 at 99.0° and 102.0° E, goes to the first-listed cell, the western one),
    # bulletin day from the time.
    col = np.ceil(frame["longitude"]).astype(int) - 1 - lon0
    cell = col * (lat1 - lat0) + np.ceil(frame["latitude"]).astype(int) - 1 - lat0
    assert (cell.to_numpy() == zone).all()
    first, last = (start - np.datetime64("1970-01-01T12:00:00")) // np.timedelta64(1, "D"), \
        (end - np.datetime64("1970-01-01T12:00:00")) // np.timedelta64(1, "D")
    inside = (days >= first) & (days < last)
    units = sorted(set(zip(cell[inside], days[inside])))
    opens = [np.datetime64("1970-01-01T12:00:00") + np.timedelta64(int(d), "D") for _, d in units]
    rows = []
    for i, ((z, _), o) in enumerate(zip(units, opens)):
        if i % 3 == 0:  # red for the whole bulletin day: a hit at every threshold
            rows.append((z, 4, "24h", o, o + np.timedelta64(24, "h")))
        elif i % 3 == 1:  # yellow for six hours of the day: a hit at ≥ blue and ≥ yellow
            rows.append((z, 2, "24h", o + np.timedelta64(6, "h"), o + np.timedelta64(12, "h")))
    event_units = set(units)
    empty = [(z, d + 2) for (z, d) in units[::3] if (z, d + 2) not in event_units and d + 2 < last]
    for z, d in empty:  # orange two days after, on a day without event: false alarms
        o = np.datetime64("1970-01-01T12:00:00") + np.timedelta64(int(d), "D")
        rows.append((z, 3, "24h", o, o + np.timedelta64(24, "h")))
    n0, n1, n2, nf = len(units[::3]), len(units[1::3]), len(units[2::3]), len(empty)
    assert (len(units), n0, n1, n2, nf, int(inside.sum())) == (151, 51, 50, 50, 51, 158)

    result = verify(zone, frame["time"].to_numpy(), warning_rows(rows), areas, period=(start, end))
    table = result.table.set_index(["lead", "level"])
    total = len(zones) * result.n_windows
    assert (result.n_windows, result.events_used, result.events_outside_period) == (1096, 158, 268)
    expected = {1: (n0 + n1, nf, n2), 2: (n0 + n1, nf, n2), 3: (n0, nf, n1 + n2), 4: (n0, 0, n1 + n2)}
    for level, (a, b, c) in expected.items():
        row = table.loc[("24h", level)]
        assert (row.hits, row.false_alarms, row.misses, row.correct_negatives) == (a, b, c, total - a - b - c)
    blue, orange, red = table.loc[("24h", 1)], table.loc[("24h", 3)], table.loc[("24h", 4)]
    # 151 event units (51 red, 50 yellow, 50 not warned) and 51 orange false alarms.
    assert (blue.pod, blue.far, blue.csi) == (pytest.approx(101 / 151), pytest.approx(51 / 152), 0.5)
    assert blue.tss == pytest.approx(101 / 151 - 51 / (total - 151))
    assert (orange.pod, orange.far, orange.csi) == (pytest.approx(51 / 151), 0.5, pytest.approx(51 / 202))
    assert (red.pod, red.far, red.miss_rate) == (pytest.approx(51 / 151), 0.0, pytest.approx(100 / 151))
    # Area share: warned cell-days weighted by equal-area cell areas, over all cells × days.
    warned_area = sum(areas[z] for z, lvl, *_ in rows if lvl >= 1)
    assert blue.area_share == pytest.approx(warned_area / (areas.sum() * 1096))
    assert blue.event_share > 100 * blue.area_share  # events concentrate where it warned (by construction)
    assert table.loc[("now", 1)].hits == 0 and math.isnan(table.loc[("2h", 2)].far)
