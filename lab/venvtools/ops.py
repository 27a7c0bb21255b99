"""Operator actions used by faults: find instances, hard-reboot servers, make a volume."""

from __future__ import annotations

import argparse
import json
import time

import openstack


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "action",
        choices=["servers", "hard-reboot", "volume-create", "volume-id", "volume-delete"],
    )
    ap.add_argument("--host")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    conn = openstack.connect(cloud="afterboot-lab")
    if a.action.startswith("volume-"):
        volume(conn, a.action, a.names[0])
        return
    servers = [
        s
        for s in conn.compute.servers(all_projects=True)
        if (not a.host or s.compute_host == a.host) and (not a.names or s.name in a.names)
    ]
    if a.action == "servers":
        print(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "id": s.id,
                        "host": s.compute_host,
                        "instance_name": s.instance_name,
                        "status": s.status,
                        "power_state": s.power_state,
                    }
                    for s in servers
                ]
            )
        )
        return
    for s in servers:
        conn.compute.reboot_server(s, "HARD")
    deadline = time.monotonic() + 240
    for s in servers:
        while time.monotonic() < deadline:
            cur = conn.compute.get_server(s.id)
            if cur.status == "ACTIVE" and cur.power_state == 1 and not cur.task_state:
                break
            time.sleep(2)
        else:
            raise SystemExit(f"{s.name} did not come back ACTIVE/running")
    print("rebooted:", ", ".join(s.name for s in servers))


def volume(conn: openstack.connection.Connection, action: str, name: str) -> None:
    found = conn.block_storage.find_volume(name)
    if action == "volume-create":
        vol = found or conn.block_storage.create_volume(name=name, size=1, volume_type="ceph")
        conn.block_storage.wait_for_status(vol, "available", wait=120)
        print(vol.id)
    elif action == "volume-id":
        print(found.id if found else "")
    elif found is not None:
        conn.block_storage.delete_volume(found)
        conn.block_storage.wait_for_delete(found, wait=120)


if __name__ == "__main__":
    main()
