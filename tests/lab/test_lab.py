"""The lab is a real small OpenStack: hosts, services, servers, volumes, swift."""

from __future__ import annotations

import re
import stat
import time
from collections.abc import Callable

import yaml

from lab.config import HOSTS

from .conftest import LabClient

PS_NAMES = {
    "controller": [
        "keystone",
        "placement-api",
        "glance-api",
        "neutron-server",
        "nova-api",
        "nova-conductor",
        "nova-scheduler",
        "cinder-api",
        "cinder-scheduler",
        "swift-proxy-server",
        "mariadbd",
        "beam.smp",
        "memcached",
        "sshd",
    ],
    "compute1": ["nova-compute", "libvirtd", "dbus-daemon --system", "qemu-system-x86_64"],
    "compute2": ["nova-compute", "libvirtd", "dbus-daemon --system", "qemu-system-x86_64"],
    "storage1": [
        "ceph-mon",
        "ceph-osd",
        "cinder-volume",
        "swift-account-server",
        "swift-container-server",
        "swift-object-server",
        "swift-object-replicator",
        "swift-container-updater",
        "swift-account-auditor",
        "rsync --daemon",
    ],
    "storage2": [
        "swift-account-server",
        "swift-container-server",
        "swift-object-server",
        "swift-object-updater",
        "rsync --daemon",
    ],
}

# daemons that run on one kind of host only: no other host may see them in its `ps`
FOREIGN = [
    "mariadbd",
    "beam.smp",
    "nova-conductor",
    "libvirtd",
    "nova-compute",
    "ceph-mon",
    "cinder-volume",
    "swift-object-server",
]


