"""The citizen's manage link /manage/<token>: see, cancel or move an appointment, replace a
document, download the agency's result documents."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
