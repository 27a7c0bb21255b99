"""Static facts of the lab: hosts, addresses, paths."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
SUBNET = "10.77.0"
PREFIX = 24
BRIDGE_NS = "lab-br"
OPERATOR_NS = "lab-operator"
OPERATOR_IP = f"{SUBNET}.5"
CONTROLLER_IP = f"{SUBNET}.10"
CLOUD_NAME = "afterboot-lab"
REGION = "RegionOne"


@dataclass(frozen=True)
class HostSpec:
    name: str
    ip: str
    roles: tuple[str, ...]
    # the host's init: "lab" (tini; services are processes the lab starts and stops by
    # PID), "systemd" (systemd is PID 1; services are units, logs in journald) or "kolla"
    # (systemd is PID 1, the OpenStack services are podman containers: lab/kolla_host.py)
    init: str = "lab"

    @property
    def netns(self) -> str:
        return f"lab-{self.name}"


HOSTS: dict[str, HostSpec] = {
    h.name: h
    for h in (
        HostSpec(
            "controller",
            CONTROLLER_IP,
            ("controller", "database", "messaging", "object-storage-proxy"),
        ),
        HostSpec("compute1", f"{SUBNET}.21", ("compute",)),
        HostSpec("compute2", f"{SUBNET}.22", ("compute",), init="kolla"),
        HostSpec("storage1", f"{SUBNET}.31", ("object-storage", "block-storage", "ceph")),
        HostSpec("storage2", f"{SUBNET}.32", ("object-storage",), init="systemd"),
    )
}
COMPUTE_HOSTS = ("compute1", "compute2")
STORAGE_HOSTS = ("storage1", "storage2")
CEPH_HOST = "storage1"
OVERLAID_DIRS = ("etc", "var", "srv", "root")
# Every host's init script starts so (format fields host, upper, dirs): its name, its
# overlays over OVERLAID_DIRS, a private /run; the private /tmp follows (lab.hosts.tmp_mount).
HOST_MOUNTS_SH = """H={host}
U={upper}
hostname "$H"
for d in {dirs}; do
  mkdir -p "$U/upper/$d" "$U/work/$d"
  mount -t overlay "overlay-$d" -o "lowerdir=/$d,upperdir=$U/upper/$d,workdir=$U/work/$d" "/$d"
done
mount -t tmpfs -o mode=755 tmpfs /run
"""
CGROUP_GROUP = "afterboot-lab"  # systemd hosts' cgroups: <cgroup2 mount>/afterboot-lab/<host>


def service_manager(host: str) -> str:
    """What the inventory says manages the host's services (``service_manager``)."""
    return {"systemd": "systemd", "kolla": "container"}.get(HOSTS[host].init, "process")


def state_dir(override: str | os.PathLike[str] | None = None) -> Path:
    if override:
        return Path(override).resolve()
    env = os.environ.get("AFTERBOOT_LAB_STATE")
    return Path(env).resolve() if env else LAB_DIR / ".state"


def suite_python() -> str:
    return sys.executable


def operator_env(state: Path) -> dict[str, str]:
    """The environment of commands run as the lab's operator: its clouds.yaml, its state."""
    env = dict(os.environ)
    env["OS_CLIENT_CONFIG_FILE"] = str(state / "clouds.yaml")
    env["AFTERBOOT_LAB_STATE"] = str(state)
    return env


def suite_command(state: Path, args: list[str]) -> list[str]:
    """The suite against the lab, from the operator's namespace (run from the checkout)."""
    return [
        "ip",
        "netns",
        "exec",
        OPERATOR_NS,
        suite_python(),
        "-m",
        "pytest",
        "tests_cloud",
        "--inventory",
        str(state / "inventory.yaml"),
        "--os-cloud",
        "afterboot-lab",
        # hypothesis (a dev dependency of afterboot's own tests, in the checkout's venv)
        # loads its pytest plugin into any run: 0.13 s at start, ~0.1 s more in the
        # terminal summary; the checks use none of it and a site's install has none of it
        "-p",
        "no:hypothesispytest",
        *args,
    ]
