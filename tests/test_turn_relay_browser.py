"""TURN proven (issue 13, item 5): coturn on loopback with the shared-secret scheme, the credentials
the app mints, and a real two-Chromium call whose only path is the relay.

`ICE_TRANSPORT_POLICY=relay` is the deployment setting that makes both browsers use relayed paths
only (no address of either side reaches the other); the call page passes it to RTCPeerConnection.
coturn refuses a forged or expired credential: checked with aioice's TURN client, which makes a
real allocation the way a browser does (401 challenge, then long-term credentials).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app import create_app
from app.calls.ice import ice_server_list
from config import TestingConfig
from tests.support.browser import TIMEOUT, admit, enter_waiting_room, open_page, wait_for_media
from tests.support.clock import WEDNESDAY_10AM
from tests.support.servers import TurnServer
from tests.support.signaling import CLERK, make_appointment

SECRET = secrets.token_urlsafe(32)

# Both sides' selected candidate pair, from getStats (transport.selectedCandidatePairId).
SELECTED_PAIR = """async () => {
  const stats = await window.ventanillaCall.pc.getStats();
  let pairId = null;
  stats.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
  });
  const pair = pairId && stats.get(pairId);
  if (!pair) return null;
  return {
    local: stats.get(pair.localCandidateId).candidateType,
    remote: stats.get(pair.remoteCandidateId).candidateType,
    policy: window.ventanillaCall.pc.getConfiguration().iceTransportPolicy,
  };
}"""


# Each side's peer connection states and the candidates it gathered, for a call that did not connect.
ICE_STATE = """async () => {
  const pc = window.ventanillaCall && window.ventanillaCall.pc;
  if (!pc) return 'no peer connection';
  const candidates = [];
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'local-candidate' || r.type === 'remote-candidate') {
      candidates.push(`${r.type} ${r.candidateType} ${r.address}:${r.port}`);
    }
  });
  return {connection: pc.connectionState, ice: pc.iceConnectionState,
          gathering: pc.iceGatheringState, signaling: pc.signalingState, candidates};
}"""


@contextmanager
def what_ice_saw(turn: TurnServer, **pages):
    """A call that did not connect fails with each page's ICE state and coturn's log, not a bare timeout."""
    try:
        yield
    except PlaywrightTimeout as timeout:
        states = {name: page.evaluate(ICE_STATE) for name, page in pages.items()}
        raise AssertionError(f"{timeout}\npages: {states}\ncoturn: {turn.logs()}") from timeout


@pytest.fixture
def turn(tmp_path):
    server = TurnServer(tmp_path, SECRET)
    yield server
    server.stop()


def relay_only(app, turn: TurnServer) -> None:
    """What a deployment that hides addresses sets: TURN_URLS, TURN_SECRET, ICE_TRANSPORT_POLICY=relay."""
    app.config.update(STUN_URLS=[], TURN_URLS=[turn.url], TURN_SECRET=SECRET, ICE_TRANSPORT_POLICY="relay")


@pytest.mark.browser
@pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)
def test_a_call_with_relay_only_goes_through_coturn_with_the_apps_credentials(
    app, seeded, live_server, browser, turn
):
    relay_only(app, turn)
    reference, token = make_appointment(app)
    citizen = open_page(browser, viewport={"width": 390, "height": 800})
    clerk = open_page(browser, viewport={"width": 1280, "height": 900})
    try:
        enter_waiting_room(citizen, live_server.url, token)
        citizen.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)
        admit(clerk, live_server.url, reference, CLERK, seeded[CLERK])
        with what_ice_saw(turn, citizen=citizen, clerk=clerk):
            wait_for_media(citizen)
            wait_for_media(clerk)
        for page in (citizen, clerk):
            pair = page.evaluate(SELECTED_PAIR)
            assert pair == {"local": "relay", "remote": "relay", "policy": "relay"}, pair
        assert citizen.errors == [] and clerk.errors == []
    finally:
        citizen.context.close()
        clerk.context.close()
    # coturn saw both sides' allocations, under the usernames the app minted for them.
    log = turn.logs()
    assert "citizen-" in log and "staff-" in log, log


def allocate(turn: TurnServer, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation on `turn` with these credentials; its relayed address, or TransactionFailed."""

    async def run():
        transport, _ = await create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", turn.port), username=username, password=password
        )
        try:
            return transport.get_extra_info("sockname")
        finally:
            transport.close()

    # In a thread of its own: Playwright's sync API may hold an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(asyncio.wait_for(run(), timeout=15))).result()


def minted(app, now: float) -> tuple[str, str]:
    """The username and credential the app gives a participant at `now`."""
    with app.test_request_context():
        (server,) = ice_server_list("citizen-1", now=now)
    return server["username"], server["credential"]


def error_code(failure: pytest.ExceptionInfo) -> int:
    return failure.value.response.attributes["ERROR-CODE"][0]


@pytest.mark.real_clock
def test_coturn_accepts_the_apps_credential_and_refuses_a_forged_or_expired_one(app, turn):
    relay_only(app, turn)
    username, credential = minted(app, time.time())
    host, port = allocate(turn, username, credential)
    assert host == "127.0.0.1" and port in turn.relay_ports

    forged = base64.b64encode(hmac.new(b"not-the-secret", username.encode(), hashlib.sha1).digest()).decode()
    with pytest.raises(stun.TransactionFailed) as refused:
        allocate(turn, username, forged)
    assert error_code(refused) == 401

    # Signed with the right secret, but its expiry (the username's first part) has passed.
    expired_username, expired_credential = minted(app, time.time() - 2 * app.config["TURN_TTL_SECONDS"])
    with pytest.raises(stun.TransactionFailed) as refused:
        allocate(turn, expired_username, expired_credential)
    assert error_code(refused) == 401

    # A username of the right shape whose expiry was pushed forward: the signature no longer matches.
    stretched = f"{int(time.time()) + 10 * 3600}:citizen-1"
    with pytest.raises(stun.TransactionFailed) as refused:
        allocate(turn, stretched, expired_credential)
    assert error_code(refused) == 401


@pytest.mark.parametrize(
    "policy, turn_urls, message",
    [
        ("relay-only", ["turn:turn.example:3478"], "is not one of all, relay"),
        ("relay", [], "needs a TURN server"),
    ],
)
def test_a_wrong_ice_transport_policy_stops_the_app_at_start(policy, turn_urls, message):
    class Deployment(TestingConfig):
        ICE_TRANSPORT_POLICY = policy
        TURN_URLS = turn_urls
        TURN_SECRET = "secret"

    with pytest.raises(RuntimeError, match=message):
        create_app(Deployment)
