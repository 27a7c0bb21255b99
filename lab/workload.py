"""The workload `up` creates once: images, flavors, servers, volumes, a swift container."""

from __future__ import annotations

import gzip
import io
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .lab import Lab

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
echo "afterboot tiny guest up"
while true; do sleep 3600; done
"""


def _cpio_entry(name: str, data: bytes, mode: int) -> bytes:
    nb = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0]
    head = b"070701" + b"".join(f"{f:08x}".encode() for f in fields)
    out = head + nb
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def build_initramfs(state: Path) -> Path:
    """A busybox-static initramfs (newc cpio, gzip) for the tiny Linux guest."""
    dest = state / "guest" / "initrd.img"
    if dest.exists():
        return dest
    buf = io.BytesIO()
    for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules", "tmp"):
        buf.write(_cpio_entry(d, b"", 0o040755))
    buf.write(_cpio_entry("bin/busybox", Path("/bin/busybox").read_bytes(), 0o100755))
    buf.write(_cpio_entry("init", INIT.encode(), 0o100755))
    for ko in sorted(
        (state / "guest" / "lib" / "modules").glob("*/kernel/drivers/block/virtio_blk.ko*")
    ):
        data = ko.read_bytes()
        if ko.suffix == ".xz":
            continue
        buf.write(_cpio_entry(f"lib/modules/{ko.name}", data, 0o100644))
    buf.write(_cpio_entry("TRAILER!!!", b"", 0))
    tmp = dest.with_suffix(".tmp")
    with gzip.open(tmp, "wb") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, dest)
    return dest


def ensure(lab: Lab) -> None:
    state = lab.state
    kernels = sorted((state / "guest" / "boot").glob("vmlinuz-*"))
    args: list[str] = []
    if ((kernels and shutil.which("busybox")) or Path("/bin/busybox").exists()) and kernels:
        args = ["--kernel", str(kernels[-1]), "--ramdisk", str(build_initramfs(state))]
    lab.venv_tool("workload.py", *args, timeout=900)
    restarted = restart_stopped_servers(lab)
    if restarted:
        print(f"[lab] hard-rebooted servers that were not running: {', '.join(restarted)}")


def restart_stopped_servers(lab: Lab) -> list[str]:
    """After a cold start (every host "powered off"), hard-reboot servers whose libvirt
    domain is not running, as an operator would; returns their names."""
    import json

    from .compute import virsh

    data = json.loads(lab.venv_tool("ops.py", "servers").stdout)
    running: dict[str, set[str]] = {}
    stopped: list[str] = []
    for s in data:
        host = str(s["host"])
        if host not in running:
            out = lab.host_exec(host, f"{virsh(lab, host)} list --name", check=False).stdout
            running[host] = set(out.split())
        if s["instance_name"] not in running[host]:
            stopped.append(str(s["name"]))
    if stopped:
        lab.venv_tool("ops.py", "hard-reboot", *stopped, timeout=600)
    return stopped
