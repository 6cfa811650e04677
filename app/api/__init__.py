"""The JSON API /api/v1 for kiosks, mobile apps and agency systems, and its OpenAPI document."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__)
# API clients hold no session cookie: a citizen's appointment is reached with its manage token in
# the URL, so there is nothing a forged cross-site request could ride on.
csrf.exempt(bp)

# The views register themselves on import; create_app imports them (app/__init__.py).
