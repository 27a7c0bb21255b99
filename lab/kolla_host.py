"""A compute host deployed as kolla-ansible deploys one: systemd is its PID 1 (see
lab/systemd_host.py), its OpenStack services are podman containers with kolla's names,
each started by a ``kolla-<name>-container.service`` unit.

What kolla puts where, and the lab does alike:

- configs in ``/etc/kolla/<service>/`` (``nova.conf``, ``config.json``), mounted read-only at
  ``/var/lib/kolla/config_files/`` and copied into place by ``kolla_start`` when the
  container starts (``KOLLA_CONFIG_STRATEGY=COPY_ALWAYS``): a changed file takes effect at
  the next restart of the container, as on a kolla cloud;
- logs in ``/var/log/kolla/<project>/`` on the host (the containers' ``/var/log/kolla``);
- instances in the named volume ``nova_compute`` (``/var/lib/nova`` in the containers),
  libvirt's state in the named volume ``libvirtd``;
- host networking and pid namespace, privileged, health checks as kolla defines them
  (``healthcheck_port nova-compute 5672``; ``virsh version --daemon``).

Images are built here, from the machine's own packages and the lab's venv (no registry is
reachable): an image holds kolla's scripts, a copy of the machine's /etc and the labels;
the containers bind the machine's /usr read-only (the packages) and the venv.  Built in
under a second, and kept between ``up``s (``/var/lib/containers`` is a directory of the
lab's state, bind-mounted: podman's overlay driver does not work on the host's overlayfs).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import tarfile
from pathlib import Path

from .services import Service

# lab service -> kolla container, its config directory (/etc/kolla/<dir>), its image
CONTAINERS = {
    "libvirtd": "nova_libvirt",
    "nova-compute": "nova_compute",
}
CONFIG_DIRS = {"nova_libvirt": "nova-libvirt", "nova_compute": "nova-compute"}
IMAGES = {"nova_libvirt": "nova-libvirt", "nova_compute": "nova-compute"}
REGISTRY = "localhost/openstack.kolla"
TAG = "lab-debian-bookworm"
# what each container needs started before it (kolla-ansible's unit dependencies)
AFTER = {"nova_compute": ("nova_libvirt",)}
HEALTH = {
    "nova_compute": "healthcheck_port nova-compute 5672",
    "nova_libvirt": "virsh version --daemon",
}
KOLLA_LOGS = "/var/log/kolla"
STORAGE = "/var/lib/containers"
VOLUMES = "/var/lib/containers/storage/volumes"
# canonical path -> where it is on this host (the inventory's ``paths:``, as a site's)
PATHS = {
    "/etc/nova": "/etc/kolla/nova-compute",
    "/etc/libvirt": "/etc/kolla/nova-libvirt",
    "/etc/ceph": "/etc/kolla/nova-compute",
    "/var/log/nova": "/var/log/kolla/nova",
    "/var/log/libvirt": "/var/log/kolla/libvirt",
    "/var/lib/nova": f"{VOLUMES}/nova_compute/_data",
}
# the machine's directories under /usr the containers bind (read-only): its packages
USR_BINDS = ("bin", "sbin", "lib", "lib64", "libexec", "share")

CONTAINERS_CONF = """# afterboot lab: podman as a namespace host allows it (lab/kolla_host.py)
[containers]
pids_limit = 0
netns = "host"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "systemd"
events_logger = "file"
"""
STORAGE_CONF = """[storage]
driver = "overlay"
graphroot = "/var/lib/containers/storage"
runroot = "/run/containers/storage"
"""

UNIT = """[Unit]
Description={name} container
Wants=network-online.target
After=network-online.target{after}
StartLimitIntervalSec=120
StartLimitBurst=5

[Service]
ExecStart=/usr/bin/podman start -a {name}
ExecStop=/usr/bin/podman stop -t {stop} {name}
Restart=on-failure
RestartSec=2
TimeoutStopSec={timeout}
KillMode=mixed

[Install]
WantedBy=lab.target
"""

# kolla_start: copy what config.json lists into place, then exec its command (PID 1)
KOLLA_START = """#!/usr/bin/python3
# afterboot lab: kolla_start / kolla_set_configs, COPY_ALWAYS
import glob, json, os, shlex, shutil, sys
src = "/var/lib/kolla/config_files"
with open(os.path.join(src, "config.json")) as f:
    cfg = json.load(f)
for item in cfg.get("config_files", []):
    for path in glob.glob(item["source"]):
        dest = item["dest"]
        if dest.endswith("/"):
            dest = os.path.join(dest, os.path.basename(path))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(path, dest)
        os.chmod(dest, int(item.get("perm", "0600"), 8))
for d in cfg.get("permissions", []):
    os.makedirs(d["path"], exist_ok=True)
