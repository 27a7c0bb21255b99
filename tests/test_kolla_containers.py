"""kolla-style container hosts: the ``containers`` read on real podman outputs (and
docker's documented fields), the judgement of each container, image drift, and the reads
whose tool lives in a container (virsh, qemu-img). No lab, no podman needed: the outputs
were recorded (``tests/samples/kolla/README.md``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from afterboot.checks.findings import Finding
from afterboot.domains import containers as kc
from afterboot.domains import services as suite
from afterboot.domains.beforeafter import host_services
from afterboot.errors import InputError
from afterboot.inventory.load import load_inventory
from afterboot.inventory.model import HostSpec
from afterboot.procedures import runbook
from afterboot.reads import hostreads
from afterboot.verdict.evidence import _containers, collect_container_logs, load_limits
from tests.test_deployers import MULTINODE

SAMPLES = Path(__file__).resolve().parent / "samples" / "kolla"
HEALTHY = (SAMPLES / "containers-podman-healthy.txt").read_text()
FAULTS = (SAMPLES / "containers-podman-faults.txt").read_text()
PARTIAL = (SAMPLES / "containers-podman-partial-upgrade.txt").read_text()
DOCKER = (SAMPLES / "containers-docker.txt").read_text()
# the recorded reads' clock: a few seconds after the last container started
RECORDED_AT = kc.timestamp("2026-11-29T08:55:40Z")
KOLLA_PATHS = {
    "/etc/nova": "/etc/kolla/nova-compute",
    "/etc/libvirt": "/etc/kolla/nova-libvirt",
    "/var/log/nova": "/var/log/kolla/nova",
    "/var/log/libvirt": "/var/log/kolla/libvirt",
    "/var/lib/nova": "/var/lib/containers/storage/volumes/nova_compute/_data",
}


def kolla_host(engine: str = "podman", **kw: object) -> HostSpec:
    return HostSpec(
        name="compute2",
        roles=("compute",),
        service_manager="container",
        container_engine=engine,
        paths=KOLLA_PATHS,
        **kw,  # type: ignore[arg-type]
    )


def test_podman_s_inspect_is_parsed_field_by_field() -> None:
    read = kc.parse(FAULTS)
    assert read.engine == "podman"
    assert sorted(read.containers) == [
        "cron", "fluentd", "kolla_toolbox", "nova_compute", "nova_libvirt", "nova_ssh",
    ]  # fmt: skip
    lib = read.containers["nova_libvirt"]
    assert (lib.status, lib.health, lib.exit_code, lib.restarts) == ("running", "unhealthy", 0, 0)
    assert lib.health_output == (
        "error: failed to connect to the hypervisor / error: Failed to connect socket to "
        "'/var/run/libvirt/virtqemud-sock': No such file or directory"
    )
    assert lib.health_test == "virsh version --daemon"
    assert lib.image_name == "quay.io/openstack.kolla/nova-libvirt:2023.1-debian-bookworm"
    assert lib.image == "680e14fe87c76e4d2067b7267a5c3a832c82b59c7aa6bf841c3c7facbdd067fb"
    assert lib.started_at == pytest.approx(kc.timestamp("2026-11-29T08:54:48.047048Z"))
    assert read.containers["cron"].exit_code == 1
    assert read.containers["fluentd"].restarts == 47
    assert read.containers["nova_ssh"].started_at is None  # podman's zero time: never started
    assert read.containers["kolla_toolbox"].status == "paused"
    assert read.containers["nova_compute"].health_test == "healthcheck_port nova-compute 5672"
    assert read.units == {}


def test_docker_s_fields_are_read_the_same_way() -> None:
    read = kc.parse(DOCKER)
    assert read.engine == "docker"
    comp = read.containers["nova_compute"]  # docker's "/nova_compute"
    assert comp.image.startswith("9d2a1bc7")  # "sha256:" dropped
    assert comp.health_output == "Non-zero return code from ss -ntp for nova-compute on port 5672"
    assert comp.started_at == kc.timestamp("2026-11-29 08:52:04.840677561 +0000 UTC")
    assert read.containers["nova_libvirt"].status == "restarting"
    assert read.containers["cron"].health == ""
    assert all("none" not in k for k in read.images)


def test_timestamps_of_both_engines_and_zones() -> None:
    utc = kc.timestamp("2026-11-29T08:52:04Z")
    assert utc is not None
    assert kc.timestamp("2026-11-29 08:52:04.000000001 +0000 UTC") == pytest.approx(utc)
    assert kc.timestamp("2026-11-29 09:52:04.5 +0100 CET") == pytest.approx(utc + 0.5)
    assert kc.timestamp("2026-11-29T03:52:04-05:00") == pytest.approx(utc)
    assert kc.timestamp("0001-01-01T00:00:00Z") is None
    assert kc.timestamp("") is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("kolla/nova-compute:zed", "docker.io/kolla/nova-compute:zed"),
        ("registry:4000/kolla/nova-compute", "registry:4000/kolla/nova-compute:latest"),
        ("localhost/x:1", "localhost/x:1"),
        ("quay.io/openstack.kolla/cron:2023.1", "quay.io/openstack.kolla/cron:2023.1"),
        ("quay.io/x/y@sha256:abc", "quay.io/x/y@sha256:abc"),
    ],
)
def test_image_names_as_both_engines_list_them(name: str, key: str) -> None:
    assert kc.image_key(name) == key


def test_the_read_before_this_one_still_parses() -> None:
    read = kc.parse("nova_compute running 3 unhealthy\n/rabbitmq running 0 \n")
    assert read.containers["nova_compute"].health == "unhealthy"
    assert read.containers["nova_compute"].restarts == 3
    assert read.containers["rabbitmq"].status == "running"


@dataclass
class FakeRemote:
    spec: HostSpec
    outputs: dict[str, str]
    reads: dict[str, object] = field(default_factory=dict)  # no "blocked" read: none hung
    name: str = "compute2"

    def read(self, name: str, *, again: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 0, self.outputs[name], "")


# a process table with no service's process in it (ps never prints an empty one)
INIT_ONLY = "    1     0  9000 Ss   /sbin/init\n"


def states(
    text: str, names: list[str], now: float | None = RECORDED_AT, ps: str = INIT_ONLY
) -> dict[str, suite.ServiceState]:
    remote = FakeRemote(
        kolla_host(services=("cron", "fluentd", "nova-ssh", "kolla-toolbox")),
        {"containers": text, "clock": f"{now} 100.0", "processes": f"top 1\n{ps}"},
    )
    return suite.service_states(remote, names)  # type: ignore[arg-type]


def test_a_healthy_kolla_compute_host_runs_its_services() -> None:
    got = states(HEALTHY, ["libvirtd", "nova-compute"])
    assert {n: s.running for n, s in got.items()} == {
        "libvirtd": True,
        "nova-compute": True,
    }
    assert got["nova-compute"].detail == "nova_compute running, healthy"


@pytest.mark.parametrize(
    ("service", "state", "detail"),
    [
        ("libvirtd", "unhealthy", "nova_libvirt unhealthy: error: failed to connect"),
        ("cron", "exited", "cron exited (exit code 1)"),
        ("fluentd", "restarting", "fluentd restarting (47 restarts)"),
        ("nova-ssh", "created", "nova_ssh created"),
        ("kolla-toolbox", "paused", "kolla_toolbox paused"),
        ("neutron-openvswitch-agent", "absent", "no container neutron_openvswitch_agent"),
    ],
)
def test_each_container_fault_is_named_with_its_container(
    service: str, state: str, detail: str
) -> None:
    got = states(FAULTS, [service])[service]
    assert not got.running
    assert got.state == state
    assert got.container == detail.split()[0] or state == "absent"
    assert got.detail.startswith(detail)
    about = dict(got.about)
    assert about["engine"] == "podman"
    if state == "unhealthy":
        assert about["health_check"] == "libvirtd answers virsh on its socket"


# the host's process table as ps shows a kolla compute host's (kolla's venv paths)
PS = """\
    1     0  9000 Ss   /sbin/init
 4101  4090   300 {state}   /var/lib/kolla/venv/bin/python3 /var/lib/kolla/venv/bin/nova-compute
 4102  4091   300 Sl   /usr/sbin/libvirtd --listen
