"""The duty desk: one implementation of the acts of the people on duty, for the CLI, the pages and the API.

:class:`Desk` (:mod:`warn.desk.desk`) answers requests (ack, approve, reject, answers through links and
gateways), acknowledges, finishes and hands over tasks, puts notes on the timeline, switches the mode, issues
warnings by hand and records danger reports — each checked by :class:`warn.command.authority.Authority` at the
time of the act, refused with :class:`Refused` before anything is written, and answered with what to tell
the person (:class:`Told`). The checks of a mode order and a manual warning are in :mod:`warn.desk.orders`.
"""

from warn.desk.desk import DEFAULT_SENDER, OPEN_TASKS, Desk, link_secret, post_of, report_id
from warn.desk.refusal import Names, Refused, Told

__all__ = ["DEFAULT_SENDER", "OPEN_TASKS", "Desk", "Names", "Refused", "Told", "link_secret", "post_of", "report_id"]
