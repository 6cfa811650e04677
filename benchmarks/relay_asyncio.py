"""A candidate design for /call's relay, measured by benchmarks/signaling.py (`--modes asyncio asyncio2`).

    .venv/bin/python -m benchmarks.relay_asyncio      (started by benchmarks/signaling.py)

Not part of the app: the measurement that decides whether a dedicated python-socketio relay is worth
building. A python-socketio AsyncServer (the same Socket.IO 5 / Engine.IO 4 protocol as /call)
under aiohttp's own server on uvloop (both pinned in requirements-dev.txt), doing per connection
and per message what app/call/events.py does. RELAY_SERVER=uvicorn runs it under uvicorn instead
(ASGI, uvloop, httptools, RELAY_WS=websockets or websockets-sansio; pinned in requirements-dev.txt
too); measured at 100 rooms, aiohttp took ~0.5× the
CPU per message and ~0.7× the memory per socket of uvicorn with either WebSocket implementation.

- connect: the socket is authenticated once, by the Flask app's own code run in a thread (a
  citizen's join token and its join window; a clerk's login cookie, the appointment's reference,
  staff_may_act_for, `in_call` and assigned to that clerk); refused otherwise;
- the server assigns the room (one citizen and one clerk of the appointment; a second tab of the
  same side replaces the first), says `role`, and when the pair is complete `peer-joined` to both
  and `start` to the clerk, with the `mode` app.call.events.resume_mode gives;
- `signal`: the sender must be a participant within its token bucket (app.calls.presence
  Participant.allow, CALL_SIGNAL_RATE / CALL_SIGNAL_BURST), the payload must pass
  app.call.events.valid_signal and signal_size <= MAX_MESSAGE_BYTES; it goes to the room's other
  member only (the room, skipping the sender), through Redis when SOCKETIO_MESSAGE_QUEUE is set
  (AsyncRedisManager; the room directory then lives in Redis too, in app.calls.presence's layout);
- disconnect: `peer-left` to the other side.

What it leaves out (the dedicated relay would need them): the console's waiting-room updates and
the call session's `waiting` mark (a database write per citizen connect in /call), `chat`,
`connected` and `peer_state`, and app/socket_guard.py's per-connection budgets.

Settings come from the environment the benchmark gives every server (DATABASE_URL, SECRET_KEY,
BIND, SOCKETIO_MESSAGE_QUEUE, ...). `POST /bench/clerk-cookie` signs the demo clerk in through the
Flask app (its real login form, via the test client) and answers the Cookie header, since the relay
serves no pages; `GET /healthz` answers 200. With BENCH_PROFILE_DIR set, the sampling profiler of
benchmarks/signaling.py runs inside (SIGPROF; uvloop's C code lands on the next Python frame).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import signal
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

from app.call.events import MAX_MESSAGE_BYTES, resume_mode, signal_size, valid_signal  # noqa: E402
from app.calls.presence import PEER_STATES, Participant, RedisDirectory, room_for  # noqa: E402

NAMESPACE = "/call"


# --- the Flask app, for authentication only (in threads) -----------------------------------------


def flask_app():
    from app import create_app
    from config import config_from_env

    base = config_from_env()
    # The app's own Socket.IO server is not used here: no gevent, no message queue of its own.
    config = type(
        "RelayConfig", (base,), {"SOCKETIO_ASYNC_MODE": "threading", "SOCKETIO_MESSAGE_QUEUE": None}
    )
    return create_app(config)


def authenticate(app, auth: dict, environ: dict) -> dict | None:
    """What CallNamespace._authenticate checks, with the Flask app's code: the participant's role,
    appointment and the names shown at pairing, or None (refused)."""
    from flask_login import current_user

    from app import tokens
    from app.calls import sessions
    from app.extensions import db
    from app.models import Appointment
    from app.security import staff_may_act_for

    headers = {"User-Agent": environ.get("HTTP_USER_AGENT", "")}
    if environ.get("HTTP_COOKIE"):
        headers["Cookie"] = environ["HTTP_COOKIE"]
    with app.test_request_context(
        "/socket.io/", headers=headers, environ_base={"REMOTE_ADDR": environ.get("REMOTE_ADDR", "")}
    ):
        token = auth.get("token")
        if isinstance(token, str):
            appointment = tokens.appointment_by_join_token(token)
            if appointment is None or not sessions.join_window(appointment).is_open:
                return None
            role = "citizen"
        else:
            reference = auth.get("appointment")
            if not (isinstance(reference, str) and len(reference) <= 20 and current_user.is_authenticated):
                return None
            appointment = db.session.scalar(db.select(Appointment).where(Appointment.reference == reference))
            if not (
                appointment is not None
                and appointment.service.mode == "video"
                and staff_may_act_for(current_user, appointment.service.agency_id)
                and appointment.status == "in_call"
                and appointment.clerk_id == current_user.id
            ):
                return None
            role = "clerk"
        return {
            "role": role,
            "appointment_id": appointment.id,
            "agency_id": appointment.service.agency_id,
            "citizen_name": appointment.citizen_name,
            "clerk_name": appointment.clerk.name if appointment.clerk else "",
        }


def sign_in(app, email: str, password: str, user_agent: str) -> str:
    """The Cookie header of a staff login through the app's own form (bench only)."""
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR="127.0.0.1")
    page = client.get("/staff/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    response = client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": match.group(1) if match else ""},
    )
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")
    return "; ".join(f"{cookie.key}={cookie.value}" for cookie in client._cookies.values())