argv = shlex.split(cfg["command"])
print("kolla_start: running", argv[0], flush=True)
os.execvp(argv[0], argv)
"""

# kolla's healthcheck_port: the named process has an established TCP connection to PORT
HEALTHCHECK_PORT = """#!/bin/sh
# afterboot lab: kolla's healthcheck_port PROCESS PORT
ss -ntp state established "( dport = :$2 )" 2>/dev/null | grep -q "\\"$1\\"" && exit 0
echo "Non-zero return code: no established connection of $1 to port $2"
exit 1
"""


# the accounts kolla's nova images have (libvirt's qemu user and groups)
IMAGE_ACCOUNTS = {
    "etc/passwd": "libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n",
    "etc/group": "kvm:x:64054:libvirt-qemu\nlibvirt-qemu:x:64055:\nlibvirt:x:64056:\n",
}


def image_name(container: str) -> str:
    return f"{REGISTRY}/{IMAGES[container]}:{TAG}"


def unit_name(container: str) -> str:
    return f"kolla-{container}-container.service"


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    if data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        return
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mtime = 0
    tar.addfile(info)


def rootfs_tar(container: str, release: str = "") -> bytes:
    """The image's root: merged-/usr links, kolla's scripts, the machine's /etc (the
    packages' configuration, users and groups), the directories kolla's images have."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in (
            "usr",
            "usr/local",
            "usr/local/bin",
            "var",
            "var/lib",
            "var/log",
            "run",
            "tmp",
            "var/lib/kolla",
            "var/lib/kolla/config_files",
            "var/log/kolla",
            "var/lib/nova",
            "var/lib/libvirt",
            "proc",
            "sys",
            "dev",
            "root",
        ):
            _add(tar, d)
        for d in USR_BINDS:
            _add(tar, f"usr/{d}")
        for link in ("bin", "sbin", "lib", "lib64"):
            _link(tar, link, f"usr/{link}")
        _link(tar, "var/run", "/run")
        _link(tar, "var/lock", "/run/lock")
        _add(tar, "usr/local/bin/kolla_start", KOLLA_START.encode(), 0o755)
        _add(tar, "usr/local/bin/healthcheck_port", HEALTHCHECK_PORT.encode(), 0o755)
        etc = Path("/etc")
        for path in sorted(etc.rglob("*")):
            rel = "etc/" + str(path.relative_to(etc))
            if any(part in ("ssh", "ceph", "kolla", "containers") for part in path.parts[2:3]):
                continue
            try:
                if path.is_symlink():
                    _link(tar, rel, str(path.readlink()))
                elif path.is_dir():
                    _add(tar, rel)
                elif path.is_file():
                    data = path.read_bytes() + IMAGE_ACCOUNTS.get(rel, "").encode()
                    _add(tar, rel, data, path.stat().st_mode & 0o777)
            except OSError:
                continue
        release_text = f"kolla lab image {IMAGES[container]} {TAG} {release}\n"
        _add(tar, "etc/kolla-release", release_text.encode())
    return buf.getvalue()


def import_cmd(container: str, tar_path: str, inputs: str, release: str = "base") -> str:
    """``podman import`` of the rootfs with kolla's entrypoint and labels, tagged."""
    changes = [
        'ENTRYPOINT ["/usr/local/bin/kolla_start"]',
        f"LABEL name={IMAGES[container]}",
        f"LABEL kolla_version={TAG}",
        f"LABEL afterboot.lab.inputs={inputs}",
        f"LABEL afterboot.lab.release={release}",
    ]
    args = " ".join(f"--change {shlex.quote(c)}" for c in changes)
    return f"podman import -q {args} {shlex.quote(tar_path)} {shlex.quote(image_name(container))}"


def config_json(service: Service, files: list[tuple[str, str, str]]) -> str:
    """kolla's config.json: the command and the files kolla_start copies into place."""
    return (
        json.dumps(
            {
                "command": service.command,
                "config_files": [
                    {
                        "source": f"/var/lib/kolla/config_files/{src}",
                        "dest": dest,
                        "owner": "root",
                        "perm": perm,
                    }
                    for src, dest, perm in files
                ],
                "permissions": [
                    {"path": "/var/lib/nova/instances"},
                    {"path": "/var/log/kolla/nova"},
                ],
            },
            indent=4,
        )
        + "\n"
    )


def python_prefix(venv: str) -> str | None:
    """The prefix of the interpreter the venv runs on, when it is not the machine's /usr
    (pyenv's, for instance): the containers bind it too."""
    real = Path(os.path.realpath(Path(venv) / "bin" / "python3"))
    prefix = real.parent.parent
    return None if str(prefix) in ("/usr", "/") else str(prefix)


