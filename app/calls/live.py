"""What the server pushes about a call: to its two browsers, and to the agency's clerk console."""

from __future__ import annotations

from app.calls import sessions
from app.calls.presence import room_for, rooms, staff_room
from app.extensions import socketio
from app.models import Appointment

NAMESPACE = "/call"


def notify_waiting_room(appointment: Appointment) -> None:
    """Push the appointment's live state to the clerks of its agency watching the console."""
    state = sessions.call_state(appointment)
    state["present"] = rooms.citizen_present(appointment.id)
    socketio.emit(
        "waiting-room",
        {"reference": appointment.reference, **state},
        namespace=NAMESPACE,
        to=staff_room(appointment.service.agency_id),
    )


def tell_citizen_admitted(appointment: Appointment) -> None:
    socketio.emit("admitted", {}, namespace=NAMESPACE, to=room_for(appointment.id))
    notify_waiting_room(appointment)


def end_call(appointment: Appointment) -> None:
    """The clerk recorded an outcome: both browsers leave the call and the console updates."""
    socketio.emit(
        "call-ended", {"outcome": appointment.outcome}, namespace=NAMESPACE, to=room_for(appointment.id)
    )
    notify_waiting_room(appointment)


def tell_citizen_running_late(appointment: Appointment, minutes: int) -> None:
    """The waiting room shows the clerk's running-late notice at once."""
    socketio.emit("running-late", {"minutes": minutes}, namespace=NAMESPACE, to=room_for(appointment.id))
