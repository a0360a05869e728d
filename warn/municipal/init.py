"""``warn municipal init``: the municipality's deployment folders and its one PostgreSQL store.

:func:`init` names every centre (schema and role ``<prefix>_<code>``), writes its folder
(:func:`warn.municipal.deployments.write_deployment`) and provisions the database
(:func:`warn.store.municipal.provision`). Run again, it rewrites the folders and brings the
database up to date, changing nothing that is already right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warn.errors import Problem, UsageError
from warn.municipal.deployments import Unit, read_units, write_deployment
from warn.store.engine import make_engine
from warn.store.municipal import Centre, provision


@dataclass(frozen=True)
class Deployment:
    """One centre as written: its area, its schema and role, its config.yaml."""

    unit: Unit
    centre: Centre
    config: Path


def centre(prefix: str, code: str) -> Centre:
    """The centre of ``code``: schema and role ``<prefix>_<code>``."""
    return Centre(code, f"{prefix}_{code}", f"{prefix}_{code}")


def init(out: Path, admin_url: str, *, prefix: str = "cq", only: Sequence[str] = (),
         forecast_url: str, start: datetime) -> list[Deployment]:
    """Write every centre's folder under ``out`` (``out/<code>/``) and provision the store.

    Parameters
    ----------
    out
        The folder of the deployments.
    admin_url
        ``postgresql+psycopg://…`` as a role that may create roles and schemas.
    prefix
        Prefix of the schemas and roles (lower case).
    only
        Codes of the districts to set up (none: all of them); the municipal centre always is.
    forecast_url
        The forecast runs every centre pulls (the city's grid; a URL template of ``forecasts:``).
    start
        Start of the synthetic roster's shifts (a year from it).

    Returns
    -------
    list[Deployment]
        The municipal centre first, then the districts by code.

    Raises
    ------
    UsageError
        A code in ``only`` is not a district of the municipality.
    StoreError
        The store cannot be reached or provisioned.
    """
    city_unit, units = read_units()
    known = {u.code for u in units}
    unknown = sorted(set(only) - known)
    if unknown:
        raise UsageError(Problem("warn municipal init", "--only", f"codes of the districts ({', '.join(sorted(known))})",
                                 ", ".join(unknown)))
    chosen = [u for u in units if not only or u.code in only]
    city = centre(prefix, city_unit.code)
    districts = [centre(prefix, u.code) for u in chosen]
    written = [Deployment(city_unit, city, write_deployment(out / city.code, city_unit, city, city.url(admin_url), None,
                                                            forecast_url, start))]
    for unit, district in zip(chosen, districts, strict=True):
        config = write_deployment(out / district.code, unit, district, district.url(admin_url), city, forecast_url,
                                  start)
        written.append(Deployment(unit, district, config))
    admin = make_engine(admin_url)
    try:
        provision(admin, city, districts)
    finally:
        admin.dispose()
    return written
