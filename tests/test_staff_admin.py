"""Staff administration (issue 11, items 2, 6 and 7): inviting by e-mail (a single-use link that
expires, stored as a hash), accepting it under the password policy, re-sending and revoking;
roles; deactivation that signs the account out at once and closes its sockets; the rules (no
change to oneself, an agency keeps an active admin, only a superadmin makes superadmins), each
refusal translated and leaving everything unchanged; a new agency from the superadmin's page."""

from __future__ import annotations

import html
import re
import threading

import pytest
import redis
import requests
import socketio
import sqlalchemy as sa

from app.accounts import create_staff
from app.extensions import db
from app.models import Agency, OutboxMessage, Staff, StaffInvitation
from app.staff_admin import StaffChangeRefused, change_role, invite_staff
from app.staff_sockets import StaffConnections
from app.tokens import hash_token
from tests.support import servers
from tests.support.admin import (
    DTOP_ADMIN,
    DTOP_CLERK,
    RETIRO_ADMIN,
    RETIRO_CLERK,
    add_superadmin,
    agency_id,
    audit_events,
    sign_in,
)
from tests.support.apps import build_app
from tests.support.servers import BIN, ProductionServer, free_port, production_env, run
from tests.support.signaling import staff_cookie
from tests.support.turns import retiro_line
from tests.support.two_factor import browser_second_step
from tests.support.waiting import poll

GOOD_PASSWORD = "ventana tamarindo coquí faro 77"
ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(app, client, seeded):
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    return client


def staff_row(app, email) -> Staff | None:
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == email))
        if staff is not None:
            db.session.expunge(staff)
        return staff


def invite(client, app, email="nueva@example.com", role="clerk", language="es", headers=EN, **extra):
    data = {"email": email, "name": "Nueva Persona", "role": role, "language": language, **extra}
    return client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/staff/invite", data=data, headers=headers)


def invitation_email(app, email="nueva@example.com") -> OutboxMessage:
    with app.app_context():
        message = db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.recipient == email, OutboxMessage.kind == "staff_invitation")
            .order_by(OutboxMessage.id.desc())
        ).first()
        db.session.expunge(message)
        return message


def link_token(message: OutboxMessage) -> str:
    return re.search(r"/staff/invitation\?token=([\w-]+)", message.body_text).group(1)


def accept(client, token, password=GOOD_PASSWORD, name="Nueva Persona", headers=EN):
    data = {"token": token, "name": name, "new_password": password, "confirm_password": password}
    return client.post("/staff/invitation", data=data, headers=headers)


def invitation_row(app, email="nueva@example.com") -> StaffInvitation:
    with app.app_context():
        invitation = db.session.scalar(sa.select(StaffInvitation).where(StaffInvitation.email == email))
        db.session.expunge(invitation)
        return invitation


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- The list ------------------------------------------------------------------------------------


def test_the_staff_page_lists_the_agencys_staff_only(app, admin):
    page = text(admin.get(f"/admin/agencies/{agency_id(app, 'dtop')}/staff", headers=EN))
    assert DTOP_CLERK in page and DTOP_ADMIN in page
    assert RETIRO_CLERK not in page
    assert admin.get(f"/admin/agencies/{agency_id(app, 'retiro')}/staff").status_code == 404


# --- Inviting and accepting ----------------------------------------------------------------------


def test_an_invitation_is_e_mailed_in_the_invitees_language_with_a_link_stored_only_as_a_hash(app, admin):
    response = invite(admin, app, language="en")
    assert response.status_code == 302
    message = invitation_email(app)
    assert message.language == "en" and message.subject == "You are invited to Ventanilla"
    assert "Hello Nueva Persona," in message.body_text
    assert "within 72 hours" in message.body_text
    token = link_token(message)
    invitation = invitation_row(app)
    assert invitation.token_hash == hash_token(token) and token not in invitation.token_hash
    assert (invitation.role, invitation.agency_id) == ("clerk", agency_id(app, "dtop"))
    [event] = audit_events(app, "staff.invited")
    assert event.detail["changes"]["email"] == [None, "nueva@example.com"]
    invite(admin, app, email="otra@example.com", language="es")
    spanish = invitation_email(app, "otra@example.com")
    assert spanish.subject == "Le invitamos a Ventanilla" and "Hola, Nueva Persona:" in spanish.body_text


