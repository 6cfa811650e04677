"""Demo data: DTOP's CESCO Remoto and offices, the Retirement System, the State Insurance Fund.

`seed_demo()` is idempotent: it finds each row by its natural key and only adds what is missing,
so running it twice changes nothing and never resets passwords.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.extensions import db
from app.models import Agency, DocumentRequirement, Office, OpeningHours, Service, Staff
from app.security import hash_password

WEEKDAYS_8_TO_5 = [(weekday, dt.time(8), dt.time(17)) for weekday in range(5)]

LICENCE_FRONT = dict(
    code="licence_front",
    label_es="Licencia de conducir (frente), en PDF",
    label_en="Driver's licence (front), as PDF",
    required=True,
    max_pages=2,
)
VEHICLE_SUPPORT = dict(
    code="vehicle_document",
    label_es="Documento del vehículo (registro o título), en PDF",
    label_en="Vehicle document (registration or title), as PDF",
    required=True,
    max_pages=10,
)

AGENCIES = [
    dict(
        slug="dtop",
        kind="agency",
        name_es="Departamento de Transportación y Obras Públicas",
        name_en="Department of Transportation and Public Works",
    ),
    dict(slug="retiro", kind="agency", name_es="Sistema de Retiro", name_en="Retirement System"),
    dict(
        slug="cfse",
        kind="corporation",
        name_es="Corporación del Fondo del Seguro del Estado",
        name_en="State Insurance Fund Corporation",
    ),
]

OFFICES = [
    dict(agency="dtop", slug="cesco-remoto", is_remote=True, name_es="CESCO Remoto", name_en="CESCO Remote"),
    dict(
        agency="dtop",
        slug="cesco-san-juan",
        municipality="San Juan",
        name_es="CESCO San Juan (Barrio Obrero)",
        name_en="CESCO San Juan (Barrio Obrero)",
        address="Calle Demo 100, San Juan, PR 00917",
    ),
    dict(
        agency="dtop",
        slug="cesco-bayamon",
        municipality="Bayamón",
        name_es="CESCO Bayamón",
        name_en="CESCO Bayamón",
        address="Avenida Demo 200, Bayamón, PR 00961",
    ),
    dict(
        agency="retiro",
        slug="orientacion-telefonica",
        is_remote=True,
        name_es="Orientación telefónica",
        name_en="Phone guidance",
    ),
    dict(agency="cfse", slug="cfse-remoto", is_remote=True, name_es="CFSE Remoto", name_en="CFSE Remote"),
]


def _service(agency, offices, slug, mode, name, description, timing, requirements=(), **extra) -> dict:
    """name and description: (Spanish, English); timing: (slot minutes, seats a slot, lead time
    minutes, horizon days)."""
    slot_minutes, capacity_per_slot, lead_time_minutes, horizon_days = timing
    return dict(
        agency=agency,
        offices=list(offices),
        slug=slug,
        mode=mode,
        name_es=name[0],
        name_en=name[1],
        description_es=description[0],
        description_en=description[1],
        slot_minutes=slot_minutes,
        capacity_per_slot=capacity_per_slot,
        lead_time_minutes=lead_time_minutes,
        horizon_days=horizon_days,
        requirements=list(requirements),
        **extra,
    )


def _cesco_remoto(slug, name, description, requirements):
    """One of the five CESCO Remoto video services: 20-minute calls, two clerks, licence number asked."""
    return _service(
        "dtop", ["cesco-remoto"], slug, "video", name, description, (20, 2, 120, 30), requirements,
        asks_licence_number=True,
    )  # fmt: skip


CESCO_OFFICES = ["cesco-san-juan", "cesco-bayamon"]
SERVICES = [
    _cesco_remoto(
        "certificacion-individuo",
        ("Certificación de individuo", "Individual certification"),
        ("Certificación del historial de su licencia de conducir, por videollamada.",
         "Certification of your driver's licence record, by video call."),
        [LICENCE_FRONT],
    ),
    _cesco_remoto(
        "certificaciones-vehiculos",
        ("Certificaciones de vehículos", "Vehicle certifications"),
        ("Certificaciones de los vehículos registrados a su nombre, por videollamada.",
         "Certifications of the vehicles registered in your name, by video call."),
        [LICENCE_FRONT, VEHICLE_SUPPORT],
    ),
    _cesco_remoto(
        "notificacion-renovacion",
        ("Notificación de renovación (Noti)", "Renewal notification (Noti)"),
        ("Reemisión de la notificación de renovación del marbete, por videollamada.",
         "Reissue of the vehicle-tag renewal notification, by video call."),
        [LICENCE_FRONT, VEHICLE_SUPPORT],
    ),
    _cesco_remoto(
        "certificacion-violaciones",
        ("Certificación oficial de violaciones", "Official certification of violations"),
        ("Certificación oficial de las violaciones de tránsito a su nombre, por videollamada.",
         "Official certification of the traffic violations in your name, by video call."),
        [LICENCE_FRONT],
    ),
    _cesco_remoto(
        "reporte-multas",
        ("Reporte de multas administrativas", "Administrative-fines report"),
        ("Reporte de las multas administrativas pendientes, por videollamada.",
         "Report of your pending administrative fines, by video call."),
        [LICENCE_FRONT],
    ),
    _service(
        "dtop", CESCO_OFFICES, "renovacion-licencia", "in_person",
        ("Renovación de licencia de conducir", "Driver's licence renewal"),
        ("Renovación de la licencia en una oficina CESCO (foto y firma en persona).",
         "Licence renewal at a CESCO office (photo and signature in person)."),
        (15, 4, 60, 45), asks_licence_number=True,
    ),
    _service(
        "dtop", CESCO_OFFICES, "traspaso-vehiculo", "in_person",
        ("Traspaso de vehículo", "Vehicle title transfer"),
        ("Traspaso del título de un vehículo en una oficina CESCO.",
         "Transfer of a vehicle title at a CESCO office."),
        (30, 3, 60, 45),
    ),
    _service(
        "retiro", ["orientacion-telefonica"], "orientacion-retiro", "phone_turn",
        ("Orientación sobre retiro", "Retirement guidance call"),
        ("Un orientador le llama hoy mismo para contestar sus preguntas sobre el retiro.",
         "An advisor calls you back today to answer your retirement questions."),
        (15, 1, 0, 1), daily_capacity=120, turn_prefix="R",
    ),
    _service(
        "cfse", ["cfse-remoto"], "seguimiento-caso-cfse", "video",
        ("Seguimiento de caso", "Case follow-up"),
        ("Cita por videollamada para dar seguimiento a su caso con la CFSE.",
         "A video appointment to follow up on your State Insurance Fund case."),
        (30, 1, 240, 30),
        [dict(code="case_document", label_es="Documento del caso, en PDF", label_en="Case document, as PDF",
              required=False, max_pages=10)],
    ),
]  # fmt: skip


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # email, role, password


def _get_or_create(model, report: SeedReport, label: str, lookup: dict, values: dict):
    row = db.session.scalar(sa.select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        db.session.add(row)
        db.session.flush()
        report.created.append(label)
    return row


def seed_demo() -> SeedReport:
    """Add the demo agencies, offices, services, hours and staff that are not there yet. Commits."""
    report = SeedReport()
    agencies = {}
    for spec in AGENCIES:
        values = {k: v for k, v in spec.items() if k != "slug"}
        agencies[spec["slug"]] = _get_or_create(
            Agency, report, f"agency {spec['slug']}", {"slug": spec["slug"]}, values
        )

    offices = {}
    for spec in OFFICES:
        agency = agencies[spec["agency"]]
        values = {k: v for k, v in spec.items() if k not in ("agency", "slug")}
        office = _get_or_create(
            Office, report, f"office {spec['slug']}", {"agency_id": agency.id, "slug": spec["slug"]}, values
        )
        if not office.hours:
            office.hours = [OpeningHours(weekday=w, opens_at=o, closes_at=c) for w, o, c in WEEKDAYS_8_TO_5]
        offices[spec["slug"]] = office

    for spec in SERVICES:
        values = {k: v for k, v in spec.items() if k not in ("agency", "offices", "slug", "requirements")}
        values["agency_id"] = agencies[spec["agency"]].id
        service = _get_or_create(Service, report, f"service {spec['slug']}", {"slug": spec["slug"]}, values)
        for office_slug in spec["offices"]:
            if offices[office_slug] not in service.offices:
                service.offices.append(offices[office_slug])
        have = {r.code for r in service.requirements}
        for position, requirement in enumerate(spec["requirements"]):
            if requirement["code"] not in have:
                service.requirements.append(DocumentRequirement(position=position, **requirement))

    for slug, agency in agencies.items():
        for role in ("admin", "clerk"):
            email = f"{role}@{slug}.demo.ventanilla.pr"
            if db.session.scalar(sa.select(Staff.id).where(Staff.email == email)) is None:
                password = secrets.token_urlsafe(12)
                db.session.add(
                    Staff(
                        email=email,
                        name=f"{role.title()} {slug.upper()}",
                        role=role,
                        agency=agency,
                        password_hash=hash_password(password),
                    )
                )
                report.created.append(f"staff {email}")
                report.credentials.append((email, role, password))

    db.session.commit()
    return report
