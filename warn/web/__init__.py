"""``warn serve``: the HTTP service people answer through, where they are.

An ASGI application (Starlette, run under uvicorn by ``warn serve`` or beside the jobs of ``warn run``)
with two faces:

- the gateways' callbacks (:mod:`warn.web.callbacks`): delivery receipts, SMS replies, voice keypresses
  and card buttons, each verified the way its platform signs it;
- the phone page behind every signed one-tap link (:mod:`warn.web.phone`): answer a 叫应 call, see my
  tasks, finish a task with a note, a photo and the phone's location, report a new danger;
- what the centre's screens and the city platform read (:mod:`warn.web.api`): the CLI's read views as JSON
  under ``/api/v1/…`` with their OpenAPI document, the situation map's data (:mod:`warn.web.situation`), its
  basemap (:mod:`warn.web.places`) and rain frames (:mod:`warn.web.rain`), and live change events
  (:mod:`warn.web.events`) — each narrowed to the towns of the person looking (:mod:`warn.web.reads`).

Every answer is checked by :class:`warn.command.authority.Authority` and planned at once, one at a time,
by :class:`warn.web.desk.Desk` — the same step a CLI answer takes — with the channel it came through on
the timeline. A refused request writes nothing and says why, zh-CN then English.
"""

from __future__ import annotations

from warn.web.app import create_app

__all__ = ["create_app"]
