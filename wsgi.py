"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, `flask --app wsgi run`."""

import gc

from app import create_app

app = create_app()

# Everything built so far (modules, the app, its templates' code) lives as long as the process:
# move it out of the collector's reach, so a full collection walks only what requests create.
# The relay's light-load latency p99 was set by full collections of ~240,000 objects (benchmarks/
# signaling.py --profile).
gc.freeze()
