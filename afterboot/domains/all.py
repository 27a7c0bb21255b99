"""Every module that registers reads, imported once: the registries of
:mod:`afterboot.reads.hostreads` and :mod:`afterboot.reads.cloudreads` are whole once this
module is imported (the collection pass does)."""

from __future__ import annotations

from afterboot.domains import (
    blocked,
    ceph,
    configfiles,
    containers,
    dependencies,
    diskfiles,
    filesystems,
    glancestore,
    hypervisor,
    nova,
    placement,
    placementaudit,
    rabbitmq,
    rbd,
    recon,
    storage,
    tables,
    units,
    upgradecheck,
    usage,
)
from afterboot.reads import cloud, cloudreads, hostreads

MODULES = (
    blocked, ceph, configfiles, containers, dependencies, diskfiles, filesystems, glancestore,
    hypervisor, nova, placement, placementaudit, rabbitmq, rbd, recon, storage, tables, units,
    upgradecheck, usage, cloud,
)  # fmt: skip

# the registries, whole: import them from here to be sure every read is in them
READS = hostreads.READS
CLOUD_READS = cloudreads.CLOUD_READS
