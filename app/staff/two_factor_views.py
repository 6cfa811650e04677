"""Two-factor sign-in, the staff member's side: setting up an authenticator (at a required first
sign-in, or by choice from the account page), the recovery codes, turning it off."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import two_factor
from app.accounts import sign_in_after_enrolment
from app.staff import bp
from app.staff.forms import CodeForm, ProofForm
from app.staff.routes import begin_second_step, finish_second_step, pending_staff, sign_in_limit, start_again
from app.templating import local_date
from app.web import staff_required

PROOF_REFUSED = _l("Your password or code is not right.")


def _enrolling_staff():
    """The signed-in member, or the account halfway through a sign-in that must set one up."""
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return pending_staff()


@bp.route("/two-factor/enrol", methods=["GET", "POST"])
@sign_in_limit
def two_factor_enrol():
    staff = _enrolling_staff()
    if staff is None:
        return start_again()
    if two_factor.enrolled(staff):  # never a second authenticator with only the password
        return redirect(
            url_for("staff.two_factor_page" if current_user.is_authenticated else "staff.login_code")
        )
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(staff, form.code.data)
        except two_factor.CodeRefused:
            error = _("That code is not right. Enter the code your app shows now.")
        else:
            return _show_first_codes(staff, codes)
    elif request.method == "POST":
        error = str(form.code.errors[0])
    enrolment = two_factor.start_enrolment(staff)
    forced = not current_user.is_authenticated
    page = render_template(
        "staff/two_factor_enrol.html", form=form, enrolment=enrolment, error=error, forced=forced
    )
    return page, 422 if error else 200


def _show_first_codes(staff, codes: list[str]):
    next_url = url_for("staff.two_factor_page")
    if not current_user.is_authenticated:  # the first code was this sign-in's second step
        sign_in_after_enrolment(staff)
        next_url = finish_second_step(staff)
    flash(_("Two-factor sign-in is on."), "success")
    return render_template("staff/two_factor_codes.html", codes=codes, next_url=next_url)


@bp.get("/two-factor")
@staff_required("clerk")
def two_factor_page():
    return _account_page()


def _account_page(form: ProofForm | None = None, error: str | None = None, status: int = 200):
    staff = current_user._get_current_object()
    timezone = staff.agency.timezone if staff.agency else None
    enabled_on = local_date(staff.totp_enabled_at, timezone, "long") if staff.totp_enabled_at else None
    return render_template(
        "staff/two_factor.html",
        form=form or ProofForm(),
        error=error,
        enrolled=two_factor.enrolled(staff),
        required=two_factor.required(staff),
        enabled_on=enabled_on,
        codes_left=two_factor.unused_recovery_codes(staff),
    ), status


def _cannot_change(staff, form: ProofForm):
    """The answer when a change to two-factor sign-in cannot even be tried: it is off (409), or
    no password or code came (422); None when it can."""
    if not two_factor.enrolled(staff):
        return _account_page(form, _("Two-factor sign-in is not on."), 409)
    if not form.validate_on_submit():
        return _refused(form)
    return None


def _refused(form: ProofForm):
    if form.errors:
        return _account_page(form, str(next(iter(form.errors.values()))[0]), 422)
    return _account_page(form, str(PROOF_REFUSED), 403)


@bp.post("/two-factor/disable")
@sign_in_limit
@staff_required("clerk")
def two_factor_disable():
    staff, form = current_user._get_current_object(), ProofForm()
    if refusal := _cannot_change(staff, form):
        return refusal
    try:
        two_factor.disable(staff, form.proof.data)
    except two_factor.CodeRefused:
        return _refused(form)
    if two_factor.required(staff):  # a new authenticator in place of the old one, before anything else
        begin_second_step(staff)
        flash(_("Your role requires two-factor sign-in: set up your new authenticator now."), "info")
        return redirect(url_for("staff.two_factor_enrol"))
    flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("staff.two_factor_page"))


@bp.post("/two-factor/recovery-codes")
@sign_in_limit
@staff_required("clerk")
def two_factor_recovery_codes():
    staff, form = current_user._get_current_object(), ProofForm()
    if refusal := _cannot_change(staff, form):
        return refusal
    try:
        codes = two_factor.regenerate_recovery_codes(staff, form.proof.data)
    except two_factor.CodeRefused:
        return _refused(form)
    flash(_("New recovery codes: the old ones no longer work."), "success")
    return render_template(
        "staff/two_factor_codes.html", codes=codes, next_url=url_for("staff.two_factor_page")
    )
