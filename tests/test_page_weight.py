"""What a phone downloads: compressed responses where no secret is in them (BREACH), and static
files under content-hashed URLs that browsers keep for a year (issue 10, item 20)."""

from __future__ import annotations

import re

import pytest
from flask import Response

from app.assets import may_compress
from tests.support.apps import demo_app

YEAR = "max-age=31536000"


@pytest.fixture
def app(tmp_path, demo_database):
    """The demo data with CSRF on, as in production: forms carry their token."""
    return demo_app(tmp_path, demo_database, WTF_CSRF_ENABLED=True)


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_urls_carry_a_content_hash_and_are_kept_for_a_year(client):
    urls = static_urls(client.get("/").get_data(as_text=True))
    css = next(url for url in urls if "uswds.min.css" in url)
    assert re.search(r"\?v=[0-9a-f]{12,}$", css), css
    assert all("?v=" in url for url in urls), urls
    response = client.get(css)
    assert response.status_code == 200
    assert YEAR in response.headers["Cache-Control"] and "immutable" in response.headers["Cache-Control"]
    for stale in (css.split("?")[0], css.split("?")[0] + "?v=0123456789ab"):
        assert "immutable" not in client.get(stale).headers.get("Cache-Control", "")  # revalidated


def test_css_and_javascript_are_compressed(client):
    urls = static_urls(client.get("/").get_data(as_text=True))
    css = next(url for url in urls if "uswds.min.css" in url)
    response = client.get(css, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers.get("Content-Encoding") in ("br", "zstd", "gzip")
    assert len(response.get_data()) < 100_000  # of ~527 KB
    assert "Accept-Encoding" in response.headers["Vary"]
    script = next(url for url in urls if "uswds.min.js" in url)
    assert client.get(script, headers={"Accept-Encoding": "gzip"}).headers.get("Content-Encoding") == "gzip"


def test_a_public_page_without_a_secret_is_compressed(client):
    response = client.get("/services/certificacion-individuo", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers.get("Content-Encoding") == "gzip"


@pytest.mark.parametrize(
    "path", ["/book/certificacion-individuo", "/staff/login", "/turns/orientacion-retiro"]
)
def test_pages_carrying_a_csrf_token_or_personal_data_are_never_compressed(client, path):
    """BREACH: a compressed page that holds a secret and reflects input leaks the secret by size."""
    response = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    if path != "/turns/orientacion-retiro":
        assert 'name="csrf_token"' in response.get_data(as_text=True)


def test_a_private_or_no_store_answer_is_never_compressed(app):
    with app.test_request_context("/api/v1/appointments/some-token"):
        personal = Response("{}", mimetype="application/json", headers={"Cache-Control": "private, no-store"})
        public = Response("{}", mimetype="application/json")
        assert not may_compress(personal) and may_compress(public)
