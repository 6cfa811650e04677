"""Staff passwords: the signed-in member's password change, and the reset by e-mailed link."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts import WrongPassword, change_password
from app.extensions import limiter
from app.password_policy import PasswordRefused
from app.password_reset import ResetLinkUsed, request_reset, reset_by_token, reset_password
from app.staff import bp
from app.staff.forms import ForgotPasswordForm, PasswordChangeForm, ResetPasswordForm
from app.web import staff_required, start_staff_session

RESET_LINK_GONE = _l("This password reset link is not valid or has expired. Ask for a new one.")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


def _first_error(form) -> str:
    messages = (str(errors[0]) for errors in form.errors.values() if errors)
    return next(messages, _("Please correct the form and try again."))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@staff_required("clerk")
def change_password_page():
    form = PasswordChangeForm()
    error = None
    if form.validate_on_submit():
        staff = current_user._get_current_object()
        try:
            change_password(staff, form.current_password.data, form.new_password.data)
        except WrongPassword:
            error = _("Your current password is not correct.")
        except PasswordRefused as refused:
            error = str(refused.message)
        else:
            start_staff_session(staff)  # every other session of the account has ended
            flash(_("Your password has been changed. Your other sessions have ended."), "success")
            return redirect(url_for("staff.console"))
    elif request.method == "POST":
        error = _first_error(form)
    status = 422 if error else 200
    return render_template("staff/password_change.html", form=form, error=error), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_reset(form.email.data, str(get_locale() or "es"))
        return render_template("staff/password_forgot.html", form=form, sent=True)
    error = _first_error(form) if request.method == "POST" else None
    status = 422 if error else 200
    return render_template("staff/password_forgot.html", form=form, error=error), status


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset_password_page():
    form = ResetPasswordForm(token=request.args.get("token"))
    reset = reset_by_token(form.token.data)
    if reset is None:
        abort(404, str(RESET_LINK_GONE))
    error = None
    if form.validate_on_submit():
        try:
            reset_password(reset, form.new_password.data)
        except PasswordRefused as refused:
            error = str(refused.message)
        except ResetLinkUsed:
            abort(404, str(RESET_LINK_GONE))
        else:
            flash(_("Your password has been changed. Sign in with it."), "success")
            return redirect(url_for("staff.login"))
    elif request.method == "POST":
        error = _first_error(form)
    status = 422 if error else 200
    return render_template("staff/password_reset.html", form=form, error=error), status
