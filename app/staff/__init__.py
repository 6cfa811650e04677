"""The staff console /staff: sign-in (and its two-factor step), today's agenda, admit, the call screen,
the appointment panel."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
