"""Public pages: catalogue, languages, errors, health, security headers."""

import re
from html import unescape

import pytest

from app.extensions import db
from app.models import Office


def test_home_lists_agencies_and_services_in_spanish_by_default(client, seeded):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Servicios de gobierno sin hacer fila" in page
    assert "Departamento de Transportación y Obras Públicas" in page
    assert "Certificación de individuo" in page
    assert "Licencia de conducir (frente), en PDF" in page
    assert "Videollamada" in page and "Llamada de vuelta el mismo día" in page


def test_home_respects_accept_language_english(client, seeded):
    page = unescape(client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True))
    assert '<html lang="en">' in page
    assert "Government services without the line" in page
    assert "Department of Transportation and Public Works" in page
    assert "Driver's licence (front), as PDF" in page


def test_language_choice_is_remembered_over_accept_language(client, seeded):
    response = client.get("/language/en?next=/agencies/dtop")
    assert response.status_code == 302
    assert response.headers["Location"] == "/agencies/dtop"
    page = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Government services without the line" in page


@pytest.mark.parametrize("code", ["fr", "xx", "zz-ZZ", "EN-evil"])
def test_unknown_language_codes_fall_back_to_spanish(client, seeded, code):
    client.get(f"/language/{code}")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page


@pytest.mark.parametrize("cookie", ["fr", "", "e" * 4000])
def test_a_forged_language_cookie_is_ignored(client, seeded, cookie):
    client.set_cookie("lang", cookie)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_catalogue_service_page_shows_mode_documents_and_camera_note(client, seeded):
    page = client.get("/services/certificaciones-vehiculos").get_data(as_text=True)
    assert "Certificaciones de vehículos" in page
    assert "Documento del vehículo (registro o título), en PDF" in page
    assert "cámara y micrófono" in page


@pytest.mark.parametrize(
    "path, spanish, english",
    [
        (
            "/agencies/no-such-agency",
            "No existe una agencia con ese nombre.",
            "There is no agency with that name.",
        ),
        (
            "/services/no-such-service",
            "No existe un servicio con ese nombre.",
            "There is no service with that name.",
        ),
        ("/no/such/page", "No encontramos esa página.", "We could not find that page."),
    ],
)
def test_unknown_slugs_give_a_translated_404(client, seeded, path, spanish, english):
    response = client.get(path)
    assert response.status_code == 404
    assert spanish in response.get_data(as_text=True)
    response = client.get(path, headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert english in response.get_data(as_text=True)


def test_api_paths_get_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_oversized_request_gets_a_translated_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/staff/login", data={"email": "a@b.c", "password": "x" * 4096})
    assert response.status_code == 413
    assert "Archivo demasiado grande" in response.get_data(as_text=True)


def test_unhandled_error_gives_a_translated_500_page(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-failure")
    def failing_view():
        raise RuntimeError("secret internal detail")

    response = client.get("/test-failure", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert "secret internal detail" not in response.get_data(as_text=True)


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_says_degraded_when_the_database_is_gone(app, client, monkeypatch):
    from app.extensions import db

    ctx = app.app_context()
    ctx.push()  # the request reuses this context, so it sees the patched session

    def broken(*args, **kwargs):
        raise __import__("sqlalchemy").exc.OperationalError("SELECT 1", {}, Exception("down"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    ctx.pop()
    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded", "database": "unavailable"}


def test_pages_send_security_headers(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_load_nothing_from_outside(client, seeded):
    page = client.get("/").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page


def test_demo_office_addresses_read_the_same_in_both_languages(app, client, seeded):
    with app.app_context():
        addresses = [office.address for office in db.session.query(Office) if office.address]
    assert addresses
    for address in addresses:  # a postal address, which is not translated; no Spanish placeholder
        assert re.fullmatch(r".+ \d+, [\w ]+, PR 00\d{3}", address), address
    english = unescape(client.get("/agencies/dtop", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert "Dirección" not in english and "demostración" not in english
