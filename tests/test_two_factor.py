"""Two-factor sign-in for staff (issue 11, item 5): the code step after the password, codes used
once, wrong codes toward the lockout, recovery codes, the set-up required of admins and optional
for clerks, turning it off, new recovery codes, `flask reset-two-factor`, and forged requests."""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib

import pyotp
import pytest
import sqlalchemy as sa

from app import two_factor
from app.accounts import create_staff, set_password
from app.extensions import db
from app.models import AuditEvent, RecoveryCode, Staff
from tests.support.admin import DTOP_ADMIN, DTOP_CLERK, audit_events
from tests.support.apps import demo_app
from tests.support.two_factor import CODE_PAGE, KNOWN_SECRET, current_code, enrol

ENROL_PAGE = "/staff/two-factor/enrol"
ENGLISH = {"Accept-Language": "en"}
RECOVERY_CODE = re.compile(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>")


def password_step(client, email, password):
    return client.post("/staff/login", data={"email": email, "password": password})


def staff(app, email) -> Staff:
    with app.app_context():
        member = db.session.scalar(sa.select(Staff).where(Staff.email == email))
        db.session.expunge(member)
        return member


def remove_authenticator(app, email) -> None:
    with app.app_context():
        two_factor.reset(db.session.scalar(sa.select(Staff).where(Staff.email == email)))


def signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def enrol_by_page(app, client, email) -> list[str]:
    """Set up an authenticator through the pages (the account signed in, or halfway through a
    required sign-in); the recovery codes shown once."""
    assert client.get(ENROL_PAGE).status_code == 200
    secret = staff(app, email).totp_pending_secret
    page = client.post(ENROL_PAGE, data={"code": pyotp.TOTP(secret).now()})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return RECOVERY_CODE.findall(page.get_data(as_text=True))


def session_contents(client) -> str:
    """What the session cookie carries, decoded (it is signed, not encrypted)."""
    cookie = client.get_cookie("session").value
    payload = cookie.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(data) if cookie.startswith(".") else data).decode()


# --- The second step ------------------------------------------------------------------------------


def test_an_enrolled_admin_is_not_signed_in_until_the_code(client, seeded):
    response = password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert response.status_code == 302 and response.headers["Location"] == CODE_PAGE
    assert client.get("/staff/").headers["Location"].startswith("/staff/login")
    assert client.get("/admin/").headers["Location"].startswith("/staff/login")
    assert client.get("/staff/two-factor").headers["Location"].startswith("/staff/login")
    page = client.get(CODE_PAGE, headers=ENGLISH)
    assert page.status_code == 200 and "Enter your sign-in code" in page.get_data(as_text=True)
    response = client.post(CODE_PAGE, data={"code": current_code(client.application, DTOP_ADMIN)})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert signed_in(client) and client.get("/admin/").status_code == 200


def test_the_code_step_keeps_where_the_sign_in_was_headed(client, seeded):
    client.post("/staff/login?next=/admin/", data={"email": DTOP_ADMIN, "password": seeded[DTOP_ADMIN]})
    response = client.post(CODE_PAGE, data={"code": current_code(client.application, DTOP_ADMIN)})
    assert response.headers["Location"] == "/admin/"


def test_the_pending_step_keeps_no_secret_in_the_cookie(client, seeded):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    carried = session_contents(client)
    assert KNOWN_SECRET not in carried and seeded[DTOP_ADMIN] not in carried
    assert json.loads(carried)["staff_pending"].keys() == {"staff", "since", "next"}


def test_a_code_is_not_accepted_twice(app, client, seeded):
    code = current_code(app, DTOP_ADMIN)
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert client.post(CODE_PAGE, data={"code": code}).status_code == 302
    client.post("/staff/logout")
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    replay = client.post(CODE_PAGE, data={"code": code}, headers=ENGLISH)
    assert replay.status_code == 401 and "used already" in replay.get_data(as_text=True)
    assert not signed_in(client)


def test_a_code_of_the_step_before_is_accepted_but_not_of_two_steps_before(app, client, seeded, clock):
    totp = pyotp.TOTP(KNOWN_SECRET)
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    two_steps_ago = totp.at(clock.now.timestamp() - 60)
    assert client.post(CODE_PAGE, data={"code": two_steps_ago}).status_code == 401
    one_step_ago = totp.at(clock.now.timestamp() - 30)
    assert client.post(CODE_PAGE, data={"code": one_step_ago}).status_code == 302


