"""How fast does a video call start, and does it survive the server? (issue 13, items 3–4)

    .venv/bin/python benchmarks/call_setup.py [--calls 10] [--restart] [--json FILE]
        [--compare CHECKOUT] [--files]

Starts the production server (gunicorn, one gevent worker, `gunicorn.conf.py`) on a throwaway
SQLite database with the demo data, and two headless Chromium (fake camera and microphone,
tests/support/browser.py): one for the citizen, one for the clerk, signed in once. Then, `--calls`
times, a fresh appointment in its join window:

1. the citizen opens the join link and enters the waiting room; the clerk opens the citizen's call
   screen, which is "ready" (camera, peer connection with its offer held, socket on standby) and
   says the citizen is waiting; after a pause (a clerk reads the panel a moment), the clerk clicks
   Admit there: **Admit → first decoded frame** on each side. A checkout without the ready screen
   (its call screen sends the clerk back to the console) is driven the old way: Admit on the
   console, then the call screen loads (included in the clerk's time);
2. the citizen's page reloads: **page load → `connected`** (navigation start to the peer
   connection's `connected`), then the same for the clerk's page;
3. with `--restart`: the server is stopped (SIGTERM) and started again on the same port while the
   call goes on: the **longest gap in `framesDecoded`** on each side across the restart, and how
   many new peer connections the pages made (0 when the call survives as it should).

Timestamps come from the pages: a probe injected before the page's own scripts wraps
`RTCPeerConnection` and polls `getStats()` (10 ms until the first frame, then 50 ms); the call
page's own `performance.mark("call:…")` marks (the set-up steps) are printed as a median
timeline. The Admit click is timed by the driver on the same machine's clock.

`--compare CHECKOUT` serves another checkout of the project too (e.g. `git worktree add --detach
/tmp/base <commit>`, with its .venv, node_modules, vendor links and compiled translations), the
calls alternating between the two servers, so that "before" and "after" share the machine's load.
Prints Markdown; `--json FILE` writes the p50/p90 figures as one object (one per server with
`--compare`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks._common import fmt, markdown_table, percentile, print_header  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, DEVICES_READY, log_in  # noqa: E402
from tests.support.servers import BIN, free_port, production_env  # noqa: E402

CLERK = "clerk@dtop.demo.ventanilla.pr"
TIMEOUT = 30_000  # ms
WAITING_PAUSE = 1.5  # seconds the citizen sits in the waiting room before the clerk admits

# Injected before the page's scripts: every RTCPeerConnection is counted, and its frames watched.
PROBE = """(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  const now = () => performance.timeOrigin + performance.now();
  const probe = window.__callProbe = {
    peers: 0, firstFrame: null, connected: null, lastFrameAt: null, maxGap: 0,
    resetGap() { this.maxGap = 0; this.lastFrameAt = now(); },
    gap() { return Math.max(this.maxGap, this.lastFrameAt === null ? 0 : now() - this.lastFrameAt); },
  };
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      probe.peers += 1;
      let frames = 0;
      this.addEventListener("connectionstatechange", () => {
        if (this.connectionState === "connected" && probe.connected === null) probe.connected = now();
      });
      const poll = async () => {
        if (this.connectionState === "closed") return;
        let decoded = 0;
        try {
          (await this.getStats()).forEach((r) => {
            if (r.type === "inbound-rtp" && r.kind === "video") decoded += r.framesDecoded || 0;
          });
        } catch { return; }
        const t = now();
        if (decoded > 0 && probe.firstFrame === null) probe.firstFrame = t;
        if (decoded > frames) {
          if (probe.lastFrameAt !== null) probe.maxGap = Math.max(probe.maxGap, t - probe.lastFrameAt);
          probe.lastFrameAt = t;
          frames = decoded;
        }
        setTimeout(poll, probe.firstFrame === null ? 10 : 50);
      };
      setTimeout(poll, 10);
    }
  };
})();"""

# The page's own set-up marks, and the navigation's steps (the Admit POST is the redirect).
MARKS = """(files) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const steps = nav ? [["nav:redirect-end", nav.redirectEnd], ["nav:response-start", nav.responseStart],
    ["nav:response-end", nav.responseEnd], ["nav:dom-interactive", nav.domInteractive]] : [];
  const name = (r) => r.name.split("/").pop().split("?")[0] + (r.transferSize ? "" : " (cache)");
  const loaded = performance.getEntriesByType("resource").filter((r) => files && /[.](js|css)/.test(r.name))
    .map((r) => [`file:${name(r)}`, r.responseEnd]);
  const marks = performance.getEntriesByType("mark").filter((m) => m.name.startsWith("call:"))
    .map((m) => [m.name, m.startTime]);
  return [...steps.filter(([, t]) => t > 0), ...loaded, ...marks]
    .map(([label, t]) => [label, performance.timeOrigin + t]);
}"""
FIRST_FRAME = "() => window.__callProbe && window.__callProbe.firstFrame !== null"
CONNECTED = "() => window.__callProbe && window.__callProbe.connected !== null"
SOCKET_UP = "() => window.ventanillaCall?.socket?.connected === true"
# The ready call screen: its socket on standby, the citizen shown waiting, the clerk's offer made.
READY = """() => window.ventanillaCall?.socket?.connected === true
  && document.getElementById('ready-presence')?.dataset.present === 'true'
  && performance.getEntriesByName('call:offer-made').length > 0"""


class Site:
    """A production server (gunicorn, one gevent worker) running the code under `root`."""

    def __init__(self, name: str, root: Path, tmp: Path, database_url: str):
        self.name, self.root, self.port = name, root, free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        folder = tmp / f"site-{self.port}"
        folder.mkdir()
        self.log = folder / "server.log"
        self.env = production_env(folder, self.port)  # the same SECRET_KEY: one login serves both
        self.env.update(DATABASE_URL=database_url, RATELIMIT_ENABLED="false")
        self.proc = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120  # a loaded machine boots slowly
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base_url}/healthz", timeout=5).status_code == 200:
                    return
            time.sleep(0.1)
        raise SystemExit(f"{self.name} server not healthy: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def prepare(tmp: Path):
    """The demo data in a SQLite file; returns (app for making appointments, database URL, passwords)."""
    from app.demo import seed_demo
    from app.extensions import db
    from tests.support.apps import build_app

    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = build_app(tmp, url)
    with app.app_context():
        db.create_all()
        credentials = {email: password for email, _role, password in seed_demo().credentials}
    return app, url, credentials


def new_page(browser):
    context = browser.new_context(locale="es-PR", viewport={"width": 1280, "height": 900})
    context.add_init_script(PROBE)
    return context.new_page()


PASSWORDS: dict[str, str] = {}  # the demo staff's, filled once the database is seeded
SHOW_FILES = False  # --files: when each script and style sheet arrived, in the timelines


def since(page, start_ms: float) -> dict[str, float]:
    """The page's call marks, in ms after `start_ms` (epoch ms)."""
    return {name: at - start_ms for name, at in page.evaluate(MARKS, SHOW_FILES)}


