"""Today's same-day turns are part of an admin change's preview (app.impact): a closure from today,
or a phone-turn service or an office taken out of service, lists the turns still in line beside the
booked appointments; nothing is saved until the admin chooses; "keep" leaves them in line, "cancel"
takes them out of it and tells each citizen by SMS, in their language, with the admin's message.
Hours that close today earlier list the turns whose estimated call falls after the new closing.
The clock is the suite's frozen Wednesday 5 March 2031, 10:00 in Puerto Rico (the line is open)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Closure, OutboxMessage, Service, Turn
from tests.support.admin import RETIRO_ADMIN, agency_id, audit_events, sign_in
from tests.support.clock import WEDNESDAY_10AM
from tests.support.turns import SERVICE, give_turn
from tests.test_admin import office_form
from tests.test_admin_hours import hours_url, stored_week, week_form
from tests.test_admin_services import save, stored_service

pytestmark = pytest.mark.clock(at=WEDNESDAY_10AM)
TODAY = "2031-03-05"
ENGLISH = {"Accept-Language": "en"}
PUERTO_RICO = ZoneInfo("America/Puerto_Rico")


@pytest.fixture
def retiro_admin(app, client, seeded):
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    return client


def in_line(app, *people: tuple[str, str]) -> list[Turn]:
    """Turns taken now by (phone, language); detached."""
    with app.test_request_context():
        turns = [give_turn(phone, language=language).turn for phone, language in people]
        for turn in turns:
            db.session.refresh(turn)
        db.session.expunge_all()
        return turns


def statuses(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Turn.code, Turn.status)).all())


def cancellation_sms(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "turn_cancelled"))
        return {row.recipient: row.body_text for row in rows}


def closure_today(app, **extra) -> dict:
    """The closure form for today at the office whose hours the phone-turn service follows."""
    data = {
        "office": str(stored_service(app, SERVICE).offices[0].id),
        "first_day": TODAY,
        "last_day": TODAY,
        "reason_es": "Cierre de emergencia",
        "reason_en": "Emergency closure",
    }
    return data | extra


def close_today(client, app, **extra):
    url = f"/admin/agencies/{agency_id(app, 'retiro')}/closures/new"
    return client.post(url, data=closure_today(app, **extra), headers=ENGLISH)


def test_a_closure_from_today_lists_the_turns_in_line_and_saves_nothing(app, retiro_admin):
    first, second = in_line(app, ("787-555-0101", "es"), ("787-555-0102", "en"))
    response = close_today(retiro_admin, app)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "2 same-day turns still in line today" in page
    assert first.code in page and second.code in page and "Ana Rivera" in page
    assert f'value="t{first.id},t{second.id}"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
    assert set(statuses(app).values()) == {"waiting"}


def test_keeping_the_turns_saves_the_closure_and_they_stay_in_line(app, retiro_admin):
    (turn,) = in_line(app, ("787-555-0101", "es"))
    response = close_today(retiro_admin, app, impact_previewed=f"t{turn.id}", impact_action="keep")
    assert response.status_code == 302
    assert statuses(app) == {turn.code: "waiting"}
    assert [event.object_id for event in audit_events(app, "turn.kept_after_change")] == [turn.id]
    assert cancellation_sms(app) == {}


def test_cancelling_the_turns_tells_each_citizen_by_sms_in_their_language(app, retiro_admin):
    spanish, english = in_line(app, ("787-555-0101", "es"), ("787-555-0102", "en"))
    response = close_today(
        retiro_admin,
        app,
        impact_previewed=f"t{spanish.id},t{english.id}",
        impact_action="cancel",
        impact_message_es="Llame mañana.",
        impact_message_en="Please call tomorrow.",
    )
    assert response.status_code == 302
    assert set(statuses(app).values()) == {"cancelled"}
    sms = cancellation_sms(app)
    assert (
        sms[spanish.citizen_phone]
        == f"Sistema de Retiro: su turno {spanish.code} de hoy fue cancelado. Llame mañana."
    )
    assert sms[english.citizen_phone].endswith("was cancelled. Please call tomorrow.")
    assert len(audit_events(app, "turn.cancelled_by_agency")) == 2


def test_a_turn_taken_after_the_preview_is_shown_before_anything_is_decided(app, retiro_admin):
    first, later = in_line(app, ("787-555-0101", "es"), ("787-555-0102", "es"))
    response = close_today(retiro_admin, app, impact_previewed=f"t{first.id}", impact_action="cancel",
                           impact_message_es="x", impact_message_en="x")  # fmt: skip
    assert response.status_code == 409
    assert f'value="t{first.id},t{later.id}"' in response.get_data(as_text=True)
    assert set(statuses(app).values()) == {"waiting"}


def test_a_closure_that_starts_tomorrow_leaves_todays_line_alone(app, retiro_admin):
    in_line(app, ("787-555-0101", "es"))
    response = close_today(retiro_admin, app, first_day="2031-03-06", last_day="2031-03-07")
    assert response.status_code == 302
    assert set(statuses(app).values()) == {"waiting"}


def test_taking_the_phone_turn_service_out_of_service_lists_its_line(app, retiro_admin):
    (turn,) = in_line(app, ("787-555-0101", "es"))
    response = save(retiro_admin, app, SERVICE, active=None)
    assert response.status_code == 409
    assert turn.code in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Service.active).where(Service.slug == SERVICE))
    again = save(
        retiro_admin, app, SERVICE, active=None, impact_previewed=f"t{turn.id}", impact_action="keep"
    )
    assert again.status_code == 302
    with app.app_context():
        assert not db.session.scalar(sa.select(Service.active).where(Service.slug == SERVICE))


def test_closing_the_office_lists_its_turns(app, retiro_admin):
    (turn,) = in_line(app, ("787-555-0101", "es"))
    office = stored_service(app, SERVICE).offices[0]
    form = office_form(app, slug=office.slug, active=None)
    response = retiro_admin.post(f"/admin/offices/{office.id}", data=form, headers=ENGLISH)
    assert response.status_code == 409
    assert "1 same-day turn still in line today" in response.get_data(as_text=True)


@pytest.fixture
def status_page(app):
    """A turn taken now, and its citizen's status page connected to /turns: (turn id, socket)."""
    from app.extensions import socketio
    from app.turns.events import NAMESPACE

    with app.test_request_context():
        taken = give_turn("787-555-0101")
        turn_id = taken.turn.id
    page = socketio.test_client(app, namespace=NAMESPACE, auth={"token": taken.token})
    page.get_received(NAMESPACE)
    yield turn_id, lambda: [(event["name"], event["args"]) for event in page.get_received(NAMESPACE)]
    page.disconnect(NAMESPACE)


