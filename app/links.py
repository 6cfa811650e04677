"""Absolute links to this site, for e-mails, SMS and API answers.

`PUBLIC_BASE_URL` (required in production) is the one source, so a link can never follow a forged
`Host` header; in development without it, links use the address of the current request.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request


def public_url(path: str) -> str:
    """`path` (starting with /) on the site's public address."""
    base = current_app.config.get("PUBLIC_BASE_URL") or (request.url_root if has_request_context() else "")
    return base.rstrip("/") + path


def join_url(token: str) -> str:
    return public_url(f"/call/{token}")


def manage_url(token: str) -> str:
    return public_url(f"/manage/{token}")


def turn_status_url(token: str) -> str:
    return public_url(f"/turns/status/{token}")


def staff_appointment_url(reference: str) -> str:
    """The staff page of an appointment (behind the staff login): for e-mails to clerks."""
    return public_url(f"/staff/appointments/{reference}")


def appointment_links(join_token: str | None, manage_token: str) -> dict[str, str | None]:
    """The citizen's join link (video only) and manage link, for the e-mails and the API answer."""
    return {"join_url": join_url(join_token) if join_token else None, "manage_url": manage_url(manage_token)}
