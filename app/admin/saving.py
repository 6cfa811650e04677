"""Saving an administration form, the same way on every admin page: the form's own checks, then
the domain's rules, version check and impact preview (app.administration, app.impact,
app.staff_admin), each refusal turned into what the page shows and its status."""

from __future__ import annotations

from collections.abc import Callable

from flask import request

from app import impact
from app.admin.forms import ImpactChoiceForm, VersionedForm
from app.administration import AdminInputError, StaleVersion
from app.staff_admin import StaffChangeRefused


def save_form(
    form: VersionedForm, save: Callable[[], object], agency_id: int | None = None
) -> tuple[str | None, int]:
    """Run `save` when the form is valid: (the message to show, the status of the page; 0 when
    saved). A value the rules refuse goes on its field (422), a stale form or a refused staff
    change is a message (409/422), and a change touching booked appointments or turns in line shows
    them (409). A refused form that carried an impact preview shows that list again (`agency_id`:
    whose appointments and turns)."""
    if request.method != "POST":
        return None, 200
    if not form.validate():
        if isinstance(form, ImpactChoiceForm) and agency_id is not None:
            form.show_impact(impact.listed(agency_id, form.previewed_keys()))
        return None, 422
    try:
        save()
    except AdminInputError as error:
        for field, message in error.fields.items():
            form[field].errors = [str(message)]
        return None, 422
    except StaleVersion as stale:
        return str(stale.message), 409
    except StaffChangeRefused as refused:
        return str(refused.message), refused.status
    except impact.ChoiceNeeded as needed:  # the preview: the admin decides before anything is saved
        form.show_impact(needed.affected)
        return None, 409
    return None, 0
