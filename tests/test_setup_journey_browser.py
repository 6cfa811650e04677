"""Issue 11's "done when", in Chromium: from an empty database and the README's "Set up your
agency" section, a new agency is set up entirely in the browser — its first admin (invited by
`flask create-agency`, two-factor sign-in set up with the key shown on the page), a remote office,
a video service asking for one PDF, the office's hours, a closure, a clerk invited by e-mail — and
a citizen books the service on the public pages, which the clerk then finds.

Nothing is seeded: the tables are created empty. The `flask create-agency` command is read from
the README itself, so the section cannot drift from what works. The admin works in English, the
clerk and the citizen in Spanish; each has a browser context of their own. Every step is a click
or a keystroke on a label or a role, and each next page is waited for by its heading.

Dates come from the test clock (tests/support/clock.py), which ticks (the live server and the
browsers need time to pass): the closure is the next working day after the clock's today, and
the citizen takes the first free day and time the calendar offers, whatever day the suite runs.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex

import holidays
import pyotp
import pytest
import sqlalchemy as sa
from babel.dates import format_date
from playwright.sync_api import expect

from app.extensions import db
from app.models import Agency, Appointment, OutboxMessage
from tests.support import pdf_factory
from tests.support.browser import open_page
from tests.support.clock import PR
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.clock(tick=True)]

ADMIN_PASSWORD = "tortuga molino brisa cuarenta"
CLERK_EMAIL = "luis@miagencia.pr.gov"
CLERK_PASSWORD = "girasol tambor marea noventa"
CLOSURE_ES, CLOSURE_EN = "Cerrado por inventario", "Closed for inventory"
# The staff pages the admin reads in English and the clerk in Spanish.
SPANISH = {
    "Create your account": "Cree su cuenta",
    "Your full name": "Su nombre completo",
    "New password": "Contraseña nueva",
    "The new password again": "La contraseña nueva otra vez",
    "Create my account": "Crear mi cuenta",
    "Staff sign in": "Acceso del personal",
    "Email": "Correo electrónico",
    "Password": "Contraseña",
    "Sign in": "Iniciar sesión",
}


def words(language: str):
    return (lambda english: english) if language == "en" else SPANISH.__getitem__


def readme_create_agency() -> list[str]:
    """The `flask create-agency` command of the README's "Set up your agency" section, as the
    arguments after `flask`: the test runs what a reader would copy."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Set up your agency") :]
    block = re.search(r"```\n(.*?create-agency.*?)```", section, re.DOTALL).group(1)
    words = shlex.split(block.replace("\\\n", " "))
    assert words[:2] == [".venv/bin/flask", "create-agency"], words
    return words[1:]


def create_agency_from_the_command_line(app, base_url: str) -> tuple[str, str]:
    """README, "Set up your agency", step 2, with PUBLIC_BASE_URL set to the site's address as
    the section asks: the admin's e-mail, and the invitation link the command prints."""
    app.config["PUBLIC_BASE_URL"] = base_url
    arguments = readme_create_agency()
    result = app.test_cli_runner().invoke(args=arguments)
    assert result.exit_code == 0, result.output
    link = re.search(r"http\S+/staff/invitation\?token=\S+", result.output).group(0)
    return arguments[arguments.index("--admin-email") + 1], link


def next_working_day(today: dt.date) -> dt.date:
    """The first weekday after `today` that is not a Puerto Rico public holiday: a day the office
    would be open, for the closure."""
    day = today + dt.timedelta(days=1)
    while day.weekday() >= 5 or day in holidays.country_holidays("PR", years=day.year):
        day += dt.timedelta(days=1)
    return day


def heading(page, text: str) -> None:
    """Wait for the next page (a click returns once navigation starts) by its main heading."""
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def accept_invitation(page, link: str, name: str, password: str, language: str) -> None:
    """The invitee opens the e-mailed (or printed) link, types their name and a password twice."""
    say = words(language)
    page.goto(link)
    heading(page, say("Create your account"))
    page.get_by_label(say("Your full name")).fill(name)
    page.get_by_label(say("New password"), exact=True).fill(password)
    page.get_by_label(say("The new password again")).fill(password)
    page.get_by_role("button", name=say("Create my account")).click()


def sign_in(page, email: str, password: str, language: str) -> None:
    """On the sign-in page, where accepting an invitation leads."""
    say = words(language)
    heading(page, say("Staff sign in"))
    page.get_by_label(say("Email"), exact=True).fill(email)
    page.get_by_label(say("Password"), exact=True).fill(password)
    page.get_by_role("button", name=say("Sign in"), exact=True).click()


def set_up_two_factor(page) -> None:
    """As a person with an authenticator app: the key typed from the page, then the app's code."""
    heading(page, "Set up two-factor sign-in")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("[data-recovery-codes] code")).to_have_count(10)
    page.get_by_role("link", name=re.compile("continue")).click()


def tick(page, role: str, name: str) -> None:
    """Click a radio button's or checkbox's label, as a person does (USWDS draws its own box and
    moves the input itself off the screen), and check that it took."""
    page.get_by_role("main").locator("label").get_by_text(name, exact=True).click()
    expect(page.get_by_role(role, name=name)).to_be_checked()


