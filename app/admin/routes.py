"""The administration pages: home, the agency's settings, its offices. Each view finds the object
(404 for another agency's), lets the form parse the fields, and hands the values to
app.administration, which checks the rules, the version and writes the audit record."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import AgencySettingsForm, OfficeForm
from app.admin.saving import save_form
from app.administration import (
    administered_agencies,
    agency_offices,
    create_office,
    update_agency_settings,
    update_office,
)
from app.web import administered_agency_or_404, administered_office_or_404, staff_required


@bp.get("/")
@staff_required("admin")
def home():
    return render_template("admin/home.html", agencies=administered_agencies(current_user))


@bp.route("/agencies/<int:agency_id>/settings", methods=["GET", "POST"])
@staff_required("admin")
def agency_settings(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    form = AgencySettingsForm(obj=agency) if request.method == "GET" else AgencySettingsForm()
    conflict, status = save_form(
        form, lambda: update_agency_settings(agency, form.settings(), form.version_number(), current_user)
    )
    if status == 0:
        flash(_("The agency's settings were saved."), "info")
        return redirect(url_for("admin.agency_settings", agency_id=agency.id))
    return render_template("admin/agency.html", agency=agency, form=form, conflict=conflict), status


@bp.get("/agencies/<int:agency_id>/offices")
@staff_required("admin")
def offices(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    return render_template("admin/offices.html", agency=agency, offices=agency_offices(agency))


@bp.route("/agencies/<int:agency_id>/offices/new", methods=["GET", "POST"])
@staff_required("admin")
def new_office(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    form = OfficeForm()
    _conflict, status = save_form(form, lambda: create_office(agency, form.office(), current_user))
    if status == 0:
        flash(_("The office was added."), "info")
        return redirect(url_for("admin.offices", agency_id=agency.id))
    return render_template("admin/office.html", agency=agency, office=None, form=form), status


@bp.route("/offices/<int:office_id>", methods=["GET", "POST"])
@staff_required("admin")
def edit_office(office_id: int):
    office = administered_office_or_404(office_id)
    if request.method == "GET":
        form = OfficeForm(obj=office, kind="remote" if office.is_remote else "physical")
    else:
        form = OfficeForm()
    conflict, status = save_form(
        form,
        lambda: update_office(office, form.office(), form.version_number(), current_user, form.decision()),
        office.agency_id,
    )
    if status == 0:
        flash(_("The office was saved."), "info")
        return redirect(url_for("admin.offices", agency_id=office.agency_id))
    return render_template(
        "admin/office.html", agency=office.agency, office=office, form=form, conflict=conflict
    ), status
