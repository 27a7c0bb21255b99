"""Operator actions used by faults: find instances, hard-reboot, stop or start servers (as
their owner would), make a volume."""

from __future__ import annotations

import argparse
import json
import time

import openstack
from keystoneauth1 import exceptions as ksa_exc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "action",
        choices=[
            "servers",
            "hard-reboot",
            "volume-create",
            "volume-id",
            "volume-delete",
            "volume-detach",
            "volume-attach",
            "user-departed",
            "user-delete",
            "leak-allocations",
            "free-allocations",
            "drop-allocations",
            "compute-disable",
            "compute-enable",
            "server-stop",
            "server-start",
            "services-down",
            "object-put",
        ],
    )
    ap.add_argument("--host")
    ap.add_argument(
        "--reset-first",
        action="store_true",
        help="hard-reboot: reset each server's state (and task) to active before the reboot",
    )
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("names", nargs="*")
    a = ap.parse_intermixed_args()  # options may follow the names
    conn = openstack.connect(cloud="afterboot-lab")
    if a.action in ("volume-detach", "volume-attach"):
        attachment(conn, a.action, a.names[0], a.names[1])
        return
    if a.action.startswith("volume-"):
        volume(conn, a.action, a.names[0])
        return
    if a.action == "object-put":  # the lab's object, uploaded again as the workload did
        from workload import object_data

        i = int(a.names[0].rpartition("-")[2])
        conn.object_store.upload_object("afterboot", a.names[0], data=object_data(i))
        return
    if a.action == "services-down":
        services_down(conn, a.names, a.timeout)
        return
    if a.action.startswith("user-"):
        user(conn, a.action, a.names[0])
        return
    if a.action.endswith("-allocations"):
        allocations(conn, a.action, a.host or "")
        return
    if a.action.startswith("compute-"):
        svc = next(
            s for s in conn.compute.services() if s.binary == "nova-compute" and s.host == a.host
        )
        if a.action == "compute-disable":
            conn.compute.disable_service(svc, a.host, "nova-compute", "afterboot lab fault")
        else:
            conn.compute.enable_service(svc, a.host, "nova-compute")
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
    if a.action in ("server-stop", "server-start"):
        # as its owner would: nova stops it (SHUTOFF), or starts it again (ACTIVE)
        stop = a.action == "server-stop"
        # a stop or start still in progress (status ACTIVE, task powering-off) is waited
        # for first: deciding on its status then would skip a server about to be SHUTOFF
        deadline = time.monotonic() + 120
        for i, s in enumerate(servers):
            while s.task_state and time.monotonic() < deadline:
                time.sleep(1)
                s = servers[i] = conn.compute.get_server(s.id)
        for s in servers:
            if (s.status == "ACTIVE") == stop:
                (conn.compute.stop_server if stop else conn.compute.start_server)(s)
        for s in servers:
            for attempt in range(4):  # nova-api may drop a kept-alive connection: ask again
                try:
                    conn.compute.wait_for_server(
                        s, status="SHUTOFF" if stop else "ACTIVE", wait=120
                    )
                    break
                except ksa_exc.ConnectionError:
                    if attempt == 3:
                        raise
                    time.sleep(2)
        print(f"{a.action.split('-')[1]}:", ", ".join(s.name for s in servers))
        return
    hard_reboot(conn, servers, reset_first=a.reset_first)
    print("rebooted:", ", ".join(s.name for s in servers))


def _why(cur: openstack.compute.v2.server.Server) -> str:
    return (
        f"{cur.name} ({cur.id}): status {cur.status}, task {cur.task_state or '-'}, "
        f"power state {cur.power_state}"
        + (f", fault {cur.fault.get('message', '')[:120]!r}" if cur.fault else "")
    )


def hard_reboot(
    conn: openstack.connection.Connection, servers: list, reset_first: bool = False
) -> None:
    """Hard-reboot until each server is ACTIVE and running, three rounds at most. A
    server in ERROR, or whose task stays set past the bound (a reboot that hung with its
    domain paused, "starting up"), is reset to active, which clears its task, and
    rebooted again. Past the last round: which servers, and their state, in one line."""
    pending = list(servers)
    if reset_first:
        for s in pending:
            conn.compute.reset_server_state(s, "active")
    last: dict[str, str] = {}
    for attempt in range(3):
        for s in pending:
            try:
                conn.compute.reboot_server(s, "HARD")
            except openstack.exceptions.SDKException as exc:
                print(f"reboot {s.name} (attempt {attempt + 1}): {exc}")
        deadline = time.monotonic() + 120
        failed = []
        for s in pending:
            while True:
                cur = conn.compute.get_server(s.id)
                if cur.status == "ACTIVE" and cur.power_state == 1 and not cur.task_state:
                    break
                if cur.status == "ERROR" or time.monotonic() >= deadline:
                    last[s.id] = _why(cur)
                    # an ERROR, or a task that never ends: reset (clears the task), again
                    conn.compute.reset_server_state(s, "active")
                    failed.append(s)
                    break
                time.sleep(2)
        if not failed:
            break
        pending = failed
        time.sleep(5)
    else:
        raise SystemExit(
            "did not come back ACTIVE and running after 3 hard reboots: "
            + "; ".join(last[s.id] for s in pending)
        )


