"""The staff administration pages: an agency's staff and invitations, inviting, a member's role
and deactivation, and the superadmin's new agency. Each view finds the object (404 for another
agency's), lets the form parse the fields and hands the values to app.staff_admin, which checks
the rules and the version and writes the audit record."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.saving import save_form
from app.admin.staff_forms import ROLE_LABELS, ActiveForm, InvitationForm, InviteForm, NewAgencyForm, RoleForm
from app.models import Agency, Staff, utcnow
from app.staff_admin import (
    agency_staff,
    assignable_roles,
    change_role,
    create_agency,
    invite_staff,
    pending_invitations,
    resend_invitation,
    revoke_invitation,
    set_active,
)
from app.web import (
    administered_agency_or_404,
    administered_invitation_or_404,
    administered_staff_or_404,
    staff_required,
)


def _with_roles(form, roles):
    form.role.choices = [(role, ROLE_LABELS[role]) for role in roles]
    return form


def _list_page(agency: Agency, message: str | None = None, status: int = 200):
    return render_template(
        "admin/staff_list.html",
        agency=agency,
        staff=agency_staff(agency),
        invitations=pending_invitations(agency),
        roles=ROLE_LABELS,
        form=InvitationForm(formdata=None),
        now=utcnow(),
        conflict=message,
    ), status


@bp.get("/agencies/<int:agency_id>/staff")
@staff_required("admin")
def staff_list(agency_id: int):
    return _list_page(administered_agency_or_404(agency_id))


@bp.route("/agencies/<int:agency_id>/staff/invite", methods=["GET", "POST"])
@staff_required("admin")
def invite(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    form = _with_roles(InviteForm(), assignable_roles(current_user))
    _message, status = save_form(form, lambda: invite_staff(agency, form.invitation(), current_user))
    if status == 0:
        flash(_("The invitation was sent to %(email)s.", email=form.email.data), "info")
        return redirect(url_for("admin.staff_list", agency_id=agency.id))
    return render_template("admin/staff_invite.html", agency=agency, form=form), status


def _member_page(staff: Staff, message: str | None = None, status: int = 200, role_form=None):
    role_form = role_form or RoleForm(formdata=None, obj=staff)
    roles = assignable_roles(current_user)
    return render_template(
        "admin/staff_member.html",
        member=staff,
        agency=staff.agency,
        role_form=_with_roles(role_form, roles if staff.role in roles else (*roles, staff.role)),
        active_form=ActiveForm(formdata=None, obj=staff),
        roles=ROLE_LABELS,
        conflict=message,
    ), status


@bp.get("/staff/<int:staff_id>")
@staff_required("admin")
def staff_member(staff_id: int):
    return _member_page(administered_staff_or_404(staff_id))


@bp.post("/staff/<int:staff_id>/role")
@staff_required("admin")
def staff_role(staff_id: int):
    staff = administered_staff_or_404(staff_id)
    form = _with_roles(RoleForm(), ROLE_LABELS)
    message, status = save_form(
        form, lambda: change_role(staff, form.role.data, form.version_number(), current_user)
    )
    if status == 0:
        flash(_("The role of %(name)s was saved.", name=staff.name), "info")
        return redirect(url_for("admin.staff_member", staff_id=staff.id))
    return _member_page(staff, message, status, role_form=form)


@bp.post("/staff/<int:staff_id>/active")
@staff_required("admin")
def staff_active(staff_id: int):
    staff = administered_staff_or_404(staff_id)
    form = ActiveForm()
    active = form.active.data == "1"
    message, status = save_form(form, lambda: set_active(staff, active, form.version_number(), current_user))
    if status == 0:
        done = (
            _("%(name)s can sign in again.")
            if active
            else _("%(name)s was signed out and can no longer sign in.")
        )
        flash(done % {"name": staff.name}, "info")
        return redirect(url_for("admin.staff_member", staff_id=staff.id))
    return _member_page(staff, message or _("Please correct the form and try again."), status)


@bp.post("/invitations/<int:invitation_id>/<any(resend, revoke):action>")
@staff_required("admin")
def invitation_action(invitation_id: int, action: str):
    invitation = administered_invitation_or_404(invitation_id)
    form = InvitationForm()
    change = resend_invitation if action == "resend" else revoke_invitation
    message, status = save_form(form, lambda: change(invitation, form.version_number(), current_user))
    if status == 0:
        done = _("The invitation was sent again.") if action == "resend" else _("The invitation was revoked.")
        flash(done, "info")
        return redirect(url_for("admin.staff_list", agency_id=invitation.agency_id))
    return _list_page(invitation.agency, message or _("Reload the page and try again."), status)


@bp.route("/agencies/new", methods=["GET", "POST"])
@staff_required("superadmin")
def new_agency():
    form = NewAgencyForm()
    created = []
    _message, status = save_form(form, lambda: created.append(create_agency(form.agency(), current_user)))
    if status == 0:
        agency, invitation, _token = created[0]
        flash(
            _("The agency was created and %(email)s was invited as its admin.", email=invitation.email),
            "info",
        )
        return redirect(url_for("admin.staff_list", agency_id=agency.id))
    return render_template("admin/agency_new.html", form=form), status
