"""The turns the rules refuse: a stable `code` for the program, a translated `message` for people."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _


class TurnError(Exception):
    """A turn the rules refuse; `code` is stable, `message` is translated for the citizen or clerk."""

    status = 422

    def __init__(self, code: str, message: str, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class TurnsClosed(TurnError):
    """No turns now: closed today, outside hours, capacity reached or the wait past closing."""

    status = 409

    def __init__(self, code: str, message: str, next_opening: dt.datetime | None):
        super().__init__(code, message)
        self.next_opening = next_opening


class AlreadyInLine(TurnError):
    status = 409

    def __init__(self):
        super().__init__(
            "already_in_line",
            _(
                "This phone number already has a turn in line for this service today. Use the link "
                "of that turn to see it or cancel it."
            ),
        )


class TurnNotActive(TurnError):
    status = 409

    def __init__(self):
        super().__init__("not_active", _("This turn has changed meanwhile. Reload the page to see it."))