"""


@pytest.mark.parametrize(("state", "running"), [("Sl", True), ("Tl", False), ("Z", False)])
def test_a_frozen_process_in_a_running_healthy_container_is_not_running(
    state: str, running: bool
) -> None:
    got = states(HEALTHY, ["nova-compute", "libvirtd"], ps=PS.format(state=state))
    assert got["libvirtd"].running
    assert got["nova-compute"].running is running
    if not running:
        assert got["nova-compute"].state == "frozen"
        assert got["nova-compute"].detail.startswith(
            "nova_compute running, but its nova-compute 1 process(es), all "
        )
    # no nova-compute process in the table at all: the container's word stands
    assert states(HEALTHY, ["nova-compute"], ps=PS.splitlines()[0])["nova-compute"].running


def test_services_on_a_kolla_host_read_containers_and_processes() -> None:
    assert hostreads.resolve("services", kolla_host()) == ("containers", "processes", "blocked")
    for manager, reads in (("systemd", ("units",)), ("process", ("processes", "blocked"))):
        spec = HostSpec(name="c1", roles=("compute",), service_manager=manager)
        assert hostreads.resolve("services", spec) == reads


def test_a_restart_count_long_ago_is_no_loop() -> None:
    later = (RECORDED_AT or 0) + 3600
    assert states(FAULTS, ["fluentd"], later)["fluentd"].running


UNITS = """Id=kolla-nova_compute-container.service
ActiveState=active
SubState=running
NRestarts={n}
ExecMainStartTimestamp=@{started}

