# syntax=docker/dockerfile:1
# Ventanilla production image: gunicorn + gevent serving pages, the API and Socket.IO on :8000.
#   docker build -t ventanilla .    docker compose up    (see docker-compose.yml)
# Also the proxy and TURN images of docker-compose.yml: --target proxy, --target turn.

# --- Stage 1: front-end assets (USWDS, Socket.IO client, ALTCHA widget) from the npm lockfile ---------------------
FROM node:22-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
# Exact versions from the lockfile, dev dependencies too: PurgeCSS builds the USWDS subset here.
# Nothing of this stage's node_modules is shipped, only app/static/vendor/.
RUN npm ci --no-audit --no-fund
COPY scripts/vendor-assets.sh scripts/purgecss.config.cjs scripts/
# The subset keeps the USWDS rules the templates and browser modules use: they come first.
COPY app/templates/ app/templates/
COPY app/static/js/ app/static/js/
# The script copies node_modules/… into app/static/vendor/ (it skips npm ci: node_modules exists).
RUN bash scripts/vendor-assets.sh

# --- The proxy (docker compose's `proxy`, `--target proxy`): Debian's nginx with brotli, the static
# files, deploy/nginx.conf: the same nginx and configuration that tests/test_nginx_proxy.py runs.
FROM debian:bookworm-slim AS proxy
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx libnginx-mod-http-brotli-filter \
        libnginx-mod-http-brotli-static \
    && rm -rf /var/lib/apt/lists/* \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log \
    && mkdir -p /var/www/acme
COPY deploy/nginx.conf /etc/nginx/nginx.conf
COPY deploy/nginx/ /etc/nginx/ventanilla/
COPY app/static/ /srv/ventanilla/static/
COPY --from=assets /build/app/static/vendor/ /srv/ventanilla/static/vendor/
EXPOSE 80 443
CMD ["nginx", "-g", "daemon off;"]

# --- TURN (docker compose's `turn`, `--target turn`): Debian's coturn, as the tests run it ------------
FROM debian:bookworm-slim AS turn
RUN apt-get update \
    && apt-get install -y --no-install-recommends coturn \
    && rm -rf /var/lib/apt/lists/*
COPY deploy/turnserver.conf /etc/turnserver.conf
USER turnserver
CMD ["turnserver", "-c", "/etc/turnserver.conf"]

# --- The Python app (the default target) ------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes do not reinstall them. All pins ship manylinux wheels
# (gevent, psycopg[binary], argon2-cffi), so no compiler is needed.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY config.py wsgi.py gunicorn.conf.py log_redaction.py boot.sh babel.cfg ./
COPY migrations/ migrations/
COPY app/ app/
COPY --from=assets /build/app/static/vendor/ app/static/vendor/
# .mo catalogs are build products (git-ignored): compile them here.
RUN pybabel compile -d app/translations

# Run unprivileged; only instance/ (uploads, outbox) is writable, and it is the volume.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ventanilla \
    && mkdir -p /app/instance \
    && chown ventanilla:ventanilla /app/instance \
    && chmod +x boot.sh
VOLUME ["/app/instance"]

ENV VENTANILLA_ENV=production \
    SOCKETIO_ASYNC_MODE=gevent \
    INSTANCE_DIR=/app/instance \
    PORT=8000
EXPOSE 8000

# /healthz answers 200 only when the database answers too; urlopen raises (exit 1) on 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

USER ventanilla
CMD ["./boot.sh"]
