"""Accepting a staff invitation: the e-mailed link opens a page where the invitee gives their name
and chooses a password (the password policy applies); then they sign in."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import limiter
from app.password_policy import PasswordRefused
from app.staff import bp
from app.staff.forms import AcceptInvitationForm
from app.staff_admin import InvitationUsed, StaffChangeRefused, accept_invitation, invitation_by_token

INVITATION_LINK_GONE = _l(
    "This invitation link is not valid or has expired. Ask your agency's admin to send it again."
)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/invitation", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def accept_invitation_page():
    form = AcceptInvitationForm(token=request.args.get("token"))
    invitation = invitation_by_token(form.token.data)
    if invitation is None:
        abort(404, str(INVITATION_LINK_GONE))
    if request.method == "GET":
        form.name.data = form.name.data or invitation.name
    error = None
    if form.validate_on_submit():
        try:
            accept_invitation(invitation, form.name.data, form.new_password.data)
        except PasswordRefused as refused:
            error = str(refused.message)
        except InvitationUsed:
            abort(404, str(INVITATION_LINK_GONE))
        except StaffChangeRefused as refused:
            abort(refused.status, str(refused.message))
        else:
            flash(_("Your account is ready. Sign in with your e-mail and the password you chose."), "success")
            return redirect(url_for("staff.login"))
    elif request.method == "POST":
        error = next((str(errors[0]) for errors in form.errors.values() if errors), None)
    status = 422 if error else 200
    return render_template("staff/invitation.html", form=form, invitation=invitation, error=error), status
