"""What the suite must say for each fault the lab can inject (the fault matrix, as data).

``fails`` must fail, ``root`` is where the summary must say to start, ``remedy`` are texts
its rendered remediation must contain (host names, commands); ``may_fail`` are
consequences whose timing the fault does not fix (a service's ``up`` row lingers 30 s,
the lab's ``service_down_time``).
Faults whose footprints and checks do not overlap run in the same suite run.
"""

from __future__ import annotations

from tests.matrix.harness import Expect

NOVA_API_CONSUMERS = (
    "API-001",
    "INV-001",
    "NOVA-002",
    "NOVA-004",
    "NOVA-009",
    "NOVA-010",
    "NOVA-011",
    "CINDER-004",
    "PERIODIC-001",
    "PERIODIC-007",
)
# a compute service gone: its record goes stale, its compute.<host> queue loses its consumer
COMPUTE_CONSEQUENCES = ("NOVA-002", "NOVA-003", "NOVA-009", "CINDER-004", "INV-001")


def compute_service(service: str, host: str, remedy: str = "") -> Expect:
    """A compute host's service stopped (nova-compute, libvirtd, d-bus): SVC-003 on that
    host names it; the host's records and queue follow. ``remedy``: what names it where
    it is not a process of that name (a kolla host: its container's unit)."""
    return Expect(
        f"{service}-stopped@{host}",
        fails=(f"SVC-003@{host}",),
        root="SVC-003",
        remedy=(host, remedy or service),
        may_fail=COMPUTE_CONSEQUENCES,
        footprint=(host,),
    )


def rebooted(host: str) -> Expect:
    """A compute host rebooted: its instances are not running again (NOVA-005)."""
    return Expect(
        f"reboot@{host}",
        fails=(f"NOVA-005@{host}",),
        root="NOVA-005",
        remedy=("openstack server",),
        may_fail=(
            "NOVA-002",
            "NOVA-003",
            "NOVA-006",
            "NOVA-009",
            f"SVC-003@{host}",
            "CINDER-004",
        ),
        footprint=(host,),
    )


def controller_service(
    service: str,
    api: str = "",
    may_fail: tuple[str, ...] = (),
    fails: tuple[str, ...] = (),
    down: tuple[str, ...] = (),
) -> Expect:
    """A control-plane service stopped: SVC-004 on the controller names it (faults of this
    kind share that check, each must be named); an API's own check and API-001 (its
    endpoint in the catalog) fail with it. ``down``: its record, once the API says so."""
    return Expect(
        f"{service}-stopped",
        fails=("SVC-004@controller", *((api, "API-001") if api else ()), *fails),
        root="SVC-004",
        remedy=("controller", service),
        may_fail=may_fail,
        footprint=("controller", service),
        shares=True,
        down=down,
    )


