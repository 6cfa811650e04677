"""What a phone downloads: static files under content-hashed URLs, kept for a year, and responses
compressed only when they carry no secret.

- `url_for('static', filename=…)` adds `?v=<first 16 hex of the file's SHA-256>`; a static
  response whose `v` matches the file's hash is sent `Cache-Control: public, max-age=31536000,
  immutable`, so a returning visitor asks for none of them again. A changed file gets a new URL;
  a URL without `v` (or with an old one) keeps Flask's revalidation.
- Compression (Flask-Compress: zstd, brotli, gzip) is applied to static files and to GET pages
  of the public catalogue. It is never applied to a response holding a CSRF token, to the
  personal blueprints (manage, call, turns, staff: links with tokens, names, phone numbers), to
  a response marked private or no-store (the API's answer about an appointment), or to anything
  but GET: compressing a secret next to text an attacker can inject lets the
  attacker read the secret from the response sizes (BREACH). Those pages are small; the
  savings are in the CSS and JavaScript.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, current_app, g, request
from flask_compress import Compress
from werkzeug.security import safe_join

from app.security import PERSONAL_BLUEPRINTS

compress = Compress()
YEAR_SECONDS = 365 * 24 * 60 * 60
_hashes: dict[str, tuple[float, str]] = {}


def static_hash(filename: str) -> str | None:
    """The first 16 hex digits of the static file's SHA-256 (cached until its mtime changes)."""
    folder = current_app.static_folder
    joined = safe_join(folder, filename) if folder else None  # never outside static/ ("..")
    if joined is None or not os.path.isfile(joined):
        return None
    path = Path(joined)  # not resolved: app/static/vendor may be a symbolic link
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _hashes.get(str(path))
    if cached is None or cached[0] != mtime:
        cached = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:16])
        _hashes[str(path)] = cached
    return cached[1]


def _add_static_hash(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        digest = static_hash(values["filename"])
        if digest:
            values["v"] = digest


def may_compress(response) -> bool:
    """Whether this response may be compressed without exposing a secret (BREACH)."""
    if request.endpoint == "static":
        return True
    if request.method != "GET" or request.blueprint in PERSONAL_BLUEPRINTS:
        return False
    if response.cache_control.private or response.cache_control.no_store:
        return False  # personal, e.g. the API's answer about one appointment
    return g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")) is None


def _cache_and_compress(response):
    if request.endpoint == "static" and response.status_code in (200, 304):
        version = request.args.get("v")
        filename = (request.view_args or {}).get("filename")
        if version and filename and version == static_hash(filename):
            response.cache_control.public = True
            response.cache_control.max_age = YEAR_SECONDS
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
    if may_compress(response):
        if response.is_streamed and request.endpoint == "static" and response.status_code == 200:
            # A file is sent as a stream; read it whole so it gets a Content-Length and any codec.
            response.direct_passthrough = False
            response.make_sequence()
        return compress.after_request(response)
    return response


def init_assets(app: Flask) -> None:
    """Hashed static URLs and the compression rule; call before hooks that set headers."""
    app.config.setdefault("COMPRESS_REGISTER", False)  # only through may_compress()
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ],
    )
    compress.init_app(app)
    app.url_defaults(_add_static_hash)
    app.after_request(_cache_and_compress)