def test_state_outputs(lab: LabClient) -> None:
    state = lab.lab.state
    inv = yaml.safe_load((state / "inventory.yaml").read_text())
    assert inv["defaults"]["connection"] == "ssh"
    assert inv["defaults"]["service_manager"] == "process"
    managers = {h: v.get("service_manager", "process") for h, v in inv["hosts"].items()}
    assert managers == {
        h: {"systemd": "systemd", "kolla": "container"}.get(s.init, "process")
        for h, s in HOSTS.items()
    }
    kolla = [h for h, s in HOSTS.items() if s.init == "kolla"]
    assert kolla
    for h in kolla:
        assert inv["hosts"][h]["paths"]["/etc/nova"] == "/etc/kolla/nova-compute", h
        assert inv["hosts"][h]["container_engine"] == "podman", h
    assert {h: v["address"] for h, v in inv["hosts"].items()} == {h: s.ip for h, s in HOSTS.items()}
    for name in ("ssh_config", "clouds.yaml", "id_ed25519", "secrets.json"):
        mode = stat.S_IMODE((state / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {mode:o}"


def test_host_reachable_with_own_hostname(lab: LabClient, hostname: str) -> None:
    out = lab.ssh(hostname, "hostname; cat /proc/1/cmdline | tr '\\0' ' '").stdout.split("\n")
    assert out[0] == hostname
    init = "systemd" if HOSTS[hostname].init in ("systemd", "kolla") else "tini"
    assert init in out[1], f"PID 1 on {hostname} is {out[1]!r}"


def test_systemd_host_runs_its_services_as_units(lab: LabClient) -> None:
    """storage2 (systemd): its swift services and rsync are active units with Debian's
    names, none restarting; their logs are in the journal; the suite's read parses."""
    units = [
        "ssh",
        "rsync",
        "swift-account",
        "swift-account-replicator",
        "swift-container",
        "swift-container-updater",
        "swift-object",
        "swift-object-replicator",
        "swift-object-auditor",
    ]
    out = lab.ssh(
        "storage2",
        "systemctl show -p Id,ActiveState,NRestarts --no-pager "
        + " ".join(f"{u}.service" for u in units),
    ).stdout
    blocks = [dict(line.split("=", 1) for line in b.splitlines()) for b in out.split("\n\n")]
    assert {b["Id"]: b["ActiveState"] for b in blocks} == {f"{u}.service": "active" for u in units}
    assert all(int(b["NRestarts"]) == 0 for b in blocks), out
    assert lab.ssh("storage2", "systemctl is-system-running", check=False).stdout.strip() in (
        "running",
        "degraded",
    )
    journal = lab.ssh("storage2", "journalctl -u swift-object --no-pager -o cat | tail -50")
    assert journal.stdout.strip(), "swift-object.service has nothing in the journal"


def test_host_has_own_process_table(lab: LabClient, hostname: str) -> None:
    ps = lab.ssh(hostname, "ps -eo args").stdout
    missing = [n for n in PS_NAMES[hostname] if n not in ps]
    assert not missing, f"{hostname}: not in ps: {missing}"
    foreign = [n for n in FOREIGN if n not in " ".join(PS_NAMES[hostname])]
    seen = sorted(n for n in foreign if n in ps)
    assert not seen, f"{hostname} sees processes of other hosts: {seen}"


def test_kolla_host_runs_its_services_as_containers(lab: LabClient) -> None:
    """compute2 (kolla): nova_libvirt and nova_compute run and are healthy, each started by
    its kolla unit; virsh answers inside nova_libvirt and lists the host's domains; the
    configs and logs are where kolla keeps them. (The host shares the machine's /usr, so
    a virsh is on its PATH too: unlike a kolla host's, but the suite does not use it.)"""
    out = lab.ssh(
        "compute2",
        "podman ps --format '{{.Names}} {{.Status}}'; "
        "systemctl is-active kolla-nova_libvirt-container kolla-nova_compute-container",
    ).stdout
    assert "nova_libvirt Up" in out, out
    assert "nova_compute Up" in out, out
    assert out.count("active") >= 2, out
    virsh = lab.ssh("compute2", "podman exec nova_libvirt virsh list --name").stdout.split()
    assert virsh, "no domain in nova_libvirt on compute2"
    lab.ssh(
        "compute2",
        "test -s /etc/kolla/nova-compute/nova.conf && test -s /etc/kolla/nova-compute/config.json "
        "&& test -s /var/log/kolla/nova/nova-compute.log",
    )


def test_configs_at_real_paths(lab: LabClient) -> None:
    conf = lab.ssh(
        "controller",
        "grep -h '^connection = ' /etc/nova/nova.conf "
        "/etc/keystone/keystone.conf /etc/glance/glance-api.conf "
        "/etc/cinder/cinder.conf /etc/placement/placement.conf "
        "/etc/neutron/neutron.conf",
    ).stdout
    assert conf.count("mysql+pymysql://") >= 7
    lab.ssh(
        "compute1",
        "test -s /var/log/nova/nova-compute.log && "
        "test -s /var/log/libvirt/libvirtd.log && test -d /var/lib/nova/instances",
    )
    lab.ssh("storage1", "ls /etc/swift/object.ring.gz /etc/swift/swift.conf")


def test_servers_active_and_running_on_their_host(lab: LabClient) -> None:
    servers = lab.servers()
    assert {s["Host"] for s in servers} >= {"compute1", "compute2"}
    for s in servers:
        assert s["Status"] == "ACTIVE", s
        detail = lab.openstack("server", "show", s["ID"])
        dom = detail["OS-EXT-SRV-ATTR:instance_name"]
        assert lab.domain_state(s["Host"], dom) == "running", (s["Name"], dom)


def test_volume_in_use_and_in_domain_xml(lab: LabClient) -> None:
    vols = [
        v
        for v in lab.openstack("volume", "list", "--all-projects", "--long")
        if v["Status"] == "in-use"
    ]
    assert vols, "no volume in-use"
    for v in vols:
        detail = lab.openstack("volume", "show", v["ID"])
        server_id = detail["attachments"][0]["server_id"]
        srv = lab.openstack("server", "show", server_id)
        xml = lab.ssh(
            srv["OS-EXT-SRV-ATTR:host"], f"virsh dumpxml {srv['OS-EXT-SRV-ATTR:instance_name']}"
        ).stdout
        assert re.search(rf"protocol='rbd' name='volumes/volume-{v['ID']}'", xml), xml


def test_swift_stat_and_objects(lab: LabClient) -> None:
    clouds = yaml.safe_load((lab.lab.state / "clouds.yaml").read_text())
    auth = clouds["clouds"]["afterboot-lab"]["auth"]
    proc = lab.lab.operator_run(
        [
            "env",
            f"OS_AUTH_URL={auth['auth_url']}",
            f"OS_USERNAME={auth['username']}",
            f"OS_PASSWORD={auth['password']}",
            f"OS_PROJECT_NAME={auth['project_name']}",
            "OS_USER_DOMAIN_NAME=Default",
            "OS_PROJECT_DOMAIN_NAME=Default",
            "OS_IDENTITY_API_VERSION=3",
            str(lab.lab.venv / "bin/swift"),
            "stat",
            "afterboot",
        ],
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"Objects: +[1-9]", proc.stdout), proc.stdout


def test_status_all_green(lab: LabClient) -> None:
    bad = {
        h: st
        for h, st in lab.lab.status().items()
        if not st["reachable"] or not all(st["processes"].values())
    }  # type: ignore[union-attr]
    assert not bad


def test_neutron_serves_a_port_listing_as_its_first_request_after_a_restart(
    lab: LabClient,
) -> None:
    """nova-compute's first call to a freshly started neutron-server is a port listing;
    it answered 500 (`type object 'Port' has no attribute 'port_forwardings'`: the
    backref exists once SQLAlchemy configured its mappers, which the first query does)
    until some other request had queried. The lab's launcher configures them at load."""
    from lab import apiprobe
    from lab.shell import wait_for

    cloud = lab.lab
    svc = cloud.service("controller", "neutron-server")
    cloud.stop(svc)
    cloud.start(svc, wait=False)  # no readiness request: the port listing comes first
    assert svc.ready is not None
    wait_for("neutron-server's port", svc.ready, svc.ready_timeout, 0.3)
    ports = f"http://{apiprobe.CONTROLLER_IP}:9696/v2.0/ports?limit=1"
    status, detail = wait_for_answer(lambda: apiprobe.request(cloud, "controller", ports))
    assert status == 200, detail
    cloud.serving(svc)


def wait_for_answer(ask: Callable[[], tuple[int | None, str]]) -> tuple[int | None, str]:
    """The first answer (a listening port may not accept a request for a moment)."""
    for _ in range(60):
        status, detail = ask()
        if status is not None:
            return status, detail
        time.sleep(0.5)
    return None, detail


def test_a_stuck_instance_is_reset_without_down_up(lab: LabClient) -> None:
    """A hard reboot that hung: nova's task stays `rebooting_hard`, the domain paused on
    its hypervisor. `reset_instances` (destroy, reset state, hard reboot) brings it back."""
    from lab import faults

    cloud = lab.lab
    domain = faults.domain_of(cloud, "ab-fw-compute1")
    cloud.host_exec("compute1", f"virsh suspend {domain}")
    faults._sql(
        cloud,
        "UPDATE nova.instances SET task_state = 'rebooting_hard' "
        "WHERE display_name = 'ab-fw-compute1' AND deleted = 0;",
    )
    assert lab.domain_state("compute1", domain) == "paused"
    cloud.reset_instances(["ab-fw-compute1"])
    server = next(s for s in faults.servers(cloud) if s["name"] == "ab-fw-compute1")
    assert (server["status"], server["power_state"]) == ("ACTIVE", 1)
    assert lab.domain_state("compute1", domain) == "running"
