"""A real request to an API the lab started, from inside its host: a token from keystone,
then one authenticated GET that reaches the service's database. "The port listens" is
not "the API answers": a WSGI app loaded but not yet working answers 500 to the first
caller (neutron-server did, to nova-compute). The admin password goes on stdin, never
on a command line (the suite reads the hosts' process tables)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .config import CONTROLLER_IP

if TYPE_CHECKING:
    from .lab import Lab

# Runs with the host's python3 (stdlib only); prints "<status> <detail>" or "none <why>".
SCRIPT = r"""
import json, sys, urllib.error, urllib.request
cfg = json.load(sys.stdin)
def call(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=cfg["timeout"]) as r:
            return r.status, r.headers, r.read(1 << 20)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read(1 << 20)
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": cfg["password"]}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
try:
    status, headers, body = call(cfg["keystone"] + "/v3/auth/tokens",
        json.dumps(auth).encode(), {"Content-Type": "application/json"})
    if status != 201:
        print(status, "keystone: token", body[:200].decode(errors="replace").replace("\n", " "))
        sys.exit()
    token = headers["X-Subject-Token"]
    project = json.loads(body)["token"]["project"]["id"]
    url = cfg["url"].replace("{project_id}", project)
    status, headers, body = call(url, headers={"X-Auth-Token": token})
    print(status, body[:200].decode(errors="replace").replace("\n", " "))
except Exception as e:
    print("none", type(e).__name__, str(e)[:200].replace("\n", " "))
"""

# service -> the request that proves it serves (each reaches the service's database)
PROBES = {
    "keystone": "http://{ip}:5000/v3/projects?name=admin",
    "placement-api": "http://{ip}:8778/resource_providers",
    "glance-api": "http://{ip}:9292/v2/images?limit=1",
    "neutron-server": "http://{ip}:9696/v2.0/networks?limit=1",
    "nova-api": "http://{ip}:8774/v2.1/servers?limit=1",
    "cinder-api": "http://{ip}:8776/v3/{{project_id}}/volumes?limit=1",
}


def request(lab: Lab, host: str, url: str, timeout: float = 20) -> tuple[int | None, str]:
    """(HTTP status, the first bytes of the answer) of one authenticated GET of ``url``
    from ``host``; (None, why) when nothing answered."""
    cfg = {
        "password": lab.pw["admin"],
        "keystone": f"http://{CONTROLLER_IP}:5000",
        "url": url,
        "timeout": timeout,
    }
    proc = lab.hosts.exec(
        host,
        f"python3 -c {_quoted()}",
        check=False,
        input=json.dumps(cfg),
        timeout=timeout * 2 + 10,
    )
    word, _, detail = proc.stdout.strip().partition(" ")
    if word.isdigit():
        return int(word), detail
    return None, (detail or proc.stderr.strip())[-300:]


def _quoted() -> str:
    return "'" + SCRIPT.replace("'", "'\\''") + "'"


def probe_url(service: str) -> str | None:
    url = PROBES.get(service)
    return url.format(ip=CONTROLLER_IP) if url else None