def services_down(conn: openstack.connection.Connection, names: list[str], timeout: float) -> None:
    """Wait until the API says each ``binary@host`` record is down (its last report older
    than service_down_time): a stopped service's record stays ``up`` until then."""
    deadline = time.monotonic() + timeout
    while True:
        state = {f"{s.binary}@{s.host}": s.state for s in conn.compute.services()}
        state.update({f"{s.binary}@{s.host}": s.state for s in conn.block_storage.services()})
        left = [n for n in names if state.get(n) != "down"]
        if not left:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"still up after {timeout:g}s: {', '.join(left)}")
        time.sleep(2)


def attachment(
    conn: openstack.connection.Connection, action: str, name: str, server_name: str
) -> None:
    """Detach a volume from its server through nova, or attach it back (as its owner does)."""
    vol = conn.block_storage.find_volume(name, ignore_missing=False)
    server = conn.compute.find_server(server_name, ignore_missing=False)
    attached = any(a.get("server_id") == server.id for a in vol.attachments or ())
    if action == "volume-detach" and attached:
        conn.compute.delete_volume_attachment(server, vol)
        conn.block_storage.wait_for_status(vol, "available", wait=180)
    elif action == "volume-attach" and not attached:
        conn.block_storage.wait_for_status(vol, "available", wait=180)
        conn.compute.create_volume_attachment(server, volume_id=vol.id)
        conn.block_storage.wait_for_status(vol, "in-use", wait=180)


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


LEAKS = [f"1eaced00-0000-4000-8000-00000000000{i}" for i in range(8)]
PLACEMENT = {"microversion": "1.28"}


def allocations(conn: openstack.connection.Connection, action: str, host: str) -> None:
    """Consumers nova does not know holding all the free memory of a host's provider (as
    an instance evacuated or deleted while its host was away leaves behind)."""
    if action == "free-allocations":
        for consumer in LEAKS:
            conn.placement.delete(f"/allocations/{consumer}", **PLACEMENT)
        return
    if action == "drop-allocations":
        # the first instance (by name) of the host loses every allocation it holds, as a
        # placement database restored from before it was booted leaves it; prints its id
        ours = sorted(
            (s for s in conn.compute.servers(all_projects=True) if s.compute_host == host),
            key=lambda s: s.name,
        )
        if not ours:
            raise SystemExit(f"{host}: no instance to drop the allocations of")
        conn.placement.delete(f"/allocations/{ours[0].id}", **PLACEMENT).raise_for_status()
        print(ours[0].id)
        return
    rp = next(r for r in conn.placement.resource_providers() if r.name == host)
    project, user_id = conn.current_project_id, conn.current_user_id
    for consumer in LEAKS:
        inv = conn.placement.get_resource_provider_inventory("MEMORY_MB", resource_provider=rp)
        used = (conn.placement.fetch_resource_provider_usages(rp).usages or {}).get("MEMORY_MB", 0)
        free = int((inv.total - inv.reserved) * inv.allocation_ratio) - used
        if free <= 0:
            return
        body = {
            "allocations": {rp.id: {"resources": {"MEMORY_MB": min(free, inv.max_unit)}}},
            "project_id": project,
            "user_id": user_id,
            "consumer_generation": None,
        }
        conn.placement.put(f"/allocations/{consumer}", json=body, **PLACEMENT).raise_for_status()
    raise SystemExit(f"{host}: memory still free after {len(LEAKS)} leaked allocations")


def user(conn: openstack.connection.Connection, action: str, name: str) -> None:
    """A departed colleague: member of the admin project, then disabled, roles kept."""
    import secrets

    found = conn.identity.find_user(name)
    if action == "user-delete":
        if found is not None:
            conn.identity.delete_user(found)
        return
    account = found or conn.identity.create_user(name=name, password=secrets.token_hex(16))
    role = conn.identity.find_role("member")
    conn.identity.assign_project_role_to_user(conn.current_project_id, account, role)
    conn.identity.update_user(account, is_enabled=False)
    print(account.id)


if __name__ == "__main__":
    main()