def to_administration(page) -> None:
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Administration").click()
    heading(page, "Administration")


def add_office(page) -> None:
    page.get_by_role("main").get_by_role("link", name="Offices", exact=True).click()
    heading(page, "Offices")
    page.get_by_role("link", name="Add an office").click()
    heading(page, "Add an office")
    page.get_by_label("Name in Spanish").fill("Oficina remota")
    page.get_by_label("Name in English").fill("Remote office")
    tick(page, "radio", "Remote (video or phone)")
    page.get_by_role("button", name="Add the office").click()


def add_video_service(page) -> None:
    page.get_by_role("main").get_by_role("link", name="Services", exact=True).click()
    heading(page, "Services")
    page.get_by_role("link", name="Add a service").click()
    heading(page, "Add a service")
    page.get_by_label("Name in Spanish").fill("Certificado de residencia")
    page.get_by_label("Name in English").fill("Residence certificate")
    page.get_by_label("Description in Spanish").fill("Una videollamada para certificar su dirección.")
    page.get_by_label("Description in English").fill("A video call to certify your address.")
    tick(page, "radio", "Video call")
    page.get_by_label("Length of an appointment, in minutes").fill("30")
    page.get_by_label("Citizens served at the same time").fill("1")
    page.get_by_label("Book at least this many minutes ahead").fill("60")
    page.get_by_label("Book at most this many days ahead").fill("30")
    tick(page, "checkbox", "Remote office")
    page.get_by_role("button", name="Add the service").click()


def add_pdf_requirement(page) -> None:
    page.get_by_role("link", name="Add a document").click()
    heading(page, "Add a document")
    page.get_by_label("Code", exact=True).fill("proof_of_address")
    page.get_by_label("Label in Spanish").fill("Prueba de dirección")
    page.get_by_label("Label in English").fill("Proof of address")
    page.get_by_label("Most pages accepted").fill("1")
    page.get_by_role("button", name="Add the document").click()


def set_hours(page, office_name: str) -> None:
    page.get_by_role("link", name=f"Opening hours ({office_name})").click()
    heading(page, "Opening hours")
    for weekday in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(f"Opens ({weekday}, interval 1)").fill("08:00")
        page.get_by_label(f"Closes ({weekday}, interval 1)").fill("17:00")
    page.get_by_role("button", name="Save the opening hours").click()


def add_closure(page, day: dt.date, office_name: str) -> None:
    page.get_by_role("main").get_by_role("link", name="Closures", exact=True).click()
    heading(page, "Closures")
    page.get_by_role("link", name="Add a closure").click()
    heading(page, "Add a closure")
    page.get_by_label("Closed", exact=True).select_option(label=office_name)
    page.get_by_label("First closed day").fill(day.isoformat())
    page.get_by_label("Last closed day").fill(day.isoformat())
    page.get_by_label("Reason in Spanish").fill(CLOSURE_ES)
    page.get_by_label("Reason in English").fill(CLOSURE_EN)
    page.get_by_role("button", name="Add the closure").click()


def invite_clerk(page) -> None:
    page.get_by_role("main").get_by_role("link", name="Staff", exact=True).click()
    heading(page, "Staff")
    page.get_by_role("link", name="Invite a staff member").click()
    heading(page, "Invite a staff member")
    page.get_by_label("E-mail").fill(CLERK_EMAIL)
    page.get_by_label("Full name").fill("Luis Rivera")
    page.get_by_label("Role").select_option(label="Clerk")
    tick(page, "radio", "Español")
    page.get_by_role("button", name="Send the invitation").click()


def show_month(page, day: dt.date) -> None:
    """Move the booking calendar to `day`'s month, the month shown or the one next to it, with
    the link a person would use ("‹ marzo 2031", "abril 2031 ›")."""
    caption = page.get_by_role("table").locator("caption")
    month = format_date(day, "LLLL yyyy", locale="es")
    if caption.inner_text().lower() != month:
        page.get_by_role("link", name=re.compile(rf"^(‹ )?{month}( ›)?$")).click()
    expect(caption).to_have_text(month.capitalize())


def invitation_link(app, email: str) -> str:
    with app.app_context():
        body = db.session.scalar(
            sa.select(OutboxMessage.body_text).where(
                OutboxMessage.recipient == email, OutboxMessage.kind == "staff_invitation"
            )
        )
    return re.search(r"http\S+/staff/invitation\?token=[\w-]+", body).group(0)


