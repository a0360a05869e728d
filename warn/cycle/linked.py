"""城市 → 区县 linked response: the municipal centre's current mode as a planner input of a district.

A district of a municipality (``municipal:`` in its config.yaml, ``warn municipal init``) reads the city's
current mode and response level from the one view of the city's schema its role may read
(:func:`warn.store.municipal.city_response`); :func:`city_events` turns it into the
:class:`~warn.command.model.CityResponse` event the command step passes to the planner, which decides
(``MODE-LINKED``, :mod:`warn.command.mode`). A deployment that is not a district gets none.
"""

from __future__ import annotations

from datetime import datetime

from warn.command.model import CityResponse
from warn.config import Settings
from warn.store import Store
from warn.store.municipal import city_response
from warn.vocab import Mode, ResponseLevel


def city_events(store: Store, settings: Settings, now: datetime) -> list[CityResponse]:
    """The city's current mode read at ``now`` (UTC), as one event; none when not a district or the city
    never decided a mode.

    Raises
    ------
    StoreError
        The city's view cannot be read with the district's role (not provisioned or not granted).
    """
    municipal = settings.municipal
    if municipal is None:
        return []
    row = city_response(store.engine, municipal.city_schema)
    if row is None:
        return []
    response = ResponseLevel(row.response_level) if row.response_level else None
    return [CityResponse(municipal.city_code, f"{municipal.city_code}/mode/{row.id}", Mode(row.to_mode), response,
                         row.at, row.decided_by, row.reason, now)]
