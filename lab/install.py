"""Install what the lab needs: Debian packages (apt) and the OpenStack venv (pip)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
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
    "ceph-mgr",  # without a manager Ceph reports HEALTH_WARN (MGR_DOWN): judged strictly
    "ceph-osd",
    "python3-rbd",
    "python3-rados",
    "xfsprogs",
    "rsync",
    "rsyslog",  # swift logs through syslog, as on a real site (lab/swift.py)
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
            # no kept-alive connection: gunicorn closed an idle one after its 2 s default
            # just as a client polling every 2 s reused it (ConnectionResetError)
            "keepalive": 0,
            "proc_name": "{name}", "control_socket_disable": True,
            "accesslog": None, "errorlog": "-",
        }}.items():
            self.cfg.set(key, value)

    def load(self):
        import importlib
        import os
        import shlex
        sys.argv = ["{name}", *shlex.split(os.environ.get("WSGI_APP_ARGS", ""))]
        app = importlib.import_module("{module}").application
        # SQLAlchemy creates backrefs (neutron's Port.port_forwardings) when the mappers
        # are configured, which the first query does; a handler that names one before
        # querying (neutron's port listing) fails with AttributeError when it comes
        # first. Configure them now, as the first query would.
        try:
            from sqlalchemy import orm
        except ImportError:
            return app
        orm.configure_mappers()
        return app


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


# What apt and dpkg lock (POSIX locks: /proc/locks names their holder). A freshly booted
# cloud VM runs unattended-upgrades for minutes: the lab waits for it, with a bound.
APT_LOCKS = (
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/lock",
    "/var/lib/apt/lists/lock",
    "/var/cache/apt/archives/lock",
)
APT_LOCK_WAIT = float(os.environ.get("AFTERBOOT_LAB_APT_LOCK_WAIT", "900"))


def lock_holder(path: str, proc_locks: str = "/proc/locks") -> int | None:
    """The PID holding a POSIX or OFD lock on ``path`` (0 for an OFD lock, whose
    owner /proc/locks does not name), or None when the file is free or absent."""
    try:
        st = os.stat(path)
        lines = Path(proc_locks).read_text().splitlines()
    except OSError:
        return None
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for line in lines:
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" ("->" marks a waiter)
        if len(fields) < 6 or fields[1] == "->":
            continue
        try:
            major, minor, inode = fields[5].split(":")
            where = (int(major, 16), int(minor, 16), int(inode))
            pid = int(fields[4])
        except ValueError:
            continue
        if where == want:
            return max(pid, 0)
    return None


def describe_pid(pid: int) -> str:
    """``pid 123 (apt-get install foo)``: what holds a lock, for one line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cmd = " ".join(b" ".join(argv).decode(errors="replace").split())[:120]
    except OSError:
        cmd = ""
    return f"pid {pid} ({cmd})" if cmd else f"pid {pid}"


def wait_for_package_lock(bound: float = APT_LOCK_WAIT, interval: float = 1.0) -> float:
    """Wait until no apt/dpkg lock is held; one progress line when one is. Returns the
    seconds left of ``bound`` (for apt's own DPkg::Lock::Timeout, against a race);
    past the bound: one line naming the lock and the process holding it."""
    deadline = time.monotonic() + bound
    said = False
    while True:
        held = [(p, h) for p in APT_LOCKS if (h := lock_holder(p)) is not None]
        left = deadline - time.monotonic()
        if not held:
            return max(left, 1.0)
        path, pid = held[0]
        who = describe_pid(pid) if pid else "an open file description"
        if left <= 0:
            raise LabError(
                f"the package lock {path} is still held after {bound:.0f}s by {who}: "
                "let it finish (or stop it), then run again"
            )
        if not said:
            print(
                f"  waiting up to {bound:.0f}s for the package lock {path}, held by {who}",
                flush=True,
            )
            said = True
        time.sleep(min(interval, max(left, 0.05)))


def apt_get(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """apt-get once the package locks are free, apt itself told to wait for them too."""
    left = wait_for_package_lock()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return run(
        ["apt-get", "-o", f"DPkg::Lock::Timeout={left:.0f}", *args],
        env=env,
        timeout=timeout + left,
    )


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
    print(f"  apt-get install {' '.join(missing)}", flush=True)
    apt_get("update", "-q", timeout=900)
    apt_get("install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES, timeout=1800)


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
