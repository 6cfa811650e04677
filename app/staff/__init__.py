from flask import Blueprint

bp = Blueprint("staff", __name__)

from app.staff import appointments, routes  # noqa: E402,F401
