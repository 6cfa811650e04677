"""Staff account security (issue 11, item 5): the password policy, lockout after repeated failures,
password change, reset by e-mailed single-use link, inactivity expiry, rehash on sign-in and
`flask reset-password`."""

from __future__ import annotations

import re

import argon2
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app.extensions import db
from app.models import AuditEvent, OutboxMessage, PasswordReset, Staff
from app.security import verify_password

CLERK = "clerk@dtop.demo.ventanilla.pr"
NEW_PASSWORD = "lantern-harbour-violet-42"


def staff_row(app, email=CLERK) -> Staff:
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == email))
        db.session.expunge(staff)
        return staff


def audit_actions(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


# --- The password policy, through `flask create-staff` -------------------------------------------


def create_staff(runner, email="maria@dtop.pr", name="María Pérez", password="lantern-harbour-violet-42"):
    return runner.invoke(
        args=["create-staff", "--email", email, "--name", name, "--agency", "dtop", "--password", password]
    )


@pytest.mark.parametrize(
    "password, message",
    [
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("123456789012", "too easy to guess"),
        ("password1234", "too easy to guess"),
        ("maria@dtop.pr", "your email address or your name"),
        ("short-pass", "at least 12 characters"),
        ("maria@dtop.pr-", "your email address or your name"),
        ("xx maria@dtop.pr xx", "your email address or your name"),
        ("MaríaPérez2031!", "your email address or your name"),
        (" " * 12, "only spaces"),
        ("\t" * 14, "only spaces"),
        ("x" * 300, "at most 256 characters"),
    ],
)
def test_create_staff_refuses_a_guessable_password(app, runner, seeded, password, message):
    result = create_staff(runner, password=password)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Staff).where(Staff.email == "maria@dtop.pr")) is None


@pytest.mark.parametrize("email", ["a@b", "maria", "maria@", "@dtop.pr", "maria@dtop..pr"])
def test_create_staff_refuses_an_email_address_that_is_not_one(app, runner, seeded, email):
    result = create_staff(runner, email=email)
    assert result.exit_code != 0
    assert "Enter a valid email address" in result.output


def test_create_staff_accepts_a_strong_password(app, runner, seeded):
    result = create_staff(runner)
    assert result.exit_code == 0, result.output


# --- Lockout ------------------------------------------------------------------------------------


def fail(client, times, email=CLERK):
    return [
        client.post("/staff/login", data={"email": email, "password": "wrong-password"}) for _ in range(times)
    ]


def test_repeated_failures_lock_the_account_and_tell_the_unlock_time(app, client, auth):
    app.config.update(LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=15)
    responses = fail(client, 3)
    assert [r.status_code for r in responses[:2]] == [401, 401]
    assert responses[2].status_code == 429
    # 10:00 in Puerto Rico + 15 minutes, in the agency's time zone and the page's language.
    assert "bloqueada hasta las 10:15" in responses[2].get_data(as_text=True)
    english = client.post(
        "/staff/login",
        data={"email": CLERK, "password": "wrong-password"},
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 429
    assert re.search(r"locked until 10:15\sAM", english.get_data(as_text=True))
    assert "staff.locked" in audit_actions(app)


def test_the_right_password_is_refused_during_a_lockout_and_works_after_it(app, client, auth, clock):
    app.config.update(LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=15)
    fail(client, 3)
    assert auth.login().status_code == 429
    clock.advance(minutes=14)
    assert auth.login().status_code == 429
    clock.advance(minutes=2)
    response = auth.login()
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_a_successful_sign_in_resets_the_failure_count(app, client, auth):
    app.config.update(LOGIN_LOCKOUT_FAILURES=3)
    fail(client, 2)
    auth.login()
    auth.logout()
    assert [r.status_code for r in fail(client, 2)] == [401, 401]


def test_failures_for_an_unknown_email_lock_nothing_and_say_nothing_new(app, client, auth):
    app.config.update(LOGIN_LOCKOUT_FAILURES=2)
    statuses = [r.status_code for r in fail(client, 3, email="nobody@dtop.demo.ventanilla.pr")]
    assert statuses == [401, 401, 401]
    assert auth.login().status_code == 302


# --- Rehash on sign-in --------------------------------------------------------------------------


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(app, client, auth):
    old = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash(auth.credentials[CLERK])
    with app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.email == CLERK).values(password_hash=old))
        db.session.commit()
    assert auth.login().status_code == 302
    upgraded = staff_row(app).password_hash
    assert upgraded != old
    assert argon2.extract_parameters(upgraded) == argon2.profiles.CHEAPEST  # the testing profile
    assert verify_password(upgraded, auth.credentials[CLERK])


