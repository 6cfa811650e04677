"""Same-day turns in tests: the Retirement System's demo line, giving turns, clerks, translations.

The turn rules read the clock (`app.models.utcnow()`): turn tests pin it, with
`@pytest.mark.clock(at=WEDNESDAY_10AM)`, to a moment when the demo line is open.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from app import queue
from app.extensions import babel, db
from app.models import Service, Staff
from app.security import hash_password
from tests.support.servers import ROOT

SERVICE = "orientacion-retiro"  # phone_turn, prefix R, 15-minute default, Mon–Fri 08:00–17:00
PENDING_TRANSLATIONS = ROOT / "app" / "translations" / "pending-turns.json"
CLERK_PASSWORD = "a-long-test-password"


def compile_turns_translations(out: Path) -> str:
    """The project's catalogs plus pending-turns.json, compiled into `out` (until it is merged
    into the .po files); returns the folder to use as BABEL_TRANSLATION_DIRECTORIES."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    pending = json.loads(PENDING_TRANSLATIONS.read_text()) if PENDING_TRANSLATIONS.exists() else {}
    for lang in ("es", "en"):
        with open(ROOT / "app" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as file:
            catalog = read_po(file, locale=lang)
        if lang == "es":
            for msgid, spanish in pending.items():
                if msgid not in catalog or not catalog[msgid].string:
                    catalog.add(msgid, spanish)
        target = out / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        with open(target / "messages.mo", "wb") as file:
            write_mo(file, catalog)
    return str(out)


def clear_translation_cache() -> None:
    domain = vars(babel).get("domain_instance")  # shared by every app of the test session
    if domain is not None:
        domain.cache.clear()


def retiro(slug: str = SERVICE) -> Service:
    return db.session.scalar(sa.select(Service).where(Service.slug == slug))


def give_turn(
    phone: str = "787-555-0100",
    name: str = "Ana Rivera",
    language: str = "es",
    now: dt.datetime | None = None,
    slug: str = SERVICE,
) -> queue.TakenTurn:
    from app.citizens import parse_phone

    return queue.take_turn(
        queue.TurnRequest(
            service=retiro(slug), name=name, phone=parse_phone(phone), reason="Pensión", language=language
        ),
        now=now,
    )


def phones(count: int, start: int = 100) -> list[str]:
    return [f"787-555-{n:04d}" for n in range(start, start + count)]


def make_clerk(email: str, agency_slug: str = "retiro") -> Staff:
    from app.models import Agency

    agency = db.session.scalar(sa.select(Agency).where(Agency.slug == agency_slug))
    clerk = Staff(
        email=email,
        name=email.split("@")[0],
        role="clerk",
        agency=agency,
        password_hash=hash_password(CLERK_PASSWORD),
    )
    db.session.add(clerk)
    db.session.commit()
    return clerk


def clerk_named(email: str = "clerk@retiro.demo.ventanilla.pr") -> Staff:
    return db.session.scalar(sa.select(Staff).where(Staff.email == email))


def retiro_line() -> queue.QueueRef:
    service = retiro()
    return queue.QueueRef(service=service, office=service.offices[0])


def login_retiro(auth):
    return auth.login("clerk@retiro.demo.ventanilla.pr")


def console_url(app) -> str:
    with app.app_context():
        line = retiro_line()
        return f"/staff/queue/{line.service.id}/{line.office.id}"
