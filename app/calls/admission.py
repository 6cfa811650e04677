"""Admitting a waiting citizen: the one way, whether the clerk clicks Admit on the console (a POST)
or on the call screen's ready state (an `admit` event over the socket that is already open).

The rules stay in `sessions.admit` (one conditional UPDATE: two clerks at once get one winner);
this adds what both ways need around it: the citizen must be in the waiting room, a refusal comes
with a reason and a translated message, and the citizen and the console are told.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.calls import live, sessions
from app.calls.presence import rooms
from app.models import Appointment, Staff


class CannotAdmit(Exception):
    """Why the clerk cannot admit: `code` (not_video, not_waiting, assigned, taken), a translated
    `message`, and the HTTP status a page answers with."""

    def __init__(self, code: str, message: str, status: int = 409):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def admit_waiting(appointment: Appointment, clerk: Staff) -> None:
    """Admit the citizen waiting for `appointment`: the call is `clerk`'s, the citizen hears it
    and the consoles update. Raises CannotAdmit. Takes the write lock; commits (`sessions.admit`)."""
    reference = appointment.reference
    if appointment.service.mode != "video":
        raise CannotAdmit("not_video", _("Only a video appointment has a waiting room."), 404)
    if not rooms.citizen_present(appointment.id):
        raise CannotAdmit(
            "not_waiting", _("%(reference)s is not in the waiting room yet.", reference=reference)
        )
    try:
        sessions.admit(appointment, clerk)
    except sessions.AlreadyAdmitted as taken:
        name = taken.clerk.name if taken.clerk else _("another clerk")
        if appointment.status in sessions.READY_STATUSES:  # not admitted: given to another clerk beforehand
            message = _("%(reference)s is for %(name)s: ask them, or give it to yourself on its page.")
            raise CannotAdmit("assigned", message % {"name": name, "reference": reference}) from None
        message = _("%(name)s already admitted %(reference)s.")
        raise CannotAdmit("taken", message % {"name": name, "reference": reference}) from None
    live.tell_citizen_admitted(appointment)
