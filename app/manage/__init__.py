"""The citizen's manage link /manage/<token>: see, cancel or move an appointment, replace a
document, download the agency's result documents."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

from app.manage import routes  # noqa: E402,F401
