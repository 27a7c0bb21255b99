"""Create the lab's workload through the APIs, as an operator would (idempotent)."""

from __future__ import annotations

import argparse
import time
from typing import Any

import openstack

conn = openstack.connect(cloud="afterboot-lab")


def image(name: str, data: bytes, **kw: Any) -> Any:
    img = conn.image.find_image(name)
    if img is None:
        img = conn.image.create_image(
            name=name, data=data, visibility="public", allow_duplicates=True, wait=True, **kw
        )
    return img


def flavor(name: str, ram: int, disk: int) -> Any:
    return conn.compute.find_flavor(name) or conn.compute.create_flavor(
        name=name, ram=ram, vcpus=1, disk=disk
    )


def server(name: str, host: str, img: Any, flv: Any) -> Any:
    s = conn.compute.find_server(name)
    if s is None:
        s = conn.compute.create_server(
            name=name,
            image_id=img.id,
            flavor_id=flv.id,
            networks="none",
            availability_zone=f"nova:{host}",
        )
    return s


def object_data(i: int) -> str:
    """The bytes of the lab's object ``afterboot/object-<i>`` (2300 of them)."""
    return f"afterboot lab object {i}\n" * 100


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel")
    ap.add_argument("--ramdisk")
    a = ap.parse_args()
    blank = image("afterboot-blank", b"\0" * 1048576, disk_format="raw", container_format="bare")
    fw = flavor("ab.fw", 64, 1)
    servers = [
        server("ab-fw-compute1", "compute1", blank, fw),
        server("ab-fw-compute2", "compute2", blank, fw),
    ]
    if a.kernel and a.ramdisk:
        with open(a.kernel, "rb") as fh:
            kernel = image(
                "afterboot-guest-kernel", fh.read(), disk_format="aki", container_format="aki"
            )
        with open(a.ramdisk, "rb") as fh:
            ramdisk = image(
                "afterboot-guest-ramdisk", fh.read(), disk_format="ari", container_format="ari"
            )
        linux = image(
            "afterboot-tiny-linux",
            b"\0" * 1048576,
            disk_format="raw",
            container_format="bare",
            kernel_id=kernel.id,
            ramdisk_id=ramdisk.id,
            os_command_line="console=ttyS0 quiet",
        )
        lf = flavor("ab.linux", 128, 1)
        servers += [
            server("ab-linux-compute1", "compute1", linux, lf),
            server("ab-linux-compute2", "compute2", linux, lf),
        ]
    for s in servers:
        if conn.compute.get_server(s.id).status == "SHUTOFF":  # the lab was powered off
            conn.compute.start_server(s)
    for s in servers:
        conn.compute.wait_for_server(s, status="ACTIVE", wait=300)
    print("servers ACTIVE:", ", ".join(s.name for s in servers))
    # volumes (when cinder-volume is there) and swift objects
    try:
        if any(
            s.binary == "cinder-volume" and s.state == "up" for s in conn.block_storage.services()
        ):
            if conn.block_storage.find_type("ceph") is None:
                conn.block_storage.create_type(
                    name="ceph", extra_specs={"volume_backend_name": "ceph"}
                )
            for host in ("compute1", "compute2"):
                vname = f"ab-vol-{host}"
                vol = conn.block_storage.find_volume(vname) or conn.block_storage.create_volume(
                    name=vname, size=1, volume_type="ceph"
                )
                if vol.status != "in-use":
                    conn.block_storage.wait_for_status(vol, "available", wait=120)
                target = conn.compute.find_server(f"ab-linux-{host}") or conn.compute.find_server(
                    f"ab-fw-{host}"
                )
                if not vol.attachments:
                    conn.compute.create_volume_attachment(target, volume_id=vol.id)
                conn.block_storage.wait_for_status(vol, "in-use", wait=180)
            print("volumes in-use")
    except openstack.exceptions.SDKException as exc:
        print("volumes skipped:", exc)
    try:
        conn.object_store.create_container("afterboot")
        for i in range(3):
            conn.object_store.upload_object("afterboot", f"object-{i}", data=object_data(i))
        print("swift container ready")
    except Exception as exc:  # noqa: BLE001 - swift is optional here
        print("swift skipped:", type(exc).__name__)
    time.sleep(0)


if __name__ == "__main__":
    main()
