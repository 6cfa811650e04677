"""Configuration classes. Every setting reads the environment with a safe default.

Nothing here fails at import: a production setting that is missing is reported by
`ProductionConfig.check()`, which `create_app` calls, so development never trips on it.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# The languages Ventanilla speaks, each named in itself: the one list that the language switcher,
# the forms, the API and the database constraints all read. The first is the default.
LANGUAGE_NAMES = {"es": "Español", "en": "English"}
LANGUAGES = tuple(LANGUAGE_NAMES)
# RTCPeerConnection's iceTransportPolicy values (ICE_TRANSPORT_POLICY).
ICE_TRANSPORT_POLICIES = ("all", "relay")
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def development_secret_key(instance_dir: Path = INSTANCE_DIR) -> str:
    """Return the development secret key kept in instance/, creating it on first use."""
    import secrets

    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'ventanilla.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # A database that stops answering must not hang every request: give up connecting, running a
    # statement, or waiting for a pooled connection after this long (the page answers 503).
    DB_CONNECT_TIMEOUT_SECONDS = _env_int("DB_CONNECT_TIMEOUT_SECONDS", 5)
    DB_STATEMENT_TIMEOUT_SECONDS = _env_int("DB_STATEMENT_TIMEOUT_SECONDS", 30)
    DB_POOL_TIMEOUT_SECONDS = _env_int("DB_POOL_TIMEOUT_SECONDS", 10)
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)
    # How many reverse proxies stand in front of the app. Their X-Forwarded-For/-Proto are trusted,
    # so rate limits and the audit log see the citizen's address instead of the proxy's.
    TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)

    # Uploaded PDFs are parsed in a child process with these limits (app/documents/validation.py).
    PDF_MAX_BYTES = _env_int("PDF_MAX_BYTES", 10 * 1024 * 1024)
    PDF_CHECK_CPU_SECONDS = _env_int("PDF_CHECK_CPU_SECONDS", 5)
    PDF_CHECK_MEMORY_MB = _env_int("PDF_CHECK_MEMORY_MB", 512)
    PDF_CHECK_TIMEOUT_SECONDS = _env_int("PDF_CHECK_TIMEOUT_SECONDS", 10)
    PDF_MAX_INFLATED_MB = _env_int("PDF_MAX_INFLATED_MB", 50)
    PDF_MAX_IMAGE_MEGAPIXELS = _env_int("PDF_MAX_IMAGE_MEGAPIXELS", 50)
    # The checker processes are kept running (a pool per app process, started at the first check):
    # PDF_CHECK_CONCURRENCY of them, each replaced after PDF_CHECK_RECYCLE_AFTER checks or after
    # any check that hits a limit; a check that finds them all busy for PDF_CHECK_QUEUE_SECONDS
    # is answered 503.
    PDF_CHECK_CONCURRENCY = _env_int("PDF_CHECK_CONCURRENCY", 2)
    PDF_CHECK_RECYCLE_AFTER = _env_int("PDF_CHECK_RECYCLE_AFTER", 200)
    PDF_CHECK_QUEUE_SECONDS = _env_int("PDF_CHECK_QUEUE_SECONDS", 10)
    # Staff see stored PDFs only as page images, rendered in a child process with these limits
    # (app/documents/rendering.py); an image's long side never passes PDF_RENDER_MAX_SIDE_PX.
    PDF_RENDER_MAX_SIDE_PX = _env_int("PDF_RENDER_MAX_SIDE_PX", 1600)
    PDF_RENDER_CPU_SECONDS = _env_int("PDF_RENDER_CPU_SECONDS", 5)
    PDF_RENDER_MEMORY_MB = _env_int("PDF_RENDER_MEMORY_MB", 512)
    PDF_RENDER_TIMEOUT_SECONDS = _env_int("PDF_RENDER_TIMEOUT_SECONDS", 10)
    PDF_RENDER_CONCURRENCY = _env_int("PDF_RENDER_CONCURRENCY", 2)

    # The video call: when the join link opens and closes, and the signaling rate limit
    # (a burst covers the ICE candidates of a connection's start).
    CALL_JOIN_OPENS_MINUTES = _env_int("CALL_JOIN_OPENS_MINUTES", 15)
    CALL_JOIN_GRACE_MINUTES = _env_int("CALL_JOIN_GRACE_MINUTES", 30)
    CALL_SIGNAL_RATE = _env_int("CALL_SIGNAL_RATE", 20)
    CALL_SIGNAL_BURST = _env_int("CALL_SIGNAL_BURST", 200)
    # ICE servers for the browsers. TURN credentials are minted per request with coturn's
    # shared-secret scheme (static-auth-secret / use-auth-secret), valid TURN_TTL_SECONDS.
    STUN_URLS = [u for u in os.environ.get("STUN_URLS", "").split(",") if u]
    TURN_URLS = [u for u in os.environ.get("TURN_URLS", "").split(",") if u]
    TURN_SECRET = os.environ.get("TURN_SECRET") or None
    TURN_TTL_SECONDS = _env_int("TURN_TTL_SECONDS", 3600)
    # "relay": the browsers use TURN-relayed paths only, so neither side ever learns the other's
    # addresses (needs TURN_URLS and TURN_SECRET); "all" (default): direct paths when they work.
    ICE_TRANSPORT_POLICY = os.environ.get("ICE_TRANSPORT_POLICY", "all").strip().lower()

    # Same-day turns: a no-answer goes back in line once after this delay; the wait estimate averages
    # the day's last QUEUE_AVERAGE_OVER calls and counts clerks who called in the last N minutes.
    QUEUE_NO_ANSWER_RETRY_MINUTES = _env_int("QUEUE_NO_ANSWER_RETRY_MINUTES", 10)
    QUEUE_AVERAGE_OVER = _env_int("QUEUE_AVERAGE_OVER", 10)
    QUEUE_ACTIVE_CLERK_MINUTES = _env_int("QUEUE_ACTIVE_CLERK_MINUTES", 30)
    QUEUE_TAKE_RATE_LIMIT = os.environ.get("QUEUE_TAKE_RATE_LIMIT", "20 per hour")
    # SMS: logged by the console sender unless a webhook is set.
    SMS_WEBHOOK_URL = os.environ.get("SMS_WEBHOOK_URL") or None
    SMS_WEBHOOK_TOKEN = os.environ.get("SMS_WEBHOOK_TOKEN") or None
    SMS_WEBHOOK_TIMEOUT_SECONDS = _env_int("SMS_WEBHOOK_TIMEOUT_SECONDS", 10)

    # What one Socket.IO client may cost (app/socket_guard.py): bytes read a second per WebSocket,
    # packets a second per connection (a refused packet counts; the first packet past the burst
    # cuts the connection off, and its address may not connect again for SOCKET_CUT_OFF_SECONDS),
    # connections per address refused by the app before the next ones are refused at the
    # handshake (then one a second), connections per address that have not joined a namespace yet
    # and how long they may wait, and connections in all, kept below gunicorn's WORKER_CONNECTIONS
    # (1000) so that page requests always find a free slot.
    SOCKET_INBOUND_BYTES_PER_SECOND = _env_int("SOCKET_INBOUND_BYTES_PER_SECOND", 256 * 1024)
    SOCKET_INBOUND_BURST_BYTES = _env_int("SOCKET_INBOUND_BURST_BYTES", 1024 * 1024)
    SOCKET_EVENT_RATE = _env_int("SOCKET_EVENT_RATE", 50)
    SOCKET_EVENT_BURST = _env_int("SOCKET_EVENT_BURST", 300)
    SOCKET_CUT_OFF_SECONDS = _env_int("SOCKET_CUT_OFF_SECONDS", 10)
    SOCKET_REFUSED_PER_ADDRESS = _env_int("SOCKET_REFUSED_PER_ADDRESS", 20)
    SOCKET_UNAUTHENTICATED_PER_ADDRESS = _env_int("SOCKET_UNAUTHENTICATED_PER_ADDRESS", 20)
    SOCKET_JOIN_TIMEOUT_SECONDS = _env_int("SOCKET_JOIN_TIMEOUT_SECONDS", 10)
    SOCKET_MAX_CONNECTIONS = _env_int("SOCKET_MAX_CONNECTIONS", 900)
    # permessage-deflate, which every browser offers: off by default on purpose. Signaling messages
    # are small and mostly unique; each compressed socket keeps two zlib contexts (~100 KB more per
    # socket, benchmarks/signaling.py --deflate) and pays zlib's CPU on every frame.
    SOCKET_WEBSOCKET_COMPRESSION = _env_bool("SOCKET_WEBSOCKET_COMPRESSION", False)

    # Prometheus metrics at /metrics: for these addresses (networks allowed), or with
    # `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 404.
    METRICS_ALLOWED_IPS = [a for a in os.environ.get("METRICS_ALLOWED_IPS", "127.0.0.1,::1").split(",") if a]
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None

    # App log lines: "text" or "json" (one object a line, with the request id); production: json.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")

    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # What this deployment's keys on a shared Redis start with (call rooms, staff sockets, rate limits)
    # and its Socket.IO channel's name. Unset: "ventanilla-" and a digest of the database it uses
    # (address and name, not the password), so every process of one deployment agrees while two
    # deployments on one Redis (staging beside production, two agencies) never see each other's rooms,
    # socket messages or rate limits. Set it when processes reach one database by different addresses.
    REDIS_PREFIX = os.environ.get("REDIS_PREFIX") or None
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Staff accounts: after this many wrong passwords in a row the account refuses every sign-in
    # (the right password included) for LOGIN_LOCKOUT_MINUTES; a session ends after
    # STAFF_IDLE_MINUTES without a request; an e-mailed reset link works once within
    # PASSWORD_RESET_MINUTES, and an address may ask for PASSWORD_RESET_RATE_LIMIT of them.
    LOGIN_LOCKOUT_FAILURES = _env_int("LOGIN_LOCKOUT_FAILURES", 5)
    LOGIN_LOCKOUT_MINUTES = _env_int("LOGIN_LOCKOUT_MINUTES", 15)
    STAFF_IDLE_MINUTES = _env_int("STAFF_IDLE_MINUTES", 30)
    PASSWORD_RESET_MINUTES = _env_int("PASSWORD_RESET_MINUTES", 30)
    PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5 per hour")
    # An e-mailed staff invitation works once, within this many hours (re-sending starts again).
    STAFF_INVITATION_HOURS = _env_int("STAFF_INVITATION_HOURS", 72)
    # Two-factor sign-in (TOTP): the roles that must set it up at their next sign-in (clerks may
    # choose to), and how long the step between the password and the code may last.
    TWO_FACTOR_REQUIRED_ROLES = tuple(
        role.strip()
        for role in os.environ.get("TWO_FACTOR_REQUIRED_ROLES", "admin,superadmin").split(",")
        if role.strip()
    )
    TWO_FACTOR_PENDING_MINUTES = _env_int("TWO_FACTOR_PENDING_MINUTES", 5)
    # "Find my appointment" (/manage/find): requests per client address.
    FIND_APPOINTMENT_RATE_LIMIT = os.environ.get("FIND_APPOINTMENT_RATE_LIMIT", "5 per hour")
    API_READ_RATE_LIMIT = os.environ.get("API_READ_RATE_LIMIT", "120 per minute")
    API_WRITE_RATE_LIMIT = os.environ.get("API_WRITE_RATE_LIMIT", "20 per hour")

    # Send due e-mails from inside the app every N seconds, from its first request on (0: run
    # `flask send-due` from cron or a worker). Development sends every 2 s; production and tests not.
    OUTBOX_SEND_INTERVAL_SECONDS = _env_int("OUTBOX_SEND_INTERVAL_SECONDS", 0)
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Ventanilla <no-reply@localhost>")

    # The address citizens use to reach this site, for links in e-mails (e.g. https://citas.dtop.pr.gov).
    # Without it, links use the address of the request that caused the e-mail.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    MAX_ACTIVE_APPOINTMENTS_PER_SERVICE = _env_int("MAX_ACTIVE_APPOINTMENTS_PER_SERVICE", 1)
    # After the appointment, the manage link still shows it (and the clerk's result documents).
    MANAGE_LINK_DAYS_AFTER = _env_int("MANAGE_LINK_DAYS_AFTER", 30)
    # After a "documents missing" outcome the manage page takes the missing documents for this many
    # days (never past the manage link's own end), at most this many files per appointment.
    FOLLOW_UP_UPLOAD_DAYS = _env_int("FOLLOW_UP_UPLOAD_DAYS", 30)
    FOLLOW_UP_MAX_DOCUMENTS = _env_int("FOLLOW_UP_MAX_DOCUMENTS", 10)
    # A booking in progress (kept on the server, never in the cookie) is forgotten after this long untouched.
    BOOKING_DRAFT_MINUTES = _env_int("BOOKING_DRAFT_MINUTES", 120)

    # Retention (`flask purge`, app/retention.py), for agencies that set none of their own: days
    # after an appointment or turn ends until its documents, result documents and page images are
    # deleted, and until the citizen's name, e-mail, phone and licence number are anonymised.
    RETENTION_DOCUMENT_DAYS = _env_int("RETENTION_DOCUMENT_DAYS", 30)
    RETENTION_PERSONAL_DATA_DAYS = _env_int("RETENTION_PERSONAL_DATA_DAYS", 365)
    # Run the purge from inside the app every N hours, from its first request on, beside the
    # in-app sender (0: run `flask purge` from cron).
    PURGE_INTERVAL_HOURS = _env_int("PURGE_INTERVAL_HOURS", 0)

    DEFAULT_PHONE_REGION = os.environ.get("DEFAULT_PHONE_REGION", "PR")

    # Proof of work (ALTCHA, self-hosted) on the booking and turn forms and the API's booking POST:
    # the browser spends a moment of computing before each booking. Off here; on in production.
    # DIFFICULTY: the largest counter a solution may need (the work is half of it to all of it);
    # the challenge is signed with PROOF_OF_WORK_HMAC_KEY (default: derived from SECRET_KEY).
    PROOF_OF_WORK = _env_bool("PROOF_OF_WORK", False)
    PROOF_OF_WORK_DIFFICULTY = _env_int("PROOF_OF_WORK_DIFFICULTY", 100_000)
    PROOF_OF_WORK_EXPIRY_MINUTES = _env_int("PROOF_OF_WORK_EXPIRY_MINUTES", 20)
    PROOF_OF_WORK_HMAC_KEY = os.environ.get("PROOF_OF_WORK_HMAC_KEY") or None
    # Bookings a service takes a day (the agency's date) per e-mail domain and per phone number;
    # a service's own caps (`flask set-service-caps`) replace these. Addresses at the domains of
    # BOOKING_CAP_EXEMPT_DOMAINS (big consumer providers, where a whole island has its mail) count
    # toward the phone cap only.
    BOOKING_DAILY_CAP_PER_DOMAIN = _env_int("BOOKING_DAILY_CAP_PER_DOMAIN", 50)
    BOOKING_DAILY_CAP_PER_PHONE = _env_int("BOOKING_DAILY_CAP_PER_PHONE", 3)
    BOOKING_CAP_EXEMPT_DOMAINS = frozenset(
        domain.strip().lower()
        for domain in os.environ.get(
            "BOOKING_CAP_EXEMPT_DOMAINS",
            "gmail.com,googlemail.com,hotmail.com,outlook.com,live.com,msn.com,yahoo.com,ymail.com,"
            "icloud.com,me.com,mac.com,aol.com,protonmail.com,proton.me,gmx.com,mail.com,"
            "prtc.net,libertypr.net,coqui.net,onelinkpr.net",
        ).split(",")
        if domain.strip()
    )

    LANGUAGES = LANGUAGES
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LANGUAGE", LANGUAGES[0])
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "America/Puerto_Rico")
    BABEL_DEFAULT_TIMEZONE = DEFAULT_TIMEZONE
    LANGUAGE_COOKIE = "lang"

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    @classmethod
    def check(cls) -> None:
        """Raise RuntimeError with a clear message when a required setting is missing or wrong."""
        if cls.ICE_TRANSPORT_POLICY not in ICE_TRANSPORT_POLICIES:
            raise RuntimeError(
                f"ICE_TRANSPORT_POLICY={cls.ICE_TRANSPORT_POLICY!r} is not one of "
                + ", ".join(ICE_TRANSPORT_POLICIES)
            )
        if cls.ICE_TRANSPORT_POLICY == "relay" and not (cls.TURN_URLS and cls.TURN_SECRET):
            raise RuntimeError(
                "ICE_TRANSPORT_POLICY=relay needs a TURN server: set TURN_URLS and TURN_SECRET"
            )


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY  # falls back to instance/secret_key in create_app
    # `make run` alone writes each e-mail to instance/outbox/ within seconds.
    OUTBOX_SEND_INTERVAL_SECONDS = _env_int("OUTBOX_SEND_INTERVAL_SECONDS", 2)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SOCKETIO_ASYNC_MODE = "threading"
    SOCKETIO_MESSAGE_QUEUE = None
    MAIL_SERVER = None
    SMS_WEBHOOK_URL = None
    OUTBOX_SEND_INTERVAL_SECONDS = 0  # a test that wants the background sender turns it on
    PROOF_OF_WORK = False  # a test that wants the check turns it on (tests/support/proof_of_work.py)
    # Many tests book one service repeatedly with one phone; the cap tests set their own caps.
    BOOKING_DAILY_CAP_PER_DOMAIN = 1000
    BOOKING_DAILY_CAP_PER_PHONE = 1000


class ProductionConfig(Config):
    ENV_NAME = "production"
    PROOF_OF_WORK = _env_bool("PROOF_OF_WORK", True)
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "gevent")
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    # __Host-: the browser keeps the cookie only if it is Secure, for this host alone and path /.
    SESSION_COOKIE_NAME = "__Host-ventanilla" if SESSION_COOKIE_SECURE else "session"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    @classmethod
    def check(cls) -> None:
        super().check()
        if not cls.SECRET_KEY:
            raise RuntimeError(
                "SECRET_KEY is not set. Production needs a long random SECRET_KEY in the "
                "environment, e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        if not cls.PUBLIC_BASE_URL.startswith(("https://", "http://")):
            # Otherwise e-mailed links would follow the Host header of whoever asked for them.
            raise RuntimeError(
                "PUBLIC_BASE_URL is not set. Production needs the address citizens use to reach "
                "this site, e.g. PUBLIC_BASE_URL=https://citas.example.pr.gov"
            )


config_by_name = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The config class named by VENTANILLA_ENV (development by default)."""
    name = os.environ.get("VENTANILLA_ENV", "development")
    try:
        return config_by_name[name]
    except KeyError:
        raise RuntimeError(f"VENTANILLA_ENV={name!r} is not one of {', '.join(config_by_name)}") from None
