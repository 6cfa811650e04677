"""An upload store that refuses writes (full or read-only disk, issue #9 item 13) gets a translated
503 with a retry hint, and nothing is half stored: no appointment row, no stray file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment
from tests.support import pdf_factory
from tests.support.booking import VIDEO_SERVICE, choose_slot, fill_details, first_free_slot, upload


def files_in(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [path for path in root.rglob("*") if path.is_file()] if root.is_dir() else []


def test_a_read_only_store_answers_the_booking_page_with_a_translated_503(app, client, seeded):
    choose_slot(client, app)
    blocked = Path(app.config["UPLOAD_DIR"])
    blocked.rmdir()
    blocked.write_text("not a directory: every write under it fails")  # like a read-only mount
    response = fill_details(client)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "No pudimos guardar su archivo en este momento" in response.get_data(as_text=True)


def test_a_full_disk_refuses_an_api_booking_with_503_and_stores_nothing(app, client, seeded, monkeypatch):
    slot = first_free_slot(app, VIDEO_SERVICE)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    response = client.post(
        "/api/v1/appointments",
        data={
            "service": VIDEO_SERVICE,
            "office": str(slot.office_id),
            "start": slot.start.isoformat(),
            "name": "Ana Rivera",
            "email": "ana@example.com",
            "phone": "787-555-0100",
            "licence_number": "1234567",
            "licence_front": upload(pdf_factory.one_page()),
            "vehicle_document": upload(pdf_factory.pages(2)),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 503 and response.get_json()["error"] == "unavailable", response.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0
    assert files_in(app) == []
