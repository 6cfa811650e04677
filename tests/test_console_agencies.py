"""Whose live waiting rooms a clerk console follows: the agencies its list shows. A clerk or an
admin, their own agency's; the superadmin (no agency of their own, a list of every agency's
appointments), every agency's."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.calls.live import NAMESPACE
from app.extensions import db, socketio
from app.models import Agency, Service
from tests.support.admin import add_superadmin, sign_in
from tests.support.signaling import make_appointment

DTOP_CLERK = "clerk@dtop.demo.ventanilla.pr"


def console_of(app, email: str, password: str):
    client = app.test_client()
    sign_in(client, email, password)
    console = socketio.test_client(app, namespace=NAMESPACE, auth={"console": True}, flask_test_client=client)
    assert console.is_connected(NAMESPACE)
    return client, console


def waiting_references(console) -> set[str]:
    received = console.get_received(NAMESPACE)
    return {event["args"][0]["reference"] for event in received if event["name"] == "waiting-room"}


def video_service_of(app, agency_slug: str) -> str:
    with app.app_context():
        return db.session.scalar(
            sa.select(Service.slug)
            .join(Agency)
            .where(Agency.slug == agency_slug, Service.mode == "video", Service.active.is_(True))
            .order_by(Service.id)
        )


def citizen_arrives(app, slug: str) -> str:
    reference, token = make_appointment(app, starts_in=dt.timedelta(minutes=5), slug=slug)
    citizen = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token})
    assert citizen.is_connected(NAMESPACE)
    return reference


def test_the_superadmins_console_follows_every_agencys_waiting_room(app, seeded):
    superadmin_client, superadmin = console_of(app, *add_superadmin(app))
    _clerk_client, clerk = console_of(app, DTOP_CLERK, seeded[DTOP_CLERK])
    dtop = citizen_arrives(app, "certificacion-individuo")
    cfse = citizen_arrives(app, video_service_of(app, "cfse"))
    assert waiting_references(superadmin) == {dtop, cfse}
    assert waiting_references(clerk) == {dtop}
    page = superadmin_client.get("/staff/").get_data(as_text=True)
    assert dtop in page and cfse in page  # the list it keeps live shows both
