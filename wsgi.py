"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, `flask --app wsgi run`."""

import gc

from app import create_app

app = create_app()

# Everything built so far (modules, the app, its templates' code) lives as long as the process:
# move it out of the collector's reach, so a full collection walks only what requests create.
# The relay's light-load latency p99 was set by full collections of ~240,000 objects (benchmarks/
# signaling.py --profile).
gc.freeze()

# Collect the young generation every 50,000 new container objects instead of every 700. With
# thousands of open sockets the worker tracks ~1 million objects, and the frequent young collections
# kept triggering full ones (~0.9 s each, every call in the process stopped meanwhile).
# `benchmarks/signaling.py --modes gevent --rooms 500 --idle-sockets 5000` on a quiet machine, one
# run each: 700 → 3,027 msgs/s at 328 µs of CPU each, saturation p99 1,404 ms, light-load max 51 ms;
# 50,000 → 4,352 msgs/s at 225 µs, p99 285 ms, light max 5 ms, same memory. Without the idle sockets
# the two settings measured alike (two runs each).
gc.set_threshold(50_000, *gc.get_threshold()[1:])
