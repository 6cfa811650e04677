"""Passwords, reference codes, the agency rule for staff, and the security headers."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, has_app_context, request

_password_hasher = PasswordHasher()
# Tests hash many passwords; argon2's cheapest profile keeps the suite fast. Verification reads
# the parameters from the stored hash, so this only changes how new hashes are made.
_testing_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = _password_hasher.hash(secrets.token_hex(16))

# No 0/O, 1/I/L: reference codes are read aloud over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_reference(prefix: str, length: int = 6) -> str:
    """A public appointment reference such as DTOP-7K3M9Q."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))
    return f"{prefix.upper()[:6]}-{body}"


def _hasher() -> PasswordHasher:
    testing = has_app_context() and current_app.config.get("TESTING")
    return _testing_hasher if testing else _password_hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether a stored hash was made with other argon2 parameters than new hashes are."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, still spend the same time and say no."""
    try:
        return _password_hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def staff_may_act_for(staff, agency_id: int) -> bool:
    """Staff act only for their own agency; a superadmin acts for all."""
    return staff.role == "superadmin" or staff.agency_id == agency_id


def staff_agency_filter(staff, agency_id_column):
    """SQL condition scoping a staff query to the agencies `staff` acts for (the same rule in SQL)."""
    if staff.role == "superadmin":
        return sa.true()
    return agency_id_column == staff.agency_id


CSP_REPORT_PATH = "/csp-report"
# Pages of these blueprints show a citizen's or an appointment's details: no cache may keep them.
PERSONAL_BLUEPRINTS = frozenset({"admin", "staff", "turns_staff", "manage", "call", "survey", "turns"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",  # the site's own Socket.IO (CSP 3: 'self' covers ws/wss to this host)
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"report-uri {CSP_REPORT_PATH}",
        "report-to csp",
    ]
)


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def set_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Reporting-Endpoints", f'csp="{CSP_REPORT_PATH}"')
        if request.blueprint in PERSONAL_BLUEPRINTS:
            response.headers.setdefault("Cache-Control", "private, no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


MAX_CSP_REPORT_BYTES = 16 * 1024


def csp_violations(body: bytes) -> list[dict[str, str]] | None:
    """The violations in a browser's CSP report (report-uri or Reporting API form), or None when the
    body is not one. Each keeps only what is safe to log: the directive, the blocked origin and the
    first segment of the page's path (paths such as /manage/<token> carry tokens)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    reports = data if isinstance(data, list) else [data]
    violations = []
    for report in reports:
        if not isinstance(report, dict):
            return None
        fields = report.get("csp-report") or report.get("body")
        if not isinstance(fields, dict):
            return None
        violations.append(
            {
                "directive": _text(fields.get("effective-directive") or fields.get("effectiveDirective")),
                "blocked": _origin(fields.get("blocked-uri") or fields.get("blockedURL")),
                "page": _first_segment(fields.get("document-uri") or fields.get("documentURL")),
            }
        )
    return violations


def _text(value) -> str:
    return "".join(c for c in str(value or "")[:60] if c.isprintable())


def _origin(value) -> str:
    parts = urlsplit(_text(value if isinstance(value, str) else "")[:200])
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else parts.scheme or parts.path[:20]


def _first_segment(value) -> str:
    path = urlsplit(value if isinstance(value, str) else "").path
    return "/" + path.strip("/").split("/", 1)[0][:30]
