"""The citizen booking flow /book/<service>: office, date, time, details and documents, review."""

from flask import Blueprint

bp = Blueprint("booking", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