def test_the_invitee_chooses_a_password_under_the_policy_then_signs_in(app, admin):
    invite(admin, app)
    token = link_token(invitation_email(app))
    visitor = app.test_client()
    assert "nueva@example.com" in text(visitor.get(f"/staff/invitation?token={token}", headers=EN))
    weak = accept(visitor, token, password="password1234")
    assert weak.status_code == 422 and "too easy to guess" in text(weak)
    assert staff_row(app, "nueva@example.com") is None
    done = accept(visitor, token)
    assert done.status_code == 302 and done.headers["Location"].endswith("/staff/login")
    staff = staff_row(app, "nueva@example.com")
    assert (staff.role, staff.agency_id, staff.name) == ("clerk", agency_id(app, "dtop"), "Nueva Persona")
    sign_in(visitor, "nueva@example.com", GOOD_PASSWORD)
    assert audit_events(app, "staff.joined")[0].object_id == staff.id


def test_an_invitation_link_works_once(app, admin):
    invite(admin, app)
    token = link_token(invitation_email(app))
    assert accept(app.test_client(), token).status_code == 302
    again = accept(app.test_client(), token, password="otra clave muy larga y rara 9")
    assert again.status_code == 404 and "not valid or has expired" in text(again)
    assert app.test_client().get(f"/staff/invitation?token={token}").status_code == 404


def test_an_address_that_got_an_account_meanwhile_cannot_accept(app, admin):
    invite(admin, app)
    token = link_token(invitation_email(app))
    with app.app_context():
        create_staff("nueva@example.com", "Por Comando", GOOD_PASSWORD, "clerk", "dtop")
    response = accept(app.test_client(), token, headers=EN)
    assert response.status_code == 409 and "already belongs to a staff account" in text(response)
    assert staff_row(app, "nueva@example.com").name == "Por Comando"
    assert invitation_row(app).used_at is None


def test_an_invitation_link_expires_after_the_configured_hours(app, admin, clock, seeded):
    invite(admin, app)
    token = link_token(invitation_email(app))
    clock.advance(hours=71, minutes=59)
    assert app.test_client().get(f"/staff/invitation?token={token}").status_code == 200
    clock.advance(minutes=1)
    assert app.test_client().get(f"/staff/invitation?token={token}").status_code == 404
    assert accept(app.test_client(), token).status_code == 404
    assert staff_row(app, "nueva@example.com") is None
    sign_in(admin, DTOP_ADMIN, seeded[DTOP_ADMIN])  # the admin's own session went idle meanwhile
    page = text(admin.get(f"/admin/agencies/{agency_id(app, 'dtop')}/staff", headers=EN))
    assert "Expired" in page


