"""kolla hosts, acceptance layer: the real SVC and KOLLA checks run by pytester against a
``service_manager: container`` host (``connection: local``) whose ``podman``,
``systemctl`` and ``ps`` answer with the outputs recorded from real podman
(``tests/samples/kolla``); serial and ``-n 2``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "samples" / "kolla"

SYSTEMCTL = """#!/bin/sh
# systemctl show of the host's own unit (d-bus); kolla's units: not loaded (no systemd here)
for a in "$@"; do case "$a" in
  dbus|dbus.service)
    printf 'Id=dbus.service\\nActiveState=active\\nSubState=running\\nNRestarts=0\\n\\n' ;;
esac; done
"""

# the host's process table: the containers' processes as the host sees them
PS = """#!/bin/sh
cat <<'EOF'
    1     0  9000 Ss   /sbin/init
 4101  4090   300 Sl   /var/lib/kolla/venv/bin/python3 /var/lib/kolla/venv/bin/nova-compute
 4102  4091   300 Sl   /usr/sbin/libvirtd --listen
EOF
"""


def _fake_engine(bin_dir: Path, sample: str) -> None:
    """A ``podman`` answering ``ps``, ``inspect``, ``images`` and ``logs`` as recorded."""
    head, _, rest = (SAMPLES / sample).read_text().partition("@@afterboot-part images\n")
    images = rest.split("@@afterboot-part units")[0]
    (bin_dir / "inspect.txt").write_text(head.split("\n", 1)[1])
    (bin_dir / "images.txt").write_text(images)
    shutil.copy(SAMPLES / "podman-logs-cron.txt", bin_dir / "logs.txt")
    (bin_dir / "podman").write_text(
        "#!/bin/sh\n"
        f'case "$1" in ps) echo 10dfa1eda1ed ;; inspect) cat {bin_dir}/inspect.txt ;; '
        f"images) cat {bin_dir}/images.txt ;; logs) cat {bin_dir}/logs.txt ;; "
        '*) echo "podman: $1 not recorded" >&2; exit 125 ;; esac\n'
    )
    (bin_dir / "systemctl").write_text(SYSTEMCTL)
    (bin_dir / "ps").write_text(PS)
    for tool in ("podman", "systemctl", "ps"):
        (bin_dir / tool).chmod(0o755)


@pytest.fixture
def kolla(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> pytest.Pytester:
    bin_dir = suite.mkdir("fakebin")
    _fake_engine(bin_dir, getattr(request, "param", "containers-podman-faults.txt"))
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    logs = suite.mkdir("kolla-logs")
    (logs / "nova-compute.log").write_text(
        "2026-11-29 08:54:48.100 7 INFO nova.service [-] Starting compute node (version 27.1.0)\n"
    )
    suite.makefile(
        ".yaml",
        inventory=(
            "hosts:\n"
            "  cmp-01:\n"
            "    connection: local\n"
            "    roles: [compute]\n"
            "    service_manager: container\n"
            "    container_engine: podman\n"
            f"    paths: {{/var/log/nova: {logs}, /var/log/libvirt: {logs}}}\n"
        ),
    )
    for name in ("test_services.py", "test_containers.py"):
        shutil.copy(ROOT / "tests_cloud" / name, suite.path / "tests_cloud" / name)
    return suite


ARGS = ("--inventory=inventory.yaml", "-k", "compute_host_services or kolla or image_their_name")


@pytest.mark.parametrize("kolla", ["containers-podman-healthy.txt"], indirect=True)
def test_a_healthy_kolla_compute_host_is_green(kolla: pytest.Pytester) -> None:
    kolla.runpytest_subprocess(*ARGS).assert_outcomes(passed=3)


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_an_unhealthy_container_and_a_stale_image_are_named_with_kolla_s_remedy(
    kolla: pytest.Pytester, xdist: bool
) -> None:
    result = kolla.runpytest_subprocess(*ARGS, "-p", "xdist", *(["-n", "2"] if xdist else []))
    out = result.stdout.str()
    result.assert_outcomes(failed=2, passed=1)
    # SVC-003: libvirtd's container is unhealthy; d-bus (the host's unit) and nova_compute run
    assert "libvirtd (nova_libvirt unhealthy: error: failed to connect to the hypervisor" in out
    assert "dbus (" not in out
    assert "nova-compute (" not in out
    summary = json.loads((kolla.path / "reports" / "summary.json").read_text())
    by_id = {c["check"]: c for c in summary["checks"]}
    svc = "\n".join(c for s in by_id["SVC-003"]["steps"] for c in s.get("commands", []))
    assert "sudo podman inspect nova_libvirt --format" in svc
    assert "systemctl restart libvirtd" not in svc
    # the container's own output is evidence when its log file names no cause
    assert "podman logs nova_libvirt on cmp-01" in out
    # KOLLA-001: nova_compute runs the image its name gave before the pull
    assert "nova_compute runs image 680e14fe87c7" in out
    kolla1 = "\n".join(c for s in by_id["KOLLA-001"]["steps"] for c in s.get("commands", []))
    assert "kolla-ansible -i <inventory> upgrade --limit cmp-01 --tags nova" in kolla1
    plan = (kolla.path / "reports" / "remediation.sh").read_text()
    lines = plan.splitlines()
    # the kolla inventory is the operator's to fill in: the line stays commented out
    at = lines.index(
        "# fill in, then uncomment: kolla-ansible -i <inventory> upgrade --limit cmp-01 --tags nova"
    )
    assert lines[at - 1].startswith("# GUARD, before the command below: only when the image")