def test_a_new_agency_is_set_up_in_the_browser_and_a_citizen_books_it(app, live_server, browser, clock):
    assert not app.config["PROOF_OF_WORK"]  # no proof-of-work puzzle on the booking pages
    base = live_server.url
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0
    today = clock.today()
    closed_day = next_working_day(today)

    # 1. The command line, as the README says.
    admin_email, link = create_agency_from_the_command_line(app, base)

    # 2. The admin, in the browser: the invitation, two-factor sign-in, then only the admin pages.
    admin = open_page(browser, locale="en-US", viewport={"width": 1280, "height": 900})
    accept_invitation(admin, link, "Carmen Ortiz", ADMIN_PASSWORD, "en")
    sign_in(admin, admin_email, ADMIN_PASSWORD, "en")
    set_up_two_factor(admin)
    admin.goto(f"{base}/admin/")
    heading(admin, "Administration")
    add_office(admin)
    heading(admin, "Offices")
    expect(admin.get_by_role("main")).to_contain_text("Remote office")
    to_administration(admin)
    add_video_service(admin)
    heading(admin, "Residence certificate")
    add_pdf_requirement(admin)
    heading(admin, "Residence certificate")
    expect(admin.get_by_role("rowheader", name="Proof of address")).to_be_visible()
    to_administration(admin)
    admin.get_by_role("main").get_by_role("link", name="Offices", exact=True).click()
    heading(admin, "Offices")
    set_hours(admin, "Remote office")
    heading(admin, "Opening hours")
    expect(admin.get_by_role("main")).to_contain_text("saved")
    to_administration(admin)
    add_closure(admin, closed_day, "Remote office")
    heading(admin, "Closures")
    expect(admin.get_by_role("main")).to_contain_text(CLOSURE_EN)
    to_administration(admin)
    invite_clerk(admin)
    heading(admin, "Staff")
    expect(admin.get_by_role("main")).to_contain_text(CLERK_EMAIL)

    # The clerk, in a second browser: the link of the invitation e-mail.
    clerk = open_page(browser, viewport={"width": 1280, "height": 900})
    accept_invitation(clerk, invitation_link(app, CLERK_EMAIL), "Luis Rivera", CLERK_PASSWORD, "es")
    sign_in(clerk, CLERK_EMAIL, CLERK_PASSWORD, "es")
    heading(clerk, "Agenda de hoy")  # a clerk signs in with the password alone

    # 3. A citizen, in a third browser, books it on the public pages.
    citizen = open_page(browser, viewport={"width": 1280, "height": 900})
    citizen.goto(f"{base}/")
    citizen.get_by_role("link", name="Certificado de residencia").click()
    heading(citizen, "Certificado de residencia")
    citizen.get_by_role("link", name="Reservar una cita").click()
    heading(citizen, "Certificado de residencia")
    citizen.get_by_role("button", name="Escoja una fecha").click()
    heading(citizen, "Escoja una fecha")
    calendar = citizen.get_by_role("table")
    # The closed day: closed, with its reason (what a screen reader reads), and no times.
    show_month(citizen, closed_day)
    long_date = format_date(closed_day, "full", locale="es")
    expect(calendar).to_contain_text(f"{long_date}: {CLOSURE_ES}")
    expect(calendar.get_by_role("link", name=re.compile(long_date))).to_have_count(0)

    show_month(citizen, today)
    if not calendar.get_by_role("link").count():  # no time left this month: the next one
        show_month(citizen, today.replace(day=28) + dt.timedelta(days=7))
    first_free = calendar.get_by_role("link").first
    expect(first_free).to_contain_text(re.compile(r"\d+ horas? disponibles?"))
    booked_day = dt.date.fromisoformat(re.search(r"day=([\d-]+)", first_free.get_attribute("href")).group(1))
    first_free.click()
    heading(citizen, "Escoja una hora")
    citizen.get_by_role("main").locator("label").first.click()
    expect(citizen.get_by_role("radio").first).to_be_checked()
    citizen.get_by_role("button", name="Continuar").click()
    heading(citizen, "Sus datos y documentos")
    citizen.get_by_label("Nombre completo").fill("Ana Rivera")
    citizen.get_by_label("Correo electrónico").fill("ana@example.com")
    citizen.get_by_label("Teléfono").fill("787 555 0100")
    citizen.get_by_label("Prueba de dirección").set_input_files(
        files=[{"name": "factura-luz.pdf", "mimeType": "application/pdf", "buffer": pdf_factory.one_page()}]
    )
    citizen.get_by_role("button", name="Continuar").click()
    heading(citizen, "Revisar y confirmar")
    tick(citizen, "checkbox", "La información es correcta y acepto que la agencia la use para atenderme.")
    citizen.get_by_role("button", name="Reservar la cita").click()
    heading(citizen, "Su cita está reservada")
    reference = citizen.locator(".site-reference").inner_text()

    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        assert (appointment.office.name_en, appointment.office.is_remote) == ("Remote office", True)
        assert (appointment.service.name_en, appointment.service.mode) == ("Residence certificate", "video")
        assert appointment.service.agency.slug == "miagencia"
        assert appointment.start_at.astimezone(PR).date() == booked_day != closed_day
        assert [document.original_name for document in appointment.documents] == ["factura-luz.pdf"]

    # The clerk finds the citizen's appointment.
    clerk.get_by_role("link", name="Buscar citas").click()
    heading(clerk, "Buscar citas")
    clerk.get_by_label("Referencia, nombre, correo electrónico o teléfono").fill(reference)
    clerk.get_by_role("button", name="Buscar").click()
    expect(clerk.get_by_role("main")).to_contain_text("Ana Rivera")

    for page in (admin, clerk, citizen):
        assert page.errors == []
        page.context.close()