def test_an_expired_invitation_gives_way_to_a_new_one(app, admin, clock, seeded):
    invite(admin, app)
    clock.advance(hours=73)
    sign_in(admin, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert invite(admin, app).status_code == 302
    with app.app_context():
        rows = db.session.scalars(sa.select(StaffInvitation).order_by(StaffInvitation.id)).all()
        assert [(row.revoked_at is None) for row in rows] == [False, True]
    page = text(admin.get(f"/admin/agencies/{agency_id(app, 'dtop')}/staff", headers=EN))
    assert page.count("Revoke: nueva@example.com") == 1 and "Expired" not in page


def test_the_invitation_hours_are_a_setting(app, admin, clock):
    app.config["STAFF_INVITATION_HOURS"] = 2
    invite(admin, app, language="en")
    token = link_token(invitation_email(app))
    assert "within 2 hours" in invitation_email(app).body_text
    clock.advance(hours=2)
    assert app.test_client().get(f"/staff/invitation?token={token}").status_code == 404


def test_re_sending_replaces_the_link_and_restarts_the_expiry(app, admin, clock, seeded):
    invite(admin, app)
    old = link_token(invitation_email(app))
    clock.advance(hours=70)
    sign_in(admin, DTOP_ADMIN, seeded[DTOP_ADMIN])
    invitation = invitation_row(app)
    response = admin.post(f"/admin/invitations/{invitation.id}/resend", data={"version": invitation.version})
    assert response.status_code == 302
    new = link_token(invitation_email(app))
    assert new != old
    clock.advance(hours=5)
    assert app.test_client().get(f"/staff/invitation?token={old}").status_code == 404
    assert app.test_client().get(f"/staff/invitation?token={new}").status_code == 200
    assert len(audit_events(app, "staff.invitation_resent")) == 1


def test_a_revoked_invitation_no_longer_opens_and_a_stale_form_is_refused(app, admin):
    invite(admin, app)
    token = link_token(invitation_email(app))
    invitation = invitation_row(app)
    url = f"/admin/invitations/{invitation.id}"
    assert admin.post(f"{url}/revoke", data={"version": invitation.version}).status_code == 302
    assert app.test_client().get(f"/staff/invitation?token={token}").status_code == 404
    stale = admin.post(f"{url}/resend", data={"version": invitation.version}, headers=EN)
    assert stale.status_code == 409 and "Someone else changed this" in text(stale)
    current = invitation_row(app)
    gone = admin.post(f"{url}/resend", data={"version": current.version}, headers=EN)
    assert gone.status_code == 409 and "already accepted or revoked" in text(gone)
    assert invitation_row(app).revoked_at is not None


@pytest.mark.parametrize(
    "email,headers,message",
    [
        ("a@b", EN, "Enter a valid email address"),
        ("a@b", ES, "Escriba un correo electrónico válido"),
        ("", EN, "Enter an e-mail address."),
        (DTOP_CLERK, EN, "This e-mail address already belongs to a staff account."),
        (RETIRO_CLERK.upper(), ES, "Esta dirección de correo ya pertenece a una cuenta del personal."),
    ],
)
def test_an_invalid_or_used_e_mail_is_refused_with_a_translated_message(app, admin, email, headers, message):
    response = invite(admin, app, email=email, headers=headers)
    assert response.status_code == 422
    assert message in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffInvitation)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_an_address_with_a_pending_invitation_cannot_be_invited_twice(app, admin):
    assert invite(admin, app).status_code == 302
    twice = invite(admin, app, headers=ES)
    assert twice.status_code == 422 and "ya tiene una invitación pendiente" in text(twice)


def test_an_admin_cannot_invite_a_superadmin_but_a_superadmin_can(app, admin):
    refused = invite(admin, app, role="superadmin")
    assert refused.status_code == 422 and "Choose a role from the list." in text(refused)
    superadmin = app.test_client()
    sign_in(superadmin, *add_superadmin(app))
    assert invite(superadmin, app, role="superadmin").status_code == 302


# --- Roles ------------------------------------------------------------------------------------------


def change(client, app, email, what, value, version=None, headers=EN):
    staff = staff_row(app, email)
    data = {what: value, "version": staff.version if version is None else version}
    return client.post(f"/admin/staff/{staff.id}/{what}", data=data, headers=headers)


def test_an_admin_changes_a_clerks_role_and_it_is_audited(app, admin):
    assert change(admin, app, DTOP_CLERK, "role", "admin").status_code == 302
    assert staff_row(app, DTOP_CLERK).role == "admin"
    [event] = audit_events(app, "staff.role_changed")
    assert event.detail["changes"] == {"role": ["clerk", "admin"]}


@pytest.mark.parametrize(
    "email,role,version,status,message",
    [
        (DTOP_CLERK, "superadmin", None, 422, "Choose a role from the list."),
        (DTOP_CLERK, "boss", None, 422, "Choose a role from the list."),
        (DTOP_CLERK, "admin", 0, 409, "Someone else changed this"),
        (DTOP_ADMIN, "clerk", None, 422, "You cannot change your own role."),
    ],
)
def test_refused_role_changes_change_nothing(app, admin, email, role, version, status, message):
    before = staff_row(app, email)
    response = change(admin, app, email, "role", role, version=version)
    assert response.status_code == status and message in text(response)
    after = staff_row(app, email)
    assert (after.role, after.version) == (before.role, before.version)
    assert audit_events(app, "staff.role_changed") == []


