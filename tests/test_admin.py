"""The administration pages (issue 11, items 2 and 7): agency settings and offices, validated on
the server with a message on the field, scoped to the admin's agency (another agency's object is
404 and stays unchanged), refused when someone else saved first (409), and audited."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Agency, Office
from tests.support.admin import (
    DTOP_ADMIN,
    RETIRO_ADMIN,
    add_superadmin,
    agency_id,
    audit_events,
    office_id,
    sign_in,
)


@pytest.fixture
def admin_client(app, client, seeded):
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    return client


def settings_form(app, slug="dtop", **overrides) -> dict:
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == slug))
        data = {
            "name_es": agency.name_es,
            "name_en": agency.name_en,
            "timezone": agency.timezone,
            "observes_pr_holidays": "y",
            "contact_email": "",
            "contact_phone": "",
            "banner_es": "",
            "banner_en": "",
            "version": str(agency.version),
        }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def office_form(app, slug=None, **overrides) -> dict:
    data = {"name_es": "CESCO Caguas", "name_en": "CESCO Caguas", "kind": "physical", "active": "y"}
    data["address"], data["municipality"] = "Calle Demo 300, Caguas, PR 00725", "Caguas"
    if slug:
        with app.app_context():
            office = db.session.scalar(sa.select(Office).where(Office.slug == slug))
            data.update(
                name_es=office.name_es,
                name_en=office.name_en,
                kind="remote" if office.is_remote else "physical",
                address=office.address or "",
                municipality=office.municipality or "",
                version=str(office.version),
            )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def stored(app, model, slug):
    with app.app_context():
        row = db.session.scalar(sa.select(model).where(model.slug == slug))
        db.session.expunge(row)
        return row


# --- Home -----------------------------------------------------------------------------------------------


def test_the_admin_home_lists_what_the_admin_can_administer(app, admin_client):
    response = admin_client.get("/admin/")
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    dtop = agency_id(app, "dtop")
    assert f"/admin/agencies/{dtop}/settings" in page
    assert f"/admin/agencies/{dtop}/offices" in page
    assert f"/admin/agencies/{agency_id(app, 'retiro')}/" not in page


def test_the_superadmin_home_lists_every_agency(app, client, seeded):
    sign_in(client, *add_superadmin(app))
    page = client.get("/admin/").get_data(as_text=True)
    for slug in ("dtop", "retiro", "cfse"):
        assert f"/admin/agencies/{agency_id(app, slug)}/settings" in page


def test_the_administration_link_is_shown_to_admins_only(app, client, seeded):
    sign_in(client, "clerk@dtop.demo.ventanilla.pr", seeded["clerk@dtop.demo.ventanilla.pr"])
    assert 'href="/admin/"' not in client.get("/staff/").get_data(as_text=True)
    client.post("/staff/logout")
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert 'href="/admin/"' in client.get("/staff/").get_data(as_text=True)


# --- Agency settings ------------------------------------------------------------------------------------


def test_the_agency_settings_are_saved_and_audited_with_old_and_new_values(app, admin_client):
    url = f"/admin/agencies/{agency_id(app, 'dtop')}/settings"
    form = settings_form(
        app,
        name_en="Department of Transportation",
        timezone="America/New_York",
        observes_pr_holidays=None,
        contact_email=" Ayuda@DTOP.pr ",
        contact_phone="787 555 0199",
        banner_es="Cerrado el viernes por mantenimiento.",
        banner_en="Closed Friday for maintenance.",
    )
    response = admin_client.post(url, data=form)
    assert response.status_code == 302
    agency = stored(app, Agency, "dtop")
    assert agency.name_en == "Department of Transportation"
    assert agency.timezone == "America/New_York"
    assert agency.observes_pr_holidays is False
    assert agency.contact_email == "ayuda@dtop.pr"
    assert agency.contact_phone == "+17875550199"
    assert agency.banner_en == "Closed Friday for maintenance."
    assert agency.version == int(form["version"]) + 1
    (event,) = audit_events(app, "agency.settings_changed")
    assert event.agency_id == agency.id and event.object_id == agency.id and event.actor_staff_id is not None
    assert event.detail["changes"]["timezone"] == ["America/Puerto_Rico", "America/New_York"]
    assert event.detail["changes"]["observes_pr_holidays"] == [True, False]
    assert "name_es" not in event.detail["changes"]  # only what changed


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("name_es", "   ", "Enter the agency's name in Spanish."),
        ("name_en", "x" * 201, "Write at most 200 characters."),
        ("timezone", "Mars/Olympus_Mons", "Choose a time zone from the list."),
        ("contact_email", "a@b", None),
        ("contact_phone", "12", None),
        ("banner_es", "x" * 301, "Write at most 300 characters."),
        ("banner_en", "cerrado\x00", "Remove the special characters from this field."),
    ],
)
def test_a_refused_setting_gets_a_message_on_its_field_and_nothing_is_saved(
    app, admin_client, field, value, message
):
    before = stored(app, Agency, "dtop")
    form = settings_form(app, **{"banner_es": "Aviso nuevo", field: value})
    response = admin_client.post(
        f"/admin/agencies/{before.id}/settings", data=form, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert f'id="{field}-error"' in page
    if message:
        assert message in page
    after = stored(app, Agency, "dtop")
    assert (after.banner_es, after.version) == (before.banner_es, before.version)
    assert audit_events(app, "agency.settings_changed") == []


def test_a_refused_setting_is_explained_in_spanish(app, admin_client):
    form = settings_form(app, name_es="")
    response = admin_client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/settings", data=form)
    assert response.status_code == 422
    assert "Escriba el nombre de la agencia en español." in response.get_data(as_text=True)


def test_a_stale_settings_form_is_refused_with_a_conflict_and_changes_nothing(app, client, seeded):
    """Two admins open the settings; the first saves; the second's save is refused (409)."""
    first_form = settings_form(app, banner_es="Cerrado el viernes.")
    second_form = settings_form(app, banner_es="Abierto el sábado.")
    url = f"/admin/agencies/{agency_id(app, 'dtop')}/settings"
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert client.post(url, data=first_form).status_code == 302
    response = client.post(url, data=second_form, headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert "Someone else changed this while you were editing it" in response.get_data(as_text=True)
    assert stored(app, Agency, "dtop").banner_es == "Cerrado el viernes."
    assert len(audit_events(app, "agency.settings_changed")) == 1


def test_a_settings_post_without_a_version_is_refused(app, admin_client):
    form = settings_form(app, banner_es="Sin versión", version=None)
    response = admin_client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/settings", data=form)
    assert response.status_code == 409
    assert stored(app, Agency, "dtop").banner_es == ""


def test_a_forged_settings_post_for_another_agency_is_404_and_changes_nothing(app, admin_client):
    retiro = stored(app, Agency, "retiro")
    form = settings_form(app, slug="retiro", name_es="Secuestrada")
    response = admin_client.post(f"/admin/agencies/{retiro.id}/settings", data=form)
    assert response.status_code == 404
    assert stored(app, Agency, "retiro").name_es == retiro.name_es
    assert admin_client.get(f"/admin/agencies/{retiro.id}/settings").status_code == 404


def test_the_superadmin_edits_any_agency(app, client, seeded):
    sign_in(client, *add_superadmin(app))
    form = settings_form(app, slug="cfse", banner_es="Aviso de la CFSE")
    assert client.post(f"/admin/agencies/{agency_id(app, 'cfse')}/settings", data=form).status_code == 302
    assert stored(app, Agency, "cfse").banner_es == "Aviso de la CFSE"


# --- The banner and the contact on the agency's public pages --------------------------------------------


def test_the_banner_and_contact_are_shown_on_the_agencys_public_pages(app, admin_client):
    form = settings_form(
        app,
        banner_es="Cerrado el viernes por mantenimiento.",
        banner_en="Closed Friday for maintenance.",
        contact_email="ayuda@dtop.pr",
        contact_phone="787-555-0199",
    )
    assert (
        admin_client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/settings", data=form).status_code == 302
    )
    citizen = app.test_client()
    spanish = citizen.get("/agencies/dtop", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Cerrado el viernes por mantenimiento." in spanish
    assert "mailto:ayuda@dtop.pr" in spanish and "(787) 555-0199" in spanish
    english = citizen.get("/agencies/dtop", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Closed Friday for maintenance." in english
    for path in ("/services/certificacion-individuo", "/book/certificacion-individuo"):
        page = citizen.get(path, headers={"Accept-Language": "es"}).get_data(as_text=True)
        assert "Cerrado el viernes por mantenimiento." in page, path
    other = citizen.get("/agencies/retiro").get_data(as_text=True)
    assert "data-agency-banner" not in other and "Cerrado el viernes" not in other


def test_no_banner_is_shown_when_there_is_none(app, seeded, client):
    assert "data-agency-banner" not in client.get("/agencies/dtop").get_data(as_text=True)


# --- Offices --------------------------------------------------------------------------------------------


def test_the_office_list_shows_the_agencys_offices_only(app, admin_client):
    page = admin_client.get(f"/admin/agencies/{agency_id(app, 'dtop')}/offices").get_data(as_text=True)
    assert "CESCO Bayamón" in page and "CESCO Remoto" in page
    assert "Orientación telefónica" not in page


def test_an_office_is_created_and_audited(app, admin_client):
    dtop = agency_id(app, "dtop")
    assert admin_client.get(f"/admin/agencies/{dtop}/offices/new").status_code == 200
    response = admin_client.post(f"/admin/agencies/{dtop}/offices/new", data=office_form(app))
    assert response.status_code == 302
    office = stored(app, Office, "cesco-caguas")
    assert (office.agency_id, office.is_remote, office.active, office.municipality) == (
        dtop,
        False,
        True,
        "Caguas",
    )
    (event,) = audit_events(app, "office.created")
    assert event.object_id == office.id and event.detail["changes"]["name_es"] == [None, "CESCO Caguas"]


def test_two_offices_of_the_same_name_get_different_slugs(app, admin_client):
    dtop = agency_id(app, "dtop")
    form = office_form(app, name_es="CESCO Bayamón", name_en="CESCO Bayamon")
    assert admin_client.post(f"/admin/agencies/{dtop}/offices/new", data=form).status_code == 302
    with app.app_context():
        slugs = set(db.session.scalars(sa.select(Office.slug).where(Office.name_es == "CESCO Bayamón")))
    assert slugs == {"cesco-bayamon", "cesco-bayamon-2"}


def test_an_office_is_edited_deactivated_and_audited(app, admin_client):
    bayamon = office_id(app, "cesco-bayamon")
    assert admin_client.get(f"/admin/offices/{bayamon}").status_code == 200
    form = office_form(app, slug="cesco-bayamon", address="Avenida Nueva 1, Bayamón", active=None)
    assert admin_client.post(f"/admin/offices/{bayamon}", data=form).status_code == 302
    office = stored(app, Office, "cesco-bayamon")
    assert (office.address, office.active) == ("Avenida Nueva 1, Bayamón", False)
    (event,) = audit_events(app, "office.changed")
    assert event.detail["changes"] == {
        "address": ["Avenida Demo 200, Bayamón, PR 00961", "Avenida Nueva 1, Bayamón"],
        "active": [True, False],
    }


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"name_es": ""}, "name_es", "Enter the office's name in Spanish."),
        ({"name_en": "x" * 201}, "name_en", "Write at most 200 characters."),
        ({"kind": "underwater"}, "kind", "Choose the kind of office."),
        ({"kind": None}, "kind", "Choose the kind of office."),
        ({"address": ""}, "address", "Enter the address of an office citizens visit."),
        ({"municipality": "x" * 81}, "municipality", "Write at most 80 characters."),
    ],
)
def test_a_refused_office_gets_a_message_on_its_field_and_nothing_is_saved(
    app, admin_client, overrides, field, message
):
    dtop = agency_id(app, "dtop")
    response = admin_client.post(
        f"/admin/agencies/{dtop}/offices/new",
        data=office_form(app, **overrides),
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert f'id="{field}-error"' in page and message in page
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(Office).where(Office.agency_id == dtop))
            == 3
        )
    assert audit_events(app, "office.created") == []


