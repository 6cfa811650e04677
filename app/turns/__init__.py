"""Same-day turns: the citizen pages (blueprint `turns`, /turns) and the clerk's queue console
(blueprint `turns_staff`, /staff/queue). The rules live in the domain package
`app.queue`; `events` is the /turns Socket.IO namespace."""

from flask import Blueprint

bp = Blueprint("turns", __name__)
staff_bp = Blueprint("turns_staff", __name__)

from app.turns import routes, staff_routes  # noqa: E402,F401
