"""Solving the site's proof-of-work challenge in a test, as the ALTCHA widget does in a browser."""

from __future__ import annotations

import altcha

CHALLENGE_PATH = "/api/v1/proof-of-work/challenge"


def turn_on(app, difficulty: int = 200) -> None:
    """Ask for a solution on the booking and turn forms and the API (tests run with it off)."""
    app.config.update(PROOF_OF_WORK=True, PROOF_OF_WORK_DIFFICULTY=difficulty)


def solve(client) -> str:
    """A fresh challenge from the site, solved: the value the widget puts in the form's `altcha` field."""
    response = client.get(CHALLENGE_PATH)
    assert response.status_code == 200, response.get_data(as_text=True)
    challenge = altcha.Challenge.from_dict(response.get_json())
    solution = altcha.solve_challenge(challenge, timeout=30)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()
