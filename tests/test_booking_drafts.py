"""A booking in progress lives on the server; the browser's cookie holds only an opaque id.

Issue #9, item 6: the join and manage tokens and the citizen's details sat in the signed (readable)
session cookie, and the confirmation kept showing both links for the rest of the browser session.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, BookingDraft
from tests.support import booking
from tests.support.booking import choose_slot, fill_details, session_contents

SERVICE = booking.VIDEO_SERVICE
PERSONAL = ["Ana Rivera", "ana@example.com", "787", "555", "0100", "1234567", "licencia.pdf", "registro.pdf"]


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def cookie_text(app, client) -> str:
    contents = session_contents(app, client)
    raw = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return json.dumps(contents, default=str) + (raw.value if raw else "")


def assert_nothing_personal_in_the_cookie(app, client, secrets=()):
    seen = cookie_text(app, client)
    for value in [*PERSONAL, *secrets]:
        assert value not in seen, f"{value!r} is readable in the session cookie"
    assert set(session_contents(app, client)) <= {"csrf_token", "booking_draft", "_fresh"}


def links_in(page: str) -> tuple[list[str], list[str]]:
    return sorted(set(re.findall(r"/call/([\w-]{40,})", page))), sorted(
        set(re.findall(r"/manage/([\w-]{40,})", page))
    )


def test_the_cookie_holds_no_token_name_email_or_phone_at_any_step(app, client, seeded):
    client.get(f"/book/{SERVICE}")
    assert_nothing_personal_in_the_cookie(app, client)
    choose_slot(client, app)
    assert_nothing_personal_in_the_cookie(app, client)
    assert fill_details(client, phone="123").status_code == 422  # staged upload, details refused
    assert_nothing_personal_in_the_cookie(app, client)
    assert fill_details(client).status_code == 302
    assert_nothing_personal_in_the_cookie(app, client)
    assert "Ana Rivera" in text(client.get(f"/book/{SERVICE}/review"))
    response = client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    assert response.status_code == 302
    assert_nothing_personal_in_the_cookie(app, client)
    page = text(client.get("/book/confirmation"))
    (join,), (manage,) = links_in(page)
    assert_nothing_personal_in_the_cookie(app, client, secrets=[join, manage])


def test_the_confirmation_shows_the_links_once(app, client, seeded):
    choose_slot(client, app)
    fill_details(client)
    client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    first = client.get("/book/confirmation")
    assert first.headers["Cache-Control"] == "private, no-store"
    joins, manages = links_in(text(first))
    assert len(joins) == 1 and len(manages) == 1
    again = client.get("/book/confirmation")
    assert again.status_code == 200 and again.headers["Cache-Control"] == "private, no-store"
    page = text(again)
    assert links_in(page) == ([], [])
    assert "Su cita está reservada" in page
    assert "los enlaces se muestran una sola vez" in page
    assert "ana@example.com" not in page
    with app.app_context():
        assert db.session.scalar(sa.select(Appointment)).reference in page
        stored = json.dumps([draft.data for draft in db.session.scalars(sa.select(BookingDraft))])
        assert joins[0] not in stored and manages[0] not in stored  # not kept in clear once shown


def test_the_second_showing_is_translated(app, client, seeded):
    client.get("/language/en")
    choose_slot(client, app)
    fill_details(client)
    client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    client.get("/book/confirmation")
    page = text(client.get("/book/confirmation"))
    assert "Your appointment is booked" in page and "the links are shown only once" in page


def test_the_draft_key_in_the_cookie_is_stored_only_as_a_hash(app, client, seeded):
    choose_slot(client, app)
    key = session_contents(app, client)["booking_draft"]
    with app.app_context():
        (draft,) = db.session.scalars(sa.select(BookingDraft))
        assert key not in draft.key_hash and draft.data["service"] == SERVICE


def test_a_page_that_only_shows_the_flow_stores_nothing(app, client, seeded):
    client.get(f"/book/{SERVICE}")
    client.get(f"/book/{SERVICE}/calendar")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingDraft)) == 0


def test_an_abandoned_draft_expires_and_purge_removes_it(app, client, seeded, clock, runner):
    choose_slot(client, app)
    fill_details(client)
    clock.advance(minutes=app.config["BOOKING_DRAFT_MINUTES"] - 1)
    assert client.get(f"/book/{SERVICE}/review").status_code == 200
    clock.advance(minutes=app.config["BOOKING_DRAFT_MINUTES"] + 1)
    response = client.get(f"/book/{SERVICE}/review")
    assert response.status_code == 302  # back to the start of the details: nothing is remembered
    result = runner.invoke(args=["purge-documents"])
    assert "1 abandoned booking" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingDraft)) == 0


def test_a_new_booking_on_the_same_computer_does_not_see_the_last_one(app, client, seeded, clock):
    choose_slot(client, app)
    fill_details(client)
    client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    client.get("/book/confirmation")
    page = text(client.get("/book/renovacion-licencia"))
    assert "Ana Rivera" not in page
    clock.advance(dt.timedelta(minutes=1))
    choose_slot(client, app, "renovacion-licencia")
    assert "Ana Rivera" not in text(client.get("/book/renovacion-licencia/details"))