def test_a_current_hash_is_left_alone_at_sign_in(app, client, auth):
    before = staff_row(app).password_hash
    auth.login()
    assert staff_row(app).password_hash == before


# --- Inactivity ---------------------------------------------------------------------------------


def test_a_session_expires_after_the_idle_time(app, client, auth, clock):
    assert app.config["STAFF_IDLE_MINUTES"] == 30
    auth.login()
    clock.advance(minutes=29)
    assert client.get("/staff/").status_code == 200  # activity keeps it alive
    clock.advance(minutes=29)
    assert client.get("/staff/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "inactividad" in page


def test_the_idle_time_is_a_setting(app, client, auth, clock):
    app.config["STAFF_IDLE_MINUTES"] = 5
    auth.login()
    clock.advance(minutes=6)
    assert client.get("/staff/").status_code == 302


def test_an_idle_session_no_longer_opens_the_console_socket(app, client, auth, clock):
    from app.calls.live import NAMESPACE
    from app.extensions import socketio

    def connects() -> bool:
        sio = socketio.test_client(app, namespace=NAMESPACE, auth={"console": True}, flask_test_client=client)
        connected = sio.is_connected(NAMESPACE)
        if connected:
            sio.disconnect(NAMESPACE)
        return connected

    auth.login()
    assert connects()
    clock.advance(minutes=31)
    assert not connects()


# --- Password change ----------------------------------------------------------------------------


def change(client, current, new, confirm=None, lang="es"):
    return client.post(
        "/staff/password",
        data={"current_password": current, "new_password": new, "confirm_password": confirm or new},
        headers={"Accept-Language": lang},
    )


def test_password_change_requires_sign_in(client):
    response = client.get("/staff/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_password_change_page_is_translated(client, auth):
    auth.login()
    assert "Cambiar la contraseña" in client.get("/staff/password").get_data(as_text=True)
    english = client.get("/staff/password", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Change your password" in english


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app, client, auth):
    other = app.test_client()
    other.post("/staff/login", data={"email": CLERK, "password": auth.credentials[CLERK]})
    auth.login()
    response = change(client, auth.credentials[CLERK], NEW_PASSWORD)
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200
    assert other.get("/staff/").status_code == 302
    assert verify_password(staff_row(app).password_hash, NEW_PASSWORD)
    assert "staff.password_changed" in audit_actions(app)


def test_password_change_needs_the_current_password(app, client, auth):
    auth.login()
    before = staff_row(app).password_hash
    response = change(client, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 422
    assert "contraseña actual no es correcta" in response.get_data(as_text=True)
    assert staff_row(app).password_hash == before


@pytest.mark.parametrize(
    "new, confirm, message",
    [
        ("aaaaaaaaaaaa", None, "too easy to guess"),
        (CLERK, None, "your email address or your name"),
        (" " * 12, None, "only spaces"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "do not match"),
    ],
)
def test_password_change_applies_the_policy(app, client, auth, new, confirm, message):
    auth.login()
    before = staff_row(app).password_hash
    response = change(client, auth.credentials[CLERK], new, confirm, lang="en")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert staff_row(app).password_hash == before


# --- Reset by e-mailed link ---------------------------------------------------------------------


def ask_reset(client, email=CLERK, lang="es"):
    return client.post("/staff/password/forgot", data={"email": email}, headers={"Accept-Language": lang})


def reset_link(app, email=CLERK) -> str:
    with app.app_context():
        message = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.recipient == email).order_by(OutboxMessage.id.desc())
        )
        return re.search(r"https?://\S+/staff/password/reset\?token=[\w-]+", message.body_text).group(0)


def use_link(client, link, password=NEW_PASSWORD):
    path = link.split("localhost", 1)[1]
    token = path.split("token=", 1)[1]
    return client.post(
        "/staff/password/reset",
        data={"token": token, "new_password": password, "confirm_password": password},
    )


def test_the_same_answer_for_a_known_and_an_unknown_email(app, client, auth):
    known = ask_reset(client)
    unknown = ask_reset(client, "nobody@dtop.demo.ventanilla.pr")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace(CLERK, "") == unknown.get_data(as_text=True).replace(
        "nobody@dtop.demo.ventanilla.pr", ""
    )
    with app.app_context():
        recipients = db.session.scalars(sa.select(OutboxMessage.recipient)).all()
    assert recipients == [CLERK]


def test_the_reset_email_is_in_the_language_asked_in_and_the_token_is_hashed(app, client, auth):
    ask_reset(client, lang="en")
    link = reset_link(app)
    token = link.split("token=", 1)[1]
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert "Reset your Ventanilla password" in message.subject
        assert "30 minutes" in message.body_text
        stored = db.session.scalar(sa.select(PasswordReset))
        assert token not in stored.token_hash and len(stored.token_hash) == 64


def test_a_reset_link_sets_a_new_password_once(app, client, auth):
    other = app.test_client()
    other.post("/staff/login", data={"email": CLERK, "password": auth.credentials[CLERK]})
    ask_reset(client)
    link = reset_link(app)
    assert client.get(link.split("localhost", 1)[1]).status_code == 200
    response = use_link(client, link)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert verify_password(staff_row(app).password_hash, NEW_PASSWORD)
    assert other.get("/staff/").status_code == 302  # every session of the account ended
    again = use_link(client, link, "second-attempt-orchid-77")
    assert again.status_code == 404
    assert client.get(link.split("localhost", 1)[1]).status_code == 404
    assert verify_password(staff_row(app).password_hash, NEW_PASSWORD)
    assert "staff.password_reset" in audit_actions(app)


def test_a_reset_link_expires_after_30_minutes(app, client, auth, clock):
    ask_reset(client)
    link = reset_link(app)
    clock.advance(minutes=31)
    assert client.get(link.split("localhost", 1)[1]).status_code == 404
    assert use_link(client, link).status_code == 404
    assert not verify_password(staff_row(app).password_hash, NEW_PASSWORD)


def test_a_reset_link_works_within_30_minutes(app, client, auth, clock):
    ask_reset(client)
    link = reset_link(app)
    clock.advance(minutes=29)
    assert use_link(client, link).status_code == 302


def test_a_reset_applies_the_policy(app, client, auth):
    ask_reset(client)
    response = use_link(client, reset_link(app), "123456789012")
    assert response.status_code == 422
    assert not verify_password(staff_row(app).password_hash, "123456789012")


def test_a_reset_ends_a_lockout(app, client, auth):
    app.config.update(LOGIN_LOCKOUT_FAILURES=2)
    fail(client, 2)
    ask_reset(client)
    use_link(client, reset_link(app))
    assert auth.login(password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("token", ["", "nope", "x" * 500, "\x00abc"])
def test_a_bad_reset_token_is_a_404(client, auth, token):
    assert client.get("/staff/password/reset", query_string={"token": token}).status_code in (404, 422)
    response = client.post(
        "/staff/password/reset",
        data={"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 404


def test_asking_for_a_reset_is_rate_limited(tmp_path, demo_database):
    from tests.support.apps import demo_app

    app = demo_app(tmp_path, demo_database, RATELIMIT_ENABLED=True, PASSWORD_RESET_RATE_LIMIT="2 per hour")
    client = app.test_client()
    statuses = [ask_reset(client).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# --- flask reset-password -----------------------------------------------------------------------


def test_reset_password_command_sets_a_new_password_and_ends_sessions(app, runner, client, auth):
    auth.login()
    result = runner.invoke(
        args=["reset-password", "--email", "CLERK@dtop.demo.ventanilla.pr"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert verify_password(staff_row(app).password_hash, NEW_PASSWORD)
    assert client.get("/staff/").status_code == 302


def test_reset_password_command_applies_the_policy_and_knows_the_account(app, runner, seeded):
    weak = runner.invoke(args=["reset-password", "--email", CLERK, "--password", "aaaaaaaaaaaa"])
    assert weak.exit_code != 0 and "too easy to guess" in weak.output
    unknown = runner.invoke(args=["reset-password", "--email", "no@x.pr", "--password", NEW_PASSWORD])
    assert unknown.exit_code != 0 and "no account" in unknown.output


def test_the_reset_email_is_sent_and_then_forgets_the_link(app, client, auth):
    from app.notifications import send_due

    ask_reset(client)
    link = reset_link(app)
    with app.app_context():
        assert send_due().sent == 1
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.status == "sent" and link not in message.body_text
    assert use_link(client, link).status_code == 302


def test_a_deactivated_account_gets_no_reset_link(app, client, auth):
    with app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.email == CLERK).values(active=False))
        db.session.commit()
    assert ask_reset(client).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_new_reset_link_voids_the_earlier_one(app, client, auth):
    ask_reset(client)
    first = reset_link(app)
    ask_reset(client)
    second = reset_link(app)
    assert first != second
    assert use_link(client, first).status_code == 404
    assert use_link(client, second).status_code == 302


@pytest.mark.parametrize(
    "data",
    [{}, {"email": ""}, {"email": "x" * 300}, {"email": "a\x00@dtop.pr"}],
)
def test_a_bad_reset_request_gets_422_and_sends_nothing(app, client, auth, data):
    response = client.post("/staff/password/forgot", data=data)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"current_password": "", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        {"current_password": "x" * 5000, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        {"current_password": "x", "new_password": "x" * 5000, "confirm_password": "x" * 5000},
    ],
)
def test_a_bad_password_change_gets_422_not_500(app, client, auth, data):
    auth.login()
    before = staff_row(app).password_hash
    assert client.post("/staff/password", data=data).status_code == 422
    assert staff_row(app).password_hash == before


def test_the_sign_in_page_links_to_the_reset(client):
    page = client.get("/staff/login").get_data(as_text=True)
    assert 'href="/staff/password/forgot"' in page and "¿Olvidó su contraseña?" in page


def test_a_lockout_past_midnight_tells_the_day_too(app, client, auth):
    app.config.update(LOGIN_LOCKOUT_FAILURES=2, LOGIN_LOCKOUT_MINUTES=24 * 60)
    page = fail(client, 2)[1].get_data(as_text=True)
    assert "bloqueada hasta el 6 de marzo de 2031 a las 10:00" in page


def test_failures_far_apart_do_not_add_up_to_a_lockout(app, client, auth, clock):
    app.config.update(LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=15)
    fail(client, 2)
    clock.advance(minutes=16)
    assert [r.status_code for r in fail(client, 2)] == [401, 401]
    assert fail(client, 1)[0].status_code == 429


def test_lockout_and_reset_on_sqlite_and_postgresql(any_db_app, clock):
    from app.accounts import AccountLocked, authenticate, create_staff
    from app.models import Agency
    from app.password_reset import request_reset, reset_by_token, reset_password

    any_db_app.config.update(LOGIN_LOCKOUT_FAILURES=2, LOGIN_LOCKOUT_MINUTES=15)
    with any_db_app.test_request_context():
        db.session.add(Agency(slug="dtop", name_es="DTOP", name_en="DTOP"))
        db.session.commit()
        create_staff("ana@dtop.pr", "Ana", NEW_PASSWORD, "clerk", "dtop")
        assert authenticate("ana@dtop.pr", "wrong-password") is None
        with pytest.raises(AccountLocked):
            authenticate("ana@dtop.pr", "wrong-password")
        with pytest.raises(AccountLocked):
            authenticate("ana@dtop.pr", NEW_PASSWORD)
        request_reset("ana@dtop.pr", "es")
        body = db.session.scalar(sa.select(OutboxMessage.body_text))
        token = re.search(r"token=([\w-]+)", body).group(1)
        reset_password(reset_by_token(token), "second-orchid-lantern-77")
        assert reset_by_token(token) is None
        assert authenticate("ana@dtop.pr", "second-orchid-lantern-77").email == "ana@dtop.pr"
