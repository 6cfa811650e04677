"""The citizen's side of the video call: the join page (device check, waiting room, call) and ICE servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app import audit, tokens
from app.call import bp, sessions
from app.extensions import limiter


def appointment_or_404(token: str):
    appointment = tokens.appointment_by_join_token(token)
    if appointment is None:
        abort(404, _("This link is not valid. Check the latest email we sent you."))
    return appointment


@bp.get("/<token>")
@limiter.limit("60 per minute")
def join(token: str):
    appointment = appointment_or_404(token)
    window = sessions.join_window(appointment)
    service = appointment.service
    if window.state == "finished" and appointment.outcome:
        from flask import redirect, url_for

        return redirect(url_for("survey.survey", token=token))
    template = "call/join.html" if window.is_open else "call/not_open.html"
    return render_template(
        template, appointment=appointment, service=service, agency=service.agency, window=window, token=token
    )


@bp.get("/check")
def device_check():
    """The camera and microphone check on its own, offered right after booking."""
    return render_template("call/device_check.html")


@bp.get("/ice-servers")
@limiter.limit("30 per minute")
def ice_servers():
    """STUN and TURN servers for a participant of a call; TURN credentials expire."""
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
    return jsonify(iceServers=ice_server_list(user))


def ice_server_list(user: str, now: float | None = None) -> list[dict]:
    """coturn's REST scheme: username `<expiry>:<user>`, credential base64(HMAC-SHA1(secret, username))."""
    config = current_app.config
    servers = [{"urls": config["STUN_URLS"]}] if config["STUN_URLS"] else []
    if config["TURN_URLS"] and config["TURN_SECRET"]:
        expiry = int((now or time.time()) + config["TURN_TTL_SECONDS"])
        username = f"{expiry}:{user}"
        digest = hmac.new(config["TURN_SECRET"].encode(), username.encode(), hashlib.sha1).digest()
        servers.append(
            {
                "urls": config["TURN_URLS"],
                "username": username,
                "credential": base64.b64encode(digest).decode(),
            }
        )
    return servers


@bp.post("/<token>/phone-request")
@limiter.limit("5 per hour")
def phone_request(token: str):
    """The citizen cannot use a camera: the clerk console shows the request with the phone number."""
    from flask import flash, redirect, url_for

    from app.call import events
    from app.extensions import db

    appointment = appointment_or_404(token)
    if sessions.join_window(appointment).state in ("cancelled", "finished", "passed"):
        abort(409, _("This appointment is no longer open."))
    audit.record_for_appointment("call.phone_requested", appointment)
    db.session.commit()
    events.notify_waiting_room(appointment)
    flash(_("The clerk will phone you at your appointment time."), "info")
    return redirect(url_for("call.join", token=token))
