"""docker-compose.yml, nginx and the Redis configs describe processes this code base can run.

There is no container engine here, so these tests check what can be checked without one: every
command names real modules, apps, commands and flags; each Redis role's config really loads in a
real Redis server (``redis_server_binary``: redis-server, else the embedded Valkey) with the
eviction policy DESIGN.md asks for; nginx upgrades the chat socket and balances over every web
replica.
"""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import yaml
from django.core.management import get_commands

from seendr.redis_state import sentinel_target, url_list
from seendr.testing.servers import ROOT, free_port, redis_server_binary, wait_for_port

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_ENV = COMPOSE["x-app"]["environment"]
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()

# DESIGN.md: which role may evict, and which must survive a restart.
ROLE_POLICY = {
    "REDIS_CACHE_URL": ("allkeys-lru", None),
    "REDIS_STATE_URL": ("noeviction", "yes"),
    "REDIS_CHANNELS_URL": ("noeviction", None),
    "CELERY_BROKER_URL": ("noeviction", "yes"),
}


@pytest.fixture(autouse=True)
def _isolated_redis():
    """These tests write no application keys: skip the per-test key sweep of every Redis role."""
    yield


def app_services() -> dict[str, dict]:
    return {name: svc for name, svc in SERVICES.items() if svc.get("image") == "seendr:latest"}


def commands_of(service: dict) -> list[list[str]]:
    """argv lists a service runs (``sh -c "a && b"`` is split into its commands)."""
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def test_the_stack_has_every_process():
    assert {
        "postgres",
        "redis-cache",
        "redis-state",
        "redis-state-replica",
        "redis-sentinel-1",
        "redis-sentinel-2",
        "redis-sentinel-3",
        "redis-channels-1",
        "redis-channels-2",
        "redis-broker",
        "migrate",
        "web1",
        "web2",
        "worker",
        "beat",
        "nginx",
    } <= set(SERVICES)
    assert set(app_services()) == {"migrate", "web1", "web2", "worker", "beat"}
    for name in ("web1", "web2", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


WEB_COMMAND = ["python", "-m", "seendr.serve"]  # Daphne on uvloop, with Daphne's own arguments


def is_web(svc: dict) -> bool:
    return svc["command"][:3] == WEB_COMMAND


def test_daphne_commands_name_the_real_asgi_application_and_real_flags():
    from daphne.cli import CommandLineInterface

    webs = [svc for svc in app_services().values() if is_web(svc)]
    assert len(webs) == 2
    for svc in webs:
        args = CommandLineInterface().parser.parse_args(svc["command"][3:])
        module, _, attr = args.application.partition(":")
        app = getattr(importlib.import_module(module), attr)
        assert callable(app)
        assert args.port == 8000 and args.host == "0.0.0.0"


def test_celery_commands_use_the_project_app_and_flags_it_knows():
    from seendr import celery_app

    runs = [cmd for svc in app_services().values() for cmd in commands_of(svc) if cmd[0] == "celery"]
    assert {cmd[3] for cmd in runs} == {"worker", "beat"}
    for cmd in runs:
        assert cmd[1:3] == ["-A", "seendr"]
        assert importlib.import_module("seendr").celery_app is celery_app
        help_text = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "seendr", cmd[3], "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        for flag in (arg.split("=")[0] for arg in cmd[4:] if arg.startswith("-")):
            assert flag in help_text, f"celery {cmd[3]} has no {flag}"
        if "-Q" in cmd:
            from django.conf import settings

            assert cmd[cmd.index("-Q") + 1] == settings.CELERY_TASK_DEFAULT_QUEUE


def test_manage_py_commands_exist():
    known = get_commands()
    runs = [
        cmd
        for svc in app_services().values()
        for cmd in commands_of(svc)
        if cmd[:2] == ["python", "manage.py"]
    ]
    assert {cmd[2] for cmd in runs} == {"migrate", "install_beat_schedule"}
    for cmd in runs:
        assert cmd[2] in known


SENTINEL_CONF = ROOT / "deploy" / "redis" / "sentinel.conf"


def _sentinel_monitor() -> tuple[str, str, int]:
    """(service name, primary host, quorum) of the Sentinel config."""
    line = next(x for x in SENTINEL_CONF.read_text().splitlines() if x.startswith("sentinel monitor "))
    _, _, name, host, port, quorum = line.split()
    assert port == "6379"
    return name, host, int(quorum)


def role_services(setting: str) -> list[str]:
    """The compose services holding a role's data: every shard, or a Sentinel's primary and its
    replicas."""
    url = APP_ENV[setting]
    if urlsplit(url).scheme == "redis+sentinel":
        _, primary, _ = _sentinel_monitor()
        replicas = [
            name
            for name, svc in SERVICES.items()
            if "--replicaof" in svc.get("command", []) and primary in svc["command"]
        ]
        return [primary, *replicas]
    return [urlsplit(u).hostname for u in url_list(url)]


def test_app_environment_points_every_role_at_its_own_redis_service():
    seen: set[str] = set()
    for setting in ROLE_POLICY:
        services = role_services(setting)
        assert services and not seen & set(services)
        seen |= set(services)
        for host in services:
            assert SERVICES[host]["image"].startswith("redis:")
    assert len(role_services("REDIS_CHANNELS_URL")) >= 2, "the channel layer is sharded"
    assert urlsplit(APP_ENV["DATABASE_URL"].replace("${POSTGRES_PASSWORD}", "x")).hostname == "postgres"


def test_the_state_role_is_found_through_a_majority_of_three_sentinels():
    sentinels, service, options = sentinel_target(APP_ENV["REDIS_STATE_URL"])
    name, primary, quorum = _sentinel_monitor()
    assert service == name and options["db"] == 0
    assert len(sentinels) == 3 and quorum == 2
    assert role_services("REDIS_STATE_URL")[0] == primary
    assert len(role_services("REDIS_STATE_URL")) == 2  # the primary and a replica
    for host, port in sentinels:
        svc = SERVICES[host]
        assert port == 26379 and "--sentinel" in svc["command"][-1]
        assert any(v.startswith("./deploy/redis/sentinel.conf:") for v in svc["volumes"])
    app_deps = set(SERVICES["web1"]["depends_on"])
    assert {host for host, _ in sentinels} | set(role_services("REDIS_STATE_URL")) <= app_deps


def _role_conf(service_name: str) -> Path:
    service = SERVICES[service_name]
    mounts = [v.split(":") for v in service["volumes"] if v.endswith("redis.conf:ro")]
    assert len(mounts) == 1 and service["command"][1] == mounts[0][1]
    return ROOT / mounts[0][0]


@pytest.mark.parametrize("setting", list(ROLE_POLICY))
def test_each_redis_role_config_loads_in_a_real_server_with_its_policy(setting, tmp_path):
    policy, appendonly = ROLE_POLICY[setting]
    confs = {_role_conf(name) for name in role_services(setting)}
    assert len(confs) == 1, "every server of a role runs the same config"
    (conf,) = confs
    binary = redis_server_binary()
    port = free_port()
    proc = subprocess.Popen(
        [binary, str(conf), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=10)
        client = redis.Redis(port=port, decode_responses=True)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == policy
        assert int(client.config_get("maxmemory")["maxmemory"]) > 0
        if appendonly:
            assert client.config_get("appendonly")["appendonly"] == appendonly
            for name in role_services(setting):
                assert any(v.endswith(":/data") for v in SERVICES[name]["volumes"]), "AOF needs a volume"
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _block(text: str, header: str) -> str:
    start = text.index(header)
    depth, i = 0, text.index("{", start)
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j]
    raise AssertionError(f"unbalanced block {header}")


def test_nginx_balances_over_every_web_replica():
    upstream = _block(NGINX, "upstream seendr_web")
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream, re.M)
    webs = {name for name, svc in app_services().items() if is_web(svc)}
    assert {host for host, _ in servers} == webs
    assert all(port == "8000" for _, port in servers)
    assert set(SERVICES["nginx"]["depends_on"]) == webs


