"""What one remote command costs over each transport, against a real sshd on loopback.

Prints seconds per command and the ratio to the shared-master ssh connection the suite
uses by default. Run as root: ``python bench/connection_cost.py [commands]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from afterboot.inventory.model import HostSpec
from afterboot.transport.connections import Remote
from tests import sshd


def per_command(remote: Remote, n: int) -> float:
    remote.run("true")  # connect (and start the ssh master) outside the measurement
    started = time.perf_counter()
    for _ in range(n):
        remote.run("true")
    return (time.perf_counter() - started) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    why = sshd.available()
    if why:
        sys.exit(f"cannot run: {why}")
    work = Path(tempfile.mkdtemp(prefix="ab-bench-"))
    try:
        with sshd.sshd(work / "sshd") as server:
            base = dict(
                name="bench",
                address="127.0.0.1",
                port=server.port,
                user="root",
                key=str(server.key),
                ssh_config=str(server.ssh_config),
            )
            results: dict[str, float] = {}
            for label, conn, persist in (
                ("ssh+master", "ssh", True),
                ("paramiko", "paramiko", True),
                ("ssh, no master", "ssh", False),
            ):
                control = tempfile.mkdtemp(prefix="ab-c-")
                remote = Remote(HostSpec(connection=conn, **base), 10, control)  # type: ignore[arg-type]
                if not persist:
                    remote.backend.controlpersist = 0
                try:
                    results[label] = per_command(remote, n if persist else max(5, n // 5))
                finally:
                    remote.close()
                    shutil.rmtree(control, ignore_errors=True)
            ref = results["ssh+master"]
            print(f"remote command cost over {n} commands (loopback sshd):")
            for label, cost in results.items():
                print(f"  {label:<15} {cost * 1000:8.1f} ms/command   x{cost / ref:5.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
