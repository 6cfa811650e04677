"""The administration pages of when an agency serves: an office's opening hours (the whole week on
one page), the agency's closures (list, add, delete), and the month preview of an office's
bookable days. The rules are app.opening_hours', app.closures' and app.month_calendar's; saving
goes through the same `save_form` as the other admin pages (version check, impact preview)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.saving import save_form
from app.admin.schedule_forms import ClosureForm, OpeningHoursForm
from app.administration import AdminInputError, agency_offices
from app.closures import agency_closures, agency_today, create_closure, delete_closure
from app.month_calendar import office_month
from app.opening_hours import HoursRefused, office_week, save_opening_hours, services_at, weekday_names
from app.web import (
    administered_agency_or_404,
    administered_closure_or_404,
    administered_office_or_404,
    parse_month,
    staff_required,
)


@bp.route("/offices/<int:office_id>/hours", methods=["GET", "POST"])
@staff_required("admin")
def office_hours(office_id: int):
    office = administered_office_or_404(office_id)
    if request.method == "GET":
        form = OpeningHoursForm.for_week(office_week(office), office.hours_version)
    else:
        form = OpeningHoursForm()

    def save():
        try:
            save_opening_hours(office, form.week(), form.version_number(), current_user, form.decision())
        except HoursRefused as refused:
            form.show_problems(refused.problems)
            raise AdminInputError({}) from None  # the messages are on their rows: a 422, nothing saved

    conflict, status = save_form(form, save, office.agency_id)
    if status == 0:
        flash(_("The opening hours were saved."), "info")
        return redirect(url_for("admin.office_hours", office_id=office.id))
    return render_template(
        "admin/hours.html",
        agency=office.agency,
        office=office,
        form=form,
        conflict=conflict,
        services=services_at(office),
        weekday_names=weekday_names(),
    ), status


@bp.get("/offices/<int:office_id>/calendar")
@staff_required("admin")
def office_calendar(office_id: int):
    office = administered_office_or_404(office_id)
    month = parse_month(request.args.get("month"), default=agency_today(office.agency).replace(day=1))
    if month is None:
        abort(404)
    return render_template(
        "admin/hours_calendar.html",
        agency=office.agency,
        office=office,
        calendar=office_month(office, services_at(office), month),
        today=agency_today(office.agency),
    )


@bp.get("/agencies/<int:agency_id>/closures")
@staff_required("admin")
def closures(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    upcoming, past = agency_closures(agency, agency_today(agency))
    return render_template("admin/closures.html", agency=agency, upcoming=upcoming, past=past)


@bp.route("/agencies/<int:agency_id>/closures/new", methods=["GET", "POST"])
@staff_required("admin")
def new_closure(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    form = ClosureForm()
    form.offer_offices(agency_offices(agency))

    def save():
        office = _agency_office_or_404(agency, form.office_id())
        create_closure(agency, office, form.closure(), current_user, form.decision())

    _conflict, status = save_form(form, save, agency.id)
    if status == 0:
        flash(_("The closure was added."), "info")
        return redirect(url_for("admin.closures", agency_id=agency.id))
    return render_template("admin/closure.html", agency=agency, form=form), status


@bp.route("/closures/<int:closure_id>/delete", methods=["GET", "POST"])
@staff_required("admin")
def delete_closure_page(closure_id: int):
    closure = administered_closure_or_404(closure_id)
    agency = administered_agency_or_404(closure.agency_id)
    if request.method == "POST":
        if request.form.get("confirm") == "yes":
            delete_closure(closure, current_user)
            flash(_("The closure was deleted."), "info")
            return redirect(url_for("admin.closures", agency_id=agency.id))
        error = _("Nothing was deleted: use the button below to delete the closure.")
        return render_template("admin/closure_delete.html", agency=agency, closure=closure, error=error), 422
    return render_template("admin/closure_delete.html", agency=agency, closure=closure, error=None)


def _agency_office_or_404(agency, office_id: int | None):
    """The office a closure is for (None: the whole agency); another agency's office is no office."""
    if office_id is None:
        return None
    office = administered_office_or_404(office_id)
    if office.agency_id != agency.id:
        abort(404)
    return office