def test_only_a_superadmin_makes_or_changes_a_superadmin(app, admin):
    superadmin = app.test_client()
    sign_in(superadmin, *add_superadmin(app))
    assert change(superadmin, app, DTOP_CLERK, "role", "superadmin").status_code == 302
    assert staff_row(app, DTOP_CLERK).role == "superadmin"
    demoted = change(admin, app, DTOP_CLERK, "role", "clerk")
    assert demoted.status_code == 422 and "Only a superadmin can change" in text(demoted)
    deactivated = change(admin, app, DTOP_CLERK, "active", "0", headers=ES)
    assert deactivated.status_code == 422 and "Solo un superadministrador" in text(deactivated)
    assert staff_row(app, DTOP_CLERK).role == "superadmin" and staff_row(app, DTOP_CLERK).active


def test_the_agencys_last_active_admin_cannot_be_demoted_or_deactivated(app, seeded):
    superadmin = app.test_client()
    sign_in(superadmin, *add_superadmin(app))
    demoted = change(superadmin, app, DTOP_ADMIN, "role", "clerk", headers=ES)
    assert demoted.status_code == 409 and "al menos un administrador activo" in text(demoted)
    deactivated = change(superadmin, app, DTOP_ADMIN, "active", "0")
    assert deactivated.status_code == 409 and "at least one active admin" in text(deactivated)
    assert staff_row(app, DTOP_ADMIN).active and staff_row(app, DTOP_ADMIN).role == "admin"
    # With a second admin, the first may go.
    assert change(superadmin, app, DTOP_CLERK, "role", "admin").status_code == 302
    assert change(superadmin, app, DTOP_ADMIN, "role", "clerk").status_code == 302


