"""The /call signaling relay in tests: appointments to join, and Socket.IO peers that record events."""

from __future__ import annotations

import datetime as dt
import threading

import requests
import socketio
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, Service, Staff
from app.security import new_reference
from app.tokens import new_token
from tests.support.two_factor import requests_sign_in
from tests.support.waiting import poll

CLERK = "clerk@dtop.demo.ventanilla.pr"
ADMIN = "admin@dtop.demo.ventanilla.pr"
OTHER_AGENCY_CLERK = "clerk@cfse.demo.ventanilla.pr"
TIMEOUT = 10  # seconds: generous, never a timing assertion


def make_appointment(
    app,
    *,
    starts_in=dt.timedelta(minutes=5),
    status="booked",
    clerk_email=None,
    slug="certificacion-individuo",
    email="ana@example.com",
):
    """A video appointment `starts_in` from now (straight into the table), and its join token.

    "Now" is the clock of this process: the test clock in-process, so it must be the clock of the
    server that checks the join window too (a child process has the real clock).
    """
    token, token_hash = new_token()
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + starts_in
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == clerk_email)) if clerk_email else None
        appointment = Appointment(
            reference=new_reference(service.agency.slug),
            service=service,
            office=service.offices[0],
            start_at=start,
            end_at=start + dt.timedelta(minutes=20),
            status=status,
            seat=None if status == "cancelled" else 1,
            citizen_name="Ana Rivera",
            citizen_email=email,
            citizen_phone="+17875550100",
            join_token_hash=token_hash,
            manage_token_hash=new_token()[1],
            clerk=clerk,
        )
        db.session.add(appointment)
        db.session.commit()
        return appointment.reference, token


class Peer:
    """A socket.io client that records what it receives, in order, and lets a test wait for it."""

    def __init__(self, url, auth, cookie=None):
        self.events: list[tuple[str, object]] = []
        self._arrived = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record, namespace="/call")
        headers = {"Cookie": cookie} if cookie else {}
        self.client.connect(
            url, namespaces=["/call"], auth=auth, headers=headers, transports=["websocket"], wait_timeout=10
        )

    def _record(self, event, data=None):
        with self._arrived:
            self.events.append((event, data))
            self._arrived.notify_all()

    def names(self):
        return [name for name, _ in self.events]

    def wait_until(self, condition, timeout=TIMEOUT) -> bool:
        """Wait until `condition(events)` is true, woken by each event; False if time runs out."""
        with self._arrived:
            return self._arrived.wait_for(lambda: condition(self.events), timeout=timeout)

    def wait_for(self, name, timeout=TIMEOUT):
        """The data of the first `name` event, waiting for it to arrive."""
        found = []

        def arrived(events):
            found[:] = [data for event, data in events if event == name][:1]
            return bool(found)

        if not self.wait_until(arrived, timeout):
            raise AssertionError(f"no {name!r} event; got {self.names()}")
        return found[0]

    def call(self, event, data):
        return self.client.call(event, data, namespace="/call", timeout=TIMEOUT)

    def sync(self) -> None:
        """A round trip on this connection: the server answers an invalid signal with an ack
        (and relays nothing), so once the ack is back, whatever the server had sent this peer
        before it has arrived too. Checks that something did *not* arrive wait for this, not
        for a fixed time."""
        assert self.call("signal", None) == {"ok": False}

    def close(self):
        """Disconnect without waiting: the server acts on the close packet at once, but the
        development server never answers the websocket close frame, so the client would idle 3 s."""
        if self.client.connected:
            threading.Thread(target=self.client.disconnect, daemon=True).start()

    def wait_disconnected(self, timeout=5) -> bool:
        return poll(lambda: not self.client.connected, timeout)


def staff_cookie(url, email, password, app=None) -> str:
    """Log in like a browser (with the forms' CSRF tokens, when the server asks for them); `app`
    gives the code of an account with two-factor sign-in."""
    session = requests.Session()
    response = requests_sign_in(session, url, email, password, app)
    assert response.status_code == 302, response.text[:300]
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)
