"""An office's opening hours, the agency's closures and the month preview of bookable days (issue
11, items 2, 3, 4, 7): every rule refuses with a message on its field and saves nothing, a stale
form is a conflict, another agency's objects are 404, changes are audited with old and new values,
a change that touches booked citizens is previewed (keep them, or cancel them with an e-mail in
each citizen's language), and availability follows the new settings at once.

The clock is frozen at tests.support.clock.DEFAULT_NOW, Wednesday 5 March 2031, 10:00 in Puerto
Rico, unless a test pins its own: every date below is chosen against it.
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from app import scheduling
from app.extensions import db
from app.models import Agency, Appointment, Closure, Office, OpeningHours, OutboxMessage
from app.notifications import rendered
from app.opening_hours import office_week
from tests.support.admin import (
    DTOP_ADMIN,
    RETIRO_ADMIN,
    add_superadmin,
    agency_id,
    audit_events,
    office_id,
    sign_in,
)
from tests.support.booking import book_directly, free_slots, local_day
from tests.support.clock import local

IN_PERSON = "renovacion-licencia"  # 15-minute slots, 4 seats, at CESCO San Juan and CESCO Bayamón
TRANSFER = "Vehicle title transfer"  # 30-minute slots, at the same two offices
ENGLISH = {"Accept-Language": "en"}
MONDAY = dt.date(2031, 3, 10)  # the first day book_directly finds free slots on (Saturday 8 is closed)


@pytest.fixture
def admin_client(app, client, seeded):
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    return client


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- Helpers: the hours form, stored rows, closures ----------------------------------------------------


def week_form(app, slug="cesco-bayamon", **days) -> dict:
    """The hours form of office `slug` as stored, with some days replaced: day0=[("08:00", "12:00")];
    other keywords are other fields (None: left out)."""
    with app.app_context():
        office = db.session.scalar(sa.select(Office).where(Office.slug == slug))
        stored, version = office_week(office), office.hours_version
    data = {"version": str(version)}
    for weekday in range(7):
        rows = days.get(f"day{weekday}", [(f"{o:%H:%M}", f"{c:%H:%M}") for o, c in stored[weekday]])
        for row, (opens, closes) in enumerate(rows):
            data[f"day{weekday}-intervals-{row}-opens"] = opens
            data[f"day{weekday}-intervals-{row}-closes"] = closes
    data.update({name: value for name, value in days.items() if not name.startswith("day")})
    return {name: value for name, value in data.items() if value is not None}


def stored_week(app, slug="cesco-bayamon") -> dict[int, list[str]]:
    with app.app_context():
        office = db.session.scalar(sa.select(Office).where(Office.slug == slug))
        return {day: [f"{o:%H:%M}-{c:%H:%M}" for o, c in rows] for day, rows in office_week(office).items()}


def hours_url(app, slug="cesco-bayamon") -> str:
    return f"/admin/offices/{office_id(app, slug)}/hours"


def appointment(app, appointment_id) -> Appointment:
    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        db.session.expunge(row)
        return row


def office_of(app, booked) -> str:
    with app.app_context():
        return db.session.get(Office, booked.appointment.office_id).slug


def cancellation_emails(app) -> dict[str, OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "cancellation")))
        rows = [rendered(row) for row in rows]  # as the sender writes them
        db.session.expunge_all()
        return {row.recipient: row for row in rows}


def closures(app) -> list[Closure]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Closure).order_by(Closure.id)))
        db.session.expunge_all()
        return rows


def add_closure(app, first, last, office_slug=None, agency="dtop", reason=("Inventario", "Stocktaking")):
    with app.app_context():
        closure = Closure(
            agency_id=agency_id(app, agency),
            office_id=office_id(app, office_slug) if office_slug else None,
            first_day=first,
            last_day=last,
            reason_es=reason[0],
            reason_en=reason[1],
        )
        db.session.add(closure)
        db.session.commit()
        return closure.id


def closure_form(app, first="2031-03-17", last="2031-03-19", office="cesco-bayamon", **overrides) -> dict:
    data = {
        "office": str(office_id(app, office)) if office != "all" else "all",
        "first_day": first,
        "last_day": last,
        "reason_es": "Cerrado por inventario",
        "reason_en": "Closed for stocktaking",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def new_closure_url(app, agency="dtop") -> str:
    return f"/admin/agencies/{agency_id(app, agency)}/closures/new"


def slots_on(app, day: dt.date, slug=IN_PERSON, office_slug=None) -> list:
    slots = [slot for slot in free_slots(app, slug) if local_day(slot.start) == day]
    if office_slug:
        slots = [slot for slot in slots if slot.office_id == office_id(app, office_slug)]
    return slots


# --- Opening hours: the page and a good save ------------------------------------------------------------


def test_the_hours_page_shows_the_stored_week_a_blank_row_a_day_and_the_services_slots(app, admin_client):
    response = admin_client.get(hours_url(app), headers=ENGLISH)
    assert response.status_code == 200
    page = page_text(response)
    assert 'id="day0-intervals-0-opens" name="day0-intervals-0-opens" type="time"' in page
    assert 'value="08:00"' in page and 'value="17:00"' in page
    assert 'name="day0-intervals-1-opens"' in page  # a blank row to add an interval
    assert 'name="day6-intervals-1-closes"' in page  # Sunday: no hours, two blank rows
    assert "Driver's licence renewal: 15 minutes" in page and f"{TRANSFER}: 30 minutes" in page
    assert "Monday" in page and "Sunday" in page
    spanish = admin_client.get(hours_url(app)).get_data(as_text=True)
    assert "Lunes" in spanish and "Guardar el horario" in spanish


def test_a_week_with_a_split_shift_and_a_saturday_is_saved_audited_and_offered(app, admin_client):
    before = stored_week(app)
    form = week_form(app, day0=[("08:00", "12:00"), ("13:00", "17:00")], day5=[("08:00", "12:00")])

    response = admin_client.post(hours_url(app), data=form)

    assert response.status_code == 302 and response.headers["Location"].endswith(hours_url(app))
    after = stored_week(app)
    assert after[0] == ["08:00-12:00", "13:00-17:00"] and after[5] == ["08:00-12:00"]
    assert [after[day] for day in range(1, 5)] == [before[day] for day in range(1, 5)] and after[6] == []
    (event,) = audit_events(app, "office.hours_changed")
    assert event.object_id == office_id(app, "cesco-bayamon") and event.actor_staff_id is not None
    assert event.detail["changes"] == {
        "monday": [["08:00-17:00"], ["08:00-12:00", "13:00-17:00"]],
        "saturday": [[], ["08:00-12:00"]],
    }
    # Availability follows at once: the lunch hour is gone on Mondays, Saturday morning is offered.
    monday = {slot.start for slot in slots_on(app, MONDAY, office_slug="cesco-bayamon")}
    assert local("2031-03-10", "11:45") in monday and local("2031-03-10", "13:00") in monday
    assert local("2031-03-10", "12:00") not in monday and local("2031-03-10", "12:45") not in monday
    saturday = slots_on(app, dt.date(2031, 3, 8), office_slug="cesco-bayamon")
    assert len(saturday) == 16 and saturday[-1].start == local("2031-03-08", "11:45")


def test_touching_intervals_and_removed_rows_are_fine(app, admin_client):
    form = week_form(app, day0=[("08:00", "12:00"), ("12:00", "17:00"), ("", "")], day4=[("", "")])
    assert admin_client.post(hours_url(app), data=form).status_code == 302
    assert stored_week(app)[0] == ["08:00-12:00", "12:00-17:00"]
    assert stored_week(app)[4] == []
    assert slots_on(app, dt.date(2031, 3, 14), office_slug="cesco-bayamon") == []  # Friday: closed now


def test_saving_the_same_hours_changes_nothing(app, admin_client):
    form = week_form(app)
    assert admin_client.post(hours_url(app), data=form).status_code == 302
    assert audit_events(app, "office.hours_changed") == []
    # ... and the same form may be sent again: nothing was saved, so it is not stale
    assert admin_client.post(hours_url(app), data=form).status_code == 302


# --- Opening hours: refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day0,field,message",
    [
        ([("8h", "17:00")], "day0-intervals-0-opens", "Enter a time as hours and minutes, like 08:30."),
        ([("08:00", "25:00")], "day0-intervals-0-closes", "Enter a time as hours and minutes, like 08:30."),
        ([("08:00", "17:00:30")], "day0-intervals-0-closes", "Enter a time as hours and minutes"),
        ([("08:00", "")], "day0-intervals-0-closes", "Enter both times of the interval, or neither."),
        ([("", "17:00")], "day0-intervals-0-opens", "Enter both times of the interval, or neither."),
        ([("17:00", "08:00")], "day0-intervals-0-closes", "The closing time must be later than the opening"),
        ([("09:00", "09:00")], "day0-intervals-0-closes", "The closing time must be later than the opening"),
        (
            [("08:00", "12:00"), ("11:00", "15:00")],
            "day0-intervals-1-opens",
            "This interval overlaps interval 1 of the same day (08:00–12:00).",
        ),
        (
            [("13:00", "17:00"), ("08:00", "13:30")],
            "day0-intervals-1-opens",
            "This interval overlaps interval 1 of the same day (13:00–17:00).",
        ),
        (
            [("08:00", "12:10")],
            "day0-intervals-0-closes",
            "“Driver's licence renewal” has 15-minute slots: this interval of 250 minutes does not divide",
        ),
        (
            [("08:00", "08:45")],
            "day0-intervals-0-closes",
            f"“{TRANSFER}” has 30-minute slots: this interval of 45 minutes does not divide into them.",
        ),
    ],
)
def test_a_refused_interval_gets_a_message_on_its_field_and_nothing_is_saved(
    app, admin_client, day0, field, message
):
    before = stored_week(app)
    form = week_form(app, day0=day0, day5=[("08:00", "12:00")])  # a good change beside the bad one

    response = admin_client.post(hours_url(app), data=form, headers=ENGLISH)

    assert response.status_code == 422
    page = page_text(response)
    assert f'id="{field}-error"' in page and message in page
    assert f'href="#{field}"' in page  # the error summary leads to the field
    assert stored_week(app) == before
    assert audit_events(app, "office.hours_changed") == []


def test_a_refused_interval_is_explained_in_spanish(app, admin_client):
    response = admin_client.post(hours_url(app), data=week_form(app, day0=[("08:00", "08:45")]))
    assert response.status_code == 422
    assert "«Traspaso de vehículo» tiene citas de 30 minutos" in page_text(response)


def test_the_slot_rule_reads_only_the_services_offered_at_that_office(app, admin_client):
    """CESCO Remoto offers 20-minute video calls, not the 15-minute in-person renewal."""
    form = week_form(app, "cesco-remoto", day0=[("08:00", "08:40")])
    assert admin_client.post(hours_url(app, "cesco-remoto"), data=form).status_code == 302
    form = week_form(app, "cesco-remoto", day0=[("08:00", "08:30")])
    response = admin_client.post(hours_url(app, "cesco-remoto"), data=form, headers=ENGLISH)
    assert response.status_code == 422
    assert "has 20-minute slots: this interval of 30 minutes" in page_text(response)


def test_more_rows_than_a_day_holds_are_not_read(app, admin_client):
    rows = [(f"{hour:02d}:00", f"{hour:02d}:30") for hour in range(8, 18)]  # ten rows
    assert admin_client.post(hours_url(app), data=week_form(app, day0=rows)).status_code == 302
    assert len(stored_week(app)[0]) == 6


def test_a_stale_hours_form_is_refused_and_the_office_form_is_not_made_stale(app, admin_client):
    first = week_form(app, day0=[("08:00", "12:00")])
    second = week_form(app, day0=[("09:00", "17:00")])
    office_version = week_version = None
    with app.app_context():
        office = db.session.get(Office, office_id(app, "cesco-bayamon"))
        office_version, week_version = office.version, office.hours_version
    assert admin_client.post(hours_url(app), data=first).status_code == 302

    response = admin_client.post(hours_url(app), data=second, headers=ENGLISH)

    assert response.status_code == 409
    assert "Someone else changed this while you were editing it" in page_text(response)
    assert stored_week(app)[0] == ["08:00-12:00"]
    assert len(audit_events(app, "office.hours_changed")) == 1
    with app.app_context():
        office = db.session.get(Office, office_id(app, "cesco-bayamon"))
        assert (office.version, office.hours_version) == (office_version, week_version + 1)


@pytest.mark.parametrize("version", [None, "", "abc", "99999999999"])
def test_an_hours_post_without_a_readable_version_is_a_conflict(app, admin_client, version):
    form = week_form(app, day0=[("08:00", "12:00")], version=version)
    assert admin_client.post(hours_url(app), data=form).status_code == 409
    assert stored_week(app)[0] == ["08:00-17:00"]


def test_another_agencys_hours_are_404_and_unchanged(app, admin_client):
    url = hours_url(app, "orientacion-telefonica")
    before = stored_week(app, "orientacion-telefonica")
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, data=week_form(app, "orientacion-telefonica", day0=[])).status_code == 404
    assert stored_week(app, "orientacion-telefonica") == before
    assert audit_events(app, "office.hours_changed") == []


def test_the_superadmin_edits_any_agencys_hours(app, client, seeded):
    sign_in(client, *add_superadmin(app))
    form = week_form(app, "orientacion-telefonica", day5=[("09:00", "12:00")])
    assert client.post(hours_url(app, "orientacion-telefonica"), data=form).status_code == 302
    assert stored_week(app, "orientacion-telefonica")[5] == ["09:00-12:00"]


# --- Opening hours: shorter hours touching booked appointments -------------------------------------------


def test_shorter_hours_list_the_appointments_that_no_longer_fit_and_save_nothing(app, admin_client):
    booked = book_directly(app, IN_PERSON, name="Ana Rivera")  # Monday 10 March, 08:00
    slug = office_of(app, booked)
    assert booked.appointment.start_at == local("2031-03-10", "08:00")
    form = week_form(app, slug, day0=[("09:00", "17:00")])

    response = admin_client.post(hours_url(app, slug), data=form, headers=ENGLISH)

    assert response.status_code == 409
    page = page_text(response)
    assert "This change affects 1 booked appointment" in page
    assert booked.appointment.reference in page and "Ana Rivera" in page
    assert stored_week(app, slug)[0] == ["08:00-17:00"]
    assert audit_events(app, "office.hours_changed") == []


def test_hours_that_still_hold_the_booked_appointments_need_no_choice(app, admin_client):
    booked = book_directly(app, IN_PERSON)  # Monday 08:00–08:15
    slug = office_of(app, booked)
    form = week_form(app, slug, day0=[("07:00", "09:00")], day1=[("10:00", "12:00")])
    assert admin_client.post(hours_url(app, slug), data=form).status_code == 302
    assert appointment(app, booked.appointment.id).status == "booked"


def test_keeping_them_saves_the_hours_and_no_new_slot_is_offered_outside_them(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    slug = office_of(app, booked)
    form = week_form(
        app,
        slug,
        day0=[("09:00", "17:00")],
        impact_previewed=str(booked.appointment.id),
        impact_action="keep",
    )

    assert admin_client.post(hours_url(app, slug), data=form).status_code == 302

    assert stored_week(app, slug)[0] == ["09:00-17:00"]
    assert appointment(app, booked.appointment.id).status == "booked"
    assert cancellation_emails(app) == {}
    (kept,) = audit_events(app, "appointment.kept_after_change")
    assert kept.detail["change"] == "office.hours_changed"
    starts = {slot.start for slot in slots_on(app, MONDAY, office_slug=slug)}
    assert min(starts) == local("2031-03-10", "09:00")
    # A later change of another day does not ask about the kept appointment again.
    assert admin_client.post(hours_url(app, slug), data=week_form(app, slug, day2=[])).status_code == 302


def test_cancelling_them_frees_the_seats_and_writes_to_each_citizen_in_their_language(app, admin_client):
    spanish = book_directly(app, IN_PERSON, email="ana@example.com", language="es")
    english = book_directly(app, IN_PERSON, email="bob@example.com", language="en")
    slug = office_of(app, spanish)
    assert office_of(app, english) == slug and english.appointment.start_at == spanish.appointment.start_at
    form = week_form(
        app,
        slug,
        day0=[("09:00", "17:00")],
        impact_previewed=f"{spanish.appointment.id},{english.appointment.id}",
        impact_action="cancel",
        impact_message_es="Los lunes abrimos a las 9:00.",
        impact_message_en="On Mondays we open at 9:00.",
    )

    assert admin_client.post(hours_url(app, slug), data=form).status_code == 302

    for booked in (spanish, english):
        row = appointment(app, booked.appointment.id)
        assert (row.status, row.seat) == ("cancelled", None)
    emails = cancellation_emails(app)
    assert "Los lunes abrimos a las 9:00." in emails["ana@example.com"].body_text
    assert emails["ana@example.com"].language == "es"
    assert "On Mondays we open at 9:00." in emails["bob@example.com"].body_text
    assert emails["bob@example.com"].language == "en"
    assert len(audit_events(app, "appointment.cancelled_by_agency")) == 2


def test_cancelling_without_a_message_is_refused_on_the_field(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    slug = office_of(app, booked)
    form = week_form(
        app,
        slug,
        day0=[("09:00", "17:00")],
        impact_previewed=str(booked.appointment.id),
        impact_action="cancel",
    )
    response = admin_client.post(hours_url(app, slug), data=form, headers=ENGLISH)
    assert response.status_code == 422
    page = page_text(response)
    assert "Write the message the citizens will receive." in page
    assert booked.appointment.reference in page  # the list is shown again beside the choice
    assert stored_week(app, slug)[0] == ["08:00-17:00"]
    assert appointment(app, booked.appointment.id).status == "booked"


# --- Closures: adding ---------------------------------------------------------------------------------


def test_an_office_closure_is_added_audited_listed_and_closes_the_office_only(app, admin_client):
    response = admin_client.post(new_closure_url(app), data=closure_form(app))

    assert response.status_code == 302
    (closure,) = closures(app)
    assert (closure.office_id, closure.first_day, closure.last_day) == (
        office_id(app, "cesco-bayamon"),
        dt.date(2031, 3, 17),
        dt.date(2031, 3, 19),
    )
    (event,) = audit_events(app, "closure.created")
    assert event.object_id == closure.id
    assert event.detail["changes"]["first_day"] == [None, "2031-03-17"]
    assert event.detail["changes"]["reason_en"] == [None, "Closed for stocktaking"]
    listing = page_text(
        admin_client.get(f"/admin/agencies/{agency_id(app, 'dtop')}/closures", headers=ENGLISH)
    )
    assert "Mar 17, 2031 to Mar 19, 2031" in listing and "Closed for stocktaking" in listing
    for day in (dt.date(2031, 3, 17), dt.date(2031, 3, 19)):
        offices = {slot.office_id for slot in slots_on(app, day)}
        assert offices == {office_id(app, "cesco-san-juan")}
    assert {slot.office_id for slot in slots_on(app, dt.date(2031, 3, 20))} == {
        office_id(app, "cesco-san-juan"),
        office_id(app, "cesco-bayamon"),
    }


def test_the_closed_days_show_their_reason_in_the_citizens_booking_calendar(app, admin_client, client):
    form = closure_form(app, office="all", first="2031-03-17", last="2031-03-18")
    assert admin_client.post(new_closure_url(app), data=form).status_code == 302
    citizen = app.test_client()
    citizen.post(f"/book/{IN_PERSON}", data={"office": office_id(app, "cesco-bayamon")})
    spanish = page_text(citizen.get(f"/book/{IN_PERSON}/calendar?month=2031-03"))
    assert spanish.count("Cerrado por inventario") >= 2
    english = page_text(citizen.get(f"/book/{IN_PERSON}/calendar?month=2031-03", headers=ENGLISH))
    assert "Closed for stocktaking" in english
    days = citizen.get(
        f"/api/v1/services/{IN_PERSON}/availability", query_string={"from": "2031-03-17", "days": 3}
    ).get_json()["days"]
    assert [day["closed_reason"] for day in days] == ["Cerrado por inventario"] * 2 + [None]


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"last_day": "2031-03-16"}, "last_day", "The last day cannot be before the first day."),
        ({"last_day": "2032-03-18"}, "last_day", "A closure lasts at most 366 days."),
        ({"first_day": "2031-03-04"}, "first_day", "A closure cannot start before today."),
        ({"first_day": "17/03/2031"}, "first_day", "Enter a date like 2031-03-14."),
        ({"last_day": "9999-12-31"}, "last_day", "Enter a date like 2031-03-14."),
        ({"first_day": ""}, "first_day", "Enter the first closed day."),
        ({"reason_es": "  "}, "reason_es", "Enter the reason citizens will see, in Spanish."),
        ({"reason_en": "x" * 201}, "reason_en", "Write at most 200 characters."),
        ({"reason_en": "Closed\x00"}, "reason_en", "Remove the special characters from this field."),
        ({"office": "everywhere"}, "office", "Choose the whole agency or one of its offices."),
        ({"office": ""}, "office", "Choose the whole agency or one of its offices."),
    ],
)
def test_a_refused_closure_gets_a_message_on_its_field_and_nothing_is_saved(
    app, admin_client, overrides, field, message
):
    response = admin_client.post(new_closure_url(app), data=closure_form(app, **overrides), headers=ENGLISH)
    assert response.status_code == 422
    page = page_text(response)
    assert f'id="{field}-error"' in page and message in page
    assert closures(app) == [] and audit_events(app, "closure.created") == []


def test_a_closure_of_exactly_366_days_is_accepted(app, admin_client):
    form = closure_form(app, first="2031-03-17", last="2032-03-16")
    assert admin_client.post(new_closure_url(app), data=form).status_code == 302
    assert closures(app)[0].days == 366


def test_a_closure_for_another_agencys_office_is_404_and_nothing_is_saved(app, admin_client):
    form = closure_form(app, office="orientacion-telefonica")
    assert admin_client.post(new_closure_url(app), data=form).status_code == 404
    form = closure_form(app, office="cesco-bayamon")
    assert admin_client.post(new_closure_url(app, "retiro"), data=form).status_code == 404
    assert admin_client.get(new_closure_url(app, "retiro")).status_code == 404
    for forged in ("0", "999999", "9" * 12):
        assert (
            admin_client.post(
                new_closure_url(app), data=closure_form(app, office=None) | {"office": forged}
            ).status_code
            == 404
        )
    assert closures(app) == []


def test_a_closure_overlapping_one_of_the_same_office_is_refused_naming_it(app, admin_client):
    add_closure(
        app, dt.date(2031, 3, 18), dt.date(2031, 3, 20), "cesco-bayamon", reason=("Pintura", "Painting")
    )
    response = admin_client.post(new_closure_url(app), data=closure_form(app), headers=ENGLISH)
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="first_day-error"' in page
    assert "These days overlap the closure from March 18, 2031 to March 20, 2031 (“Painting”)" in page
    assert len(closures(app)) == 1


def test_closures_of_other_offices_or_of_the_whole_agency_may_overlap_and_the_office_reason_wins(
    app, admin_client
):
    add_closure(
        app, dt.date(2031, 3, 18), dt.date(2031, 3, 20), "cesco-bayamon", reason=("Pintura", "Painting")
    )
    assert (
        admin_client.post(new_closure_url(app), data=closure_form(app, office="cesco-san-juan")).status_code
        == 302
    )
    assert admin_client.post(new_closure_url(app), data=closure_form(app, office="all")).status_code == 302
    # two closures of the whole agency may not overlap
    again = closure_form(app, office="all", first="2031-03-19", last="2031-03-25")
    assert admin_client.post(new_closure_url(app), data=again).status_code == 422
    with app.test_request_context():
        days = scheduling.closures_by_office(
            agency_id(app, "dtop"),
            [office_id(app, "cesco-bayamon")],
            dt.date(2031, 3, 16),
            dt.date(2031, 3, 21),
        )[office_id(app, "cesco-bayamon")]
    assert days == {
        dt.date(2031, 3, 17): "Cerrado por inventario",
        dt.date(2031, 3, 18): "Pintura",
        dt.date(2031, 3, 19): "Pintura",
        dt.date(2031, 3, 20): "Pintura",
    }


# --- Closures: booked appointments on the closed days --------------------------------------------------


def test_a_closure_over_booked_days_lists_them_and_saves_nothing(app, admin_client):
    booked = book_directly(app, IN_PERSON, name="Ana Rivera")  # Monday 10 March
    form = closure_form(app, office=office_of(app, booked), first="2031-03-10", last="2031-03-10")

    response = admin_client.post(new_closure_url(app), data=form, headers=ENGLISH)

    assert response.status_code == 409
    page = page_text(response)
    assert "This change affects 1 booked appointment" in page and "Ana Rivera" in page
    assert closures(app) == []


def test_a_closure_of_another_office_or_other_days_touches_no_booking(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    other = "cesco-bayamon" if office_of(app, booked) == "cesco-san-juan" else "cesco-san-juan"
    assert (
        admin_client.post(
            new_closure_url(app), data=closure_form(app, office=other, first="2031-03-10", last="2031-03-10")
        ).status_code
        == 302
    )
    form = closure_form(app, office="all", first="2031-03-11", last="2031-03-12")
    assert admin_client.post(new_closure_url(app), data=form).status_code == 302


def test_a_closure_of_the_whole_agency_lists_bookings_at_every_office_and_cancels_them(app, admin_client):
    in_person = book_directly(app, IN_PERSON, email="ana@example.com", language="es")
    video = book_directly(app, "certificacion-individuo", email="bob@example.com", language="en")
    day = local_day(in_person.appointment.start_at)
    assert local_day(video.appointment.start_at) == day
    form = closure_form(app, office="all", first=day.isoformat(), last=day.isoformat())
    response = admin_client.post(new_closure_url(app), data=form, headers=ENGLISH)
    assert response.status_code == 409 and "This change affects 2 booked appointments" in page_text(response)

    decided = form | {
        "impact_previewed": f"{in_person.appointment.id},{video.appointment.id}",
        "impact_action": "cancel",
        "impact_message_es": "La agencia cierra ese día por inventario.",
        "impact_message_en": "The agency is closed that day for stocktaking.",
    }
    assert admin_client.post(new_closure_url(app), data=decided).status_code == 302

    assert {appointment(app, b.appointment.id).status for b in (in_person, video)} == {"cancelled"}
    emails = cancellation_emails(app)
    assert "La agencia cierra ese día por inventario." in emails["ana@example.com"].body_text
    assert "The agency is closed that day for stocktaking." in emails["bob@example.com"].body_text
    assert emails["bob@example.com"].language == "en"
    (closure,) = closures(app)
    assert closure.office_id is None
    assert slots_on(app, day) == [] and slots_on(app, day, "certificacion-individuo") == []


def test_keeping_the_appointments_adds_the_closure_and_they_stay_valid(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    form = closure_form(
        app,
        office=office_of(app, booked),
        first="2031-03-10",
        last="2031-03-12",
        impact_previewed=str(booked.appointment.id),
        impact_action="keep",
    )
    assert admin_client.post(new_closure_url(app), data=form).status_code == 302
    assert len(closures(app)) == 1
    assert appointment(app, booked.appointment.id).status == "booked"
    assert cancellation_emails(app) == {}


# --- Closures: the list and deleting ------------------------------------------------------------------------


def test_the_list_shows_current_and_upcoming_closures_first_then_past_ones(app, admin_client):
    later = add_closure(app, dt.date(2031, 6, 2), dt.date(2031, 6, 6), reason=("Mudanza", "Moving"))
    current = add_closure(app, dt.date(2031, 3, 3), dt.date(2031, 3, 7), "cesco-bayamon")
    past = add_closure(app, dt.date(2031, 1, 2), dt.date(2031, 1, 2), reason=("Reyes", "Epiphany eve"))
    older = add_closure(app, dt.date(2030, 12, 24), dt.date(2030, 12, 24), reason=("Nochebuena", "Xmas eve"))
    add_closure(app, dt.date(2031, 3, 20), dt.date(2031, 3, 20), "orientacion-telefonica", agency="retiro")

    page = page_text(admin_client.get(f"/admin/agencies/{agency_id(app, 'dtop')}/closures", headers=ENGLISH))

    order = [page.index(f'data-closure="{number}"') for number in (current, later, past, older)]
    assert order == sorted(order)
    assert page.index("Current and upcoming") < order[0] and order[1] < page.index("<h2>Past</h2>") < order[2]
    assert "The whole agency" in page and "CESCO Bayamón" in page
    assert "Orientación" not in page


def test_a_closure_is_deleted_after_confirming_and_the_days_open_again(app, admin_client):
    closure_id = add_closure(app, dt.date(2031, 3, 10), dt.date(2031, 3, 10))
    assert slots_on(app, MONDAY) == []
    url = f"/admin/closures/{closure_id}/delete"
    page = page_text(admin_client.get(url, headers=ENGLISH))
    assert "Delete this closure?" in page and "Stocktaking" in page

    unconfirmed = admin_client.post(url, data={}, headers=ENGLISH)
    assert unconfirmed.status_code == 422 and len(closures(app)) == 1

    assert admin_client.post(url, data={"confirm": "yes"}).status_code == 302
    assert closures(app) == []
    (event,) = audit_events(app, "closure.deleted")
    assert event.object_id == closure_id and event.detail["changes"]["reason_es"] == ["Inventario", None]
    assert slots_on(app, MONDAY) != []
    assert admin_client.post(url, data={"confirm": "yes"}).status_code == 404


def test_another_agencys_closure_cannot_be_seen_or_deleted(app, admin_client):
    theirs = add_closure(
        app, dt.date(2031, 3, 20), dt.date(2031, 3, 20), "orientacion-telefonica", agency="retiro"
    )
    url = f"/admin/closures/{theirs}/delete"
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, data={"confirm": "yes"}).status_code == 404
    assert len(closures(app)) == 1
    assert admin_client.get(f"/admin/agencies/{agency_id(app, 'retiro')}/closures").status_code == 404


def test_a_clerk_cannot_reach_the_closures(app, client, seeded):
    sign_in(client, "clerk@dtop.demo.ventanilla.pr", seeded["clerk@dtop.demo.ventanilla.pr"])
    assert client.get(f"/admin/agencies/{agency_id(app, 'dtop')}/closures").status_code == 403
    assert client.post(new_closure_url(app), data=closure_form(app)).status_code == 403
    assert closures(app) == []


# --- The month preview -------------------------------------------------------------------------------------


def calendar_url(app, slug="cesco-bayamon", month=None) -> str:
    url = f"/admin/offices/{office_id(app, slug)}/calendar"
    return f"{url}?month={month}" if month else url


def preview_row(page: str, day: str) -> str:
    start = page.index(f'data-day="{day}"')
    return page[start : page.index("</tr>", start)]


def test_the_preview_shows_open_days_holidays_closures_and_days_without_hours(app, admin_client):
    add_closure(
        app, dt.date(2031, 4, 14), dt.date(2031, 4, 15), "cesco-bayamon", reason=("Pintura", "Painting")
    )

    page = page_text(admin_client.get(calendar_url(app, month="2031-04"), headers=ENGLISH))

    assert "<caption>April 2031</caption>" in page and '<th scope="col">Status</th>' in page
    monday = preview_row(page, "2031-04-07")
    assert 'data-status="open"' in monday and "Open to bookings" in monday and "08:00–17:00" in monday
    assert "Driver's licence renewal: 36" in monday and f"{TRANSFER}: 18" in monday
    good_friday = preview_row(page, "2031-04-11")
    assert "Closed: public holiday" in good_friday and "Good Friday" in good_friday
    closed = preview_row(page, "2031-04-15")
    assert "Closed: closure" in closed and "Painting" in closed
    assert "Closed: no opening hours" in preview_row(page, "2031-04-13")
    spanish = page_text(admin_client.get(calendar_url(app, month="2031-04")))
    assert "Viernes Santo" in preview_row(spanish, "2031-04-11") and "Pintura" in preview_row(
        spanish, "2031-04-15"
    )
    assert "Cerrado: día feriado" in preview_row(spanish, "2031-04-11")


def test_the_preview_follows_the_hours_and_the_agencys_holiday_setting(app, admin_client):
    form = week_form(app, day4=[("08:00", "12:00"), ("13:00", "15:00")])
    assert admin_client.post(hours_url(app), data=form).status_code == 302
    with app.app_context():
        db.session.get(Agency, agency_id(app, "dtop")).observes_pr_holidays = False
        db.session.commit()
    page = page_text(admin_client.get(calendar_url(app, month="2031-04"), headers=ENGLISH))
    good_friday = preview_row(page, "2031-04-11")
    assert 'data-status="open"' in good_friday and "08:00–12:00, 13:00–15:00" in good_friday
    assert "Driver's licence renewal: 24" in good_friday


def test_the_preview_is_navigable_month_by_month(app, admin_client):
    page = page_text(admin_client.get(calendar_url(app), headers=ENGLISH))
    assert "<caption>March 2031</caption>" in page
    assert "month=2031-02" in page and "month=2031-04" in page
    assert "Today" in preview_row(page, "2031-03-05")
    assert "<caption>February 2031</caption>" in page_text(
        admin_client.get(calendar_url(app, month="2031-02"), headers=ENGLISH)
    )


@pytest.mark.parametrize(
    "month,status",
    [("2031-13", 404), ("March", 404), ("9999-12", 404), ("0001-01", 404), ("2031-03\x00", 422)],
)
def test_an_unreadable_month_is_refused(app, admin_client, month, status):
    assert admin_client.get(calendar_url(app, month=month)).status_code == status


@pytest.mark.clock(at=local("2031-03-31", "23:30"))
def test_the_preview_opens_on_the_agencys_month_not_the_servers(app, admin_client):
    """23:30 on 31 March in Puerto Rico is already 1 April in UTC."""
    assert local("2031-03-31", "23:30").date() == dt.date(2031, 4, 1)
    page = page_text(admin_client.get(calendar_url(app), headers=ENGLISH))
    assert "<caption>March 2031</caption>" in page and "Today" in preview_row(page, "2031-03-31")


def test_another_agencys_preview_is_404(app, admin_client):
    assert admin_client.get(calendar_url(app, "orientacion-telefonica")).status_code == 404


def test_the_retiro_admin_sees_only_their_own(app, client, seeded):
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    assert client.get(calendar_url(app, "orientacion-telefonica")).status_code == 200
    assert client.get(hours_url(app, "cesco-bayamon")).status_code == 404


# --- Scheduling reads ranges ---------------------------------------------------------------------------


def test_a_range_closes_every_day_in_it_and_only_those(app, seeded):
    add_closure(app, dt.date(2031, 3, 28), dt.date(2031, 4, 2), reason=("Mudanza", "Moving"))
    with app.test_request_context():
        dtop, offices = agency_id(app, "dtop"), [office_id(app, "cesco-bayamon")]
        days = scheduling.closures_by_office(dtop, offices, dt.date(2031, 3, 30), dt.date(2031, 4, 5))[
            offices[0]
        ]
    assert sorted(days) == [
        dt.date(2031, 3, 30),
        dt.date(2031, 3, 31),
        dt.date(2031, 4, 1),
        dt.date(2031, 4, 2),
    ]


def test_opening_hours_rows_keep_the_schema_rules(app, seeded):
    """The database refuses what the form refuses too: an interval ending before it starts."""
    with app.app_context():
        db.session.add(
            OpeningHours(
                office_id=office_id(app, "cesco-bayamon"),
                weekday=6,
                opens_at=dt.time(12),
                closes_at=dt.time(9),
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_migration_turns_days_into_ranges_and_back(tmp_path):
    """0012: an existing one-day closure keeps its day as first and last; a downgrade writes each
    range back as one row per day."""
    from flask_migrate import downgrade, upgrade

    from tests.support.apps import build_app

    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO agency (slug, name_es, name_en, kind, timezone, observes_pr_holidays, "
                    "created_at) VALUES ('a', 'A', 'A', 'agency', 'America/Puerto_Rico', 1, '2031-01-01')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO closure (agency_id, day, reason_es, reason_en) "
                    "VALUES (1, '2031-03-10', 'Inventario', 'Stocktaking')"
                )
            )
        upgrade()
        with db.engine.begin() as connection:
            rows = connection.execute(sa.text("SELECT first_day, last_day FROM closure")).all()
            assert [tuple(map(str, row)) for row in rows] == [("2031-03-10", "2031-03-10")]
            connection.execute(
                sa.text(
                    "INSERT INTO closure (agency_id, first_day, last_day, reason_es, reason_en) "
                    "VALUES (1, '2031-04-01', '2031-04-03', 'Mudanza', 'Moving')"
                )
            )
        downgrade(revision="0011")
        with db.engine.connect() as connection:
            days = connection.execute(sa.text("SELECT day, reason_es FROM closure ORDER BY day")).all()
        assert [(str(day), reason) for day, reason in days] == [
            ("2031-03-10", "Inventario"),
            ("2031-04-01", "Mudanza"),
            ("2031-04-02", "Mudanza"),
            ("2031-04-03", "Mudanza"),
        ]
        db.engine.dispose()
