"""The citizen's side of the video call: the join page (device check, waiting room, call) and ICE servers."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app import tokens
from app.call import bp
from app.calls import live, sessions
from app.calls.ice import ice_config
from app.extensions import limiter
from app.web import join_appointment_or_404


@bp.get("/<token>")
@limiter.limit("60 per minute")
def join(token: str):
    appointment = join_appointment_or_404(token)
    window = sessions.join_window(appointment)
    service = appointment.service
    if window.state == "finished" and appointment.outcome:
        return redirect(url_for("survey.survey", token=token))
    template = "call/join.html" if window.is_open else "call/not_open.html"
    return render_template(
        template,
        appointment=appointment,
        service=service,
        agency=service.agency,
        window=window,
        token=token,
        phone_requested=sessions.phone_requested(appointment),
        running_late=sessions.running_late(appointment),
        late_texts=late_texts(),
        # Ready in the page: the waiting room prepares the connection without another request.
        ice=ice_config(f"citizen-{appointment.id}") if window.is_open else None,
    )


def late_texts() -> dict[int, str]:
    """The running-late notice for each choice of minutes, in the page's language."""
    return {
        minutes: ngettext(
            "The clerk is running about %(num)d minute late for your video appointment.",
            "The clerk is running about %(num)d minutes late for your video appointment.",
            minutes,
        )
        for minutes in sessions.LATE_MINUTES
    }


@bp.get("/check")
def device_check():
    """The camera and microphone check on its own, offered right after booking."""
    return render_template("call/device_check.html")


@bp.get("/ice-servers")
@limiter.limit("30 per minute")
def ice_servers():
    """STUN and TURN servers for a participant of a call; TURN credentials expire after `ttl` s."""
    token = request.args.get("token", "")
    if token:
        appointment = tokens.appointment_by_join_token(token)
        if appointment is None or not sessions.join_window(appointment).is_open:
            abort(403)
        user = f"citizen-{appointment.id}"
    elif current_user.is_authenticated:
        user = f"staff-{current_user.id}"
    else:
        abort(403)
    return jsonify(ice_config(user))


@bp.post("/<token>/phone-request")
@limiter.limit("5 per hour")
def phone_request(token: str):
    """The citizen cannot use a camera: the clerk console shows the request with the phone number."""
    appointment = join_appointment_or_404(token)
    if sessions.join_window(appointment).state in ("cancelled", "finished", "passed"):
        abort(409, _("This appointment is no longer open."))
    sessions.request_phone_call(appointment)
    live.notify_waiting_room(appointment)
    flash(_("The clerk will phone you at your appointment time."), "info")
    return redirect(url_for("call.join", token=token))