def test_two_admins_demoting_each_other_at_once_leave_one_admin(any_db_app):
    """On SQLite and PostgreSQL: the agency's row is locked, so the second change sees the first."""
    app = any_db_app
    with app.app_context():
        db.session.add(Agency(slug="prueba", name_es="Prueba", name_en="Test"))
        db.session.commit()
        for name in ("uno", "dos"):
            create_staff(f"{name}@prueba.example", f"Admin {name}", GOOD_PASSWORD, "admin", "prueba")
    barrier = threading.Barrier(2)
    outcomes = {}

    def demote(actor_email, target_email):
        with app.test_request_context():
            actor = db.session.scalar(sa.select(Staff).where(Staff.email == actor_email))
            target = db.session.scalar(sa.select(Staff).where(Staff.email == target_email))
            version = target.version
            db.session.rollback()  # end the read, as a request would between loading and saving
            barrier.wait()
            try:
                change_role(target, "clerk", version, actor)
                outcomes[actor_email] = "demoted"
            except StaffChangeRefused as refused:
                outcomes[actor_email] = refused.status

    threads = [
        threading.Thread(target=demote, args=("uno@prueba.example", "dos@prueba.example")),
        threading.Thread(target=demote, args=("dos@prueba.example", "uno@prueba.example")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values(), key=str) == [409, "demoted"]
    with app.app_context():
        roles = db.session.scalars(sa.select(Staff.role).where(Staff.email.like("%@prueba.example")))
        assert sorted(roles) == ["admin", "clerk"]


def test_another_agencys_staff_is_a_404_and_stays_unchanged(app, admin):
    before = staff_row(app, RETIRO_CLERK)
    missing = admin.get(f"/admin/staff/{before.id}", headers=ES)
    assert missing.status_code == 404 and "No existe ese miembro del personal." in text(missing)
    assert change(admin, app, RETIRO_CLERK, "role", "admin").status_code == 404
    assert change(admin, app, RETIRO_CLERK, "active", "0").status_code == 404
    after = staff_row(app, RETIRO_CLERK)
    assert (after.role, after.active, after.version) == (before.role, before.active, before.version)
    with app.test_request_context():
        retiro = db.session.get(Agency, agency_id(app, "retiro"))
        invitation, _token = invite_staff(
            retiro, {"email": "r@example.com", "name": "R", "role": "clerk", "language": "es"}, None
        )
        invitation_id, version = invitation.id, invitation.version
    response = admin.post(f"/admin/invitations/{invitation_id}/revoke", data={"version": version}, headers=EN)
    assert response.status_code == 404 and "There is no such invitation." in text(response)
    assert invitation_row(app, "r@example.com").revoked_at is None


# --- Deactivation -------------------------------------------------------------------------------------


def test_a_deactivated_member_is_signed_out_at_once_and_cannot_sign_in(app, admin, seeded):
    clerk = app.test_client()
    sign_in(clerk, DTOP_CLERK, seeded[DTOP_CLERK])
    assert clerk.get("/staff/").status_code == 200
    response = change(admin, app, DTOP_CLERK, "active", "0")
    assert response.status_code == 302
    assert "/staff/login" in clerk.get("/staff/").headers["Location"]
    refused = clerk.post("/staff/login", data={"email": DTOP_CLERK, "password": seeded[DTOP_CLERK]})
    assert refused.status_code == 401
    [event] = audit_events(app, "staff.deactivated")
    assert event.detail["changes"] == {"active": [True, False]}
    assert change(admin, app, DTOP_CLERK, "active", "1").status_code == 302
    sign_in(clerk, DTOP_CLERK, seeded[DTOP_CLERK])


def test_an_admin_cannot_deactivate_themself(app, admin):
    response = change(admin, app, DTOP_ADMIN, "active", "0", headers=ES)
    assert response.status_code == 422 and "No puede desactivar su propia cuenta." in text(response)
    assert staff_row(app, DTOP_ADMIN).active


def test_a_stale_or_malformed_deactivation_form_is_refused(app, admin):
    assert change(admin, app, DTOP_CLERK, "active", "0", version=99).status_code == 409
    assert change(admin, app, DTOP_CLERK, "active", "maybe").status_code == 422
    assert staff_row(app, DTOP_CLERK).active


def staff_socket(url, cookie, namespace, auth):
    client = socketio.Client(reconnection=False)
    client.connect(
        url,
        namespaces=[namespace],
        auth=auth,
        headers={"Cookie": cookie},
        transports=["websocket"],
        wait_timeout=10,
    )
    return client


@pytest.mark.clock(tick=True)
def test_deactivation_closes_the_members_open_sockets(app, seeded, live_server):
    """A real Socket.IO client per namespace, signed in as the clerk: all closed by the server."""
    cookie = staff_cookie(live_server.url, RETIRO_CLERK, seeded[RETIRO_CLERK])
    with app.app_context():
        line = retiro_line()
        queue_auth = {"service": line.service.id, "office": line.office.id}
    sockets = [
        staff_socket(live_server.url, cookie, "/call", {"console": True}),
        staff_socket(live_server.url, cookie, "/turns", queue_auth),
    ]
    admin_cookie = staff_cookie(live_server.url, RETIRO_ADMIN, seeded[RETIRO_ADMIN], app)
    other = staff_socket(live_server.url, admin_cookie, "/call", {"console": True})
    try:
        clerk = staff_row(app, RETIRO_CLERK)
        response = requests.post(
            f"{live_server.url}/admin/staff/{clerk.id}/active",
            data={"active": "0", "version": clerk.version},
            headers={"Cookie": admin_cookie},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302
        assert poll(lambda: not any(s.connected for s in sockets), 10)
        assert other.connected  # only the deactivated member's sockets
        with pytest.raises(socketio.exceptions.ConnectionError):
            staff_socket(live_server.url, cookie, "/call", {"console": True})
    finally:
        for client in [*sockets, other]:
            if client.connected:
                client.disconnect()


def test_with_a_message_queue_the_sockets_of_every_process_are_closed(app, redis_url, monkeypatch):
    """Two processes share the directory in Redis: the one deactivating closes the sockets the
    other holds, through the Socket.IO message queue (python-socketio publishes the disconnect)."""
    from app.extensions import socketio as server

    process_a, process_b = StaffConnections(), StaffConnections()
    process_a.use_message_queue(redis_url, "ventanilla-test")
    process_b.use_message_queue(redis_url, "ventanilla-test")
    process_a.opened(4242, "/call", "sid-on-a")
    process_a.opened(4242, "/turns", "sid-on-a-turns")
    process_a.opened(77, "/call", "someone-else")
    closed = []

    class Server:
        def disconnect(self, sid, namespace):
            closed.append((namespace, sid))

    monkeypatch.setattr(server, "server", Server())
    try:
        assert process_b.disconnect_staff(4242) == 2
        assert sorted(closed) == [("/call", "sid-on-a"), ("/turns", "sid-on-a-turns")]
        assert process_b.disconnect_staff(4242) == 0
    finally:
        process_a.directory.take(77)


# Process B: the same site's code in another process, deactivating the clerk (as an admin's request would).
DEACTIVATE_IN_ANOTHER_PROCESS = """
import sqlalchemy as sa
from app.extensions import db
from app.models import Staff
from app.staff_admin import set_active
from wsgi import app

with app.app_context():
    clerk = db.session.scalar(sa.select(Staff).where(Staff.email == "clerk@prueba.example"))
    admin = db.session.scalar(sa.select(Staff).where(Staff.email == "admin@prueba.example"))
    set_active(clerk, False, clerk.version, admin)
print("deactivated")
"""


@pytest.mark.real_clock
def test_deactivating_on_one_process_closes_the_sockets_held_by_another(redis_url, tmp_path, monkeypatch):
    """Process A (gunicorn, gevent) holds the clerk's socket; process B, on the same database and
    the same Redis message queue, deactivates the account: A closes the socket."""
    monkeypatch.setattr(servers, "STARTUP_SECONDS", 60)  # the machine is shared: a worker may boot slowly
    queue = redis_url.rsplit("/", 1)[0] + "/13"
    redis.Redis.from_url(queue).flushdb()
    port = free_port()
    env = production_env(tmp_path, port)
    env.update(SOCKETIO_MESSAGE_QUEUE=queue, REDIS_URL=queue, RATELIMIT_ENABLED="false")
    setup = build_app(tmp_path, env["DATABASE_URL"])
    with setup.app_context():  # a schema and two accounts (the demo's slow hashing is not needed)
        db.create_all()
        db.session.add(Agency(slug="prueba", name_es="Prueba", name_en="Test"))
        db.session.commit()
        create_staff("clerk@prueba.example", "Clerk Prueba", GOOD_PASSWORD, "clerk", "prueba")
        create_staff("admin@prueba.example", "Admin Prueba", GOOD_PASSWORD, "admin", "prueba")
        db.engine.dispose()
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
    server = ProductionServer(command, env, tmp_path, port)
    sockets = []
    try:
        server.wait_healthy()
        cookie = staff_cookie(server.base_url, "clerk@prueba.example", GOOD_PASSWORD)
        sockets.append(staff_socket(server.base_url, cookie, "/call", {"console": True}))
        other = run([str(BIN / "python"), "-c", DEACTIVATE_IN_ANOTHER_PROCESS], env)
        assert other.stdout.strip() == "deactivated", other.stdout + other.stderr
        assert poll(lambda: not sockets[0].connected, 10), server.logs()
    finally:
        for client in sockets:
            if client.connected:
                client.disconnect()
        server.stop()
        redis.Redis.from_url(queue).flushdb()


# --- A new agency ---------------------------------------------------------------------------------------


def agency_form(**overrides):
    data = {
        "slug": "prtc",
        "name_es": "Compañía de Turismo",
        "name_en": "Tourism Company",
        "timezone": "America/Puerto_Rico",
        "admin_email": "jefa@turismo.example",
        "language": "es",
    }
    return {**data, **overrides}


def test_a_superadmin_creates_an_agency_and_its_first_admin_is_invited(app, seeded):
    superadmin = app.test_client()
    sign_in(superadmin, *add_superadmin(app))
    assert superadmin.get("/admin/agencies/new").status_code == 200
    response = superadmin.post("/admin/agencies/new", data=agency_form())
    assert response.status_code == 302
    prtc = agency_id(app, "prtc")
    assert response.headers["Location"].endswith(f"/admin/agencies/{prtc}/staff")
    invitation = invitation_row(app, "jefa@turismo.example")
    assert (invitation.agency_id, invitation.role) == (prtc, "admin")
    token = link_token(invitation_email(app, "jefa@turismo.example"))
    assert accept(app.test_client(), token, name="Jefa Turismo").status_code == 302
    assert staff_row(app, "jefa@turismo.example").role == "admin"
    assert audit_events(app, "agency.created")[0].object_id == prtc


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("slug", "PRTC!", "lower-case letters, digits and hyphens"),
        ("slug", "-prtc", "lower-case letters, digits and hyphens"),
        ("slug", "dtop", "Another agency already uses this short name."),
        ("timezone", "Mars/Olympus", "Choose a time zone from the list."),
        ("admin_email", "a@b", "Enter a valid email address"),
        ("admin_email", DTOP_CLERK, "already belongs to a staff account"),
        ("name_es", "", "Enter the agency's name in Spanish."),
    ],
)
def test_a_new_agency_with_bad_values_is_refused_and_nothing_is_created(app, seeded, field, value, message):
    superadmin = app.test_client()
    sign_in(superadmin, *add_superadmin(app))
    response = superadmin.post("/admin/agencies/new", data=agency_form(**{field: value}), headers=EN)
    assert response.status_code == 422 and message in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffInvitation)) == 0
    assert agency_id(app, "prtc") is None


