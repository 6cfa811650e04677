"""The citizen's pages: take a same-day turn, then follow it on its status page (cancel, move back).

Everything works with plain requests; turn-status.js only refreshes the status page's live parts
when the server pushes a change over Socket.IO.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app import queue
from app.extensions import limiter
from app.links import turn_status_url
from app.tokens import turn_by_status_token
from app.turns import bp
from app.turns.forms import ActionForm, CancelTurnForm, TakeTurnForm


def _take_limit() -> str:
    return current_app.config.get("QUEUE_TAKE_RATE_LIMIT", "20 per hour")


def _service_or_404(slug: str):
    service = queue.takeable_service(slug)
    if service is None:
        abort(404, _("There is no service with that name."))
    return service


@bp.route("/<slug>", methods=["GET", "POST"])
@limiter.limit(_take_limit, methods=["POST"])
def take(slug: str):
    service = _service_or_404(slug)
    form = TakeTurnForm()
    if request.method == "GET":
        form.language.data = str(get_locale() or "es")
    state = queue.availability(service)
    context = dict(service=service, agency=service.agency, form=form, state=state)
    if request.method == "GET":
        return render_template("turns/take.html", **context)
    if state.closed is not None:
        return render_template("turns/take.html", **context), state.closed.status
    if not form.validate():
        return render_template("turns/take.html", **context), 422
    try:
        taken = queue.take_turn(
            queue.TurnRequest(
                service=service,
                name=form.name.data,
                phone=form.phone.data,
                reason=form.reason.data.strip(),
                language=form.language.data,
            )
        )
    except queue.TurnsClosed as closed:
        context["state"] = queue.Availability(closed, state.people_in_line, state.estimate)
        return render_template("turns/take.html", **context), closed.status
    except queue.TurnError as error:
        return render_template("turns/take.html", error=error.message, **context), error.status
    flash(_("Your turn is %(code)s. Keep the link of this page to follow it.", code=taken.turn.code), "info")
    return redirect(url_for("turns.status", token=taken.token))


def _turn_or_404(token: str):
    turn = turn_by_status_token(token)
    if turn is None:
        abort(404, _("This turn link is not valid or has expired."))
    return turn


def render_status(token: str, turn, status: int = 200, **context):
    # Personal: sent no-store, like every page of this blueprint (app/security.py).
    return current_app.make_response(
        (
            render_template(
                "turns/status.html",
                token=token,
                view=queue.view_turn(turn),
                turn=turn,
                service=turn.service,
                agency=turn.service.agency,
                link=turn_status_url(token),
                cancel_form=context.pop("cancel_form", None) or CancelTurnForm(formdata=None),
                action_form=ActionForm(formdata=None),
                can_move_back=queue.can_move_back(turn),
                **context,
            ),
            status,
        )
    )


@bp.get("/status/<token>")
def status(token: str):
    return render_status(token, _turn_or_404(token))


@bp.post("/status/<token>/cancel")
def cancel(token: str):
    turn = _turn_or_404(token)
    form = CancelTurnForm()
    if not form.validate():
        return render_status(token, turn, 422, cancel_form=form)
    try:
        queue.cancel_turn(turn)
    except queue.TurnError as error:
        return render_status(token, turn, error.status, error=error.message)
    flash(_("Your turn is cancelled."), "info")
    return redirect(url_for("turns.status", token=token))


@bp.post("/status/<token>/move-back")
def move_back(token: str):
    turn = _turn_or_404(token)
    try:
        queue.move_back(turn)
    except queue.TurnError as error:
        return render_status(token, turn, error.status, error=error.message)
    flash(_("Your turn moved to the end of the line."), "info")
    return redirect(url_for("turns.status", token=token))
