"""Files the lab writes for the suite: inventory.yaml, clouds.yaml, ssh_config, key."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import yaml

from . import kolla_host
from .config import CLOUD_NAME, CONTROLLER_IP, HOSTS, REGION, service_manager
from .shell import run

SECRET_NAMES = (
    "admin",
    "db_root",
    "rabbit",
    "keystone_db",
    "glance",
    "placement",
    "nova",
    "neutron",
    "cinder",
    "swift",
    "metadata",
)


def write_private(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    path.chmod(0o600)


def secrets_for(state: Path) -> dict[str, str]:
    """Per-lab passwords, generated once and never printed."""
    path = state / "secrets.json"
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
    else:
        data = {}
    changed = False
    for name in SECRET_NAMES:
        if name not in data:
            data[name] = secrets.token_hex(16)
            changed = True
    if changed:
        write_private(path, json.dumps(data, indent=1))
    return data


def ensure_client_key(state: Path) -> str:
    key = state / "id_ed25519"
    if not key.exists():
        state.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "afterboot-lab", "-f", str(key)])
    key.chmod(0o600)
    return (state / "id_ed25519.pub").read_text()


def write_ssh_config(state: Path, host_keys: dict[str, str]) -> None:
    known = "".join(f"{n},{HOSTS[n].ip} {k}\n" for n, k in sorted(host_keys.items()))
    write_private(state / "known_hosts", known)
    blocks = []
    for spec in HOSTS.values():
        blocks.append(
            f"Host {spec.name}\n"
            f"    HostName {spec.ip}\n"
            f"    User root\n"
            f"    IdentityFile {state / 'id_ed25519'}\n"
            f"    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {state / 'known_hosts'}\n"
            f"    HostKeyAlias {spec.name}\n"
            f"    StrictHostKeyChecking yes\n"
            f"    PasswordAuthentication no\n"
            f"    ConnectTimeout 5\n"
        )
    write_private(state / "ssh_config", "\n".join(blocks))


def write_inventory(state: Path) -> None:
    hosts: dict[str, dict[str, object]] = {
        s.name: {"address": s.ip, "roles": list(s.roles)} for s in HOSTS.values()
    }
    for name, host in hosts.items():
        if service_manager(name) != "process":  # a per-host override, as a site's would be
            host["service_manager"] = service_manager(name)
        if HOSTS[name].init == "kolla":  # where kolla keeps what a package keeps elsewhere
            host["paths"] = dict(kolla_host.PATHS)
            host["container_engine"] = "podman"
    data = {
        "defaults": {
            "connection": "ssh",
            "user": "root",
            "ssh_config": str(state / "ssh_config"),
            "service_manager": "process",
        },
        "hosts": hosts,
    }
    text = "# written by `python -m lab up`\n" + yaml.safe_dump(data, sort_keys=False)
    (state / "inventory.yaml").write_text(text)


def auth_url() -> str:
    return f"http://{CONTROLLER_IP}:5000/v3"


def write_clouds(state: Path, pw: dict[str, str]) -> None:
    data = {
        "clouds": {
            CLOUD_NAME: {
                "auth": {
                    "auth_url": auth_url(),
                    "username": "admin",
                    "password": pw["admin"],
                    "project_name": "admin",
                    "user_domain_name": "Default",
                    "project_domain_name": "Default",
                },
                "region_name": REGION,
                "interface": "public",
                "identity_api_version": 3,
            }
        }
    }
    write_private(state / "clouds.yaml", yaml.safe_dump(data, sort_keys=False))
