"""Every flask command: seed-demo, create-staff, create-agency, reset-password, reset-two-factor,
send-due, purge, purge-documents, set-service-caps."""

from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from app import two_factor
from app.accounts import StaffError, create_staff, end_sessions, normalize_email, set_password
from app.administration import AdminInputError
from app.booking_caps import UNCHANGED, caps_for, set_service_caps
from app.booking_drafts import purge_expired_drafts
from app.demo import seed_demo
from app.documents import purge_orphan_documents, purge_renders, purge_staged
from app.extensions import db
from app.models import Agency, Service, Staff
from app.notifications import send_due
from app.password_policy import PasswordRefused
from app.retention import purge
from app.staff_admin import create_agency, invitation_url


def init_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_staff_command)
    app.cli.add_command(create_agency_command)
    app.cli.add_command(reset_password_command)
    app.cli.add_command(reset_two_factor_command)
    app.cli.add_command(send_due_command)
    app.cli.add_command(purge_documents_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(set_service_caps_command)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any agency already exists.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Add the demo agencies, services and staff (safe to run again)."""
    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Agency)):
        click.echo("Database already has data: demo seed skipped.")
        return
    report = seed_demo()
    if not report.created:
        click.echo("Demo data already present: nothing to add.")
        return
    click.echo(f"Added {len(report.created)} demo rows.")
    if report.credentials:
        click.echo("\nDemo staff accounts (shown only this once; log in at /staff/login):")
        for email, role, password in report.credentials:
            click.echo(f"  {role:<6} {email:<36} {password}")
        required = ", ".join(current_app.config["TWO_FACTOR_REQUIRED_ROLES"])
        if required:
            click.echo(f"\nAt their first sign-in, accounts with the role {required} set up")
            click.echo("two-factor sign-in (a TOTP authenticator app on a phone) before anything else.")


@click.command("create-staff")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--agency", "agency_slug", help="Agency slug (not needed for a superadmin).")
@click.option(
    "--role", type=click.Choice(["clerk", "admin", "superadmin"]), default="clerk", show_default=True
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given (use the option only in scripts).",
)
@with_appcontext
def create_staff_command(email, name, agency_slug, role, password) -> None:
    """Create a staff account."""
    with force_locale("en"):  # the commands speak English
        try:
            staff = create_staff(email, name, password, role, agency_slug)
        except StaffError as error:
            raise click.ClickException(str(error.message)) from None
    click.echo(f"Created {staff.role} {staff.email}.")


@click.command("create-agency")
@click.option("--slug", required=True, help="Short name for addresses and reference codes, e.g. dtop.")
@click.option("--name-es", required=True, help="The agency's name in Spanish.")
@click.option("--name-en", required=True, help="The agency's name in English.")
@click.option("--timezone", default="America/Puerto_Rico", show_default=True)
@click.option("--admin-email", required=True, help="Who gets the invitation to be the agency's first admin.")
@click.option("--language", type=click.Choice(["es", "en"]), default="es", show_default=True)
@with_appcontext
def create_agency_command(slug, name_es, name_en, timezone, admin_email, language) -> None:
    """Create an agency and invite its first admin; prints the invitation link (also e-mailed)."""
    values = {
        "slug": slug,
        "name_es": name_es,
        "name_en": name_en,
        "timezone": timezone,
        "admin_email": admin_email,
        "language": language,
    }
    with force_locale("en"):
        try:
            agency, invitation, token = create_agency(values, None)
        except AdminInputError as error:
            raise click.ClickException(" ".join(str(message) for message in error.fields.values())) from None
    hours = current_app.config["STAFF_INVITATION_HOURS"]
    click.echo(f"Created the agency {agency.slug} and invited {invitation.email} as its admin.")
    click.echo(f"Invitation link (works once, within {hours} hours; also e-mailed):")
    click.echo(f"  {invitation_url(token)}")
    if not current_app.config.get("PUBLIC_BASE_URL"):
        click.echo("(PUBLIC_BASE_URL is not set: open the link on your site's address; set it for e-mails.)")


@click.command("reset-password")
@click.option("--email", required=True, help="The staff account's email address.")
@click.option(
    "--password",
    prompt="New password",
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given (use the option only in scripts).",
)
@with_appcontext
def reset_password_command(email: str, password: str) -> None:
    """Set a new password for a staff account (a lost first admin password, say): the password
    policy applies, a lockout is lifted and every session of the account ends."""
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == normalize_email(email)))
    if staff is None:
        raise click.ClickException(f"There is no account with the email {normalize_email(email)}.")
    with force_locale("en"):
        try:
            set_password(staff, password, "staff.password_set_by_command")
        except PasswordRefused as error:
            raise click.ClickException(str(error.message)) from None
    click.echo(f"New password set for {staff.email}; its sessions have ended.")


@click.command("reset-two-factor")
@click.option("--email", required=True, help="The staff account's email address.")
@with_appcontext
def reset_two_factor_command(email: str) -> None:
    """Remove a staff account's authenticator and recovery codes (a lost phone): every session of
    the account ends, and at the next sign-in a role that requires two-factor sign-in sets it up
    again, after the password."""
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == normalize_email(email)))
    if staff is None:
        raise click.ClickException(f"There is no account with the email {normalize_email(email)}.")
    two_factor.reset(staff)
    end_sessions(staff)
    click.echo(f"Two-factor sign-in removed from {staff.email}; its sessions have ended.")


@click.command("purge-documents")
@click.option(
    "--staged-older-than-hours",
    default=24,
    show_default=True,
    help="Remove uploads left in staging by bookings that were never finished.",
)
@click.option(
    "--renders-older-than-hours",
    default=24,
    show_default=True,
    help="Remove cached page images of documents (they are rendered again when viewed).",
)
@click.option(
    "--orphans-older-than-hours",
    default=24,
    show_default=True,
    help="Remove stored documents that no appointment names (left by a worker that died mid-booking).",
)
@with_appcontext
def purge_documents_command(
    staged_older_than_hours: int, renders_older_than_hours: int, orphans_older_than_hours: int
) -> None:
    """Remove abandoned bookings and staged uploads, old cached page images and stored files no
    appointment names."""
    drafts = purge_expired_drafts()
    click.echo(f"Removed {drafts} abandoned booking(s) in progress (past BOOKING_DRAFT_MINUTES).")
    removed = purge_staged(dt.timedelta(hours=staged_older_than_hours))
    renders = purge_renders(dt.timedelta(hours=renders_older_than_hours))
    click.echo(f"Removed {removed} abandoned staged upload(s) and {renders} cached page image(s).")
    orphans = purge_orphan_documents(dt.timedelta(hours=orphans_older_than_hours))
    click.echo(f"Removed {orphans} stored document(s) that no appointment names.")


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Apply each agency's retention: delete documents, result documents and page images, and
    anonymise citizens' personal data, past their dates; then what purge-documents does. Audited."""
    report = purge()
    click.echo(
        f"Deleted {report.documents_deleted} document(s) past their retention "
        f"({report.page_images_deleted} page image(s)); anonymised {report.appointments_anonymised} "
        f"appointment(s), {report.turns_anonymised} turn(s) and {report.outbox_messages_anonymised} "
        "message(s)."
    )
    click.echo(
        f"Housekeeping: removed {report.expired_drafts_deleted} abandoned booking(s) in progress, "
        f"{report.staged_uploads_deleted} staged upload(s), {report.old_page_images_deleted} cached "
        f"page image(s) and {report.orphan_documents_deleted} stored document(s) no appointment names."
    )


@click.command("send-due")
@click.option("--limit", default=100, show_default=True, help="Most messages to send in this run.")
@with_appcontext
def send_due_command(limit: int) -> None:
    """Send the queued e-mails and SMS whose time has come."""
    report = send_due(limit=limit)
    if not (report.sent or report.retried or report.failed):
        click.echo("No messages due.")
        return
    click.echo(f"Sent {report.sent}; will retry {report.retried}; failed for good {report.failed}.")


def _cap_value(_ctx, param, value):
    """A cap from the command line: a whole number above 0, or "default" (the setting's)."""
    if value is None:
        return UNCHANGED
    if value.strip().lower() == "default":
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise click.BadParameter("a whole number above 0, or 'default'", param=param)
    return number


@click.command("set-service-caps")
@click.argument("slug")
@click.option(
    "--per-domain",
    callback=_cap_value,
    help="Bookings a day from one e-mail domain (a number, or 'default' for BOOKING_DAILY_CAP_PER_DOMAIN).",
)
@click.option(
    "--per-phone",
    callback=_cap_value,
    help="Bookings a day from one phone number (a number, or 'default' for BOOKING_DAILY_CAP_PER_PHONE).",
)
@with_appcontext
def set_service_caps_command(slug: str, per_domain, per_phone) -> None:
    """Raise or lower a service's daily caps on bookings per e-mail domain and per phone number."""
    service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
    if service is None:
        raise click.ClickException(f"There is no service {slug!r}.")
    caps = set_service_caps(service, per_domain=per_domain, per_phone=per_phone)
    if per_domain is UNCHANGED and per_phone is UNCHANGED:
        caps = caps_for(service)
    click.echo(
        f"{slug}: {caps['domain']} bookings a day per e-mail domain, {caps['phone']} per phone number."
    )
