from flask import Blueprint

bp = Blueprint("staff", __name__)

from app.staff import routes  # noqa: E402,F401
from app.staff import appointments  # noqa: E402,F401
