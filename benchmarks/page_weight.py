"""Bytes a phone downloads on a first visit: the home page and the first page of a booking.

    .venv/bin/python benchmarks/page_weight.py

Builds a throwaway SQLite database with the demo data, serves the app from a thread on
127.0.0.1 (production settings: no debug), and opens each page in a fresh Chromium context (an
empty cache) at 375 × 740 with touch, as `tests/test_browser.py` does. For every response the
browser received it adds up the body bytes on the wire (after compression) and the decoded bytes,
and prints a Markdown table by kind (html, css, js, font, image). A second visit in the same
context shows what the long-lived cache of hashed static files saves.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import print_header  # noqa: E402

PAGES = (("home", "/"), ("booking, first step", "/book/certificacion-individuo"))
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "es-PR"}


def kind_of(content_type: str, url: str) -> str:
    if "html" in content_type:
        return "html"
    if "css" in content_type:
        return "css"
    if "javascript" in content_type:
        return "js"
    if "font" in content_type or url.endswith((".woff", ".woff2", ".ttf")):
        return "font"
    if content_type.startswith("image/"):
        return "image"
    return "other"


def build_app(tmp: Path):
    os.environ.setdefault("VENTANILLA_ENV", "production")
    from app import create_app
    from app.demo import seed_demo
    from app.extensions import db
    from config import ProductionConfig

    settings = dict(
        SECRET_KEY="benchmark-secret-key",
        PUBLIC_BASE_URL="http://127.0.0.1",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}",
        UPLOAD_DIR=str(tmp / "uploads"),
        OUTBOX_DIR=str(tmp / "outbox"),
        SOCKETIO_ASYNC_MODE="threading",
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="session",
        RATELIMIT_STORAGE_URI="memory://",
    )
    app = create_app(type("BenchConfig", (ProductionConfig,), settings))
    with app.app_context():
        db.create_all()
        seed_demo()
    return app


class CountingMiddleware:
    """Counts the requests that reach the server (a browser's cache answers the others)."""

    def __init__(self, app):
        self.app, self.count = app, 0

    def __call__(self, environ, start_response):
        self.count += 1
        return self.app(environ, start_response)


def measure(browser, base_url: str, path: str, counter: CountingMiddleware) -> tuple[dict, dict]:
    """(first visit, second visit) as {kind: [requests, wire bytes, decoded bytes]}; the key
    "server" holds how many requests reached the server."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    visits = []
    for _visit in range(2):
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        responses = []

        def collect(response, responses=responses):
            responses.append(response)

        page.on("response", collect)
        before = counter.count
        page.goto(base_url + path, wait_until="networkidle")
        page.remove_listener("response", collect)
        totals["server"] = [counter.count - before, 0, 0]
        for response in responses:
            if response.from_service_worker:
                continue
            sizes = response.request.sizes()
            headers = response.headers
            row = totals[kind_of(headers.get("content-type", ""), response.url)]
            body = response.body() if response.status == 200 else b""
            row[0] += 1
            row[1] += max(sizes["responseBodySize"], 0)  # -1: answered by the browser's cache
            row[2] += len(body)
        visits.append(dict(totals))
    context.close()
    return visits[0], visits[1]


def table(title: str, totals: dict) -> None:
    print(f"\n{title}\n")
    print("| kind | requests | on the wire | decoded |")
    print("|---|---:|---:|---:|")
    wire = decoded = requests = 0
    for kind in ("html", "css", "js", "font", "image", "other"):
        if kind in totals:
            count, sent, size = totals[kind]
            requests, wire, decoded = requests + count, wire + sent, decoded + size
            print(f"| {kind} | {count} | {sent / 1024:.1f} KB | {size / 1024:.1f} KB |")
    print(f"| **total** | {requests} | **{wire / 1024:.1f} KB** | {decoded / 1024:.1f} KB |")
    print(f"\nRequests that reached the server: {totals['server'][0]} of {requests}.")


def main() -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print_header("Page weight of a first visit on a phone (375 × 740, empty cache)")
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        counter = CountingMiddleware(app)
        server = make_server("127.0.0.1", 0, counter, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
                )
                for name, path in PAGES:
                    first, second = measure(browser, base_url, path, counter)
                    table(f"**{name}** (`{path}`), first visit:", first)
                    table(f"**{name}** (`{path}`), second visit (same browser):", second)
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
