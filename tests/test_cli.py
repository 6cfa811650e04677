"""flask seed-demo, create-staff, create-agency, purge-documents."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Agency, DocumentRequirement, OpeningHours, Service, Staff
from app.security import verify_password

TABLES = (Agency, Service, DocumentRequirement, OpeningHours, Staff)


def counts(app):
    with app.app_context():
        return {
            model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in TABLES
        }


def test_seed_demo_creates_the_catalogue_and_prints_credentials_once(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "clerk@dtop.demo.ventanilla.pr" in result.output
    with app.app_context():
        dtop = db.session.scalar(sa.select(Agency).where(Agency.slug == "dtop"))
        video = [s for s in dtop.services if s.mode == "video"]
        assert {s.name_es for s in video} == {
            "Certificación de individuo",
            "Certificaciones de vehículos",
            "Notificación de renovación (Noti)",
            "Certificación oficial de violaciones",
            "Reporte de multas administrativas",
        }
        assert all(s.offices[0].slug == "cesco-remoto" for s in video)
        assert all(s.requirements[0].code == "licence_front" for s in video)
        vehicle = {s.slug: [r.code for r in s.requirements] for s in video}
        assert vehicle["certificaciones-vehiculos"] == ["licence_front", "vehicle_document"]
        assert len([o for o in dtop.offices if not o.is_remote]) == 2
        assert [(h.weekday, h.opens_at.hour, h.closes_at.hour) for h in dtop.offices[0].hours] == [
            (d, 8, 17) for d in range(5)
        ]
        retiro = db.session.scalar(sa.select(Agency).where(Agency.slug == "retiro"))
        assert [s.mode for s in retiro.services] == ["phone_turn"]
        cfse = db.session.scalar(sa.select(Agency).where(Agency.slug == "cfse"))
        assert cfse.kind == "corporation" and cfse.services[0].mode == "video"
        assert all(a.timezone == "America/Puerto_Rico" for a in (dtop, retiro, cfse))


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    before = counts(app)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert counts(app) == before
    assert "nothing to add" in second.output
    assert "ventanilla.pr" not in second.output  # passwords are never shown again
    password = first.output.split("clerk@dtop.demo.ventanilla.pr")[1].split()[0]
    with app.app_context():
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == "clerk@dtop.demo.ventanilla.pr"))
        assert verify_password(clerk.password_hash, password)


def test_seed_demo_if_empty_leaves_existing_data_alone(app, runner):
    with app.app_context():
        db.session.add(Agency(slug="mine", name_es="Mía", name_en="Mine"))
        db.session.commit()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "skipped" in result.output
    assert counts(app)["Service"] == 0


def test_create_staff_with_a_password_option(app, runner, seeded):
    result = runner.invoke(
        args=[
            "create-staff",
            "--email",
            " Maria@DTOP.pr ",
            "--name",
            "María",
            "--agency",
            "dtop",
            "--role",
            "admin",
            "--password",
            "a-long-password-1",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == "maria@dtop.pr"))
        assert staff.role == "admin" and staff.agency.slug == "dtop"
        assert verify_password(staff.password_hash, "a-long-password-1")


def test_create_staff_prompts_for_the_password(app, runner, seeded):
    result = runner.invoke(
        args=["create-staff", "--email", "ana@dtop.pr", "--name", "Ana", "--agency", "dtop"],
        input="a-long-password-2\na-long-password-2\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-long-password-2" not in result.output


def test_create_superadmin_needs_no_agency(app, runner):
    result = runner.invoke(
        args=[
            "create-staff",
            "--email",
            "root@pr.gov",
            "--name",
            "Root",
            "--role",
            "superadmin",
            "--password",
            "a-long-password-3",
        ]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--agency", "nope"], "there is no agency 'nope'"),
        ([], "pass --agency"),
        (["--agency", "dtop", "--password", "short"], "at least 12 characters"),
        (["--agency", "dtop", "--role", "root"], "Invalid value for '--role'"),
    ],
)
def test_create_staff_refuses_bad_input_clearly(app, runner, seeded, args, message):
    base = ["create-staff", "--email", "x@dtop.pr", "--name", "X"]
    if "--password" not in args:
        args = args + ["--password", "a-long-password-4"]
    result = runner.invoke(args=base + args)
    assert result.exit_code != 0
    assert message in result.output
    assert counts(app)["Staff"] == 6


def test_create_staff_refuses_a_duplicate_email(app, runner, seeded):
    result = runner.invoke(
        args=[
            "create-staff",
            "--email",
            "CLERK@dtop.demo.ventanilla.pr",
            "--name",
            "Dup",
            "--agency",
            "dtop",
            "--password",
            "a-long-password-5",
        ]
    )
    assert result.exit_code != 0
    assert "already has an account" in result.output


def test_purge_documents_removes_abandoned_staged_uploads(app, runner):
    import hashlib
    import os
    import time

    from app.documents import PdfInfo, stage_upload, staged_upload
    from tests.support import pdf_factory
    from tests.support.clock import stamp

    with app.app_context():
        pdf = pdf_factory.one_page()
        info = PdfInfo(pages=1, sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf))
        old = stage_upload(pdf, "old.pdf", info)
        fresh = stage_upload(pdf, "fresh.pdf", info)
        stamp(*(Path(app.config["UPLOAD_DIR"]) / "staging").glob(f"{fresh}.*"))  # now, by the test clock
        two_days_ago = time.time() - 48 * 3600
        for path in (Path(app.config["UPLOAD_DIR"]) / "staging").glob(f"{old}.*"):
            os.utime(path, (two_days_ago, two_days_ago))
    result = runner.invoke(args=["purge-documents"])
    assert result.exit_code == 0 and "Removed 1" in result.output
    with app.app_context():
        assert staged_upload(old) is None and staged_upload(fresh) is not None


def test_purge_documents_removes_stored_files_that_no_appointment_names(app, runner, seeded):
    """A worker killed between storing a booking's PDF and committing its row leaves a file that
    nothing names (issue #9, item 14): purge-documents removes it once it is a day old."""
    import datetime as dt

    import sqlalchemy as sa

    from app.documents import upload_store
    from app.extensions import db
    from app.models import Appointment, Document
    from tests.support import pdf_factory
    from tests.support.clock import stamp
    from tests.support.signaling import make_appointment

    make_appointment(app)
    with app.app_context():
        store = upload_store()
        kept, orphan, in_flight = (store.save(pdf_factory.one_page()) for _ in range(3))
        appointment = db.session.scalar(sa.select(Appointment))
        db.session.add(
            Document(appointment=appointment, requirement_code="licence_front", original_name="l.pdf",
                     size_bytes=1, pages=1, sha256="0" * 64, storage_key=kept)
        )  # fmt: skip
        db.session.commit()
        root = Path(app.config["UPLOAD_DIR"])
        stamp(
            root / kept[:2] / f"{kept}.pdf", root / orphan[:2] / f"{orphan}.pdf", age=dt.timedelta(hours=30)
        )
        stamp(root / in_flight[:2] / f"{in_flight}.pdf")  # a booking still checking its documents
    result = runner.invoke(args=["purge-documents"])
    assert result.exit_code == 0 and "Removed 1 stored document(s)" in result.output
    with app.app_context():
        assert (store.exists(kept), store.exists(orphan), store.exists(in_flight)) == (True, False, True)


def test_create_agency_creates_it_and_prints_the_admins_invitation_link(app, runner):
    result = runner.invoke(
        args=[
            "create-agency",
            "--slug=prtc",
            "--name-es=Compañía de Turismo",
            "--name-en=Tourism Company",
            "--admin-email=Jefa@Turismo.example",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "invited jefa@turismo.example as its admin" in result.output
    token = result.output.split("/staff/invitation?token=")[1].split()[0]
    with app.app_context():
        from app.models import StaffInvitation
        from app.tokens import hash_token

        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "prtc"))
        assert (agency.name_en, agency.timezone) == ("Tourism Company", "America/Puerto_Rico")
        invitation = db.session.scalar(sa.select(StaffInvitation))
        assert (invitation.agency_id, invitation.role) == (agency.id, "admin")
        assert invitation.token_hash == hash_token(token)
    assert app.test_client().get(f"/staff/invitation?token={token}").status_code == 200


@pytest.mark.parametrize(
    "args,message",
    [
        (["--slug=No Spaces"], "lower-case letters, digits and hyphens"),
        (["--timezone=Mars/Olympus"], "Choose a time zone from the list."),
        (["--admin-email=a@b"], "Enter a valid email address"),
        (["--slug=dtop"], "Another agency already uses this short name."),
        (["--admin-email=clerk@dtop.demo.ventanilla.pr"], "already belongs to a staff account"),
    ],
)
def test_create_agency_refuses_bad_input_clearly_and_creates_nothing(app, runner, seeded, args, message):
    before = counts(app)
    defaults = ["--slug=prtc", "--name-es=Turismo", "--name-en=Tourism", "--admin-email=jefa@turismo.example"]
    result = runner.invoke(args=["create-agency", *defaults, *args])
    assert result.exit_code != 0 and message in result.output
    assert counts(app) == before
