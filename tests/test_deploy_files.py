"""The deployment files agree with the code (issue 13, item 6): docker-compose.yml, .env.example,
deploy/nginx.conf and deploy/turnserver.conf against config.py and gunicorn.conf.py.

Docker is not available here, so the compose file is checked by reading it: its services, health
checks, volumes and settings. nginx and coturn themselves run in tests/test_nginx_proxy.py and
tests/test_turn_relay_browser.py.
"""

from __future__ import annotations

import re

import pytest
import yaml

from config import Config
from tests.support.servers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APPS = ("app1", "app2")
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()
LOCATIONS = (ROOT / "deploy" / "nginx" / "ventanilla-locations.conf").read_text()
TURNSERVER = (ROOT / "deploy" / "turnserver.conf").read_text()
# Read by docker-compose.yml itself (interpolated), not by the app.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "TURN_HOST", "TURN_EXTERNAL_IP", "TURN_REALM", "TLS_DIR"}
SETTING = re.compile(
    r"""(?:os\.environ\.get|_env_int|_env_bool)\(\s*["']([A-Z][A-Z0-9_]+)["']|os\.environ\[["']([A-Z][A-Z0-9_]+)["']\]"""
)


def settings_read_by(*names: str) -> set[str]:
    found = set()
    for name in names:
        for match in SETTING.finditer((ROOT / name).read_text()):
            found.add(match.group(1) or match.group(2))
    return found


APP_SETTINGS = settings_read_by("config.py", "gunicorn.conf.py") - {"TEST_DATABASE_URL"}
BOOT_SETTINGS = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", (ROOT / "boot.sh").read_text()))
EXAMPLE_NAMES = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, re.MULTILINE))
COMPOSE_VARIABLES = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))


def test_compose_runs_nginx_two_app_processes_postgres_redis_and_coturn():
    assert set(SERVICES) == {"proxy", "app1", "app2", "db", "redis", "turn"}
    assert SERVICES["proxy"]["build"]["target"] == "proxy" and SERVICES["turn"]["build"]["target"] == "turn"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert " AS proxy\n" in dockerfile and " AS turn\n" in dockerfile
    assert SERVICES["turn"]["network_mode"] == "host"  # its relay ports, without NAT in between


@pytest.mark.parametrize("name", ["proxy", "app1", "app2", "db", "redis", "turn"])
def test_every_service_has_a_health_check(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"] and check["interval"] and check["retries"]


def test_the_app_processes_are_checked_at_readyz_and_start_in_order():
    for name in APPS:
        assert "/readyz" in " ".join(SERVICES[name]["healthcheck"]["test"])
        assert SERVICES[name]["image"] == "ventanilla:latest"
        assert "instance:/app/instance" in SERVICES[name]["volumes"]  # one upload store for both
        # Longer than gunicorn's graceful timeout, so the hand-over finishes before docker kills.
        assert int(SERVICES[name]["stop_grace_period"].rstrip("s")) > 20
    assert SERVICES["app1"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert SERVICES["app2"]["depends_on"] == {"app1": {"condition": "service_healthy"}}  # one migrates
    assert set(SERVICES["proxy"]["depends_on"]) == set(APPS)


def test_every_named_volume_is_declared():
    used = {
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if not volume.startswith(("$", ".", "/"))
    }
    assert used == set(COMPOSE["volumes"])


def test_the_app_processes_get_only_settings_the_app_reads():
    for name in APPS:
        environment = SERVICES[name]["environment"]
        assert set(environment) <= APP_SETTINGS, set(environment) - APP_SETTINGS
        assert environment["VENTANILLA_ENV"] == "production"
        assert environment["SOCKETIO_MESSAGE_QUEUE"].startswith("redis://redis:")
        assert environment["TRUSTED_PROXY_COUNT"] == "1"


def test_env_example_documents_every_setting_and_nothing_else():
    assert (APP_SETTINGS | BOOT_SETTINGS) - EXAMPLE_NAMES == set(), "add these to .env.example"
    assert EXAMPLE_NAMES - APP_SETTINGS - BOOT_SETTINGS - COMPOSE_ONLY == set(), "no such setting"
    assert COMPOSE_VARIABLES <= EXAMPLE_NAMES, COMPOSE_VARIABLES - EXAMPLE_NAMES
    assert "ICE_TRANSPORT_POLICY" in EXAMPLE_NAMES


def test_nginx_reaches_the_compose_app_processes_and_accepts_what_the_app_accepts():
    assert re.findall(r"^\s*server (\S+?)[ ;]", NGINX, re.MULTILINE) == [f"{name}:8000" for name in APPS]
    size = re.search(r"^client_max_body_size (\d+)m;", LOCATIONS, re.MULTILINE)
    assert int(size.group(1)) * 1024 * 1024 == Config.MAX_CONTENT_LENGTH
    assert "proxy_set_header Upgrade $http_upgrade;" in LOCATIONS
    assert "ssl_certificate /etc/nginx/tls/fullchain.pem;" in NGINX


def test_the_turn_server_uses_the_apps_credential_scheme_and_the_urls_its_port():
    assert re.search(r"^use-auth-secret$", TURNSERVER, re.MULTILINE)
    assert not re.search(r"^static-auth-secret", TURNSERVER, re.MULTILINE)  # the secret is in .env only
    port = re.search(r"^listening-port=(\d+)$", TURNSERVER, re.MULTILINE).group(1)
    turn_ports = re.findall(r":(\d+)\?transport=", SERVICES["app1"]["environment"]["TURN_URLS"])
    assert turn_ports == [port, port]  # UDP and TCP
    assert "denied-peer-ip=10.0.0.0-10.255.255.255" in TURNSERVER