Id=dbus.service
ActiveState={dbus}
SubState=running
NRestarts=0
"""


def with_units(text: str, **values: object) -> str:
    return text.rstrip("\n") + "\n" + UNITS.format(**values)


def test_a_kolla_unit_restarting_its_container_is_a_loop() -> None:
    """podman: kolla's unit restarts the container (the engine's count stays 0)."""
    now = RECORDED_AT or 0
    text = with_units(HEALTHY, n=9, started=int(now - 20), dbus="active")
    got = states(text, ["nova-compute", "dbus"])
    assert got["nova-compute"].state == "restarting"
    assert "kolla-nova_compute-container.service: 9 restarts" in got["nova-compute"].detail
    assert got["dbus"].running  # the host's own, by its unit
    calm = with_units(HEALTHY, n=9, started=int(now - 7200), dbus="failed")
    got = states(calm, ["nova-compute", "dbus"])
    assert got["nova-compute"].running
    assert not got["dbus"].running
    assert got["dbus"].unit == "dbus.service"


def test_docker_restarting_and_unhealthy() -> None:
    got = states(DOCKER, ["libvirtd", "nova-compute"])
    assert got["libvirtd"].state == "restarting"
    assert got["nova-compute"].state == "unhealthy"
    assert dict(got["nova-compute"].about)["health_check"] == (
        "nova-compute holds a TCP connection to port 5672 (5672: RabbitMQ)"
    )


def test_a_container_on_an_image_its_name_no_longer_gives_is_stale() -> None:
    (drift,) = kc.stale(kc.parse(FAULTS))
    assert drift.container.name == "nova_compute"
    assert drift.actual.startswith("680e14fe87c7")
    assert drift.expected.startswith("b1fdfc373712")
    assert kc.stale(kc.parse(HEALTHY)) == []
    assert kc.stale(kc.parse(PARTIAL)) == []  # recreated from the new image: no drift
    assert kc.stale(kc.parse(DOCKER)) == []


def test_a_partial_upgrade_names_the_containers_on_the_odd_tag() -> None:
    (drift,) = kc.release_tags(kc.parse(PARTIAL)).drift
    assert drift.container.name == "nova_libvirt"
    assert (drift.actual, drift.expected) == ("2024.1-debian-bookworm", "2023.1-debian-bookworm")
    assert kc.release_tags(kc.parse(HEALTHY)).drift == []
    assert kc.release_tags(kc.parse(FAULTS)).drift == []


def test_before_after_reads_the_new_read() -> None:
    def doc(text: str) -> dict[str, object]:
        return {"hosts": {"compute2": {"reads": {"containers": {"rc": 0, "data": text}}}}}

    said = {d.subject: d.now for d in host_services(doc(HEALTHY), doc(FAULTS)).differences}
    # fluentd's loop is caught running: DIFF-004 compares states, SVC-* judge loops
    assert said == {"cron": "exited", "nova_libvirt": "running unhealthy", "nova_ssh": "created"}


# -- reads whose tool lives in a container -----------------------------------------------


def test_virsh_and_qemu_img_run_in_nova_libvirt() -> None:
    spec = kolla_host()
    domains = hostreads.READS["domains"].command(spec)
    assert domains.startswith('rt=podman; "$rt" exec nova_libvirt sh -c \'n=$(virsh -r list')
    assert "exec nova_libvirt" in hostreads.READS["domain_xmls"].command(spec)
    backing = hostreads.READS["backing_files"].command(spec)
    assert '"$rt" exec nova_libvirt sh -c' in backing  # qemu's view of the disks
    assert "/var/lib/nova/instances/*/disk" in backing  # the container's view
    assert "/var/lib/containers" not in backing
    # instance_dirs is read on the host, through the mapping
    assert hostreads.READS["instance_dirs"].script(spec) == (
        "[ -e /var/lib/containers/storage/volumes/nova_compute/_data/instances ] || exit 0; "
        "ls -1 /var/lib/containers/storage/volumes/nova_compute/_data/instances"
    )
    # without container_engine: whichever engine answers
    auto = hostreads.READS["domains"].command(kolla_host(engine=""))
    assert "for e in docker podman; do" in auto
    assert '"$rt" exec nova_libvirt' in auto


def test_a_moved_instances_path_is_read_in_the_container_where_nova_sees_it() -> None:
    moved = "/var/lib/containers/storage/volumes/nova_compute/_data/vms"
    spec = kolla_host()
    spec = HostSpec(**{**spec.__dict__, "paths": {**KOLLA_PATHS, hostreads.INSTANCES_DIR: moved}})
    assert hostreads.container_path(spec, moved) == "/var/lib/nova/vms"
    assert "for d in /var/lib/nova/vms/*/disk" in hostreads.READS["backing_files"].command(spec)


@pytest.mark.parametrize("manager", ["process", "systemd"])
def test_hosts_not_in_containers_run_the_tools_themselves(manager: str) -> None:
    spec = HostSpec(name="c1", roles=("compute",), service_manager=manager)
    for read in ("domains", "domain_xmls", "backing_files"):
        text = hostreads.READS[read].command(spec)
        assert "exec" not in text, read
        assert "rt=" not in text, read
    assert hostreads.READS["domains"].command(spec).startswith("n=$(virsh -r list --all --name)")


def test_the_read_script_runs_against_a_fake_engine(tmp_path: Path) -> None:
    """The composed snippet, run by sh, with a podman that answers as the real one did."""
    fake = tmp_path / "podman"
    lines = FAULTS.split("@@afterboot-part images\n")
    inspect, images = lines[0].split("\n", 1)[1], lines[1].split("@@afterboot-part units")[0]
    (tmp_path / "inspect").write_text(inspect)
    (tmp_path / "images").write_text(images)
    fake.write_text(
        "#!/bin/sh\n"
        f'case "$1" in ps) echo a1; echo b2 ;; inspect) cat {tmp_path}/inspect ;; '
        f"images) cat {tmp_path}/images ;; *) exit 125 ;; esac\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    out = subprocess.run(
        ["sh", "-c", kc.script(kolla_host())], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert kc.parse(out) == kc.parse(FAULTS)


# -- what the operator reads ---------------------------------------------------------------


def _commands(check: str, **extra: str) -> str:
    finding = runbook.Finding(
        subject=extra.get("service", "x"), host="compute2", extra={"manager": "container", **extra}
    )
    steps = runbook.render(runbook.load()[check], [finding])
    return "\n".join([*(c for s in steps for c in s.commands), *(t for s in steps for t in s.text)])


def test_an_unhealthy_container_is_not_told_to_start() -> None:
    text = _commands(
        "SVC-003",
        service="libvirtd",
        container="nova_libvirt",
        container_state="unhealthy",
        engine="podman",
        project="nova",
        health_check="libvirtd answers virsh on its socket",
        health_output="error: failed to connect to the hypervisor",
    )
    assert "sudo podman inspect nova_libvirt --format '\"'\"'{{json .State.Health}}'" in text
    assert "libvirtd answers virsh on its socket" in text
    assert "error: failed to connect to the hypervisor" in text
    assert "systemctl start" not in text
    assert "systemctl restart" not in text
    assert "dbus" not in text  # the process host's chain is not a kolla host's


@pytest.mark.parametrize(
    ("state", "engine", "wanted"),
    [
        ("frozen", "podman", "sudo podman restart cron"),
        ("exited", "podman", "sudo systemctl start kolla-cron-container"),
        ("exited", "docker", "sudo docker start cron"),
        (
            "restarting",
            "podman",
            "kolla-ansible -i <inventory> reconfigure --limit compute2 --tags cron",
        ),
        ("paused", "podman", "sudo podman unpause cron"),
        ("absent", "docker", "kolla-ansible -i <inventory> deploy --limit compute2 --tags cron"),
    ],
)
def test_container_states_get_kolla_s_remedy(state: str, engine: str, wanted: str) -> None:
    text = _commands(
        "SVC-003", container="cron", container_state=state, engine=engine, project="cron"
    )
    assert wanted in text
    if state != "absent":
        assert f"sudo {engine} logs --tail 60 cron" in text


def test_process_and_systemd_findings_render_as_before() -> None:
    for manager in ("process", "systemd", ""):
        text = _commands("SVC-003", manager=manager, unit="libvirtd.service", unit_state="failed")
        assert "kolla" not in text
        assert "{{" not in text
        assert "sudo systemctl restart libvirtd" in text


def test_kolla_001_and_002_recreate_with_kolla_ansible_under_a_guard() -> None:
    procs = runbook.load()
    for check in ("KOLLA-001", "KOLLA-002"):
        finding = runbook.Finding(
            "nova_compute",
            "compute2",
            extra={
                "container": "nova_compute",
                "engine": "podman",
                "project": "nova",
                "image": "quay.io/openstack.kolla/nova-compute:2023.1",
                "tag": "2023.1",
            },
        )
        steps = runbook.render(procs[check], [finding])
        (upgrade,) = [s for s in steps if any("kolla-ansible" in c for c in s.commands)]
        assert upgrade.commands == (
            "kolla-ansible -i <inventory> upgrade --limit compute2 --tags nova",
        )
        assert upgrade.guard
        assert upgrade.guard[0].startswith("only ")


def test_kolla_ansible_is_given_the_inventory_the_host_came_from() -> None:
    """A kolla-ansible inventory read by the run: its commands name it (-i), quoted;
    elsewhere (an afterboot inventory) it stays for the operator to fill."""
    inv = load_inventory(MULTINODE)
    finding = runbook.Finding(
        "nova_compute",
        "cmp01.cloud.example.org",
        extra={"container": "nova_compute", "engine": "docker", "project": "nova", "tag": "1"},
    )
    steps = runbook.render(runbook.load()["KOLLA-002"], [finding], hosts=inv.hosts)
    (upgrade,) = [c for s in steps for c in s.commands if c.startswith("kolla-ansible")]
    assert upgrade == (
        f"kolla-ansible -i {MULTINODE} upgrade --limit cmp01.cloud.example.org --tags nova"
    )


# -- the inventory says which engine --------------------------------------------------------


def test_the_inventory_names_the_container_engine(tmp_path: Path) -> None:

    path = tmp_path / "inventory.yaml"
    path.write_text(
        "defaults: {service_manager: container}\n"
        "hosts:\n"
        "  compute2: {roles: [compute], container_engine: podman}\n"
        "  compute3: {roles: [compute]}\n"
    )
    inv = load_inventory(path)
    assert inv.hosts["compute2"].container_engine == "podman"
    assert inv.hosts["compute3"].container_engine == ""
    assert kc.script(inv.hosts["compute2"]).startswith("rt=podman; ")


def test_an_unknown_container_engine_is_one_line_naming_file_and_line(tmp_path: Path) -> None:

    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  compute2:\n    roles: [compute]\n    container_engine: lxc\n")
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    message = str(exc.value)
    assert message.startswith(f"{path}:4: host compute2: unknown container_engine 'lxc'")
    assert "\n" not in message


def test_kolla_s_container_engine_variable_is_read_from_an_ansible_inventory(
    tmp_path: Path,
) -> None:

    path = tmp_path / "multinode"
    path.write_text(
        "[compute]\ncompute2 afterboot_service_manager=container\ncompute3\n"
        "[compute:vars]\nkolla_container_engine=podman\n"
    )
    inv = load_inventory(path)
    assert inv.hosts["compute2"].container_engine == "podman"
    assert inv.hosts["compute2"].service_manager == "container"


# -- evidence ---------------------------------------------------------------------------------


class _Engine:
    """A kolla host whose engine prints a container's output; records what was asked."""

    name = "compute2"

    def __init__(self, text: str) -> None:
        self.text, self.asked = text, []

    def run(self, fmt: str, *args: str) -> object:
        from types import SimpleNamespace

        self.asked.append(fmt % args)
        return SimpleNamespace(rc=0, stdout=self.text)


