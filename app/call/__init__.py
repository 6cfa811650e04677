from flask import Blueprint

bp = Blueprint("call", __name__)

from app.call import routes  # noqa: E402,F401