EXPECTATIONS: tuple[Expect, ...] = (
    # ---- issue 5: controller and compute -------------------------------------------------
    compute_service("nova-compute", "compute1"),
    compute_service("libvirtd", "compute1"),
    compute_service("dbus", "compute1"),
    Expect(
        "disk-deleted-under-domain@compute1",
        # the data lives only in qemu's open file: copied back from it while the domain
        # runs, never a reboot or a rebuild (they lose it)
        fails=("NOVA-013@compute1",),
        root="NOVA-013",
        remedy=("pgrep -f guest=instance-", "cp --sparse=always /proc/$pid/fd/$fd", "compute1"),
        never=("openstack server reboot", "openstack server rebuild"),
        footprint=("compute1",),
    ),
    Expect(
        "domain-paused",
        fails=("NOVA-008@compute1",),
        root="NOVA-008",
        remedy=("compute1", "virsh resume"),
        footprint=("compute1",),
    ),
    Expect(
        "hard-reboot-stuck@compute1",
        # a domain paused under nova's task is the task's, not an inspection's: its reset
        # and hard reboot through nova, never an nbd device or a resume behind nova
        fails=("NOVA-008@compute1",),
        root="NOVA-008",
        remedy=("rebooting_hard", "openstack server set --state active", "reboot --hard"),
        never=("umount", "qemu-nbd", "virsh resume", "<device>"),
        footprint=("compute1",),
    ),
    Expect(
        "domain-undefined",
        fails=("NOVA-005@compute1",),
        root="NOVA-005",
        remedy=("openstack server reboot --hard",),
        may_fail=("CINDER-004",),
        footprint=("compute1",),
    ),
    rebooted("compute2"),
    Expect(
        "keystone-stopped",
        fails=("SVC-004@controller", "KEYSTONE-001"),
        root="SVC-004",
        remedy=("controller", "keystone"),
        may_fail=("DEP-001",),  # every host's auth_url names it
        footprint=("controller", "keystone"),
        alone=True,
        blinds=True,
    ),
    Expect(
        "nova-api-stopped",
        fails=("SVC-004@controller", "NOVA-001"),
        root="SVC-004",
        remedy=("controller", "nova-api"),
        # every check reading nova through its API could not run; API-001 says it too
        may_fail=("API-001",),
        footprint=("controller", "nova-api"),
        alone=True,
        blinds=True,
    ),
    controller_service("glance-api", api="GLANCE-001", may_fail=("GLANCE-002",)),
    Expect(
        "database-stopped",
        fails=("SVC-001@controller",),
        root="SVC-001",
        remedy=("controller", "mariadb"),
        may_fail=("DEP-001",),  # every [database] connection names it
        footprint=("controller", "database"),
        alone=True,
        blinds=True,
    ),
    Expect(
        "instance-wrong-host",
        fails=("NOVA-006@compute1",),
        root="NOVA-006",
        remedy=("openstack server show",),
        # its allocation stays on compute1's provider, held by an instance "on compute2"
        # (NOVA-010 on compute1), and compute2's holds none of it (NOVA-011 on compute2)
        may_fail=("NOVA-005@compute2", "NOVA-007", "CINDER-004", "NOVA-010", "NOVA-011"),
        footprint=("compute1", "compute2", "nova-db"),
    ),
    Expect(
        "orphan-domain@compute1",
        fails=("NOVA-006@compute1",),
        root="NOVA-006",
        remedy=("compute1", "0a0b0c0d-1111-4222-8333-444455556666"),
        footprint=("compute1",),
    ),
    Expect(
        "nova-compute-amqp-cut@compute1",
        # its record goes down once service_down_time passed (polled): nova-compute runs,
        # so NOVA-002 is the failure, not blocked by SVC-003; its two instances are on a
        # host whose nova-compute is down (NOVA-009), not fenced
        fails=("NOVA-003@compute1", "NOVA-002@compute1", "NOVA-009"),
        root="NOVA-003",
        remedy=("compute1", "restart nova-compute"),
        never=("openstack server evacuate",),
        # the broker refused from compute1: its transport_url does not answer from there
        may_fail=("INV-001", "DEP-001@compute1"),
        footprint=("compute1", "rabbitmq"),
        down=("nova-compute@compute1",),
    ),
    Expect(
        "volume-detached-on-hypervisor@compute2",
        fails=("CINDER-004",),
        root="CINDER-004",
        remedy=("openstack server remove volume", "--device /dev/vdb", "absent"),
        footprint=("compute2", "volumes"),
    ),
    Expect(
        "volume-attached-to-deleted-instance",
        fails=("CINDER-004",),
        root="CINDER-004",
        remedy=("openstack volume set --state available --detached", "dead0000-aaaa-4bbb"),
        footprint=("volumes", "cinder-db"),
    ),
    Expect(
        "volume-stuck-creating",
        # a state reset to error (the owner deletes or retries), never to available; its
        # guard (cinder-volume of the backend up, CINDER-002) is the procedure's safety test's
        fails=("PERIODIC-008",),
        root="PERIODIC-008",
        remedy=(
            "openstack volume set --state error bad0c0de-aaaa-4bbb-8ccc-000000000002",
            "creating",
            "storage1@ceph",
        ),
        never=("--state available",),
        footprint=("volumes", "cinder-db"),
    ),
    Expect(
        "volume-data-lost",
        # cinder's row names an image the pool lacks: look for it (pool, trash) first; the
        # state reset to error is guarded by that look (the procedure's safety test)
        fails=("CINDER-005",),
        root="CINDER-005",
        remedy=(
            "rbd --pool volumes trash ls",
            "volume-bad0c0de-aaaa-4bbb-8ccc-000000000003",
            "openstack volume set --state error bad0c0de-aaaa-4bbb-8ccc-000000000003",
        ),
        never=("--state available", "rbd rm"),
        footprint=("volumes", "cinder-db"),
    ),
    Expect(
        "image-data-lost",
        # glance's row names data the store lacks: the store's mount looked at first; the
        # deactivation is guarded by that look (the procedure's safety test)
        fails=("GLANCE-002",),
        root="GLANCE-002",
        remedy=(
            "findmnt -T /var/lib/glance/images/",
            "/var/lib/glance/images/bad0c0de-aaaa-4bbb-8ccc-000000000005",
            "openstack image set --deactivate bad0c0de-aaaa-4bbb-8ccc-000000000005",
        ),
        never=("image delete", "rm -"),
        footprint=("images", "glance-db"),
    ),
    Expect(
        "image-data-unknown",
        # the data is there, glance lost it: uploaded again, never removed
        fails=("GLANCE-002",),
        root="GLANCE-002",
        remedy=(
            "qemu-img info /var/lib/glance/images/bad0c0de-aaaa-4bbb-8ccc-000000000006",
            "openstack image create",
        ),
        never=("rm -",),
        footprint=("images", "glance-store"),
    ),
    Expect(
        "volume-image-orphaned",
        # the data is there, cinder lost it: managed into cinder again, never removed
        fails=("CINDER-005",),
        root="CINDER-005",
        remedy=(
            "source-name=volume-bad0c0de-aaaa-4bbb-8ccc-000000000004",
            "--host 'storage1@ceph#ceph'",
            "rbd --pool volumes status",
        ),
        never=("rbd rm",),
        footprint=("volumes", "ceph-pool"),
    ),
    # ---- issue 6: storage, queue, configuration -----------------------------------------
    Expect(
        "swift-ring-changed@storage2",
        fails=("SWIFT-002",),
        root="SWIFT-002",
        remedy=("storage2", "object.ring.gz"),
        footprint=("storage2", "swift", "rings"),
    ),
    Expect(
        "swift-device-unmounted@storage1",
        fails=("SWIFT-003@storage1",),
        root="SWIFT-003",
        remedy=("storage1",),
        may_fail=("SWIFT-001", "SWIFT-005"),
        footprint=("storage1", "swift"),
    ),
    Expect(
        "swift-device-read-only@storage1",
        fails=("HOST-002@storage1",),
        root="HOST-002",
        remedy=("storage1", "findmnt /srv/node/d1", "umount /srv/node/d1"),
        footprint=("storage1", "swift-devices"),
    ),
    Expect(
        "swift-object-server-stopped@storage2",
        fails=("SVC-007@storage2",),
        root="SVC-007",
        # storage2 runs systemd (lab/config.py): its unit, as Debian's package names it
        remedy=("storage2", "systemctl start swift-object.service"),
        may_fail=("SWIFT-001", "SWIFT-005"),
        footprint=("storage2", "swift"),
        never=("swift-init all start",),
    ),
    # storage2's units (systemd): a restart loop, caught while the unit is active, and a
    # unit failed; the remediation names the unit and reads its status and journal first
    Expect(
        "unit-restart-loop@storage2",
        fails=("SVC-007@storage2",),
        root="SVC-007",
        remedy=(
            "storage2",
            "swift-object-replicator.service",
            "journalctl -u swift-object-replicator.service",
            "systemctl restart swift-object-replicator.service",
        ),
        may_fail=("SWIFT-005",),  # its replication stops
        footprint=("storage2", "swift"),
        never=("swift-init all start",),
    ),
    Expect(
        "unit-failed@storage2",
        fails=("SVC-007@storage2",),
        root="SVC-007",
        remedy=(
            "storage2",
            "swift-container-replicator.service",
            "journalctl -u swift-container-replicator.service",
            "systemctl reset-failed swift-container-replicator.service",
        ),
        may_fail=("SWIFT-005",),  # its replication stops
        footprint=("storage2", "swift"),
        never=("swift-init all start",),
    ),
    Expect(
        "swift-proxy-stopped",
        fails=("SVC-008@controller",),
        root="SVC-008",
        remedy=("controller", "swift-proxy-server"),
        may_fail=("API-001",),
        footprint=("controller", "swift"),
    ),
    Expect(
        "rabbitmq-stopped",
        fails=("SVC-002@controller",),
        root="SVC-002",
        remedy=("controller",),
        may_fail=("MQ-001", "MQ-002", "MQ-003", "MQ-004", "MQ-005", "NOVA-003", "DEP-001"),
        footprint=("controller", "rabbitmq"),
        alone=True,
    ),
    Expect(
        "config-option-changed@compute2",
        fails=("CONF-001",),
        root="CONF-001",
        remedy=("compute2",),
        footprint=("compute2-config",),
    ),
    # the configuration gate's faults (tests/matrix/test_config_gate.py), as the
    # post-reboot suite sees them: compute1 configured unlike compute2
    Expect(
        "config-option-changed@compute1",
        fails=("CONF-001",),
        root="CONF-001",
        remedy=("compute1",),
        footprint=("compute1-config",),
    ),
    Expect(
        "config-secret-changed@compute1",
        fails=("CONF-001",),
        root="CONF-001",
        remedy=("compute1",),
        footprint=("compute1-config",),
    ),
    Expect(
        "nova-compute-bad-config@compute1",
        fails=("SVC-003@compute1", "CONF-001"),
        root="SVC-003",
        remedy=("compute1", "nova-compute"),
        may_fail=COMPUTE_CONSEQUENCES,
        footprint=("compute1", "compute1-config"),
        # nova-compute imports nova before it finds no driver and exits
        gone=("compute1", "nova-compute"),
        settle_s=60,
    ),
    Expect(
        "swift-device-removed@storage1",
        fails=("INV-002",),
        root="INV-002",
        remedy=("storage1", "object.builder add", "10.77.0.31:6200/d1"),
        may_fail=("SWIFT-001", "SWIFT-005"),
        footprint=("storage1", "swift", "rings"),
    ),
    Expect(
        "swift-host-absent@storage2",
        fails=("INV-002", "SWIFT-006@storage2"),
        root="INV-002",
        remedy=("storage2", "10.77.0.32", "account.builder add"),
        may_fail=("SWIFT-001", "SWIFT-005"),
        footprint=("storage2", "swift", "rings"),
    ),
    Expect(
        "database-password-wrong@glance",
        fails=("DB-001@controller",),
        root="DB-001",
        remedy=("glance", "1045", "glance-api.conf"),
        footprint=("glance-config",),
    ),
    Expect(
        "database-table-missing",
        fails=("DB-002",),
        root="DB-002",
        remedy=("neutron.ports", "mysqlcheck"),
        # nova's API errs while neutron's table is gone (NOVA-001, blocked by DB-002): the
        # checks reading through it could not run
        # so does nova's; neutron's own upgrade check may find the table gone too
        may_fail=("NOVA-001", "UPG-001", "KEYSTONE-002"),
        footprint=("database", "neutron-db"),
        phase="post-restore",
        blinds=True,
    ),
    Expect(
        "instance-error",
        fails=("PERIODIC-001",),
        root="PERIODIC-001",
        remedy=("openstack server set --state active", "reboot --hard"),
        footprint=("compute1", "nova-db"),
    ),
    # ---- every other fault the lab can inject ------------------------------------------
    # compute2 is a kolla host: nova-compute is the container nova_compute, started by its unit
    compute_service("nova-compute", "compute2", "systemctl start kolla-nova_compute-container"),
    rebooted("compute1"),
    # its queue loses its consumer at once (MQ-002); compute hosts report through it, so
    # their records would go down after 30 s too (the lab's service_down_time): not waited for
    controller_service("nova-conductor", fails=("MQ-002",), may_fail=("NOVA-002", "NOVA-004")),
    controller_service(
        "nova-scheduler", fails=("MQ-002", "NOVA-004"), down=("nova-scheduler@controller",)
    ),
    # the placement readers (NOVA-010, NOVA-011, PERIODIC-007) could not run
    controller_service(
        "placement-api", api="PLACEMENT-001", may_fail=("NOVA-010", "NOVA-011", "PERIODIC-007")
    ),
    controller_service(
        "neutron-server", api="NEUTRON-001", may_fail=("NOVA-001", *NOVA_API_CONSUMERS)
    ),
    controller_service(
        "cinder-api",
        api="CINDER-001",
        may_fail=(
            "CINDER-002",
            "CINDER-003",
            "CINDER-004",
            "CINDER-005",
            "INV-001",
            "PERIODIC-008",
        ),
    ),
    controller_service(
        "cinder-scheduler", fails=("MQ-002", "CINDER-003"), down=("cinder-scheduler@controller",)
    ),
    Expect(
        "memcached-stopped",
        # every host's [keystone_authtoken] memcached_servers names it: DEP-001 says so
        fails=("SVC-004@controller", "SVC-008@controller", "DEP-001@compute1"),
        root="SVC-008",
        remedy=("controller", "memcached"),
        may_fail=("DEP-001@controller", "DEP-001@compute2", "DEP-001@storage1"),
        footprint=("controller", "memcached"),
        shares=True,
    ),
    Expect(
        "cinder-volume-stopped@storage1",
        fails=("SVC-005@storage1", "MQ-002"),
        root="SVC-005",
        remedy=("storage1", "cinder-volume"),
        may_fail=("CINDER-002", "INV-001"),
        footprint=("storage1", "cinder-volume"),
        shares=True,
    ),
    Expect(
        "ceph-osd-stopped@storage1",
        # Ceph's own health says it too: OSD_DOWN, its host and root down
        fails=("SVC-006@storage1", "CEPH-001"),
        root="SVC-006",
        remedy=("storage1", "ceph-osd"),
        # the only OSD down: its pool lists nothing, CINDER-005 could not look (rbd ls bounded)
        may_fail=("CINDER-005",),
        footprint=("storage1", "ceph"),
    ),
    Expect(
        "account-disabled-with-roles",
        fails=("PERIODIC-006",),
        root="PERIODIC-006",
        remedy=("ab-departed", "openstack role remove --user"),
        footprint=("keystone-users",),
        phase="periodic",
    ),
    Expect(
        "placement-allocations-leaked@compute2",
        # nova's own audit (NOVA-012, a periodic check) finds the same orphans
        fails=("NOVA-010@compute2", "NOVA-012"),
        root="NOVA-010",
        remedy=("nova-manage placement audit", "1eaced00-0000-4000-8000-000000000000"),
        may_fail=("PERIODIC-007",),  # blocked by NOVA-010: compute1 has nowhere to go
        footprint=("placement", "compute2"),
        phase="periodic",
    ),
    Expect(
        "placement-allocations-lost@compute1",
        # the API's view (NOVA-011) and nova's own oracle (NOVA-012: heal_allocations would
        # create them), both in a phase that runs the oracle
        fails=("NOVA-011@compute1", "NOVA-012"),
        root="NOVA-011",
        remedy=(
            "heal_allocations --instance",
            "--dry-run --verbose",
            "openstack resource provider allocation show",
        ),
        never=("--delete",),
        # heal_allocations asks neutron for the instances' ports: not beside a neutron fault
        footprint=("placement", "compute1", "neutron-db"),
        phase="post-restore",
    ),
    Expect(
        "compute-disabled@compute2",
        fails=("PERIODIC-007@compute1",),
        root="PERIODIC-007",
        remedy=("openstack compute service set --enable compute2 nova-compute",),
        footprint=("placement", "compute2"),
        phase="periodic",
    ),
    # ---- issue 12: faults the first matrix had not seen -----------------------------------
    Expect(
        "swift-device-xfs-shutdown@storage2",
        fails=("SWIFT-003@storage2",),
        root="SWIFT-003",
        remedy=("storage2", "umount /srv/node/d2", "xfs_repair -n /dev/loop"),
        footprint=("storage2", "swift-devices"),
    ),
    Expect(
        "nova-compute-frozen@compute2",
        # its record goes down (polled): its instances are on a host whose nova-compute is
        # down (NOVA-009), and still no evacuation of guests that run there
        fails=("SVC-003@compute2", "NOVA-009"),
        root="SVC-003",
        # compute2 is a kolla host: the container runs, the process in it is stopped
        remedy=("compute2", "podman restart nova_compute"),
        may_fail=COMPUTE_CONSEQUENCES,
        never=("server evacuate",),
        down=("nova-compute@compute2",),
        footprint=("compute2",),
    ),
    Expect(
        "swift-ring-odd-on-builder",
        fails=("SWIFT-002",),
        root="SWIFT-002",
        remedy=("controller", "is the odd one", "swift-ring-builder object.builder"),
        never=("scp ",),
        footprint=("controller-rings", "rings"),
    ),
    Expect(
        "swift-device-full@storage1",
        fails=("PERIODIC-002@storage1",),
        root="PERIODIC-002",
        remedy=("/srv/node/d1", "swift-recon --diskusage"),
        never=("logrotate", "du -xh"),
        footprint=("storage1", "swift-devices"),
        phase="periodic",
    ),
    Expect(
        "nova-compute-amqp-refused@compute2",
        fails=("SVC-003@compute2",),
        root="SVC-003",
        # compute2 is a kolla host: its nova.conf and its unit where kolla keeps them
        remedy=(
            "compute2",
            "transport_url",
            "/etc/kolla/nova-compute/nova.conf",
            "systemctl restart kolla-nova_compute-container",
        ),
        cause="amqp-access-refused",
        settle_s=10,  # it dies about 5 s after its start, having retried the login
        may_fail=(*COMPUTE_CONSEQUENCES, "CONF-001"),
        footprint=("compute2",),
    ),
    Expect(
        "swift-device-frozen@storage1",
        fails=("SVC-007@storage1",),
        root="SVC-007",
        remedy=("storage1", "swift-object-server", "percpu_rwsem_wait", "fsfreeze -u"),
        # a process in D cannot be killed: no restart, no start of a second copy
        never=("swift-init all start", "systemctl restart swift", "kill -9"),
        # proven hung after 60 s in D (the scheduler's clock, afterboot/domains/blocked.py): the
        # suite runs 75 s after the upload blocked. Other storage1 daemons that write to
        # the device (replicators, auditors) may be proven hung too: the same check
        settle_s=75,
        # a read through the proxy may reach its replica there, and swift stat's account
        # HEAD the account's: the proxy waits node_timeout (10 s) on it, as long as the
        # client's own bound (seen once: SWIFT-001's ReadTimeout)
        may_fail=("SWIFT-001", "SWIFT-005"),
        footprint=("storage1", "swift-devices"),
    ),
    # ---- issue 15: a kolla compute host (compute2: podman, kolla's names and units) -------
    Expect(
        "nova-compute-amqp-cut@compute2",
        fails=("SVC-003@compute2",),
        root="SVC-003",
        # unhealthy while nova-compute runs: read the health check, do not "start" it
        remedy=("compute2", "nova_compute", ".State.Health"),
        never=("systemctl start kolla-nova_compute-container",),
        may_fail=(
            "NOVA-002",
            "NOVA-003",
            "NOVA-009",
            "MQ-002",
            "INV-001",
            "CINDER-004",
            "DEP-001@compute2",
        ),
        footprint=("compute2", "rabbitmq"),
    ),
    Expect(
        "kolla-image-drift@compute2",
        fails=("KOLLA-001@compute2",),
        root="KOLLA-001",
        remedy=("compute2", "nova_compute", "upgrade --limit compute2"),
        footprint=("compute2",),
    ),
    Expect(
        "nova-bdm-missing@compute2",
        fails=("CINDER-004",),
        root="CINDER-004",
        # virsh is in compute2's nova_libvirt container (a kolla host), not on the host
        remedy=(
            "volume attachment delete",
            "openstack server add volume",
            "podman exec nova_libvirt virsh -r domblklist",
        ),
        never=("openstack server remove volume",),
        footprint=("compute2", "volumes"),
    ),
    # ---- a clock off (HOST-001 had no row): every check of the host waits for it --------
    Expect(
        "clock-ahead@storage1",
        fails=("HOST-001@storage1",),
        root="HOST-001",
        remedy=("storage1's clock is +", "chronyc tracking", "chronyc makestep"),
        never=("ping -c", "ipmitool"),  # the host answered: reaching it is not the remedy
        footprint=("storage1",),
    ),
    # ---- issue 24: the cloud's own health oracles ------------------------------------
    Expect(
        "ceph-flags-left-set",
        fails=("CEPH-001",),
        root="CEPH-001",
        remedy=(
            "storage1",
            "ceph osd unset pause",
            "ceph osd unset noout",
            "ceph health detail",
        ),
        # client I/O paused: cinder-volume's RBD calls may hang long enough to go stale
        may_fail=("CINDER-002", "CINDER-005"),
        footprint=("storage1", "ceph"),
    ),
    Expect(
        "rabbitmq-disk-alarm",
        fails=("MQ-004",),
        root="MQ-004",
        remedy=("controller", "rabbit@controller raises a disk alarm", "df -h /var/lib/rabbitmq"),
        # publishers blocked: service reports stall (a record goes stale after 30 s)
        may_fail=("NOVA-002", "NOVA-003", "CINDER-002", "CINDER-003", "NOVA-009"),
        never=("rabbitmqctl stop_app",),
        footprint=("controller", "rabbit"),
        alone=True,
    ),
    Expect(
        "rabbitmq-memory-alarm",
        fails=("MQ-004",),
        root="MQ-004",
        remedy=("rabbit@controller raises a memory alarm", "rabbitmq-diagnostics memory_breakdown"),
        # publishers blocked: service reports stall (a record goes stale after 30 s)
        may_fail=("NOVA-002", "NOVA-003", "CINDER-002", "CINDER-003", "NOVA-009"),
        never=("rabbitmqctl stop_app", "df -h /var/lib/rabbitmq"),
        footprint=("controller", "rabbit"),
        alone=True,
    ),
    Expect(
        "unit-disabled@storage2",
        fails=("SVC-011@storage2",),
        root="SVC-011",
        remedy=("storage2", "systemctl enable swift-object.service"),
        footprint=("storage2",),
    ),
    Expect(
        "kolla-unit-disabled@compute2",
        fails=("SVC-011@compute2",),
        root="SVC-011",
        remedy=("compute2", "systemctl enable kolla-nova_libvirt-container.service"),
        footprint=("compute2",),
    ),
    Expect(
        "database-read-only",
        fails=("DB-004",),
        root="DB-004",
        remedy=("read_only ON", "SET GLOBAL read_only = OFF", "SHOW SLAVE STATUS"),
        # writes refused: service reports go stale a minute on (restarting them is no cure)
        may_fail=(
            "NOVA-002",
            "NOVA-003",
            "NOVA-004",
            "NOVA-009",
            "CINDER-002",
            "CINDER-003",
            "MQ-002",
        ),
        never=("systemctl restart nova-compute",),
        footprint=("controller", "database"),
        alone=True,
    ),
    # ---- issue 25: every check proven to fail where the lab can host it ----------------
    Expect(
        "cinder-volume-amqp-cut@storage1",
        # cinder-volume runs and reports to the database itself: its record stays up, its
        # queue has no consumer, its transport_url does not answer from storage1
        fails=("MQ-002", "DEP-001@storage1"),
        root="MQ-002",
        remedy=("storage1", "sudo systemctl restart cinder-volume", "DEP-001"),
        footprint=("storage1", "rabbitmq"),
        shares=True,
    ),
    Expect(
        "volume-backend-record-left",
        # storage3 is no host of the inventory: nothing restarted there, its record removed
        fails=("INV-001", "CINDER-002"),
        root="INV-001",
        remedy=(
            "cinder-manage service remove cinder-volume storage3@ceph",
            "taken out of service for good",
        ),
        never=("sudo systemctl restart cinder-volume",),
        footprint=("cinder-db",),
    ),
    Expect(
        "base-image-missing@compute1",
        fails=("NOVA-007@compute1",),
        root="NOVA-007",
        remedy=("compute1", "openstack server reboot --hard", "re-fetched from glance"),
        footprint=("compute1",),
    ),
    Expect(
        "kolla-partial-upgrade@compute2",
        # two containers, one tag each, and the lab runs without --kolla-globals: a tie, said
        # as one (no container called odd), both tags named, no upgrade onto a guessed tag
        fails=("KOLLA-002@compute2",),
        root="KOLLA-002",
        remedy=("compute2", "lab-next-debian-bookworm", "upgrade --limit compute2"),
        footprint=("compute2",),
    ),
    Expect(
        "swift-object-quarantined@storage1",
        fails=("SWIFT-007@storage1",),
        root="SWIFT-007",
        remedy=("storage1:d1", "/srv/node/d1/quarantined/objects", "swift-object-info"),
        footprint=("swift-objects", "storage1"),
        phase="post-restore",
    ),
    Expect(
        "ceph-mon-unreachable@compute1",
        # the monitor answers from everywhere else: only compute1's own probe of what its
        # ceph.conf names sees it (a new volume attachment there would hang)
        fails=("DEP-001@compute1",),
        root="DEP-001",
        remedy=("/etc/ceph/ceph.conf", "mon_host", "10.77.0.31"),
        footprint=("compute1",),
    ),
    Expect(
        "nova-host-mappings-lost",
        # every running instance still answers and lists
        # nova's own words say simple_cell_setup; the step after them says not where cells
        # exist. INV-001 sees it too: os-hypervisors lists no host without its mapping
        fails=("UPG-001", "INV-001"),
        root="INV-001",
        remedy=("nova-manage cell_v2 discover_hosts --by-service --verbose",),
        footprint=("nova-api-db",),
        phase="post-restore",
    ),
    Expect(
        "keystone-credential-keys-lost",
        # keystone keeps issuing tokens: only its own doctor sees the repository gone
        fails=("KEYSTONE-002",),
        root="KEYSTONE-002",
        remedy=("Credential key repository", "/etc/keystone/credential-keys"),
        footprint=("keystone-keys",),
        phase="post-restore",
    ),
    Expect(
        "swift-object-damaged",
        fails=("SWIFT-005",),
        root="SWIFT-005",
        remedy=("afterboot/object-0", "md5sum", "swift-recon --quarantined"),
        # its replicas on both storage hosts, read through the proxy on the controller
        footprint=("swift-objects", "storage1", "storage2", "controller"),
    ),
    Expect(
        "rabbitmq-configure-denied",
        # nothing fails yet: every service keeps its queues until it restarts, then cannot
        # declare them again; alone, so that no other fault's heal restarts one meanwhile
        fails=("MQ-005",),
        root="MQ-005",
        remedy=("controller", "set_permissions -p / openstack", "'.*'", "transport_url"),
        footprint=("rabbitmq-permissions",),
        alone=True,
    ),
    Expect(
        "rabbitmq-vhost-down",
        fails=("MQ-006@controller",),
        root="MQ-006",
        remedy=("controller", "vhost / is down on rabbit@controller", "restart_vhost -p /"),
        # every service loses vhost /: its queues' consumers go (MQ-002), nova-compute's
        # consumer and reports too, blocked by MQ-006 where its log names the vhost down
        may_fail=(
            "MQ-001",
            "MQ-002",
            "MQ-003",
            "MQ-004",
            "MQ-005",
            "DEP-001",
            *COMPUTE_CONSEQUENCES,
            "CINDER-002",
            "CINDER-003",
        ),
        blocked=("NOVA-003@compute1",),
        never=("systemctl restart rabbitmq-server",),
        footprint=("controller", "rabbitmq"),
        alone=True,
    ),
    Expect(
        "rabbitmq-listener-moved",
        # no service reaches the broker at 5672: nova-compute's consumers go at once (tier 4),
        # its log naming the broker unreachable; MQ-006 names the port, the host and 5673
        fails=("MQ-006@controller", "NOVA-003@compute1"),
        root="NOVA-003",
        remedy=("compute1", "systemctl restart nova-compute"),
        may_fail=(
            "MQ-001",
            "MQ-002",
            "MQ-003",
            "MQ-004",
            "MQ-005",
            "DEP-001",
            *COMPUTE_CONSEQUENCES,
            "CINDER-002",
            "CINDER-003",
        ),
        never=("restart_vhost",),
        footprint=("controller", "rabbitmq"),
        alone=True,
    ),
    Expect(
        "rabbitmq-queue-backlog",
        fails=("MQ-003",),
        root="MQ-003",
        remedy=("notifications.info", "10050", "oslo_messaging_notifications"),
        footprint=("rabbitmq-queues",),
    ),
    Expect(
        "swift-account-servers-stopped",
        # the proxy runs (SVC-008 passes) and answers 503; its log (through the host's
        # syslog, /var/log/swift/proxy.log) says "ERROR with Account server 10.77.0.31:6202/d1
        # ... Connection refused": SWIFT-001 names swift-account-server on storage1 as its
        # root, and is blocked by that server's own failed check (afterboot/verdict/roots.py)
        fails=("SVC-007@storage1", "SVC-007@storage2"),
        blocked=("SWIFT-001",),
        root="SVC-007",
        # storage2 is a systemd host: its unit; storage1 a process host: swift-init
        remedy=("storage1", "storage2", "swift-account.service", "swift-init all start"),
        may_fail=("SWIFT-004", "SWIFT-005"),
        footprint=("storage1", "storage2", "swift-account", "controller"),  # via its proxy
        shares=True,
    ),
)