def test_the_output_of_a_failing_container_is_evidence() -> None:
    from types import SimpleNamespace

    found = [
        Finding("cron", "compute2", extra={"container": "cron", "container_state": "exited",
                                           "engine": "podman"}),
        Finding("nova_compute", "compute2", extra={"container": "nova_compute",
                                                   "engine": "podman"}),  # KOLLA-001: runs
        Finding("cron", "compute3", extra={"container": "cron", "container_state": "exited"}),
    ]  # fmt: skip
    assert _containers(found, "compute2") == [("podman", "cron")]
    host = _Engine((SAMPLES / "podman-logs-cron.txt").read_text())
    item = SimpleNamespace(funcargs={"host": host})
    limits = load_limits()
    (section,) = collect_container_logs(item, [("podman", "cron")], "compute2", limits)  # type: ignore[arg-type]
    assert host.asked == ["podman logs --tail 60 cron 2>&1"]
    assert section[0].startswith("podman logs cron on compute2 (last 60 lines")
    assert "crond: can not open /etc/crontab" in section[0]
    # an engine the finding does not name as docker or podman is never run
    assert collect_container_logs(item, [("sh -c x", "cron")], "compute2", limits) == []  # type: ignore[arg-type]


def test_rabbitmqctl_runs_in_the_engine_the_inventory_names() -> None:
    spec = HostSpec(name="ctl", roles=("messaging",), service_manager="container")
    before = "$(command -v docker || command -v podman) exec rabbitmq rabbitmqctl -q"
    assert hostreads.READS["rabbitmq_vhosts"].script(spec).startswith(before)
    named = HostSpec(**{**spec.__dict__, "container_engine": "podman"})
    assert (
        hostreads.READS["rabbitmq_vhosts"]
        .script(named)
        .startswith("podman exec rabbitmq rabbitmqctl -q")
    )


def test_a_health_check_s_output_is_redacted_and_short() -> None:
    log = (
        '[{"ExitCode":1,"Output":"curl: (7) http://keystone:s3cretpw@10.0.0.1:5000/v3 '
        "refused\\n" + "x" * 400 + '"}]'
    )
    line = "\t".join(["glance_api", "running", "0", "0", "", "", "", "unhealthy", log, ""])
    c = kc.parse(line + "\n").containers["glance_api"]
    assert "s3cretpw" not in c.health_output
    assert c.health_output.startswith("curl: (7) http://keystone:")
    assert len(c.health_output) == kc.HEALTH_OUTPUT_CHARS