def test_a_wrong_code_is_refused_and_audited(app, client, seeded):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    response = client.post(CODE_PAGE, data={"code": "000000"}, headers=ENGLISH)
    assert response.status_code == 401 and "not right" in response.get_data(as_text=True)
    assert not signed_in(client)
    assert len(audit_events(app, "staff.two_factor_failed")) == 1
    assert staff(app, DTOP_ADMIN).failed_logins == 1


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, client, seeded):
    app.config.update(LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=15)
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    statuses = [client.post(CODE_PAGE, data={"code": "000000"}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert staff(app, DTOP_ADMIN).locked_until is not None
    # Locked: the right password is refused too, and there is no code step to go back to.
    assert password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN]).status_code == 429
    assert client.get(CODE_PAGE).headers["Location"] == "/staff/login"


def test_the_right_password_does_not_wipe_out_the_wrong_codes(app, client, seeded):
    app.config.update(LOGIN_LOCKOUT_FAILURES=3)
    for _ in range(2):
        password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
        assert client.post(CODE_PAGE, data={"code": "000000"}).status_code == 401
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    response = client.post(CODE_PAGE, data={"code": "000000"}, headers=ENGLISH)
    assert response.status_code == 429 and "wrong passwords or codes" in response.get_data(as_text=True)


def test_a_right_code_resets_the_failure_count(app, client, seeded):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    client.post(CODE_PAGE, data={"code": "000000"})
    client.post(CODE_PAGE, data={"code": current_code(app, DTOP_ADMIN)})
    assert staff(app, DTOP_ADMIN).failed_logins == 0
    assert [e.detail for e in audit_events(app, "staff.login")] == [{"second_factor": "totp"}]


def test_the_code_step_expires(app, client, seeded, clock):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    clock.advance(minutes=app.config["TWO_FACTOR_PENDING_MINUTES"], seconds=1)
    response = client.post(CODE_PAGE, data={"code": current_code(app, DTOP_ADMIN)}, headers=ENGLISH)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert "took too long" in client.get("/staff/login", headers=ENGLISH).get_data(as_text=True)
    assert not signed_in(client)
    assert staff(app, DTOP_ADMIN).totp_last_step is None  # the code was not spent


def test_a_new_password_ends_a_pending_code_step(app, client, seeded):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    with app.app_context():
        member = db.session.scalar(sa.select(Staff).where(Staff.email == DTOP_ADMIN))
        set_password(member, "otra clave larga de prueba 2045", "staff.password_reset")
    response = client.post(CODE_PAGE, data={"code": current_code(app, DTOP_ADMIN)})
    assert response.headers["Location"] == "/staff/login" and not signed_in(client)


