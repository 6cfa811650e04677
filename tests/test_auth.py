"""Staff login, logout, the role guard, and what a failed login does (and does not) reveal."""

import pytest
import sqlalchemy as sa

from app import security
from app.extensions import db
from app.models import AuditEvent, Staff
from app.web import staff_required
from tests.support.apps import demo_app

CLERK = "clerk@dtop.demo.ventanilla.pr"


def test_login_page_is_translated(client):
    assert "Acceso del personal" in client.get("/staff/login").get_data(as_text=True)
    page = client.get("/staff/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Staff sign in" in page


def test_clerk_logs_in_and_sees_the_console(client, auth):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    page = client.get("/staff/").get_data(as_text=True)
    assert "Agenda de hoy" in page
    assert "Departamento de Transportación y Obras Públicas" in page


def test_login_follows_a_same_site_next_but_not_an_external_one(client, auth):
    response = client.post(
        "/staff/login?next=//evil.example/x", data={"email": CLERK, "password": auth.credentials[CLERK]}
    )
    assert response.headers["Location"] == "/staff/"


def test_console_requires_login(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_logout_ends_the_session(client, auth):
    auth.login()
    assert auth.logout().status_code == 302
    assert client.get("/staff/").status_code == 302


def test_logout_requires_post(client, auth):
    auth.login()
    assert client.get("/staff/logout").status_code == 405
    assert client.get("/staff/").status_code == 200


def _failed_login(client, email, password):
    response = client.post("/staff/login", data={"email": email, "password": password})
    return response.status_code, response.get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_answer(client, auth):
    wrong_password = _failed_login(client, CLERK, "not-the-password")
    unknown_email = _failed_login(client, "nobody@dtop.demo.ventanilla.pr", "not-the-password")
    assert wrong_password[0] == unknown_email[0] == 401
    assert "Correo electrónico o contraseña incorrectos." in wrong_password[1]
    assert wrong_password[1].replace(CLERK, "") == unknown_email[1].replace(
        "nobody@dtop.demo.ventanilla.pr", ""
    )


def test_unknown_email_still_pays_for_a_password_hash(client, auth, monkeypatch):
    """No timing difference: both paths run exactly one argon2 verification."""
    calls = []
    real_hasher = security._password_hasher

    class CountingHasher:
        def verify(self, stored, password):
            calls.append(stored)
            return real_hasher.verify(stored, password)

    monkeypatch.setattr(security, "_password_hasher", CountingHasher())
    _failed_login(client, "nobody@dtop.demo.ventanilla.pr", "x")
    _failed_login(client, CLERK, "x")
    assert len(calls) == 2
    assert calls[0] == security._DUMMY_HASH


def test_deactivated_staff_cannot_log_in(app, client, auth):
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
        staff.active = False
        db.session.commit()
    status, page = _failed_login(client, CLERK, auth.credentials[CLERK])
    assert status == 401
    assert "Correo electrónico o contraseña incorrectos." in page


def test_login_attempts_are_audited(app, client, auth):
    _failed_login(client, CLERK, "wrong")
    auth.login()
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["staff.login_failed", "staff.login"]


@pytest.mark.parametrize("data", [{}, {"email": "", "password": ""}, {"email": "x" * 300, "password": "p"}])
def test_incomplete_login_form_gets_422_not_500(client, data):
    response = client.post("/staff/login", data=data)
    assert response.status_code == 422
    assert "Escriba su correo electrónico y su contraseña." in response.get_data(as_text=True)


def test_login_form_requires_a_csrf_token_when_csrf_is_on(tmp_path, demo_database):
    app = demo_app(tmp_path, demo_database, WTF_CSRF_ENABLED=True)
    response = app.test_client().post(
        "/staff/login", data={"email": CLERK, "password": demo_database[1][CLERK]}
    )
    assert response.status_code == 400


def test_login_is_rate_limited(tmp_path, demo_database, redis_url):
    """Ten attempts a minute per address; the store is Redis, as with several workers."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    app = demo_app(
        tmp_path,
        demo_database,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=redis_url,
        LOGIN_RATE_LIMIT="3 per minute",
    )
    client = app.test_client()
    statuses = [
        client.post("/staff/login", data={"email": CLERK, "password": "wrong"}).status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    response = client.post(
        "/staff/login", data={"email": CLERK, "password": "wrong"}, headers={"Accept-Language": "en"}
    )
    assert "Wait a minute" in response.get_data(as_text=True)
    assert redis.Redis.from_url(redis_url).keys("*")  # the counters really live in Redis


def test_staff_required_checks_the_role(app, client, auth):
    @app.get("/test-admin-only")
    @staff_required("admin")
    def admin_only():
        return "admin area"

    auth.login(CLERK)
    assert client.get("/test-admin-only").status_code == 403
    auth.logout()
    auth.login("admin@dtop.demo.ventanilla.pr")
    assert client.get("/test-admin-only").get_data(as_text=True) == "admin area"


def test_behind_a_trusted_proxy_the_audit_log_records_the_citizens_address(tmp_path, demo_database):
    app = demo_app(tmp_path, demo_database, TRUSTED_PROXY_COUNT=1)
    app.test_client().post(
        "/staff/login", data={"email": CLERK, "password": "wrong"}, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.ip)) == "203.0.113.7"


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(app, client, auth):
    client.post(
        "/staff/login", data={"email": CLERK, "password": "wrong"}, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.ip)) == "127.0.0.1"
