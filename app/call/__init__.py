"""The citizen's side of the video call /call/<token>: join page, device check, ICE servers, survey."""

from flask import Blueprint

bp = Blueprint("call", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