def one_call(index, app, base_url, citizen_browser, clerk, restart) -> dict:
    from tests.support.signaling import make_appointment

    reference, token = make_appointment(app)
    citizen = new_page(citizen_browser)
    result: dict = {}
    try:
        citizen.goto(f"{base_url}/call/{token}")
        citizen.wait_for_function(DEVICES_READY, timeout=TIMEOUT)
        citizen.get_by_role("button", name="Entrar a la sala de espera").click()
        citizen.wait_for_function(SOCKET_UP, timeout=TIMEOUT)
        clerk.goto(f"{base_url}/staff/")
        if "/staff/login" in clerk.url:  # the first call on this server (each keeps its own sessions)
            log_in(clerk, base_url, CLERK, PASSWORDS[CLERK])
        admit = ready_screen_admit(clerk, base_url, reference)
        result["flow"] = "console" if admit is None else "ready"
        if admit is None:
            admit = console_admit(clerk, reference)
        time.sleep(WAITING_PAUSE)

        admitted = time.time() * 1000
        admit.click()
        for page in (citizen, clerk):
            page.wait_for_function(FIRST_FRAME, timeout=TIMEOUT, polling=20)
        result["admit_citizen"] = citizen.evaluate("() => window.__callProbe.firstFrame") - admitted
        result["admit_clerk"] = clerk.evaluate("() => window.__callProbe.firstFrame") - admitted
        result["marks_citizen"] = since(citizen, admitted)
        result["marks_clerk"] = since(clerk, admitted)

        for side, page in (("citizen", citizen), ("clerk", clerk)):
            page.reload()
            page.wait_for_function(CONNECTED, timeout=TIMEOUT, polling=20)
            for other in (citizen, clerk):
                other.wait_for_function(FIRST_FRAME, timeout=TIMEOUT, polling=20)
            result[f"reload_{side}"] = page.evaluate(
                "() => window.__callProbe.connected - performance.timeOrigin"
            )
            result[f"marks_reload_{side}"] = since(page, page.evaluate("() => performance.timeOrigin"))

        if restart:
            result.update(restart_during_call(citizen, clerk, restart))
    finally:
        citizen.context.close()
    print(
        f"call {index + 1}: Admit → frame citizen {fmt(result['admit_citizen'], 0)} ms, "
        f"clerk {fmt(result['admit_clerk'], 0)} ms; reload → connected citizen "
        f"{fmt(result['reload_citizen'], 0)} ms, clerk {fmt(result['reload_clerk'], 0)} ms"
        + (
            f"; restart: gap citizen {fmt(result['gap_citizen'], 0)} ms,"
            f" clerk {fmt(result['gap_clerk'], 0)} ms, new peer connections {result['new_peers']}"
            if restart
            else ""
        ),
        flush=True,
    )
    return result


