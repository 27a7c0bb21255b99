"""Install what the lab needs: Debian packages (apt) and the OpenStack venv (pip)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from .config import LAB_DIR
from .shell import LabError, run

APT_PACKAGES = (
    "openssh-server",
    "openssh-client",
    "tini",
    "iproute2",
    "procps",
    "psmisc",
    "mariadb-server",
    "rabbitmq-server",
    "memcached",
    "libvirt-daemon",
    "libvirt-daemon-driver-qemu",
    "libvirt-clients",
    "qemu-system-x86",
    "qemu-utils",
    "qemu-block-extra",
    "libvirt-dev",
    "pkg-config",
    "dbus",
    "ceph-mon",
    "ceph-osd",
    "python3-rbd",
    "python3-rados",
    "xfsprogs",
    "rsync",
    "busybox-static",
    "libfaketime",  # the clock-ahead fault (lab/faults.py)
    "systemd",  # PID 1 of storage2 (lab/systemd_host.py), not the machine's init
    # compute2's containers (lab/kolla_host.py): crun cannot set its rlimits in a
    # namespace host, runc can; netavark is podman's network backend (host network here)
    "podman",
    "runc",
    "netavark",
)
PIP_REQUIREMENTS = (
    "keystone",
    "glance",
    "openstack-placement",
    "nova",
    "cinder",
    "neutron",
    "swift>=2.38,<2.39",
    "gunicorn",
    "libvirt-python",
    "PyMySQL",
    "python-memcached",
    "pymemcache",
    "keystonemiddleware",
    "openstacksdk",
    "python-openstackclient",
    "python-swiftclient",
)
CONSTRAINTS = LAB_DIR / "constraints.txt"

# WSGI services run under gunicorn from a launcher named after the service, so that
# `ps` shows the canonical name.  name -> (wsgi module, bind port)
WSGI_APPS = {
    "keystone-api": ("keystone.wsgi.api", 5000),
    "placement-api": ("placement.wsgi.api", 8778),
    "glance-api": ("glance.wsgi.api", 9292),
    "neutron-server": ("neutron.wsgi.api", 9696),
    "nova-api": ("nova.wsgi.osapi_compute", 8774),
}

LAUNCHER = '''#!{python}
"""{name}: {module}:application under gunicorn (written by the afterboot lab)."""
import sys

from gunicorn.app.base import BaseApplication


class App(BaseApplication):
    def load_config(self):
        for key, value in {{
            "bind": sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:{port}",
            "workers": 1, "threads": 4, "worker_class": "gthread", "timeout": 120,
            "proc_name": "{name}", "control_socket_disable": True,
            "accesslog": None, "errorlog": "-",
        }}.items():
            self.cfg.set(key, value)

    def load(self):
        import importlib
        import os
        import shlex
        sys.argv = ["{name}", *shlex.split(os.environ.get("WSGI_APP_ARGS", ""))]
        return importlib.import_module("{module}").application


if __name__ == "__main__":
    App().run()
'''


def missing_apt_packages() -> list[str]:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *APT_PACKAGES],
        capture_output=True,
        text=True,
    )
    ok = {
        line.split()[0]
        for line in proc.stdout.splitlines()
        if line.endswith("install ok installed")
    }
    return [p for p in APT_PACKAGES if p not in ok]


def ensure_apt(lab_is_up: bool) -> None:
    missing = missing_apt_packages()
    if not missing:
        return
    if lab_is_up:
        raise LabError(
            f"packages missing ({' '.join(missing)}) but the lab is up: "
            "run `python -m lab down` first (apt changes the overlays' lower dirs)"
        )
    prc = Path("/usr/sbin/policy-rc.d")
    if not prc.exists():
        prc.write_text("#!/bin/sh\nexit 101\n")
        prc.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"  apt-get install {' '.join(missing)}", flush=True)
    run(["apt-get", "update", "-q"], env=env, timeout=900)
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES],
        env=env,
        timeout=1800,
    )


def _pip_fingerprint() -> str:
    text = "\n".join(PIP_REQUIREMENTS) + CONSTRAINTS.read_text() + sys.version
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_venv(state: Path) -> Path:
    venv = state / "venv"
    marker = venv / ".afterboot-lab"
    fingerprint = _pip_fingerprint()
    if not (marker.exists() and marker.read_text() == fingerprint):
        if not (venv / "bin" / "python3").exists():
            run([sys.executable, "-m", "venv", str(venv)])
        print("  pip install (OpenStack services)", flush=True)
        run(
            [str(venv / "bin" / "pip"), "install", "-q", "-c", str(CONSTRAINTS), *PIP_REQUIREMENTS],
            timeout=1800,
        )
        marker.write_text(fingerprint)
    _link_ceph_bindings(venv)
    _write_launchers(venv)
    return venv


def _link_ceph_bindings(venv: Path) -> None:
    """cinder's RBD driver imports Debian's rados/rbd (same CPython 3.11 ABI)."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    for mod in ("rados", "rbd"):
        for src in Path("/usr/lib/python3/dist-packages").glob(f"{mod}.cpython-311*.so"):
            dst = site / src.name
            if not dst.exists():
                dst.symlink_to(src)


def _write_launchers(venv: Path) -> None:
    python = venv / "bin" / "python3"
    for name, (module, port) in WSGI_APPS.items():
        path = venv / "bin" / name
        text = LAUNCHER.format(python=python, name=name, module=module, port=port)
        if not path.exists() or path.read_text() != text:
            path.unlink(missing_ok=True)
            path.write_text(text)
            path.chmod(0o755)


def kernel_debs(state: Path, lab_is_up: bool) -> Path | None:
    """The Debian cloud kernel for the tiny guest: downloaded with apt, never installed."""
    dest = state / "guest"
    found = sorted(dest.glob("boot/vmlinuz-*"))
    if found:
        return found[-1]
    dest.mkdir(parents=True, exist_ok=True)
    dep = run(["apt-cache", "depends", "linux-image-cloud-amd64"], check=False).stdout
    pkgs = [
        ln.split(":", 1)[1].strip()
        for ln in dep.splitlines()
        if ln.strip().startswith("Depends:") and "linux-image-" in ln
    ]
    if not pkgs:
        return None
    proc = subprocess.run(
        ["apt-get", "download", pkgs[0]], cwd=dest, capture_output=True, text=True
    )
    if proc.returncode != 0:
        return None
    deb = next(dest.glob("linux-image-*.deb"))
    run(["dpkg-deb", "-x", str(deb), str(dest)])
    deb.unlink()
    found = sorted(dest.glob("boot/vmlinuz-*"))
    return found[-1] if found else None