# --- room directory: this process's memory, or Redis (app.calls.presence's layout) ----------------


class MemoryRooms:
    def __init__(self):
        self.rooms: dict[int, dict[str, str]] = {}

    async def claim(self, appointment_id: int, role: str, sid: str, peer: str) -> str | None:
        room = self.rooms.setdefault(appointment_id, {})
        previous = room.get(role)
        room[role], room[f"{role}:peer"] = sid, peer
        return previous if previous != sid else None

    async def release(self, appointment_id: int, role: str, sid: str) -> None:
        room = self.rooms.get(appointment_id, {})
        if room.get(role) == sid:
            del room[role]
            room.pop(f"{role}:peer", None)
        if not room:
            self.rooms.pop(appointment_id, None)

    async def entries(self, appointment_id: int) -> dict[str, str]:
        return dict(self.rooms.get(appointment_id, {}))


class RedisRooms:
    def __init__(self, url: str, prefix: str):
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(url, decode_responses=True)
        self._release = self.redis.register_script(RedisDirectory.RELEASE)
        self._prefix = prefix

    def _key(self, appointment_id: int) -> str:
        return RedisDirectory.key_for(self._prefix, appointment_id)

    async def claim(self, appointment_id: int, role: str, sid: str, peer: str) -> str | None:
        key = self._key(appointment_id)
        pipe = self.redis.pipeline()
        pipe.hget(key, role).hset(key, mapping={role: sid, f"{role}:peer": peer})
        pipe.expire(key, RedisDirectory.TTL_SECONDS)
        previous = (await pipe.execute())[0]
        return previous if previous != sid else None

    async def release(self, appointment_id: int, role: str, sid: str) -> None:
        await self._release(keys=[self._key(appointment_id)], args=[role, sid])

    async def entries(self, appointment_id: int) -> dict[str, str]:
        return await self.redis.hgetall(self._key(appointment_id))


# --- the relay -----------------------------------------------------------------------------------