def ready_screen_admit(clerk, base_url, reference):
    """The call screen's own Admit button once it is ready; None where the checkout has no ready
    screen (the page sends the clerk back to the console)."""
    clerk.goto(f"{base_url}/staff/call/{reference}")
    if clerk.locator("#admit-button").count() == 0:
        return None
    clerk.wait_for_function(READY, timeout=TIMEOUT)
    return clerk.locator("#admit-button")


def console_admit(clerk, reference):
    """The console's Admit button (a POST, then the call screen loads), once the citizen waits."""
    if not clerk.url.endswith("/staff/"):
        clerk.goto(clerk.url.split("/staff/")[0] + "/staff/")
    admit = clerk.locator(f'tr[data-reference="{reference}"] .site-admit')
    admit.wait_for(state="visible", timeout=TIMEOUT)
    return admit


def restart_during_call(citizen, clerk, restart) -> dict:
    """Stop the server and start it again mid-call; the longest video gap on each side."""
    pages = (citizen, clerk)
    peers = [page.evaluate("() => window.__callProbe.peers") for page in pages]
    for page in pages:
        page.evaluate("() => window.__callProbe.resetGap()")
    stopped = time.monotonic()
    restart()
    for page in pages:
        page.wait_for_function(SOCKET_UP, timeout=TIMEOUT, polling=50)
    back = time.monotonic() - stopped
    time.sleep(3)  # the pair completes again on the new server; frames keep (or restart) flowing
    for page in pages:
        page.wait_for_function(FIRST_FRAME, timeout=TIMEOUT)
    gaps = [page.evaluate("() => window.__callProbe.gap()") for page in pages]
    after = [page.evaluate("() => window.__callProbe.peers") for page in pages]
    return {
        "gap_citizen": gaps[0],
        "gap_clerk": gaps[1],
        "new_peers": sum(after) - sum(peers),
        "restart_seconds": back,
    }


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50), 1), "p90": round(percentile(values, 90), 1)}


def timeline(results: list[dict], key: str) -> str:
    names: dict[str, list[float]] = {}
    for result in results:
        for name, at in result.get(key, {}).items():
            names.setdefault(name, []).append(at)
    rows = sorted((statistics.median(values), name) for name, values in names.items())
    return ", ".join(f"{name.removeprefix('call:')} {value:.0f}" for value, name in rows)