def test_a_remote_office_needs_no_address(app, admin_client):
    form = office_form(app, name_es="Remoto 2", kind="remote", address="")
    assert (
        admin_client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/offices/new", data=form).status_code
        == 302
    )
    assert stored(app, Office, "remoto-2").is_remote is True


def test_a_stale_office_form_is_refused_with_a_conflict(app, admin_client):
    bayamon = office_id(app, "cesco-bayamon")
    first = office_form(app, slug="cesco-bayamon", name_en="First")
    second = office_form(app, slug="cesco-bayamon", name_en="Second")
    assert admin_client.post(f"/admin/offices/{bayamon}", data=first).status_code == 302
    response = admin_client.post(f"/admin/offices/{bayamon}", data=second)
    assert response.status_code == 409
    assert "Alguien más cambió esto" in response.get_data(as_text=True)
    assert stored(app, Office, "cesco-bayamon").name_en == "First"


def test_a_forged_office_post_for_another_agency_is_404_and_changes_nothing(app, admin_client):
    theirs = office_id(app, "orientacion-telefonica")
    form = office_form(app, slug="orientacion-telefonica", name_es="Secuestrada", kind="remote")
    assert admin_client.post(f"/admin/offices/{theirs}", data=form).status_code == 404
    assert admin_client.get(f"/admin/offices/{theirs}").status_code == 404
    retiro = agency_id(app, "retiro")
    assert (
        admin_client.post(f"/admin/agencies/{retiro}/offices/new", data=office_form(app)).status_code == 404
    )
    assert stored(app, Office, "orientacion-telefonica").name_es == "Orientación telefónica"
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Office).where(Office.agency_id == retiro)
            )
            == 1
        )
    assert audit_events(app, "office.changed") == audit_events(app, "office.created") == []