def test_a_forged_code_post_without_the_password_step_is_403_and_changes_nothing(app, client, seeded):
    response = client.post(CODE_PAGE, data={"code": current_code(app, DTOP_ADMIN)}, headers=ENGLISH)
    assert response.status_code == 403
    assert client.get(CODE_PAGE).headers["Location"] == "/staff/login"
    assert staff(app, DTOP_ADMIN).totp_last_step is None and staff(app, DTOP_ADMIN).last_login_at is None
    assert client.post(ENROL_PAGE, data={"code": "123456"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_a_forged_session_marker_is_refused(app, client, seeded, clock):
    with client.session_transaction() as session:
        session["staff_pending"] = {"staff": "2.99", "since": clock.now.timestamp(), "next": ""}
    assert client.post(CODE_PAGE, data={"code": "123456"}).headers["Location"] == "/staff/login"
    with client.session_transaction() as session:
        session["staff_pending"] = {"staff": "x", "since": "now"}
    assert client.get(CODE_PAGE).headers["Location"] == "/staff/login"


@pytest.mark.parametrize(
    "code,message",
    [("", "Enter the code."), ("1" * 41, "too long"), ("12\x0034", "special characters")],
    ids=["empty", "too long", "control character"],
)
def test_a_bad_code_is_a_422_that_counts_nothing(app, client, seeded, code, message):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    response = client.post(CODE_PAGE, data={"code": code}, headers=ENGLISH)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert staff(app, DTOP_ADMIN).failed_logins == 0


def test_the_password_and_the_code_share_one_rate_limit(tmp_path, demo_database):
    app = demo_app(tmp_path, demo_database, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    assert password_step(client, DTOP_ADMIN, demo_database[1][DTOP_ADMIN]).status_code == 302
    statuses = [client.post(CODE_PAGE, data={"code": "000000"}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


# --- Recovery codes -------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(app, client, auth, seeded):
    auth.login(DTOP_CLERK)
    codes = enrol_by_page(app, client, DTOP_CLERK)
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():  # only their hashes are kept
        hashes = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not hashes & set(codes)
    auth.logout()
    password_step(client, DTOP_CLERK, seeded[DTOP_CLERK])
    assert client.post(CODE_PAGE, data={"code": codes[0].lower().replace("-", " ")}).status_code == 302
    assert [e.detail["left"] for e in audit_events(app, "staff.two_factor_recovery_code_used")] == [9]
    auth.logout()
    password_step(client, DTOP_CLERK, seeded[DTOP_CLERK])
    assert client.post(CODE_PAGE, data={"code": codes[0]}).status_code == 401
    assert client.post(CODE_PAGE, data={"code": codes[1]}).status_code == 302


def test_another_accounts_recovery_code_does_not_work(app, client, auth, seeded):
    auth.login(DTOP_CLERK)
    codes = enrol_by_page(app, client, DTOP_CLERK)
    auth.logout()
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert client.post(CODE_PAGE, data={"code": codes[0]}).status_code == 401


def test_new_recovery_codes_need_the_password_or_a_code_and_replace_the_old(app, client, auth, seeded):
    auth.login(DTOP_CLERK)
    old = enrol_by_page(app, client, DTOP_CLERK)
    refused = client.post("/staff/two-factor/recovery-codes", data={"proof": "wrong"}, headers=ENGLISH)
    assert refused.status_code == 403 and "not right" in refused.get_data(as_text=True)
    assert audit_events(app, "staff.two_factor_regenerate_refused")
    assert client.post("/staff/two-factor/recovery-codes", data={}).status_code == 422
    page = client.post("/staff/two-factor/recovery-codes", data={"proof": seeded[DTOP_CLERK]})
    new = RECOVERY_CODE.findall(page.get_data(as_text=True))
    assert page.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert len(audit_events(app, "staff.two_factor_recovery_codes_regenerated")) == 1
    auth.logout()
    password_step(client, DTOP_CLERK, seeded[DTOP_CLERK])
    assert client.post(CODE_PAGE, data={"code": old[0]}).status_code == 401
    assert client.post(CODE_PAGE, data={"code": new[0]}).status_code == 302


# --- Setting it up ----------------------------------------------------------------------------------


def test_an_admin_without_it_must_set_it_up_before_anything_else(app, client, seeded):
    remove_authenticator(app, DTOP_ADMIN)
    response = password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert response.status_code == 302 and response.headers["Location"] == ENROL_PAGE
    for path in ("/staff/", "/admin/", "/staff/password", "/staff/two-factor"):
        assert client.get(path).headers["Location"].startswith("/staff/login"), path
    assert client.get(CODE_PAGE).headers["Location"] == ENROL_PAGE
    page = client.get(ENROL_PAGE, headers=ENGLISH).get_data(as_text=True)
    secret = staff(app, DTOP_ADMIN).totp_pending_secret
    assert "Your role requires a second step" in page and '<svg role="img"' in page
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in page  # for typing it by hand
    wrong = client.post(ENROL_PAGE, data={"code": "000000"}, headers=ENGLISH)
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    assert staff(app, DTOP_ADMIN).totp_secret is None and not signed_in(client)
    codes = enrol_by_page(app, client, DTOP_ADMIN)
    assert len(codes) == 10 and signed_in(client)
    assert staff(app, DTOP_ADMIN).totp_secret == secret
    assert audit_events(app, "staff.two_factor_enrolled")
    assert [e.detail for e in audit_events(app, "staff.login")] == [{"second_factor": "enrolment"}]


def test_the_qr_code_carries_the_secret_for_the_account():
    enrolment = two_factor.Enrolment("JBSWY3DPEHPK3PXP", "otpauth://totp/Ventanilla:a%40b.pr?secret=X")
    svg = enrolment.qr_svg("Código QR")
    assert svg.startswith('<svg role="img"') and "<title>Código QR</title>" in svg
    assert enrolment.grouped_secret == "JBSW Y3DP EHPK 3PXP"


def test_the_secret_shown_stays_the_same_until_confirmed(app, client, seeded):
    remove_authenticator(app, DTOP_ADMIN)
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    client.get(ENROL_PAGE)
    first = staff(app, DTOP_ADMIN).totp_pending_secret
    client.get(ENROL_PAGE)
    assert staff(app, DTOP_ADMIN).totp_pending_secret == first
    with app.app_context():
        uri = two_factor.start_enrolment(db.session.get(Staff, staff(app, DTOP_ADMIN).id)).uri
    assert uri.startswith("otpauth://totp/Ventanilla:admin%40dtop") and f"secret={first}" in uri


def test_the_password_alone_cannot_replace_an_existing_authenticator(app, client, seeded):
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert client.get(ENROL_PAGE).headers["Location"] == CODE_PAGE
    assert client.post(ENROL_PAGE, data={"code": "123456"}).headers["Location"] == CODE_PAGE
    assert staff(app, DTOP_ADMIN).totp_secret == KNOWN_SECRET
    assert staff(app, DTOP_ADMIN).totp_pending_secret is None


def test_the_enrolment_step_expires_too(app, client, seeded, clock):
    remove_authenticator(app, DTOP_ADMIN)
    password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    client.get(ENROL_PAGE)
    secret = staff(app, DTOP_ADMIN).totp_pending_secret
    clock.advance(minutes=6)
    response = client.post(ENROL_PAGE, data={"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"] == "/staff/login"
    assert staff(app, DTOP_ADMIN).totp_secret is None


def test_a_clerk_signs_in_with_the_password_alone_and_may_choose_it(app, client, auth, seeded):
    response = auth.login(DTOP_CLERK)
    assert response.headers["Location"] == "/staff/"
    page = client.get("/staff/two-factor", headers=ENGLISH).get_data(as_text=True)
    assert 'data-two-factor="off"' in page and ENROL_PAGE in page
    enrol_by_page(app, client, DTOP_CLERK)
    assert 'data-two-factor="on"' in client.get("/staff/two-factor").get_data(as_text=True)
    auth.logout()
    assert password_step(client, DTOP_CLERK, seeded[DTOP_CLERK]).headers["Location"] == CODE_PAGE


def test_a_clerk_turns_it_off_with_the_password_or_a_code_only(app, client, auth, seeded):
    auth.login(DTOP_CLERK)
    enrol_by_page(app, client, DTOP_CLERK)
    refused = client.post("/staff/two-factor/disable", data={"proof": "123456"})
    assert refused.status_code == 403 and staff(app, DTOP_CLERK).totp_secret is not None
    assert audit_events(app, "staff.two_factor_disable_refused")
    assert client.post("/staff/two-factor/disable", data={"proof": "x" * 2000}).status_code == 422
    secret = staff(app, DTOP_CLERK).totp_secret
    with app.app_context():  # the code of the next step: the enrolment spent this one
        db.session.execute(sa.update(Staff).where(Staff.email == DTOP_CLERK).values(totp_last_step=None))
        db.session.commit()
    response = client.post("/staff/two-factor/disable", data={"proof": pyotp.TOTP(secret).now()})
    assert response.headers["Location"] == "/staff/two-factor" and signed_in(client)
    assert staff(app, DTOP_CLERK).totp_secret is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert audit_events(app, "staff.two_factor_disabled")
    assert client.post("/staff/two-factor/disable", data={"proof": seeded[DTOP_CLERK]}).status_code == 409
    auth.logout()
    assert password_step(client, DTOP_CLERK, seeded[DTOP_CLERK]).headers["Location"] == "/staff/"


def test_an_admin_replacing_the_authenticator_sets_up_the_new_one_before_anything_else(app, client, seeded):
    from tests.support.admin import sign_in

    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    response = client.post("/staff/two-factor/disable", data={"proof": seeded[DTOP_ADMIN]})
    assert response.headers["Location"] == ENROL_PAGE
    assert not signed_in(client) and staff(app, DTOP_ADMIN).totp_secret is None
    enrol_by_page(app, client, DTOP_ADMIN)
    assert signed_in(client)


def test_an_admin_session_from_before_it_was_required_ends(app, client, seeded):
    from tests.support.admin import sign_in

    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    remove_authenticator(app, DTOP_ADMIN)  # as if signed in before the upgrade
    response = client.get("/admin/", headers=ENGLISH)
    assert response.headers["Location"].startswith("/staff/login")
    page = client.get("/staff/login", headers=ENGLISH).get_data(as_text=True)
    assert "needs two-factor sign-in" in page
    assert password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN]).headers["Location"] == ENROL_PAGE


def test_the_setting_names_the_roles_that_need_it(app, client, seeded):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("clerk", "admin", "superadmin")
    assert password_step(client, DTOP_CLERK, seeded[DTOP_CLERK]).headers["Location"] == ENROL_PAGE
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()
    remove_authenticator(app, DTOP_ADMIN)
    assert password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN]).headers["Location"] == "/staff/"


def test_a_password_change_keeps_working_with_two_factor(app, client, seeded):
    from tests.support.admin import sign_in

    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    new = "una clave nueva bastante larga 2046"
    response = client.post(
        "/staff/password",
        data={"current_password": seeded[DTOP_ADMIN], "new_password": new, "confirm_password": new},
    )
    assert response.status_code == 302 and signed_in(client)
    assert staff(app, DTOP_ADMIN).totp_secret == KNOWN_SECRET
    client.post("/staff/logout")
    assert password_step(client, DTOP_ADMIN, new).headers["Location"] == CODE_PAGE


# --- The command ------------------------------------------------------------------------------------


def test_reset_two_factor_removes_it_and_ends_the_sessions(app, client, runner, seeded):
    from tests.support.admin import sign_in

    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    result = runner.invoke(args=["reset-two-factor", "--email", DTOP_ADMIN.upper()])
    assert result.exit_code == 0 and "sessions have ended" in result.output
    assert staff(app, DTOP_ADMIN).totp_secret is None
    assert [e.actor_staff_id for e in audit_events(app, "staff.two_factor_reset")] == [None]
    assert client.get("/staff/").headers["Location"].startswith("/staff/login")
    assert password_step(client, DTOP_ADMIN, seeded[DTOP_ADMIN]).headers["Location"] == ENROL_PAGE


def test_reset_two_factor_of_an_unknown_email_fails(runner, seeded):
    result = runner.invoke(args=["reset-two-factor", "--email", "nadie@example.com"])
    assert result.exit_code != 0 and "There is no account" in result.output


# --- Two requests at once ---------------------------------------------------------------------------


def _in_another_thread(work) -> None:
    errors: list[BaseException] = []

    def run():
        try:
            work()
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []


@pytest.mark.clock(tick=True)
def test_a_code_spent_by_a_request_racing_this_one_is_refused(any_db_app):
    """The check is the UPDATE's condition, not a Python comparison: a request that read the
    account before another spent the same code (or recovery code) still cannot spend it."""
    app = any_db_app
    with app.app_context():
        create_staff("race@ventanilla.pr", "Race Admin", "nube cobre faro tamarindo 2031", "superadmin", None)
        enrol("race@ventanilla.pr")
        member = db.session.scalar(sa.select(Staff).where(Staff.email == "race@ventanilla.pr"))
        recovery = two_factor._replace_recovery_codes(member)[0]
        db.session.commit()
    code = pyotp.TOTP(KNOWN_SECRET).now()

    def spend(value):
        def work():
            with app.test_request_context():
                other = db.session.scalar(sa.select(Staff).where(Staff.email == "race@ventanilla.pr"))
                assert two_factor.accept_code(other, value) is not None
                db.session.commit()

        return work

    with app.test_request_context():
        stale = db.session.scalar(sa.select(Staff).where(Staff.email == "race@ventanilla.pr"))
        assert stale.totp_last_step is None
        db.session.expunge(stale)  # it keeps what it read, whatever happens next
        db.session.commit()
        _in_another_thread(spend(code))
        _in_another_thread(spend(recovery))
        assert two_factor.accept_code(stale, code) is None
        assert two_factor.accept_code(stale, recovery) is None


def test_seed_demo_says_the_admins_set_it_up_at_their_first_sign_in(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "accounts with the role admin, superadmin set up" in result.output
    assert "two-factor sign-in" in result.output
