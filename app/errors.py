"""Translated error pages, and JSON errors for the API and for clients that ask for JSON."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from app.documents import SandboxBusy, StoreUnavailable
from app.extensions import db

ERROR_TEXT = {
    400: (
        _l("Bad request"),
        _l("We could not understand that request. Please check the form and try again."),
    ),
    403: (_l("Not allowed"), _l("Your account cannot open this page.")),
    404: (
        _l("Page not found"),
        _l("We could not find that page. Check the address or start again from the home page."),
    ),
    405: (_l("Not allowed"), _l("That action is not available on this page.")),
    409: (_l("Conflict"), _l("Someone else changed this at the same moment. Reload the page and try again.")),
    413: (
        _l("File too large"),
        _l(
            "What you sent is larger than we accept. Make the file smaller (for example, scan in "
            "black and white) and try again."
        ),
    ),
    422: (
        _l("Check the information"),
        _l("Some of the information is not valid. Please correct it and try again."),
    ),
    429: (
        _l("Too many attempts"),
        _l("You tried too many times in a short while. Wait a minute and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("We could not complete your request. Nothing was changed. Please try again in a few minutes."),
    ),
    503: (
        _l("The service is not available right now"),
        _l("The service is not available right now. Nothing was changed. Please try again in a few minutes."),
    ),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(code: int, message: str | None = None, fields: dict[str, str] | None = None):
    """The translated error page, or JSON ({error, message} and the refused `fields` if any)."""
    title, default_message = ERROR_TEXT.get(code, ERROR_TEXT[500])
    text = message or str(default_message)
    if wants_json():
        body = {"error": _error_slug(code), "message": text}
        if fields is not None:
            body["fields"] = {name: str(value) for name, value in fields.items()}
        return jsonify(body), code
    return render_template("errors/error.html", code=code, title=title, message=text), code


def _error_slug(code: int) -> str:
    return {
        400: "bad_request",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "validation",
        429: "rate_limited",
        503: "unavailable",
    }.get(code, "server_error")


def init_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        code = error.code or 500
        if code not in ERROR_TEXT:
            return error
        # Messages we raised ourselves (abort(404, msg)) are shown; werkzeug's English defaults
        # and Flask-Limiter's "3 per 1 minute" are not.
        custom = None
        if code != 429 and error.description != type(error).description:
            custom = error.description
        response = make_response(error_response(code, custom, getattr(error, "fields", None)))
        # The exception's own headers, Allow on a 405 above all (RFC 9110), but not its Content-Type.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(InternalServerError)
    def handle_server_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    @app.errorhandler(StoreUnavailable)
    def handle_store_unavailable(error):
        app.logger.warning("upload store refuses writes on %s %s: %s", request.method, request.path, error)
        return _unavailable(
            _("We could not save your file right now. Nothing was stored. Please try again in a few minutes.")
        )

    @app.errorhandler(SandboxBusy)
    def handle_checkers_busy(error):
        app.logger.warning("every PDF checker busy on %s %s", request.method, request.path)
        return _unavailable(
            _(
                "Many documents are being checked right now, so we could not check yours. Nothing was "
                "saved. Please wait a minute and send it again."
            )
        )

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.TimeoutError)
    def handle_database_unavailable(error):
        # The database refused, timed out or went silent: say so at once and let the client retry.
        app.logger.warning(
            "database unavailable on %s %s: %s", request.method, request.path, error.__class__.__name__
        )
        return _unavailable()

    def _unavailable(message: str | None = None):
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            db.session.rollback()
        response = app.make_response(error_response(503, message))
        response.headers["Retry-After"] = "30"
        return response