def test_only_a_superadmin_may_open_the_new_agency_page(app, admin, seeded):
    assert admin.get("/admin/agencies/new").status_code == 403
    retiro = app.test_client()
    sign_in(retiro, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    assert retiro.post("/admin/agencies/new", data=agency_form()).status_code == 403
    assert agency_id(app, "prtc") is None


# --- In Chromium: axe, phone and desktop, Spanish and English ---------------------------------------


@pytest.mark.browser
@pytest.mark.clock(tick=True)
@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_staff_pages_pass_axe_and_fit_the_screen(
    app, seeded, live_server, browser, axe, locale, viewport
):
    from tests.support.browser import open_page

    width, height = viewport
    superadmin = add_superadmin(app)
    dtop = agency_id(app, "dtop")
    with app.test_request_context():
        invitation, token = invite_staff(
            db.session.get(Agency, dtop),
            {"email": "nueva@example.com", "name": "Nueva", "role": "clerk", "language": "es"},
            None,
        )
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    found, wide = {}, {}

    def check(name):
        found[name] = axe(page)
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[name] = page.evaluate("document.documentElement.scrollWidth")

    page.goto(f"{live_server.url}/staff/invitation?token={token}")
    check("invitation")
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector("#password-error")
    check("invitation, refused")
    page.goto(f"{live_server.url}/staff/login")
    page.locator("#email").fill(superadmin[0])
    page.locator("#password").fill(superadmin[1])
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    browser_second_step(page, live_server.url, app, superadmin[0])
    clerk = staff_row(app, DTOP_CLERK)
    for path in (
        f"/admin/agencies/{dtop}/staff",
        f"/admin/agencies/{dtop}/staff/invite",
        f"/admin/staff/{clerk.id}",
        "/admin/agencies/new",
    ):
        page.goto(live_server.url + path)
        check(path)
        if path.endswith(("/invite", "/new")):
            with page.expect_navigation():
                page.locator("main form button[type=submit]").click()
            check(f"{path}, refused")
    page.goto(f"{live_server.url}/admin/staff/{clerk.id}")
    page.evaluate("document.querySelectorAll('input[name=version]').forEach(i => i.value = '0')")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    assert page.locator("[data-conflict]").count() == 1
    check("member, conflict")
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == {}
