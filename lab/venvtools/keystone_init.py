"""Create the service project, service users and the catalog (run in the operator ns)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openstack

C = "10.77.0.10"
SERVICES = {
    # name: (type, url, user)
    "placement": ("placement", f"http://{C}:8778", "placement"),
    "glance": ("image", f"http://{C}:9292", "glance"),
    "neutron": ("network", f"http://{C}:9696", "neutron"),
    "nova": ("compute", f"http://{C}:8774/v2.1", "nova"),
    "cinderv3": ("volumev3", f"http://{C}:8776/v3/%(project_id)s", "cinder"),
    "swift": ("object-store", f"http://{C}:8080/v1/AUTH_%(project_id)s", "swift"),
}


def main() -> None:
    state = Path(os.environ["AFTERBOOT_LAB_STATE"])
    pw = json.loads((state / "secrets.json").read_text())
    conn = openstack.connect(cloud="afterboot-lab")
    idn = conn.identity
    project = idn.find_project("service") or idn.create_project(name="service", domain_id="default")
    admin_role = idn.find_role("admin")
    for role in ("member", "reader", "service", "ResellerAdmin"):
        if not idn.find_role(role):
            idn.create_role(name=role)
    service_role = idn.find_role("service")
    for name, (stype, url, user) in SERVICES.items():
        u = idn.find_user(user, domain_id="default")
        if u is None:
            u = idn.create_user(
                name=user, password=pw[user], domain_id="default", default_project_id=project.id
            )
        for role in (admin_role, service_role):
            conn.identity.assign_project_role_to_user(project, u, role)
        svc = next((s for s in idn.services() if s.name == name), None)
        if svc is None:
            svc = idn.create_service(name=name, type=stype)
        have = {e.interface for e in idn.endpoints(service_id=svc.id)}
        for iface in ("public", "internal", "admin"):
            if iface not in have:
                idn.create_endpoint(
                    service_id=svc.id, interface=iface, url=url, region_id="RegionOne"
                )
    print("identity ready")


if __name__ == "__main__":
    main()
