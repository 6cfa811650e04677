"""Redirects never leave the site: the `next` of the language switch and of the staff login.

Probes from the red-team pass (issue #9): a tab or newline that the browser or Werkzeug drops
turned `/\t/evil.example` into `//evil.example`, and `/%0d%0a…` answered 500.
"""

from __future__ import annotations

import pytest

CLERK = "clerk@dtop.demo.ventanilla.pr"
# Raw query strings, encoded exactly as an attacker's link would carry them.
BYPASSES = [
    "%2F%09%2Fevil.example",  # /<tab>/evil.example
    "/%09/evil.example",
    "/%0d%0aLocation:%20http://evil.example",  # header injection: 500 before the fix
    "/%0a/evil.example",
    "/%0d/evil.example",
    "%09//evil.example",
    "%20//evil.example",
    "//evil.example",
    "///evil.example",
    "/%5Cevil.example",  # /\evil.example
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "https://evil.example",
    "https:evil.example",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "%2F%2Fevil.example",
    "/%00/evil.example",
    "/%E2%80%8B/evil.example",  # zero-width space
    "/%C2%A0/evil.example",  # no-break space
]


@pytest.mark.parametrize("query", BYPASSES)
def test_the_language_switch_sends_a_hostile_next_home(client, query):
    response = client.get(f"/language/en?next={query}")
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("query", BYPASSES)
def test_a_real_login_with_a_hostile_next_lands_on_the_console(client, auth, query):
    response = client.post(
        f"/staff/login?next={query}", data={"email": CLERK, "password": auth.credentials[CLERK]}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"


@pytest.mark.parametrize(
    "query, location", [("/services/x%3Fa%3D1", "/services/x?a=1"), ("/book/y", "/book/y")]
)
def test_a_same_site_next_is_followed(client, query, location):
    assert client.get(f"/language/en?next={query}").headers["Location"] == location
