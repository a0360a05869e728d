"""Where things are: the deployment's own layers as the situation map draws them, and the town of every item.

:class:`Places` is built once per application from the zone layers of config.yaml (``areas:`` and the layers
the deployed hazards' roles name, found through the hazard registry) and kept in memory: each item's name,
town and location (a point's own, a polygon's representative point), the towns and their names, and the
basemap as GeoJSON (:meth:`Places.layers_json`). Every layer is loaded in WGS84 lon/lat (EPSG:4326) by
:func:`warn.geo.layers.zone_layer`, which converts a layer declared ``gcj02`` on load — so everything the map
draws (layers, items, sensors, the rain field) is in the one datum, and the JSON says which.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from warn import hazards
from warn.config import Settings
from warn.geo.layers import WGS84, zone_layer

#: Douglas–Peucker tolerance of the basemap's polygons, degrees (≈ 55 m north–south): invisible on a district
#: screen, a tenth of the vertices.
SIMPLIFY_DEG = 0.0005
#: Decimals kept of a coordinate (≈ 1 m).
DECIMALS = 5


@dataclass(frozen=True)
class Place:
    """An item of a zone layer: its id, name, town (``None``: none known), layer, location (WGS84 degrees) and
    its other attributes as the layer has them (thresholds such as ``warning_stage_m``, people threatened …)."""

    item_id: str
    name: str
    town: str | None
    layer: str
    lon: float
    lat: float
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict)


class Places:
    """The deployment's items and basemap (see the module docstring).

    Raises
    ------
    ConfigError
        A layer that does not load (``warn check`` names it too).
    """

    def __init__(self, settings: Settings) -> None:
        self._items: dict[str, Place] = {}
        self._features: dict[str, list[dict[str, Any]]] = {}
        self._roles: dict[str, list[dict[str, str]]] = {}
        self.towns: dict[str, str] = {}
        self._outlines: dict[str, BaseGeometry] = {}
        towns_spec, towns = zone_layer(settings, settings.areas.towns)
        for _, row in towns.iterrows():
            code = str(row[towns_spec.id_field])
            self.towns[code] = _name(row, towns_spec.name_field, code)
            self._outlines[code] = row.geometry
        self._towns_layer = settings.areas.towns
        self._load(settings, self._towns_layer)
        self._district = self._outline(settings)
        for deployed in hazards.deployed(settings):
            for role, layer in deployed.section.layers.items():
                self._roles.setdefault(layer, []).append({"hazard": deployed.spec.name, "role": role})
        for layer in self._roles:
            self._load(settings, layer)

    def _load(self, settings: Settings, layer: str) -> None:
        """Read a layer's items (the first layer naming an id wins) and features."""
        if layer in self._features:
            return
        spec, frame = zone_layer(settings, layer)
        features = []
        for _, row in frame.iterrows():
            item_id = str(row[spec.id_field])
            town = _text(row.get(spec.town_field)) if spec.town_field else None
            anchor = row.geometry if row.geometry.geom_type == "Point" else row.geometry.representative_point()
            place = Place(item_id, _name(row, spec.name_field, item_id), town, layer,
                          round(anchor.x, DECIMALS), round(anchor.y, DECIMALS),
                          _attributes(row, {spec.id_field, spec.name_field, spec.town_field, "geometry"}))
            self._items.setdefault(item_id, place)
            features.append({"type": "Feature", "id": item_id, "geometry": _geojson(row.geometry),
                             "properties": {"id": item_id, "name": place.name, "town": town}})
        self._features[layer] = features

    def _outline(self, settings: Settings) -> list[dict[str, Any]]:
        """The district's features: its layer's, else the union of the towns (as ``areas.district`` says)."""
        layer = settings.areas.district
        if layer is not None:
            self._load(settings, layer)
            return self._features[layer]
        code = settings.deployment.district_code
        union = shapely.union_all(list(self._outlines.values()))
        return [{"type": "Feature", "id": code, "geometry": _geojson(union),
                 "properties": {"id": code, "name": settings.deployment.name, "town": None}}]

    def item(self, item_id: str) -> Place | None:
        """The item ``item_id`` of a layer (a town, a point, a catchment, a gauge, the district); ``None``: unknown."""
        return self._items.get(item_id)

    def town_of_item(self, item_id: str) -> str | None:
        """The town of an item: a town is its own; ``None`` for the district or an item of no known town."""
        if item_id in self.towns:
            return item_id
        place = self._items.get(item_id)
        return None if place is None else place.town

    def town_at(self, lon: float, lat: float) -> str | None:
        """The town whose outline holds the point (WGS84 degrees); ``None`` outside every town."""
        point = shapely.Point(lon, lat)
        return next((code for code, outline in self._outlines.items() if outline.covers(point)), None)

    def layers_json(self, sees: Any) -> dict[str, Any]:
        """The basemap for a viewer: ``crs``, the district and the towns whole, and each hazard layer's features
        that ``sees(town)`` lets through, with the hazards and roles it plays."""
        items = {layer: {"roles": roles, "type": "FeatureCollection",
                         "features": [f for f in self._features[layer] if sees(f["properties"]["town"])]}
                 for layer, roles in self._roles.items() if layer != self._towns_layer}
        return {"crs": {"type": "name", "properties": {"name": WGS84}}, "datum": "WGS84",
                "simplified_deg": SIMPLIFY_DEG,
                "district": {"type": "FeatureCollection", "features": self._district},
                "towns": {"type": "FeatureCollection", "features": self._features[self._towns_layer]},
                "items": items}


def _text(value: Any) -> str | None:
    """A layer attribute as text; ``None`` when empty or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "":
        return None
    return str(value)


def _attributes(row: Any, left_out: set[str | None]) -> dict[str, str | int | float | bool]:
    """A feature's attributes as JSON values (numpy scalars as Python's), but ``left_out`` and empty ones."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in row.items():
        plain = value.item() if isinstance(value, np.generic) else value
        if key in left_out or not isinstance(plain, str | int | float | bool) or _text(plain) is None:
            continue
        out[str(key)] = plain
    return out


def _name(row: Any, field: str, fallback: str) -> str:
    return _text(row.get(field)) or fallback


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    """A geometry as GeoJSON: polygons simplified by :data:`SIMPLIFY_DEG`, coordinates to :data:`DECIMALS`."""
    if geometry.geom_type != "Point":
        geometry = shapely.simplify(geometry, SIMPLIFY_DEG, preserve_topology=True)
    geometry = shapely.set_precision(geometry, 10 ** -DECIMALS)
    return dict(json.loads(shapely.to_geojson(geometry)))
