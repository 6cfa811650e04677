"""Administration pages /admin: an agency's settings and offices, for its admins and the superadmin."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