def test_nginx_upgrades_the_chat_websocket():
    ws = _block(NGINX, "location /ws/")
    assert "proxy_pass http://seendr_web;" in ws
    assert "proxy_http_version 1.1;" in NGINX
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{\s*default upgrade;", NGINX)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", ws).group(1))
    assert read_timeout > 60


def test_nginx_locations_forward_client_headers_and_hide_metrics():
    # A location with its own proxy_set_header loses the server-level ones: each must carry all.
    for header in ("location /ws/", "location / "):
        block = _block(NGINX, header)
        for name in ("Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"):
            assert f"proxy_set_header {name} " in block, (header, name)
    assert "return 404;" in _block(NGINX, "location = /metrics")


def test_env_example_defines_every_variable_and_no_secret():
    example = (ROOT / ".env.example").read_text()
    defined = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    used = set(re.findall(r"\$\{(\w+)(?::-[^}]*)?\}", (ROOT / "docker-compose.yml").read_text()))
    assert used <= set(defined)
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "METRICS_TOKEN"):
        assert defined[name].startswith("change-me"), name
    for name in ("EMAIL_HOST_PASSWORD", "TURN_SECRET"):
        assert defined[name] == "", name
    # Settings read every name the file sets (a typo here would be silently ignored).
    settings_src = (ROOT / "seendr" / "settings.py").read_text()
    for name in defined:
        if name not in {"POSTGRES_PASSWORD", "HTTP_PORT"}:
            assert f'"{name}"' in settings_src, name


def test_dockerfile_runs_as_an_unprivileged_user_and_installs_the_pins():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert COMPOSE["x-app"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_production_settings_from_the_example_pass_the_deploy_check():
    example = (ROOT / ".env.example").read_text()
    env = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    env.update(
        SECRET_KEY="k" + "8f3Zq1xP0vLw7Yc2Rb5Nd4Tg6Hj9Mk" * 2,
        SECURE_SSL_REDIRECT="1",
        PATH="/usr/bin:/bin",
        DJANGO_SETTINGS_MODULE="seendr.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_collects_static_files_with_production_settings_and_a_key_they_accept():
    """collectstatic runs with DEBUG off (WhiteNoise's manifest), so its key must pass the checks."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    step = next(line for line in dockerfile.splitlines() if "collectstatic" in line)
    assert "DEBUG" not in step
    assignment = re.search(r"SECRET_KEY=(\"\$\(.*?\)\"|\S+)", step)
    assert assignment, "collectstatic needs a SECRET_KEY: production settings refuse to load without one"
    key = subprocess.run(
        ["sh", "-c", f"printf %s {assignment.group(1)}"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    ).stdout
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.STORAGES['staticfiles']['BACKEND'])",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "seendr.settings", "SECRET_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "whitenoise.storage.CompressedManifestStaticFilesStorage"
