"""Same-day turns: the citizen pages (blueprint `turns`, /turns) and the clerk's queue console
(blueprint `turns_staff`, /staff/queue). The rules live in the domain
package `app.queue`; `events` serves the /turns Socket.IO namespace."""

from flask import Blueprint

bp = Blueprint("turns", __name__)
staff_bp = Blueprint("turns_staff", __name__)

# The views register themselves on import; create_app imports them (app/__init__.py).
