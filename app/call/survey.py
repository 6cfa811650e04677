"""After the call: the citizen sees how the appointment ended and answers a one-question survey.

Reached with the join token (`/call/<token>/survey`), once the clerk has recorded an outcome;
before that it sends the citizen back to the call page. One answer per appointment: the
database's unique constraint decides, so a double submit stores one and answers 409 to the other.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from app.extensions import limiter
from app.forms import free_text, one_of
from app.models import Appointment
from app.surveys import MAX_COMMENT, RATINGS, answer_of, record_answer
from app.tokens import appointment_for_survey

bp = Blueprint("survey", __name__)


class SurveyForm(FlaskForm):
    rating = one_of(
        _l("How satisfied are you with the service you received?"),
        RATINGS,
        _l("Choose a number from 1 to 5."),
    )
    comment = free_text(_l("Comment (optional)"), MAX_COMMENT)


def survey_appointment_or_404(token: str) -> Appointment:
    """The appointment of this join link, or abort 404 when the link is unknown or long expired."""
    appointment = appointment_for_survey(token)
    if appointment is None:
        abort(404, _("This link is not valid. Check the latest email we sent you."))
    return appointment


def _page(appointment: Appointment, token: str, form: SurveyForm, status: int = 200, **context):
    service = appointment.service
    return render_template(
        "call/survey.html",
        appointment=appointment,
        service=service,
        agency=service.agency,
        token=token,
        form=form,
        ratings=RATINGS,
        answer=answer_of(appointment),
        **context,
    ), status


@bp.route("/<token>/survey", methods=["GET", "POST"])
@limiter.limit("60 per minute")
@limiter.limit("20 per hour", methods=["POST"])
def survey(token: str):
    appointment = survey_appointment_or_404(token)
    if not appointment.outcome:
        return redirect(url_for("call.join", token=token))
    form = SurveyForm()
    if request.method == "GET":
        return _page(appointment, token, form)
    if answer_of(appointment) is not None:
        return _page(appointment, token, form, 409, error=_("You already answered this survey. Thank you!"))
    if not form.validate_on_submit():
        return _page(appointment, token, form, 422)
    if not record_answer(appointment, int(form.rating.data), (form.comment.data or "").strip()):
        return _page(appointment, token, form, 409, error=_("You already answered this survey. Thank you!"))
    flash(_("Thank you for your answer."), "info")
    return redirect(url_for("survey.survey", token=token))