def create_cmd(container: str, venv: str, image: str = "") -> str:
    """``podman create`` of a kolla container: kolla's volumes, host network and pid,
    privileged, its health check; the machine's /usr and the lab's venv bound read-only.
    ``image``: another reference than the deployment's (a partial upgrade's)."""
    conf = CONFIG_DIRS[container]
    volumes = [
        f"/etc/kolla/{conf}/:/var/lib/kolla/config_files/:ro",
        f"{KOLLA_LOGS}/:/var/log/kolla/",
        "nova_compute:/var/lib/nova/",
        "libvirtd:/var/lib/libvirt",
        "/run/libvirt:/run/libvirt",
        "/dev:/dev",
        *(f"/usr/{d}:/usr/{d}:ro" for d in USR_BINDS),
        f"{venv}:{venv}:ro",
    ]
    prefix = python_prefix(venv)
    if prefix:
        volumes.append(f"{prefix}:{prefix}:ro")
    args = [
        "podman",
        "create",
        "--name",
        container,
        "--network",
        "host",
        "--pid",
        "host",
        "--privileged",
        "--restart",
        "no",
        "--env",
        "KOLLA_CONFIG_STRATEGY=COPY_ALWAYS",
        "--env",
        f"KOLLA_SERVICE_NAME={conf}",
        "--label",
        f"kolla_service={conf}",
        "--health-cmd",
        HEALTH[container],
        "--health-interval",
        "10s",
        "--health-retries",
        "3",
        "--health-timeout",
        "30s",
        "--health-start-period",
        "5s",
    ]
    for v in volumes:
        args += ["--volume", v]
    args.append(image or image_name(container))
    return " ".join(shlex.quote(a) for a in args)


def unit_file(container: str, stop_timeout: float) -> str:
    deps = AFTER.get(container, ())
    after = "".join(f"\nAfter={unit_name(d)}\nWants={unit_name(d)}" for d in deps)
    return UNIT.format(
        name=container, after=after, stop=int(stop_timeout), timeout=int(stop_timeout) + 10
    )


def host_path(path: str) -> str:
    """Where a canonical path (``/etc/nova/nova.conf``) is on a kolla host."""
    for canonical, where in sorted(PATHS.items(), key=lambda kv: -len(kv[0])):
        if path == canonical or path.startswith(canonical + "/"):
            return where + path[len(canonical) :]
    return path


def prepare_etc(etc: Path) -> None:
    """podman's configuration in the host's /etc (its overlay upper dir)."""
    (etc / "containers").mkdir(parents=True, exist_ok=True)
    (etc / "containers" / "containers.conf").write_text(CONTAINERS_CONF)
    (etc / "containers" / "storage.conf").write_text(STORAGE_CONF)
    for conf in CONFIG_DIRS.values():
        (etc / "kolla" / conf).mkdir(parents=True, exist_ok=True)


def storage_mount_sh(store: Path) -> str:
    """init.sh lines: podman's storage on a directory of the lab's state (overlay over
    overlayfs does not work), and what kolla's containers bind from the host."""
    return (
        f"\nmkdir -p {STORAGE} && mount --bind {shlex.quote(str(store))} {STORAGE}"
        f"\nmkdir -p /run/libvirt {KOLLA_LOGS}/nova {KOLLA_LOGS}/libvirt"
    )


def pid_cmd(container: str) -> str:
    """Prints the container's main PID when its unit is active and it runs."""
    u, c = shlex.quote(unit_name(container)), shlex.quote(container)
    return (
        f"systemctl is-active --quiet {u} && "
        f"podman inspect --format '{{{{.State.Pid}}}}' {c} 2>/dev/null | grep -v '^0$' || true"
    )


def image_inputs_cmd(container: str) -> str:
    """Prints the inputs digest the image under kolla's name was built from (if any)."""
    return (
        "podman image inspect --format '{{index .Labels \"afterboot.lab.inputs\"}}' "
        f"{shlex.quote(image_name(container))} 2>/dev/null || true"
    )


def ensure_container_cmd(container: str, venv: str, inputs: str) -> str:
    """The named volumes, then the container unless it exists from an image of these
    ``inputs`` (else it is removed and created again, as ``kolla-ansible deploy`` does
    when the image changed): created by the host's systemd (``systemd-run``), so it
    carries the host's capability bounding set."""
    create = create_cmd(container, venv)
    c = shlex.quote(container)
    label = '{{index .Labels "afterboot.lab.inputs"}}'
    return (
        "for v in nova_compute libvirtd; do podman volume exists $v || "
        "podman volume create $v >/dev/null; done; "
        f"if podman container exists {c}; then "
        f"i=$(podman inspect --format '{{{{.Image}}}}' {c}); "
        f'[ "$(podman image inspect --format \'{label}\' "$i" 2>/dev/null)" = {inputs} ] '
        f"|| podman rm -f {c} >/dev/null; fi; "
        f"podman container exists {c} || "
        f"systemd-run --quiet --wait --pipe --collect {create} >/dev/null"
    )


def inputs_digest(container: str, venv: str) -> str:
    """What decides an image's content: the rootfs builder, the scripts, the venv path."""
    h = hashlib.sha256()
    for text in (KOLLA_START, HEALTHCHECK_PORT, TAG, venv, container, Path(__file__).read_text()):
        h.update(text.encode())
    return h.hexdigest()[:16]


def health_cmd(container: str) -> str:
    """Prints the container's health status (podman 4.3 keeps it under
    .State.Healthcheck; later releases under .State.Health)."""
    return (
        f"podman inspect --format '{{{{.State.Healthcheck.Status}}}}' {shlex.quote(container)} "
        "2>/dev/null || true"
    )
