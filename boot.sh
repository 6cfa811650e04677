#!/usr/bin/env bash
# Container entry point: bring the schema up to date, then hand the process over to gunicorn.
set -euo pipefail
cd "$(dirname "$0")"

# Compose starts PostgreSQL alongside the app; until it accepts connections the upgrade fails.
# Retry for up to DB_WAIT_SECONDS (default 30) before giving up with the last error visible.
wait_seconds="${DB_WAIT_SECONDS:-30}"
deadline=$((SECONDS + wait_seconds))
until flask --app wsgi db upgrade; do
    if (( SECONDS >= deadline )); then
        echo "boot.sh: database migration still failing after ${wait_seconds}s, giving up" >&2
        exit 1
    fi
    echo "boot.sh: database not ready yet, retrying in 2s" >&2
    sleep 2
done

# exec: gunicorn replaces this shell, so `docker stop`'s SIGTERM reaches it and it shuts down gracefully.
exec gunicorn -c gunicorn.conf.py wsgi:app
