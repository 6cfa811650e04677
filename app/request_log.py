"""Every request gets an id, and the app's log lines carry it (as JSON in production).

The id comes from the proxy's `X-Request-ID` when it looks like one (letters, digits, `.`, `_`,
`-`; 8 to 64 characters: nothing that could forge a log line), otherwise a new random one; it goes
back in the response's `X-Request-ID`, which gunicorn's access log records too
(gunicorn.conf.py), so one id joins the proxy's, gunicorn's and the app's lines of a request.
With `LOG_FORMAT=json` (production's default) each app log line is one JSON object: time, level,
logger, message and request id. Tokens are cut out of every line first (log_redaction.py).
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from log_redaction import RedactingFilter

HEADER = "X-Request-ID"
ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or None outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


def log_handler(log_format: str, stream=None) -> logging.Handler:
    """A handler writing redacted lines with the request id, as JSON or as text."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "asctime": "time"})
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def init_request_log(app: Flask) -> None:
    """Give each request its id; outside tests and debugging, send the app's logs to one handler."""

    @app.before_request
    def assign_request_id():
        offered = request.headers.get(HEADER, "")
        g.request_id = offered if ACCEPTABLE_ID.fullmatch(offered) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        if "request_id" in g:
            response.headers[HEADER] = g.request_id
        return response

    if not app.debug and not app.testing:
        app.logger.removeHandler(default_handler)  # the root handler below writes its lines
        root = logging.getLogger()
        if not any(getattr(handler, "ventanilla", False) for handler in root.handlers):
            handler = log_handler(app.config["LOG_FORMAT"])
            handler.ventanilla = True
            root.addHandler(handler)
            root.setLevel(logging.INFO)
