"""A citizen's way back without the e-mail: the call link from the manage page, and fresh links
e-mailed to the address on file ("find my appointment").

Tokens are stored only as hashes, so a link cannot be shown or sent twice: each of these issues
a new one. The manage page's "Join" button has a join token of its own (the e-mailed join link
keeps working); "find my appointment" replaces both links of the appointment, so the old ones stop
working (a lost e-mail may be in someone else's hands) and only the new e-mail opens it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, notifications
from app.calls.sessions import join_window
from app.extensions import db, write_transaction
from app.links import appointment_links
from app.models import Appointment, utcnow
from app.tokens import links_still_valid, new_token


class CallNotOpen(Exception):
    """The call of this appointment cannot be joined now; `message` is translated."""

    status = 409

    def __init__(self):
        super().__init__()
        self.message = _("The video call is not open now. The button appears here when it opens.")


def has_call(appointment: Appointment) -> bool:
    return appointment.service.mode == "video"


def call_open(appointment: Appointment, now: dt.datetime | None = None) -> bool:
    """Whether the manage page offers "Join the video call" now. Read-only."""
    return has_call(appointment) and join_window(appointment, now).is_open


def issue_page_join_token(appointment: Appointment, now: dt.datetime | None = None) -> str:
    """A new join token for the manage page's button while the call is open (the previous one from
    the page stops working; the e-mailed one does not). Takes the write lock; commits.

    Raises CallNotOpen outside the call's window.
    """
    write_transaction()
    db.session.refresh(appointment)
    if not call_open(appointment, now):
        db.session.rollback()
        raise CallNotOpen()
    token, appointment.page_join_token_hash = new_token()
    db.session.commit()
    return token


def resend_links(reference: str, email: str, now: dt.datetime | None = None) -> None:
    """E-mail fresh links of the appointment with this reference to its citizen, if `email` is
    theirs and its links are still valid; otherwise nothing. The same queries and the same
    transaction either way, and no answer: the caller says the same thing whatever happened.

    Takes the write lock; commits (even when nothing matched, for the same work).
    """
    now = now or utcnow()
    join_token, join_hash = new_token()
    manage_token, manage_hash = new_token()
    write_transaction()
    appointment = db.session.scalar(
        sa.select(Appointment).where(
            Appointment.reference == reference.strip().upper(),
            Appointment.citizen_email == email.strip().lower(),
        )
    )
    if appointment is not None and links_still_valid(appointment, now):
        appointment.manage_token_hash = manage_hash
        if appointment.status == "booked":
            # Not during a call: its browser reconnects with the join token it holds.
            appointment.page_join_token_hash = None
            if has_call(appointment):
                appointment.join_token_hash = join_hash
            appointment.calendar_sequence += 1  # the event's description carries the new links
            links = appointment_links(join_token if has_call(appointment) else None, manage_token)
            notifications.queue_appointment_messages(
                appointment, links["join_url"], links["manage_url"], kind="links"
            )
        else:  # over, cancelled or under way: the manage page is the way in (and to the call)
            notifications.queue_manage_link(appointment, appointment_links(None, manage_token)["manage_url"])
        audit.record_for_appointment("appointment.links_resent", appointment)
    db.session.commit()