LABELS = {
    "admit_citizen": "Admit → first decoded frame, citizen",
    "admit_clerk": "Admit → first decoded frame, clerk",
    "reload_citizen": "citizen's page load → connected (reload mid-call)",
    "reload_clerk": "clerk's page load → connected (reload mid-call)",
    "gap_citizen": "longest framesDecoded gap across a server restart, citizen",
    "gap_clerk": "longest framesDecoded gap across a server restart, clerk",
}


def report(name: str, results: list[dict], restart: bool) -> dict:
    """Print one site's figures; returns them (p50/p90 in ms)."""
    keys = [key for key in LABELS if restart or not key.startswith("gap")]
    figures: dict = {key: stats([r[key] for r in results]) for key in keys}
    print(f"\n## {name} ({len(results)} calls)\n")
    rows = [[LABELS[key], fmt(figures[key]["p50"], 0), fmt(figures[key]["p90"], 0)] for key in keys]
    print(markdown_table(["ms", "p50", "p90"], rows))
    if restart:
        figures["new_peer_connections"] = sum(r["new_peers"] for r in results)
        figures["restart_ms"] = stats([r["restart_seconds"] * 1000 for r in results])
        print(
            f"\nnew peer connections made across {len(results)} restarts: {figures['new_peer_connections']}"
            f" (server stopped → both sockets back: p50 {figures['restart_ms']['p50']:.0f} ms)"
        )
    figures["calls"] = len(results)
    figures["flow"] = ", ".join(sorted({r["flow"] for r in results}))
    print(
        f"\nclerk's flow: {figures['flow']}"
        " (ready: Admit on the call screen; console: Admit, then the call page)"
    )
    print("\nmedian timeline (ms; `nav:` the page's navigation, the rest its `call:` marks):\n")
    print(f"- citizen, after Admit: {timeline(results, 'marks_citizen')}")
    print(f"- clerk, after Admit: {timeline(results, 'marks_clerk')}")
    print(f"- citizen's reload, from navigation start: {timeline(results, 'marks_reload_citizen')}")
    print(f"- clerk's reload, from navigation start: {timeline(results, 'marks_reload_clerk')}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--restart", action="store_true", help="restart the server during each call")
    parser.add_argument("--json", type=Path, help="write the p50/p90 figures to this file")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="CHECKOUT",
        help="also serve another checkout of the project (e.g. /work/main), calls alternating between"
        " the two, so that a before/after comparison shares the machine's load",
    )
    parser.add_argument("--files", action="store_true", help="show when each JS/CSS file arrived")
    args = parser.parse_args()
    global SHOW_FILES
    SHOW_FILES = args.files

    from playwright.sync_api import sync_playwright

    print_header("Call set-up: Admit → first frame, reload → connected, server restart mid-call")
    with tempfile.TemporaryDirectory(prefix="call-setup-") as folder:
        tmp = Path(folder)
        app, url, credentials = prepare(tmp)
        PASSWORDS.update(credentials)
        sites = [Site("this checkout", ROOT, tmp, url)]
        if args.compare:
            sites.append(Site(f"compared: {args.compare}", args.compare.resolve(), tmp, url))
        results: dict[str, list[dict]] = {site.name: [] for site in sites}
        with sync_playwright() as playwright:
            launch = dict(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            citizen_browser = playwright.chromium.launch(**launch)
            clerk_browser = playwright.chromium.launch(**launch)
            clerk = new_page(clerk_browser)
            try:
                for site in sites:
                    site.start()
                for index in range(args.calls * len(sites)):
                    site = sites[index % len(sites)]
                    restart = site.restart if args.restart else None
                    print(f"[{site.name}] ", end="")
                    results[site.name].append(
                        one_call(index // len(sites), app, site.base_url, citizen_browser, clerk, restart)
                    )
                    clerk.goto(f"{site.base_url}/staff/")
            finally:
                citizen_browser.close()
                clerk_browser.close()
                for site in sites:
                    site.stop()

    figures = {name: report(name, found, args.restart) for name, found in results.items()}
    if args.json:
        only = figures[sites[0].name] if len(sites) == 1 else figures
        args.json.write_text(json.dumps(only, indent=2) + "\n")


if __name__ == "__main__":
    main()
