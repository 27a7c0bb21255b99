"""What the suite must say for each fault the lab can inject (the fault matrix, as data).

``fails`` must fail, ``root`` is where the summary must say to start, ``remedy`` are texts
its rendered remediation must contain (host names, commands); ``may_fail`` are
consequences whose timing the fault does not fix (a service's ``up`` row lingers 60 s).
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
    "CINDER-004",
    "PERIODIC-001",
)
COMPUTE_CONSEQUENCES = ("NOVA-002", "NOVA-003", "NOVA-009", "CINDER-004", "INV-001")

EXPECTATIONS: tuple[Expect, ...] = (
    # ---- issue 5: controller and compute -------------------------------------------------
    Expect(
        "nova-compute-stopped@compute1",
        fails=("SVC-003@compute1",),
        root="SVC-003",
        remedy=("compute1", "nova-compute"),
        may_fail=COMPUTE_CONSEQUENCES,
        footprint=("compute1",),
    ),
    Expect(
        "libvirtd-stopped@compute1",
        fails=("SVC-003@compute1",),
        root="SVC-003",
        remedy=("compute1", "libvirtd"),
        may_fail=COMPUTE_CONSEQUENCES,
        footprint=("compute1",),
    ),
    Expect(
        "dbus-stopped@compute1",
        fails=("SVC-003@compute1",),
        root="SVC-003",
        remedy=("compute1", "dbus"),
        may_fail=COMPUTE_CONSEQUENCES,
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
        "domain-undefined",
        fails=("NOVA-005@compute1",),
        root="NOVA-005",
        remedy=("openstack server reboot --hard",),
        may_fail=("CINDER-004",),
        footprint=("compute1",),
    ),
    Expect(
        "reboot@compute2",
        fails=("NOVA-005@compute2",),
        root="NOVA-005",
        remedy=("openstack server",),
        may_fail=(
            "NOVA-002",
            "NOVA-003",
            "NOVA-006",
            "NOVA-009",
            "SVC-003@compute2",
            "CINDER-004",
            "MQ-002",
        ),
        footprint=("compute2",),
    ),
    Expect(
        "keystone-stopped",
        fails=("SVC-004@controller", "KEYSTONE-001"),
        root="SVC-004",
        remedy=("controller", "keystone"),
        may_fail=("API-001",),
        footprint=("controller", "keystone"),
        alone=True,
    ),
    Expect(
        "nova-api-stopped",
        fails=("SVC-004@controller", "NOVA-001"),
        root="SVC-004",
        remedy=("controller", "nova-api"),
        # every check reading nova through its API fails with it (they sit in lower tiers,
        # so they cannot be declared blocked by a tier-99 check)
        may_fail=NOVA_API_CONSUMERS,
        footprint=("controller", "nova-api"),
        alone=True,
    ),
    Expect(
        "glance-api-stopped",
        fails=("SVC-004@controller", "GLANCE-001"),
        root="SVC-004",
        remedy=("controller", "glance-api"),
        may_fail=("API-001",),
        footprint=("controller", "glance-api"),
    ),
    Expect(
        "database-stopped",
        fails=("SVC-001@controller",),
        root="SVC-001",
        remedy=("controller",),
        may_fail=("DB-001", "KEYSTONE-001", "SVC-004"),
        footprint=("controller", "database"),
        alone=True,
    ),
    Expect(
        "instance-wrong-host",
        fails=("NOVA-006@compute1",),
        root="NOVA-006",
        remedy=("openstack server show",),
        may_fail=("NOVA-005@compute2", "NOVA-007", "CINDER-004"),
        footprint=("compute1", "compute2", "nova-db"),
    ),
    Expect(
        "orphan-domain@compute1",
        fails=("NOVA-006@compute1",),
        root="NOVA-006",
        remedy=("compute1", "0a0b0c0d-1111-4222-8333-444455556666"),
        footprint=("compute1",),
    ),
    # ---- issue 6: storage, queue, configuration -----------------------------------------
    Expect(
        "swift-ring-changed@storage2",
        fails=("SWIFT-002",),
        root="SWIFT-002",
        remedy=("storage2", "object.ring.gz"),
        footprint=("storage2", "swift"),
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
        "swift-object-server-stopped@storage2",
        fails=("SVC-007@storage2",),
        root="SVC-007",
        remedy=("storage2", "swift-object-server"),
        may_fail=("SWIFT-001", "SWIFT-005"),
        footprint=("storage2", "swift"),
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
        may_fail=("MQ-001", "MQ-002", "MQ-003", "NOVA-003"),
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
)
