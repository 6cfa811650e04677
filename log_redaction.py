"""Tokens never reach a log line: citizens' link tokens are cut out of request lines and referers.

A citizen's join, manage, survey and turn-status links and the API's appointment URLs carry a
bearer token in the path (or, for ICE servers and staff password resets, in `?token=`); the
database keeps only hashes, and the logs must not undo that. This module has no dependency on the
app (gunicorn's master reads it before any worker imports the app, so it must not pull in Flask or
gevent-sensitive modules): gunicorn.conf.py uses it for the access log, and create_app for the
development server's request log. deploy/nginx.conf redacts nginx's access log the same way.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[token]"
# A token is 43 URL-safe characters; the route words (/call/check, /call/ice-servers) are shorter.
_TOKEN_IN_PATH = re.compile(r"(/(?:manage|call|turns/status|api/v\d+/appointments)/)[A-Za-z0-9_-]{20,}")
_TOKEN_IN_QUERY = re.compile(r"([?&;]token=)[^&;\s\"']*")


def redact(text: str) -> str:
    """`text` with every link token replaced by [token]."""
    return _TOKEN_IN_QUERY.sub(r"\1" + REDACTED, _TOKEN_IN_PATH.sub(r"\1" + REDACTED, text))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts tokens from the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
