"""Every hostile or damaged PDF, sent over HTTP to a live server, is answered 4xx with its own message.

The server keeps serving afterwards, and nothing is stored. A live server: the clock ticks, and the
slot is days away from its lead time, so every refusal is about the file, never about the time.
"""

from pathlib import Path

import pytest
import requests

from tests.support import pdf_factory
from tests.support.booking import availability_query

SERVICE = "certificacion-individuo"
pytestmark = pytest.mark.clock(tick=True)


@pytest.fixture(scope="module")
def corpus():
    return {name: build() for name, (build, _code) in pdf_factory.REJECTIONS.items()}


def first_slot(base_url: str) -> str:
    days = requests.get(
        f"{base_url}/api/v1/services/{SERVICE}/availability", params=availability_query(days=14), timeout=10
    ).json()["days"]
    return next(day["slots"][0]["start"] for day in days if day["slots"])


def test_every_hostile_pdf_gets_its_own_4xx_and_the_server_keeps_serving(app, seeded, live_server, corpus):
    start = first_slot(live_server.url)
    messages = {}
    for name, data in corpus.items():
        response = requests.post(
            f"{live_server.url}/api/v1/appointments",
            data={
                "service": SERVICE,
                "start": start,
                "name": "Ana Rivera",
                "email": "ana@example.com",
                "phone": "787-555-0100",
                "licence_number": "1234567",
            },
            files={"licence_front": (f"{name}.pdf", data, "application/pdf")},
            timeout=60,
        )
        assert response.status_code in (413, 422), (name, response.status_code, response.text[:300])
        body = response.json()
        message = body.get("fields", {}).get("licence_front") or body.get("message")
        assert f"{name}.pdf" in message or response.status_code == 413, (name, body)
        messages[name] = message
        assert requests.get(f"{live_server.url}/healthz", timeout=10).status_code == 200, name
    assert len(set(messages.values())) >= 10  # specific messages, not one generic refusal
    assert not [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*.pdf")]
    home = requests.get(live_server.url + "/", timeout=10)
    assert home.status_code == 200
