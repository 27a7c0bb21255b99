"""Operator actions used by faults: find instances, hard-reboot servers."""

from __future__ import annotations

import argparse
import json
import time

import openstack


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["servers", "hard-reboot"])
    ap.add_argument("--host")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    conn = openstack.connect(cloud="afterboot-lab")
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


if __name__ == "__main__":
    main()