def build_relay(app, async_mode: str) -> socketio.AsyncServer:
    queue = os.environ.get("SOCKETIO_MESSAGE_QUEUE")
    manager = None
    if queue:  # a channel of its own: Redis pub/sub channels are shared by every database number
        database = urlparse(queue).path.strip("/") or "0"
        manager = socketio.AsyncRedisManager(queue, channel=f"ventanilla-relay-bench-{database}")
    sio = socketio.AsyncServer(
        async_mode=async_mode,
        client_manager=manager,
        async_handlers=False,  # one event at a time per connection: relayed signals keep their order
        namespaces=[NAMESPACE],
        cors_allowed_origins=None,  # same origin only, as the app
    )
    directory = RedisRooms(queue, app.config["REDIS_PREFIX"]) if queue else MemoryRooms()
    participants: dict[str, Participant] = {}
    rate, burst = app.config["CALL_SIGNAL_RATE"], app.config["CALL_SIGNAL_BURST"]

    async def connect(sid, environ, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        found = await asyncio.to_thread(authenticate, app, auth, environ)
        if found is None:
            raise socketio.exceptions.ConnectionRefusedError("not_allowed")
        role, appointment_id = found["role"], found["appointment_id"]
        peer = auth.get("peer") if auth.get("peer") in PEER_STATES else "none"
        participant = Participant(
            sid=sid, role=role, appointment_id=appointment_id, agency_id=found["agency_id"]
        )
        participant.peer = peer
        participants[sid] = participant
        replaced = await directory.claim(appointment_id, role, sid, peer)
        if replaced:
            participants.pop(replaced, None)
            await sio.emit("replaced", {}, to=replaced, namespace=NAMESPACE)
            await sio.disconnect(replaced, namespace=NAMESPACE)
        await sio.enter_room(sid, room_for(appointment_id), namespace=NAMESPACE)
        await sio.emit("role", {"role": role, "polite": role == "citizen"}, to=sid, namespace=NAMESPACE)
        entries = await directory.entries(appointment_id)
        if "citizen" in entries and "clerk" in entries:
            mode = resume_mode({r: entries.get(f"{r}:peer", "none") for r in ("citizen", "clerk")})
            joined = {"fresh": mode == "fresh", "mode": mode, "elapsed": 0}
            await sio.emit(
                "peer-joined",
                {**joined, "name": found["clerk_name"]},
                to=entries["citizen"],
                namespace=NAMESPACE,
            )
            await sio.emit(
                "peer-joined",
                {**joined, "name": found["citizen_name"]},
                to=entries["clerk"],
                namespace=NAMESPACE,
            )
            await sio.emit("start", {"mode": mode}, to=entries["clerk"], namespace=NAMESPACE)

    async def disconnect(sid, reason=None):
        participant = participants.pop(sid, None)
        if participant is None:
            return
        await directory.release(participant.appointment_id, participant.role, sid)
        how = "left" if reason == sio.reason.CLIENT_DISCONNECT else "lost"
        await sio.emit(
            "peer-left",
            {"role": participant.role, "reason": how},
            room=room_for(participant.appointment_id),
            skip_sid=sid,
            namespace=NAMESPACE,
        )

    async def relay_signal(sid, data=None):
        participant = participants.get(sid)
        if participant is None or not participant.allow(rate, burst):
            return {"ok": False}
        if not valid_signal(data) or signal_size(data) > MAX_MESSAGE_BYTES:
            return {"ok": False}
        await sio.emit(
            "signal", data, room=room_for(participant.appointment_id), skip_sid=sid, namespace=NAMESPACE
        )
        return {"ok": True}

    sio.on("connect", connect, namespace=NAMESPACE)
    sio.on("disconnect", disconnect, namespace=NAMESPACE)
    sio.on("signal", relay_signal, namespace=NAMESPACE)
    return sio


async def clerk_cookie_body(app, body: bytes) -> tuple[int, str]:
    try:
        request = json.loads(body)
        cookie = await asyncio.to_thread(
            sign_in, app, request["email"], request["password"], request["user_agent"]
        )
    except (ValueError, KeyError, RuntimeError) as error:
        return 403, str(error)
    return 200, cookie


def asgi_app(app):
    """socketio.ASGIApp with /healthz and the bench's login beside /socket.io/."""
    sio = build_relay(app, "asgi")

    async def other(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/bench/clerk-cookie" and scope["method"] == "POST":
            status, text = await clerk_cookie_body(app, body)
        elif scope["path"] == "/healthz":
            status, text = 200, '{"status": "ok"}'
        else:
            status, text = 404, "not found"
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": text.encode()})

    return socketio.ASGIApp(sio, other_asgi_app=other)


async def serve_aiohttp(app, host: str, port: int) -> None:
    from aiohttp import web

    web_app = web.Application()
    build_relay(app, "aiohttp").attach(web_app)

    async def healthz(_request):
        return web.json_response({"status": "ok"})

    async def clerk_cookie(request):
        status, text = await clerk_cookie_body(app, await request.read())
        return web.Response(status=status, text=text)

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_post("/bench/clerk-cookie", clerk_cookie)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    import uvloop

    app = flask_app()
    # As wsgi.py: what start-up built lives as long as the process; full collections then walk only
    # what the sockets create (without it: ~240,000 objects, ~250 ms pauses under load).
    gc.freeze()
    # A process of its own may tune its collector: every message makes a few asyncio tasks and
    # futures (Engine.IO's reads and writes), so the default (a young collection every 700
    # allocations) took ~20 % of the CPU at 500 rooms. 50,000 halved the CPU per message
    # (320 → 136–188 µs, two runs each, loaded machine); RELAY_GC_THRESHOLD=700 is Python's default.
    gc.set_threshold(int(os.environ.get("RELAY_GC_THRESHOLD", "50000")), *gc.get_threshold()[1:])
    if os.environ.get("BENCH_PROFILE_DIR"):
        from benchmarks.signaling import _start_sampler

        _start_sampler(Path(os.environ["BENCH_PROFILE_DIR"]))
    host, port = os.environ["BIND"].rsplit(":", 1)
    if os.environ.get("RELAY_SERVER", "aiohttp") == "aiohttp":
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve_aiohttp(app, host, int(port)))
        return
    import uvicorn

    config = uvicorn.Config(
        asgi_app(app),
        host=host,
        port=int(port),
        loop="uvloop",
        http="httptools",
        ws=os.environ.get("RELAY_WS", "websockets"),
        ws_per_message_deflate=False,  # as SOCKET_WEBSOCKET_COMPRESSION=false in the app
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
