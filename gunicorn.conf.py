"""Production gunicorn settings, read from the environment: `gunicorn -c gunicorn.conf.py wsgi:app`.

The gunicorn master imports this file, so it must stay free of app and gevent imports: the gevent
worker monkey-patches the standard library when it starts, and the app must be imported after that
(hence no `preload_app`).
"""

import os
import sys

from gunicorn.glogging import Logger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from log_redaction import RedactingFilter, redact  # noqa: E402  (beside this file, free of app imports)

# Listen on every interface inside the container; PaaS hosts hand the port in $PORT.
bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Flask-SocketIO runs in gevent mode (SOCKETIO_ASYNC_MODE=gevent): one greenlet per connection, and
# each open WebSocket holds one of the worker's WORKER_CONNECTIONS for its whole life, so this is the
# process's ceiling of sockets plus page requests (past it gunicorn stops accepting: the next page
# waits). The default suits ~900 sockets (SOCKET_MAX_CONNECTIONS' default). For N sockets per process
# set SOCKET_MAX_CONNECTIONS=N, WORKER_CONNECTIONS=N+100 (page requests always find a slot), an
# open-files limit above N+200 (`ulimit -n`; compose's `ulimits: nofile`) and memory for ~75 KB per
# idle socket (5,000: ~370 MB; benchmarks/signaling.py --idle-sockets). Needs `packaging` at boot.
worker_class = "gevent"
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))

# One worker by default. Socket.IO keeps each connection's state in one process, so more than one
# needs (1) sticky sessions at the proxy, since a client's long-polling requests must all reach the
# process that holds its session, and (2) SOCKETIO_MESSAGE_QUEUE pointing at Redis, so an event
# emitted in one process reaches a room member in another. gunicorn's own balancing between its
# workers is not sticky: scale out with several single-worker processes (each its own port) behind
# a sticky proxy, or raise this only when every client connects with the websocket transport only.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))

# The gevent worker's heartbeat runs in its own greenlet, so this only kills a worker whose event loop
# is blocked (CPU-bound code, a non-patched call) for 30 s; long-lived WebSockets are not affected.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On deploy/stop (SIGTERM), give in-flight requests this long to finish. The worker closes its
# sockets at once (post_worker_init below), so the browsers reconnect to another process through
# the proxy and the worker exits as soon as its last page request is answered.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Idle keep-alive connections wait this long for the next request. Behind a proxy that keeps upstream
# connections open, set it above the proxy's upstream idle timeout, or gunicorn may close a connection
# the proxy is just reusing (a 502).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Containers log to stdout/stderr; the platform collects them.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# gunicorn's default line, then the request id the app answered with (app/request_log.py).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# Trust X-Forwarded-Proto (so url_for and Secure cookies see https) only from the proxy in front of
# us: a comma-separated list of its addresses, or "*" when only the proxy can reach this port.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn >= 25 opens a control socket under $HOME by default; a container has no use for it (and a
# non-root user may have no writable home). Opt in with GUNICORN_CONTROL_SOCKET=/path.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# The worker heartbeat file is touched every second; /tmp in a container may be a slow overlay disk,
# which can make a healthy worker look dead. Use RAM when available.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def post_worker_init(worker):
    """On SIGTERM the worker also hands its Socket.IO connections over (app/shutdown.py): they are
    closed so that their browsers reconnect elsewhere, instead of holding the worker until the
    graceful timeout kills them. Runs in the worker, after the app is loaded."""
    import signal

    from app.shutdown import hand_over_sockets

    stop_accepting = worker.handle_exit  # gunicorn's own: stop accepting, finish, exit

    def handle_exit(signum, frame):
        stop_accepting(signum, frame)
        hand_over_sockets()

    signal.signal(signal.SIGTERM, handle_exit)


class RedactingLogger(Logger):
    """gunicorn's logger with citizens' link tokens cut out of every access-log field (the request
    line, the path, the query string and the referer: a page's own links are its referer)."""

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(RedactingFilter())  # "Error handling request /manage/…"

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = RedactingLogger
