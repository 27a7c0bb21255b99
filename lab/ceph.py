"""Ceph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import CEPH_HOST as HOST
from .config import HOSTS
from .services import Service
from .shell import wait_for

if TYPE_CHECKING:
    from .lab import Lab


FSID = "6a0d5c36-8a2e-4d3b-9b1e-a5e7b0070001"
# A daemon's address nonce is its PID, and a host's fresh PID namespace hands out the same
# PIDs at every boot: the mon took the restarted OSD for the old one, still "up", and its
# placement groups never peered (I/O hung). Containers running ceph set this too.
NONCE_ENV = "CEPH_USE_RANDOM_NONCE=1"
MON_IP = HOSTS[HOST].ip
EXPECTED = [f"cinder-volume@{HOST}@ceph"]


def services(lab: Lab) -> list[Service]:
    b = f"{lab.venv}/bin"
    return [
        Service(
            "ceph-mon",
            HOST,
            f"/usr/bin/ceph-mon -f --cluster ceph -i {HOST}",
            "/var/log/ceph/ceph-mon.out",
            env=NONCE_ENV,
            ready=lambda: _ceph_ok(lab),
            ready_timeout=60,
        ),
        Service(
            "ceph-mgr",
            HOST,
            f"/usr/bin/ceph-mgr -f --cluster ceph -i {HOST}",
            "/var/log/ceph/ceph-mgr.out",
            env=NONCE_ENV,
            stop_timeout=15,
        ),
        Service(
            "ceph-osd",
            HOST,
            "/usr/bin/ceph-osd -f --cluster ceph -i 0",
            "/var/log/ceph/ceph-osd.out",
            env=NONCE_ENV,
            stop_timeout=15,
        ),
        Service(
            "cinder-volume",
            HOST,
            f"{b}/cinder-volume --config-file "
            "/etc/cinder/cinder.conf --log-file /var/log/cinder/cinder-volume.log",
            "/var/log/cinder/volume.out",
            stop_timeout=10,
        ),
    ]


def _ceph_ok(lab: Lab) -> bool:
    return (
        lab.hosts.exec(
            HOST, "timeout 10 ceph -s >/dev/null 2>&1", check=False, timeout=30
        ).returncode
        == 0
    )


def _osd_up(lab: Lab) -> bool:
    out = lab.hosts.exec(
        HOST, "timeout 10 ceph osd stat 2>/dev/null", check=False, timeout=30
    ).stdout
    return "1 up" in out


def ceph_conf() -> str:
    return (
        f"[global]\nmon_host = {MON_IP}\nauth_cluster_required = none\n"
        "auth_service_required = none\nauth_client_required = none\n"
        "osd_pool_default_size = 1\nosd_pool_default_min_size = 1\n"
        "mon_allow_pool_size_one = true\nmon_warn_on_pool_no_redundancy = false\n"
        "log_file = /var/log/ceph/$cluster-$name.log\n"
        # HEALTH_OK when healthy, as a current cluster: no insecure global_id reclaim
        "auth_allow_insecure_global_id_reclaim = false\n"
        "mon_data_avail_warn = 1\nmon_data_avail_crit = 0\n"
        "\n[osd]\nosd_objectstore = bluestore\nbluestore_block_create = true\n"
        "osd_crush_update_on_start = false\nosd_class_update_on_start = false\n"
        "bluestore_block_size = 4294967296\nosd_memory_target = 402653184\n"
        "bluestore_cache_autotune = false\nbluestore_cache_size = 67108864\n"
    )


def setup(lab: Lab) -> None:
    """mon --mkfs and osd --mkfs, inside the host's namespaces (first boot only)."""
    lab.hosts.exec(
        HOST,
        f"""set -e
mkdir -p /var/lib/ceph/mon/ceph-{HOST} /var/lib/ceph/mgr/ceph-{HOST} /var/log/ceph /run/ceph
if [ ! -f /var/lib/ceph/mon/ceph-{HOST}/done ]; then
  monmaptool --create --clobber --add {HOST} {MON_IP}:6789 --fsid {FSID} /tmp/monmap >/dev/null
  ceph-mon --mkfs -i {HOST} --monmap /tmp/monmap --keyring /dev/null
  touch /var/lib/ceph/mon/ceph-{HOST}/done
fi""",
    )


def setup_osd(lab: Lab) -> None:
    lab.hosts.exec(
        HOST,
        f"""set -e
if [ ! -f /var/lib/ceph/osd/ceph-0/done ]; then
  U=$(cat /proc/sys/kernel/random/uuid)
  ID=$(timeout 30 ceph osd new $U)
  mkdir -p /var/lib/ceph/osd/ceph-$ID
  ceph-osd -i $ID --mkfs --osd-uuid $U >/var/log/ceph/osd-mkfs.log 2>&1
  touch /var/lib/ceph/osd/ceph-0/done
fi
# placed in the CRUSH map here: the OSD's own on-start updates race the mon (wrong fsid)
timeout 30 ceph osd crush add-bucket {HOST} host >/dev/null 2>&1 || true
timeout 30 ceph osd crush move {HOST} root=default >/dev/null 2>&1 || true
timeout 30 ceph osd crush add osd.0 0.004 host={HOST} >/dev/null 2>&1
""",
        timeout=300,
    )


def setup_pool(lab: Lab) -> None:
    lab.hosts.exec(
        HOST,
        """set -e
if ! timeout 20 ceph osd pool ls | grep -qx volumes; then
  timeout 30 ceph osd pool create volumes 32 >/dev/null 2>&1
  timeout 30 ceph osd pool set volumes size 1 --yes-i-really-mean-it >/dev/null 2>&1 || true
  timeout 30 ceph osd pool application enable volumes rbd >/dev/null
  timeout 60 rbd pool init volumes
fi""",
        timeout=300,
    )


def boot(lab: Lab) -> None:
    from . import controlplane

    lab.hosts.write(HOST, "/etc/ceph/ceph.conf", ceph_conf())
    controlplane.write_cinder_conf(lab, HOST)
    svcs = {s.name: s for s in services(lab)}
    setup(lab)
    lab.start(svcs["ceph-mon"])
    # msgr2 beside v1 (a monmap made before Nautilus has v1 only: MON_MSGR2_NOT_ENABLED)
    lab.hosts.exec(HOST, "timeout 30 ceph mon enable-msgr2", timeout=60)
    lab.start(svcs["ceph-mgr"], wait=False)
    setup_osd(lab)
    lab.start(svcs["ceph-osd"], wait=False)
    wait_for("ceph osd up", lambda: _osd_up(lab), 90, 1)
    setup_pool(lab)
    lab.start(svcs["cinder-volume"], wait=False)


__all__ = ["HOST"]
