"""The ICE servers a call's browsers use: STUN, and TURN with time-limited credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from flask import current_app


def ice_config(user: str) -> dict:
    """What a call page needs: `iceServers`, and `ttl`, the seconds its TURN credentials last
    (None without TURN), so that the page asks for fresh ones before they expire."""
    servers = ice_server_list(user)
    turn = any("credential" in server for server in servers)
    return {"iceServers": servers, "ttl": current_app.config["TURN_TTL_SECONDS"] if turn else None}


def ice_server_list(user: str, now: float | None = None) -> list[dict]:
    """coturn's REST scheme: username `<expiry>:<user>`, credential base64(HMAC-SHA1(secret, username))."""
    config = current_app.config
    servers = [{"urls": config["STUN_URLS"]}] if config["STUN_URLS"] else []
    if config["TURN_URLS"] and config["TURN_SECRET"]:
        expiry = int((now or time.time()) + config["TURN_TTL_SECONDS"])
        username = f"{expiry}:{user}"
        digest = hmac.new(config["TURN_SECRET"].encode(), username.encode(), hashlib.sha1).digest()
        credential = base64.b64encode(digest).decode()
        servers.append({"urls": config["TURN_URLS"], "username": username, "credential": credential})
    return servers
