"""Ventanilla: booking, video calls and same-day turns for government counters."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    admin,
    api,
    assets,
    booking,
    call,
    cli,
    errors,
    main,
    manage,
    metrics,
    request_log,
    retention,
    security,
    socket_guard,
    staff,
    templating,
    turns,
    web,
)
from app.admin import audit_views as admin_audit_routes
from app.admin import report_views as admin_report_routes
from app.admin import routes as admin_routes
from app.admin import schedule_views as admin_schedule_routes
from app.admin import service_views as admin_service_routes
from app.admin import staff_views as admin_staff_routes
from app.api import routes as api_routes
from app.booking import routes as booking_routes
from app.call import routes as call_routes
from app.call.events import init_call_events
from app.call.survey import bp as survey_bp
from app.calls.live import NAMESPACE as CALL_NAMESPACE
from app.extensions import (
    csrf,
    database_engine_options,
    db,
    limiter,
    login_manager,
    migrate,
    redis_prefix,
    socketio,
)
from app.i18n import init_i18n
from app.main import routes as main_routes
from app.manage import routes as manage_routes
from app.notifications import send_from_inside_the_app
from app.queue.live import NAMESPACE as TURNS_NAMESPACE
from app.staff import agenda_views as staff_agenda_routes
from app.staff import appointments as staff_panel_routes
from app.staff import invitations as staff_invitation_routes
from app.staff import passwords as staff_password_routes
from app.staff import routes as staff_routes
from app.staff import two_factor_views as staff_two_factor_routes
from app.turns import routes as turn_routes
from app.turns import staff_routes as queue_console_routes
from app.turns.events import register_turn_events
from config import Config, config_from_env, development_secret_key
from log_redaction import RedactingFilter

REDACTING_FILTER = RedactingFilter()

# Each blueprint's package only makes the Blueprint; these modules add its views when imported.
VIEW_MODULES = (
    admin_routes,
    admin_staff_routes,
    admin_schedule_routes,
    admin_service_routes,
    admin_audit_routes,
    admin_report_routes,
    api_routes,
    booking_routes,
    call_routes,
    main_routes,
    manage_routes,
    staff_routes,
    staff_panel_routes,
    staff_agenda_routes,
    staff_password_routes,
    staff_invitation_routes,
    staff_two_factor_routes,
    turn_routes,
    queue_console_routes,
)


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI, error pages."""
    config_class = config_class or config_from_env()
    config_class.check()

    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_class)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = development_secret_key()
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    _prepare_sqlite_dir(app.config["SQLALCHEMY_DATABASE_URI"])

    _init_extensions(app)
    app.url_map.converters["int"] = web.DatabaseIdConverter  # before any route is added
    assets.init_assets(app)  # first registered: its after_request runs last, on the final body
    _register_blueprints(app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    errors.init_error_pages(app)
    app.before_request(web.refuse_control_characters)
    security.init_security_headers(app)
    metrics.init_metrics(app)
    templating.init_templating(app)
    cli.init_cli(app)

    send_from_inside_the_app(app, retention.background_job)

    # The development server logs each request line, the app its errors with the path: tokens in
    # paths never reach either.
    logging.getLogger("werkzeug").addFilter(REDACTING_FILTER)
    app.logger.addFilter(REDACTING_FILTER)
    request_log.init_request_log(app)
    return app


def _prepare_sqlite_dir(uri: str) -> None:
    prefix = "sqlite:///"
    if uri.startswith(prefix) and len(uri) > len(prefix):
        Path(uri[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def _init_extensions(app: Flask) -> None:
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database_engine_options(app.config)
    # One name for this deployment's state on a shared Redis: the limiter's keys start with it too.
    app.config["REDIS_PREFIX"] = redis_prefix(app.config)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_PREFIX"])
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True,  # SQLite can only ALTER by copying the table
        compare_type=True,
    )
    csrf.init_app(app)
    init_i18n(app)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = None  # the login page explains itself

    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        **_message_queue_channel(app.config),
        # Relayed messages must keep their order per connection (shared/BROWSER-TESTING.md).
        async_handlers=False,
        manage_session=False,
        # Only the app's namespaces: a connection to any other, the default one included, is refused.
        namespaces=[CALL_NAMESPACE, TURNS_NAMESPACE],
    )
    app.wsgi_app = socket_guard.SocketGuard(socketio.server, app.config).wrap(app.wsgi_app)

    @login_manager.user_loader
    def load_staff(session_id: str):
        return web.staff_of_session(session_id)


def _message_queue_channel(config) -> dict:
    """The deployment's own Socket.IO channel on a shared Redis (only with a message queue)."""
    return {"channel": f"{config['REDIS_PREFIX']}:socketio"} if config["SOCKETIO_MESSAGE_QUEUE"] else {}


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(main.bp)
    app.register_blueprint(booking.bp, url_prefix="/book")
    app.register_blueprint(manage.bp, url_prefix="/manage")
    app.register_blueprint(staff.bp, url_prefix="/staff")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(turns.bp, url_prefix="/turns")
    app.register_blueprint(turns.staff_bp, url_prefix="/staff/queue")
    register_turn_events()
    app.register_blueprint(call.bp, url_prefix="/call")
    app.register_blueprint(survey_bp, url_prefix="/call")
    init_call_events(app)