def test_another_agencys_admin_is_refused_with_404(app, client, seeded):
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    assert client.get(f"/admin/offices/{office_id(app, 'cesco-bayamon')}").status_code == 404


# --- Bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["name_es", "name_en", "timezone", "contact_email", "contact_phone", "banner_es", "version"]
)
def test_a_nul_byte_in_any_settings_field_is_refused_and_saves_nothing(app, admin_client, field):
    before = stored(app, Agency, "dtop")
    form = settings_form(app, banner_es="Aviso")
    form[field] = (form.get(field) or "x") + "\x00"
    response = admin_client.post(f"/admin/agencies/{before.id}/settings", data=form)
    assert response.status_code == (409 if field == "version" else 422)
    assert (stored(app, Agency, "dtop").banner_es, stored(app, Agency, "dtop").version) == (
        "",
        before.version,
    )


@pytest.mark.parametrize("field", ["name_es", "name_en", "kind", "address", "municipality", "version"])
def test_a_nul_byte_in_any_office_field_is_refused_and_saves_nothing(app, admin_client, field):
    bayamon = office_id(app, "cesco-bayamon")
    form = office_form(app, slug="cesco-bayamon", name_en="Changed")
    form[field] = (form.get(field) or "x") + "\x00"
    response = admin_client.post(f"/admin/offices/{bayamon}", data=form)
    assert response.status_code == (409 if field == "version" else 422)
    assert stored(app, Office, "cesco-bayamon").name_en == "CESCO Bayamón"


def test_an_unknown_agency_or_office_is_a_translated_404(app, admin_client):
    response = admin_client.get("/admin/offices/999999", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and "There is no such office." in response.get_data(as_text=True)
    response = admin_client.get("/admin/agencies/999999/settings")
    assert response.status_code == 404 and "No existe esa agencia." in response.get_data(as_text=True)
