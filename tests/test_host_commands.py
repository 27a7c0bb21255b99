"""Remediation commands adapted to the host they run on (afterboot/procedures/hostcommands.py): the
rule table per manager and engine, the segment splitting, quoting, and no change at all
for process and systemd hosts without moved paths."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from afterboot.checks.findings import Finding
from afterboot.inventory.model import HostSpec
from afterboot.procedures.hostcommands import adapt, container_of, map_paths, spec_for, split
from afterboot.procedures.runbook import Step, command_line, load, render
from afterboot.procedures.text import procedure_text
from afterboot.reports.reportfiles import script, summary_data
from tests.test_procedure_safety import (
    HOSTILE,
    MARK,
    _all_entries,
    _entry,
    _hostile_findings,
    _remote,
    _source_in_sandbox,
    _unquoted,
)

PROCS = load()
KOLLA_PATHS = {
    "/etc/nova": "/etc/kolla/nova-compute",
    "/etc/libvirt": "/etc/kolla/nova-libvirt",
    "/etc/ceph": "/etc/kolla/nova-compute",
    "/var/log/nova": "/var/log/kolla/nova",
    "/var/log/libvirt": "/var/log/kolla/libvirt",
    "/var/lib/nova": "/var/lib/containers/storage/volumes/nova_compute/_data",
}


def kolla(engine: str = "podman", name: str = "compute2") -> HostSpec:
    return HostSpec(name, service_manager="container", container_engine=engine, paths=KOLLA_PATHS)


PODMAN, DOCKER, AUTO = kolla("podman"), kolla("docker"), kolla("")
ANY = (
    "$(command -v docker || command -v podman)"  # afterboot/domains/containers.py's engine_command
)

# (command, podman, docker); the engine the inventory leaves open renders docker's with ANY
TABLE = [
    (
        "sudo systemctl restart nova-compute",
        "sudo systemctl restart kolla-nova_compute-container",
        "sudo docker restart nova_compute",
    ),
    (
        "sudo systemctl stop nova-compute.service",
        "sudo systemctl stop kolla-nova_compute-container",
        "sudo docker stop nova_compute",
    ),
    (
        "sudo systemctl start openstack-nova-compute",  # RDO's unit name
        "sudo systemctl start kolla-nova_compute-container",
        "sudo docker start nova_compute",
    ),
    (
        "sudo systemctl reload libvirtd",  # kolla has no reload; libvirtd's unit: nova_libvirt
        "sudo systemctl restart kolla-nova_libvirt-container",
        "sudo docker restart nova_libvirt",
    ),
    (
        "sudo systemctl status nova-compute",
        "sudo systemctl status kolla-nova_compute-container --no-pager",
        "sudo docker ps -a --filter 'name=^nova_compute$'",
    ),
    (
        "systemctl is-active nova-compute",  # no sudo: systemctl keeps it so
        "systemctl is-active kolla-nova_compute-container",
        "sudo docker ps -a --filter 'name=^nova_compute$'",
    ),
    (
        "sudo systemctl status rabbitmq-server --no-pager --lines 0",
        "sudo systemctl status kolla-rabbitmq-container --no-pager --lines 0",
        "sudo docker ps -a --filter 'name=^rabbitmq$'",
    ),
    (
        "systemctl --no-pager status nova-compute",
        "systemctl --no-pager status kolla-nova_compute-container",
        "sudo docker ps -a --filter 'name=^nova_compute$'",
    ),
    (
        "sudo systemctl restart nova-conductor nova-scheduler",
        "sudo systemctl restart kolla-nova_conductor-container kolla-nova_scheduler-container",
        "sudo docker restart nova_conductor nova_scheduler",
    ),
    (
        "sudo journalctl -b -u nova-compute -n 50",
        "sudo podman logs --tail 60 nova_compute",
        "sudo docker logs --tail 60 nova_compute",
    ),
    (
        "journalctl --unit=cinder-volume --no-pager",
        "sudo podman logs --tail 60 cinder_volume",
        "sudo docker logs --tail 60 cinder_volume",
    ),
    (
        "virsh -r domblklist instance-00000004",
        "sudo podman exec nova_libvirt virsh -r domblklist instance-00000004",
        "sudo docker exec nova_libvirt virsh -r domblklist instance-00000004",
    ),
    (  # the tool's paths are the container's: not mapped
        "sudo qemu-img info /var/lib/nova/instances/u/disk",
        "sudo podman exec nova_compute qemu-img info /var/lib/nova/instances/u/disk",
        "sudo docker exec nova_compute qemu-img info /var/lib/nova/instances/u/disk",
    ),
    (
        "sudo nova-manage cell_v2 discover_hosts --verbose",
        "sudo podman exec nova_api nova-manage cell_v2 discover_hosts --verbose",
        "sudo docker exec nova_api nova-manage cell_v2 discover_hosts --verbose",
    ),
    (  # other segments: paths moved, the rest as written
        "sudo grep AMQP /var/log/nova/nova-compute.log | tail -3",
        "sudo grep AMQP /var/log/kolla/nova/nova-compute.log | tail -3",
        "sudo grep AMQP /var/log/kolla/nova/nova-compute.log | tail -3",
    ),
    (
        "sudo grep -E '^transport_url' /etc/nova/nova.conf | sed 's/:[^:@]*@/:***@/'"
        " && sudo systemctl restart nova-compute",
        "sudo grep -E '^transport_url' /etc/kolla/nova-compute/nova.conf | sed 's/:[^:@]*@/:***@/'"
        " && sudo systemctl restart kolla-nova_compute-container",
        "sudo grep -E '^transport_url' /etc/kolla/nova-compute/nova.conf | sed 's/:[^:@]*@/:***@/'"
        " && sudo docker restart nova_compute",
    ),
    (
        "sudo ls -l /var/lib/nova/instances/u1",
        "sudo ls -l /var/lib/containers/storage/volumes/nova_compute/_data/instances/u1",
        "sudo ls -l /var/lib/containers/storage/volumes/nova_compute/_data/instances/u1",
    ),
    (
        "sudo -u nova -H nova-compute --config-file=/etc/nova/nova.conf",
        "sudo -u nova -H nova-compute --config-file=/etc/kolla/nova-compute/nova.conf",
        "sudo -u nova -H nova-compute --config-file=/etc/kolla/nova-compute/nova.conf",
    ),
    (
        "sudo systemctl restart nova-{service} || sudo systemctl restart compute",
        "sudo systemctl restart nova-{service} || sudo systemctl restart compute",
        "sudo systemctl restart nova-{service} || sudo systemctl restart compute",
    ),
]
# the host's own and unknown units, and what is no service verb, stay as written
UNCHANGED = [
    "sudo systemctl status dbus || sudo systemctl start dbus",
    "sudo systemctl restart sshd",
    "sudo chronyc tracking && sudo chronyc makestep",
    "sudo systemctl restart chronyd",
    "sudo systemctl restart apache2 || sudo systemctl restart httpd",  # keystone? horizon?
    "sudo systemctl start ceph.target",
    "sudo systemctl reboot",
    "sudo systemctl restart kolla-nova_compute-container",  # kolla's own steps: already right
    "sudo podman restart nova_compute",
    "sudo journalctl -k -n 50",
    "sudo dmesg -T | grep -iE 'i/o error|xfs' | tail -20",
    "df -h /var/log /var/lib/libvirt",
]


@pytest.mark.parametrize(("before", "podman", "docker"), TABLE)
def test_the_rule_table_per_engine(before: str, podman: str, docker: str) -> None:
    assert adapt(before, PODMAN) == podman
    assert adapt(before, DOCKER) == docker
    assert adapt(before, AUTO) == docker.replace("sudo docker", f"sudo {ANY}")


@pytest.mark.parametrize("command", UNCHANGED)
@pytest.mark.parametrize("spec", [PODMAN, DOCKER, AUTO], ids=["podman", "docker", "auto"])
def test_host_level_and_unknown_commands_stay(command: str, spec: HostSpec) -> None:
    assert adapt(command, spec) == command


@pytest.mark.parametrize(
    "spec",
    [
        None,
        HostSpec("c", service_manager="process"),
        HostSpec("c", service_manager="systemd"),
        HostSpec("c", service_manager="systemd", container_engine="podman"),
    ],
    ids=["no-spec", "process", "systemd", "systemd-engine"],
)
def test_process_and_systemd_hosts_get_every_command_byte_identical(
    spec: HostSpec | None,
) -> None:
    commands = [s.run for p in PROCS.values() for s in p.steps if s.run]
    commands += [c for c, _, _ in TABLE] + UNCHANGED
    assert len(commands) > 150
    for cmd in commands:
        assert adapt(cmd, spec) == cmd


def test_a_packaged_host_with_moved_paths_gets_its_paths_only() -> None:
    moved = HostSpec("c", service_manager="systemd", paths={"/etc/nova": "/opt/nova/etc"})
    cmd = "sudo grep x /etc/nova/nova.conf && sudo systemctl restart nova-compute"
    assert adapt(cmd, moved) == (
        "sudo grep x /opt/nova/etc/nova.conf && sudo systemctl restart nova-compute"
    )


@pytest.mark.parametrize(
    "command",
    [
        "a && b || c; d | e",
        "echo 'a && b; c' | grep \"x || y\" && z",
        "x=$(a | b; c) && echo `d | e` ; f",
        "cmd 2>&1 | tail & wait",
        "echo a\\;b ; echo \\'c",
        "( a && b ) || c",
        "sudo sh -c 'for m in $(findmnt -rn); do touch -c \"$m\" & sleep 2; done'",
        "",
    ],
)
def test_splitting_keeps_every_byte(command: str) -> None:
    assert "".join(split(command)) == command


def test_splitting_cuts_at_top_level_separators_only() -> None:
    assert split("a && b || c; d | e") == ["a ", "&&", " b ", "||", " c", ";", " d ", "|", " e"]
    assert split("echo 'a && b' | x") == ["echo 'a && b' ", "|", " x"]
    assert split('echo "a | b" ; y') == ['echo "a | b" ', ";", " y"]
    assert split("x=$(a | b) && y") == ["x=$(a | b) ", "&&", " y"]
    assert split("echo a\\;b") == ["echo a\\;b"]
    assert split("cmd 2>&1 | t") == ["cmd 2>&1 ", "|", " t"]


def test_every_procedure_command_splits_back_to_itself() -> None:
    for proc in PROCS.values():
        for s in proc.steps:
            assert "".join(split(s.run)) == s.run


def test_a_quoted_separator_does_not_start_a_command() -> None:
    cmd = "sudo grep 'x; systemctl restart nova-compute' /etc/nova/nova.conf"
    assert adapt(cmd, PODMAN) == "sudo grep 'x; systemctl restart nova-compute' " + (
        "/etc/kolla/nova-compute/nova.conf"
    )


def test_paths_keep_their_quoting() -> None:
    spec = HostSpec("c", paths={"/etc/nova": "/etc/kolla/nova compute", "/var/log/nova": "/l"})
    # bare: quoted when it needs it; inside quotes (a nested sh -c?) only a path that
    # needs no quoting replaces the old
    assert map_paths("cat /etc/nova/nova.conf", spec) == "cat '/etc/kolla/nova compute/nova.conf'"
    assert map_paths("cat '/var/log/nova/a.log'", spec) == "cat '/l/a.log'"
    assert map_paths("sh -c 'cat /var/log/nova/x'", spec) == "sh -c 'cat /l/x'"
    assert map_paths("sh -c 'cat /etc/nova/x'", spec) == "sh -c 'cat /etc/nova/x'"
    assert map_paths('cat "/etc/nova/x"', spec) == 'cat "/etc/nova/x"'
    odd = HostSpec("c", paths={"/etc/nova": "/etc/it's"})
    assert map_paths("cat /etc/nova/x", odd) == "cat '/etc/it'\"'\"'s/x'"


def test_only_whole_paths_under_a_prefix_move() -> None:
    assert map_paths("cat /etc/nova-other/x /etc/novax", PODMAN) == (
        "cat /etc/nova-other/x /etc/novax"
    )
    assert map_paths("cat /srv/etc/nova/x $HOME/etc/nova/x", PODMAN) == (
        "cat /srv/etc/nova/x $HOME/etc/nova/x"
    )
    assert map_paths("ls /etc/nova", PODMAN) == "ls /etc/kolla/nova-compute"
    assert map_paths("x --config-file=/etc/nova/a.conf", PODMAN) == (
        "x --config-file=/etc/kolla/nova-compute/a.conf"
    )


@pytest.mark.parametrize(
    ("name", "container"),
    [
        ("nova-compute", "nova_compute"),
        ("nova-compute.service", "nova_compute"),
        ("openstack-nova-compute", "nova_compute"),
        ("libvirtd", "nova_libvirt"),
        ("rabbitmq-server", "rabbitmq"),
        ("mysql", "mariadb"),
        ("dbus", ""),  # the host's own
        ("apache2", ""),  # keystone's and horizon's: which is not for us to guess
        ("ceph-osd", ""),  # containers named by pattern only
        ("sshd", ""),
        ("nova-{service}", ""),
    ],
)
def test_the_container_of_a_service(name: str, container: str) -> None:
    assert container_of(name) == container


def test_nova_009_renders_kolla_s_restart_for_compute2_only() -> None:
    proc = PROCS["NOVA-009"]
    found = [Finding("u1", "compute2", extra={"uuid": "u1", "fenced": "no"})]
    hosts = {"compute2": PODMAN, "compute1": HostSpec("compute1", service_manager="process")}
    cmds = [c for s in render(proc, found, hosts=hosts) for c in s.commands]
    assert "ssh compute2 -- 'sudo systemctl restart kolla-nova_compute-container'" in cmds
    plain = [c for s in render(proc, found) for c in s.commands]
    assert "ssh compute2 -- 'sudo systemctl restart nova-compute'" in plain
    other = [Finding("u1", "compute1", extra={"uuid": "u1", "fenced": "no"})]
    assert [c for s in render(proc, other, hosts=hosts) for c in s.commands] == [
        c.replace("compute2", "compute1") for c in plain
    ]


def test_cinder_004_runs_virsh_in_nova_libvirt() -> None:
    found = [Finding("v", "compute2", extra={"mapping": "missing", "domain": "instance-00000004"})]
    cmds = [
        c
        for s in render(PROCS["CINDER-004"], found, hosts={"compute2": PODMAN})
        for c in s.commands
    ]
    assert (
        "ssh compute2 -- 'sudo podman exec nova_libvirt virsh -r domblklist instance-00000004'"
        in cmds
    )


def test_the_host_a_step_names_is_the_one_adapted_to() -> None:
    step = Step("t", run="sudo systemctl restart nova-compute", at="host", host_from="builder")
    values = {"host": "compute1", "builder": "compute2"}
    hosts = {"compute1": HostSpec("compute1"), "compute2": PODMAN}
    assert command_line(step, values, hosts) == (
        "ssh compute2 -- 'sudo systemctl restart kolla-nova_compute-container'"
    )
    operator = Step("t", run="sudo systemctl restart nova-compute")  # the operator's shell
    assert command_line(operator, values, hosts) == "sudo systemctl restart nova-compute"


def test_texts_guards_and_historical_commands_are_not_rewritten() -> None:
    step = Step(
        "restart nova-compute",
        run="sudo systemctl restart nova-compute",
        at="host",
        historical="sudo systemctl restart nova-compute",
        guard="only when systemctl restart nova-compute is safe",
    )
    proc = PROCS["NOVA-009"].__class__("X-001", "t", "normal", "w", "g", (step,), source="test")
    (rendered,) = render(proc, [Finding(host="compute2")], hosts={"compute2": PODMAN})
    assert rendered.text == ("restart nova-compute",)
    assert rendered.historical == ("sudo systemctl restart nova-compute",)
    assert rendered.guard == ("only when systemctl restart nova-compute is safe",)
    assert rendered.commands == (
        "ssh compute2 -- 'sudo systemctl restart kolla-nova_compute-container'",
    )


def test_the_report_files_carry_the_adapted_commands() -> None:
    proc = PROCS["NOVA-009"]
    entry = _entry(proc, [Finding("u1", "compute2", extra={"uuid": "u1", "fenced": "no"})])
    hosts = {"compute2": DOCKER}
    want = "ssh compute2 -- 'sudo docker restart nova_compute'"
    assert f"$ {want}" in procedure_text(
        proc, proc.id, entry.findings, hosts=hosts, tier=entry.tier
    )
    assert want in script([entry], PROCS, {}, hosts).splitlines()
    data = summary_data([entry], PROCS, {}, hosts)
    assert want in [c for s in data["checks"][0]["steps"] for c in s["commands"]]
    assert want not in script([entry], PROCS, {})  # no inventory: as written


# -- hostile findings on a container host: the plan stays valid, quoted shell ------------


def _hosts_for_hostile(spec: HostSpec) -> dict[str, HostSpec]:
    return {v: spec for v in HOSTILE}


@pytest.fixture(scope="module", params=["podman", "docker", ""], ids=["podman", "docker", "auto"])
def kolla_plan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    hosts = _hosts_for_hostile(kolla(request.param))
    text = script(_all_entries(), PROCS, {"phase": "post-reboot"}, hosts)
    assert "kolla-nova_compute-container" in text or "restart nova_compute" in text
    path = tmp_path_factory.mktemp("plan") / "remediation.sh"
    path.write_text(text)
    return path


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_a_kolla_plan_with_hostile_findings_parses(kolla_plan: Path) -> None:
    result = subprocess.run(
        ["bash", "-n", str(kolla_plan)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_sourcing_a_kolla_plan_never_runs_a_hostile_value(kolla_plan: Path, tmp_path: Path) -> None:
    body = kolla_plan.read_text().replace("\nexit 1\n", "\n", 1)
    assert _source_in_sandbox(body, tmp_path) == []
    assert not [n for n in (tmp_path / "bin").iterdir() if MARK in n.name]


@pytest.mark.parametrize("engine", ["podman", "docker", ""])
def test_hostile_values_stay_quoted_on_a_kolla_host(engine: str) -> None:
    hosts = _hosts_for_hostile(kolla(engine))
    hostile = ["$(echo", "`echo", "a;b", "&& c", "| d", "storage1,", "-oProxyCommand", "{uuid}"]
    commands = [
        c
        for p in PROCS.values()
        for s in render(p, _hostile_findings(p), hosts=hosts)
        for c in s.commands
    ]
    adapted = [
        c for c in commands if "kolla-nova_" in c or "exec nova_" in c or " nova_compute" in c
    ]
    assert len(adapted) > 20
    for cmd in commands:
        for level in (cmd, *_remote(cmd)):
            bare = _unquoted(level)
            assert not [h for h in hostile if h in bare], f"unquoted hostile value in: {cmd}"
        for level in _remote(cmd):
            shlex.split(level)  # every remote line is still well-quoted


def test_a_finding_s_host_is_found_by_its_short_name_too() -> None:
    hosts = {"compute2": PODMAN, "compute1": HostSpec("compute1")}
    assert spec_for(hosts, "compute2") is PODMAN
    assert spec_for(hosts, "compute2.example.org") is PODMAN  # nova's hypervisor hostname
    assert spec_for(hosts, "compute2@lvm#pool") is PODMAN
    assert spec_for(hosts, "compute3") is None
    assert spec_for(hosts, "") is None
    assert spec_for(None, "compute2") is None
    twins = {"a.one": PODMAN, "a.two": DOCKER}
    assert spec_for(twins, "a.three") is None  # which one? not for us to guess