def test_the_cancelled_turns_pages_hear_it_live_once_the_closure_is_saved(app, retiro_admin, status_page):
    """The citizen's status page and the line's pages are pushed the change, as when a clerk
    calls a turn, but only once it is committed: the preview (409) pushes nothing."""
    turn_id, pushed = status_page
    assert close_today(retiro_admin, app).status_code == 409
    assert pushed() == []
    cancel = dict(impact_action="cancel", impact_message_es="Llame mañana.", impact_message_en="Sorry.")
    assert close_today(retiro_admin, app, impact_previewed=f"t{turn_id}", **cancel).status_code == 302
    assert sorted(pushed()) == [("queue-updated", [{}]), ("turn-updated", [{"status": "cancelled"}])]


def test_keeping_the_turns_pushes_nothing(app, retiro_admin, status_page):
    turn_id, pushed = status_page
    response = close_today(retiro_admin, app, impact_previewed=f"t{turn_id}", impact_action="keep")
    assert response.status_code == 302
    assert pushed() == []


# --- Shorter hours today --------------------------------------------------------------------------------
# Wednesday is day 2 of the hours form; the clock says 10:00 there.


def shorten_wednesday(client, app, closes: str, **extra):
    slug = stored_service(app, SERVICE).offices[0].slug
    form = week_form(app, slug, day2=[("08:00", closes)], **extra)
    return client.post(hours_url(app, slug), data=form, headers=ENGLISH)


def wednesday_hours(app) -> list[str]:
    return stored_week(app, stored_service(app, SERVICE).offices[0].slug)[2]


def test_hours_that_close_the_office_before_now_list_todays_line_and_save_nothing(app, retiro_admin):
    first, second = in_line(app, ("787-555-0101", "es"), ("787-555-0102", "en"))
    before = wednesday_hours(app)
    response = shorten_wednesday(retiro_admin, app, "09:30")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "2 same-day turns still in line today" in page
    assert f'value="t{first.id},t{second.id}"' in page
    assert wednesday_hours(app) == before
    assert set(statuses(app).values()) == {"waiting"}

    cancel = dict(
        impact_action="cancel", impact_message_es="Cerramos hoy.", impact_message_en="Closed today."
    )
    response = shorten_wednesday(
        retiro_admin, app, "09:30", impact_previewed=f"t{first.id},t{second.id}", **cancel
    )
    assert response.status_code == 302
    assert wednesday_hours(app) == ["08:00-09:30"]
    assert set(statuses(app).values()) == {"cancelled"}
    assert cancellation_sms(app)[second.citizen_phone].endswith("was cancelled. Closed today.")


def test_an_earlier_closing_lists_only_the_turns_it_leaves_unserved(app, retiro_admin):
    """One clerk, no call finished yet: each turn's estimate is the service's slot length times
    the people ahead of it, so a closing two slots from now leaves the third turn and after."""
    slot = stored_service(app, SERVICE).slot_minutes
    turns = in_line(app, *[(f"787-555-010{n}", "es") for n in range(1, 5)])
    closes = (WEDNESDAY_10AM + dt.timedelta(minutes=2 * slot)).astimezone(PUERTO_RICO)
    response = shorten_wednesday(retiro_admin, app, f"{closes:%H:%M}")
    assert response.status_code == 409
    assert f'value="t{turns[2].id},t{turns[3].id}"' in response.get_data(as_text=True)
    keep = shorten_wednesday(
        retiro_admin,
        app,
        f"{closes:%H:%M}",
        impact_previewed=f"t{turns[2].id},t{turns[3].id}",
        impact_action="keep",
    )
    assert keep.status_code == 302
    assert set(statuses(app).values()) == {"waiting"}
    assert [e.object_id for e in audit_events(app, "turn.kept_after_change")] == [turns[2].id, turns[3].id]


def test_hours_that_still_serve_the_line_or_change_another_day_need_no_choice(app, retiro_admin):
    in_line(app, ("787-555-0101", "es"), ("787-555-0102", "es"))
    assert shorten_wednesday(retiro_admin, app, "16:00").status_code == 302
    slug = stored_service(app, SERVICE).offices[0].slug
    thursday_closed = week_form(app, slug, day3=[])
    assert retiro_admin.post(hours_url(app, slug), data=thursday_closed).status_code == 302
    assert set(statuses(app).values()) == {"waiting"}
