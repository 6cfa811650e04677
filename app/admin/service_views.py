"""The service pages of the administration: an agency's services, one service's settings and
offices, and its document requirements (add, change, remove, move). Each view finds the object
(404 for another agency's), lets the form parse the fields and hands the values to
app.service_admin, which checks the rules and the version and writes the audit record."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.saving import save_form
from app.admin.service_forms import RequirementForm, RequirementMoveForm, ServiceForm
from app.models import Agency, Service
from app.service_admin import (
    add_requirement,
    agency_services,
    create_service,
    move_requirement,
    remove_requirement,
    update_requirement,
    update_service,
)
from app.web import (
    administered_agency_or_404,
    administered_requirement_or_404,
    administered_service_or_404,
    staff_required,
)

# What a new service's form starts with: the columns' defaults.
NEW_SERVICE = {"slot_minutes": 20, "capacity_per_slot": 1, "lead_time_minutes": 120, "horizon_days": 30}


@bp.get("/agencies/<int:agency_id>/services")
@staff_required("admin")
def services(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    return render_template("admin/services.html", agency=agency, services=agency_services(agency))


@bp.route("/agencies/<int:agency_id>/services/new", methods=["GET", "POST"])
@staff_required("admin")
def new_service(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    form = ServiceForm(data=NEW_SERVICE) if request.method == "GET" else ServiceForm()
    form.offer_offices(agency.offices)
    created = []
    _conflict, status = save_form(
        form, lambda: created.append(create_service(agency, form.service(), current_user))
    )
    if status == 0:
        flash(_("The service was added. Add the documents it asks for, if any."), "info")
        return redirect(url_for("admin.edit_service", service_id=created[0].id))
    return render_service(agency, None, form, None, status)


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@staff_required("admin")
def edit_service(service_id: int):
    service = administered_service_or_404(service_id)
    form = ServiceForm(obj=service) if request.method == "GET" else ServiceForm()
    form.offer_offices(service.agency.offices)
    conflict, status = save_form(
        form,
        lambda: update_service(service, form.service(), form.version_number(), current_user, form.decision()),
        service.agency_id,
    )
    if status == 0:
        flash(_("The service was saved."), "info")
        return redirect(url_for("admin.edit_service", service_id=service.id))
    return render_service(service.agency, service, form, conflict, status)


def stored_service_form(service: Service) -> ServiceForm:
    """The service's form as stored, beside a refused removal or move of one of its documents."""
    form = ServiceForm(formdata=None, obj=service)
    form.offer_offices(service.agency.offices)
    return form


def render_service(agency: Agency, service: Service | None, form: ServiceForm, conflict, status: int):
    return render_template(
        "admin/service.html",
        agency=agency,
        service=service,
        form=form,
        conflict=conflict,
        move_form=RequirementMoveForm(formdata=None, version=service.version if service else None),
    ), status


@bp.route("/services/<int:service_id>/requirements/new", methods=["GET", "POST"])
@staff_required("admin")
def new_requirement(service_id: int):
    service = administered_service_or_404(service_id)
    form = (
        RequirementForm(version=service.version, data={"max_pages": 10}) if request.method == "GET" else None
    )
    return requirement_page(service, None, form, add_requirement, _("The document was added."))


@bp.route("/requirements/<int:requirement_id>", methods=["GET", "POST"])
@staff_required("admin")
def edit_requirement(requirement_id: int):
    requirement = administered_requirement_or_404(requirement_id)
    service = requirement.service
    form = RequirementForm(obj=requirement, version=service.version) if request.method == "GET" else None
    return requirement_page(service, requirement, form, update_requirement, _("The document was saved."))


def requirement_page(service: Service, requirement, form: RequirementForm | None, save, saved: str):
    """A requirement's page: the form (`form` on GET; the posted one otherwise) and its save with
    `save(service or requirement, values, version, actor)`."""
    form = form or RequirementForm()
    target = requirement or service
    conflict, status = save_form(
        form, lambda: save(target, form.requirement(), form.version_number(), current_user)
    )
    if status == 0:
        flash(saved, "info")
        return redirect(url_for("admin.edit_service", service_id=service.id))
    return render_template(
        "admin/service_requirement.html", service=service, agency=service.agency, requirement=requirement,
        form=form, conflict=conflict,
    ), status  # fmt: skip


@bp.post("/requirements/<int:requirement_id>/remove")
@staff_required("admin")
def remove_requirement_page(requirement_id: int):
    requirement = administered_requirement_or_404(requirement_id)
    service = requirement.service
    form = RequirementMoveForm()
    conflict, status = save_form(
        form, lambda: remove_requirement(requirement, form.version_number(), current_user)
    )
    if status == 0:
        flash(_("The service no longer asks for that document. Documents already sent are kept."), "info")
        return redirect(url_for("admin.edit_service", service_id=service.id))
    return render_service(service.agency, service, stored_service_form(service), conflict, status)


@bp.post("/requirements/<int:requirement_id>/move")
@staff_required("admin")
def move_requirement_page(requirement_id: int):
    requirement = administered_requirement_or_404(requirement_id)
    service = requirement.service
    form = RequirementMoveForm()
    conflict, status = save_form(
        form, lambda: move_requirement(requirement, form.step(), form.version_number(), current_user)
    )
    if status == 0:
        return redirect(url_for("admin.edit_service", service_id=service.id, _anchor="documents"))
    return render_service(service.agency, service, stored_service_form(service), conflict, status)
