"""Public pages: the service catalogue, language choice, health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
