#!/usr/bin/env python3
"""An openstack-ansible-style dynamic inventory (the shape of OSA's dynamic_inventory.py).

Physical hosts in ``*_hosts`` groups, LXC containers in per-service groups, every address
in ``_meta.hostvars``. Prints ``--list`` JSON; ``--host NAME`` prints ``{}`` (all vars are
in ``_meta``), as Ansible's script plugin expects.
"""

import json
import sys

CONTAINERS = {
    "infra1_galera_container-5ba8c7a1": ("infra1", "172.29.236.101", "galera"),
    "infra1_rabbit_mq_container-0c3a5e2b": ("infra1", "172.29.236.102", "rabbitmq"),
    "infra1_keystone_container-9f1e2d3c": ("infra1", "172.29.236.103", "keystone"),
}
PHYSICAL = {
    "infra1": "172.29.236.11",
    "compute1": "172.29.236.21",
    "storage1": "172.29.236.31",
}


def inventory():
    hostvars = {
        name: {"ansible_host": address, "container_address": address, "physical_host": name}
        for name, address in PHYSICAL.items()
    }
    for name, (host, address, component) in CONTAINERS.items():
        hostvars[name] = {
            "ansible_host": address,
            "container_address": address,
            "physical_host": host,
            "physical_host_addrs": {"management": PHYSICAL[host]},
            "component": component,
            "is_metal": False,
        }
    hostvars["compute1"]["ansible_become"] = True
    hostvars["storage1"]["ansible_ssh_extra_args"] = "-o ServerAliveInterval=5"
    return {
        "_meta": {"hostvars": hostvars},
        "all": {"vars": {"ansible_user": "root"}},
        "shared-infra_hosts": {"hosts": ["infra1"], "children": []},
        "identity_hosts": {"hosts": ["infra1"]},
        "compute_hosts": {"hosts": ["compute1"]},
        "storage_hosts": {"hosts": ["storage1"]},
        "galera_all": {"children": ["galera"]},
        "galera": {"hosts": ["infra1_galera_container-5ba8c7a1"]},
        "rabbitmq_all": {"children": ["rabbitmq"]},
        "rabbitmq": {"hosts": ["infra1_rabbit_mq_container-0c3a5e2b"]},
        "keystone_all": {"children": ["keystone"]},
        "keystone": {"hosts": ["infra1_keystone_container-9f1e2d3c"]},
        "lxc_hosts": {"hosts": ["infra1"]},
    }


if __name__ == "__main__":
    print(json.dumps({} if "--host" in sys.argv else inventory(), indent=2))
