"""Evidence that names the cause: log signatures (procedures/_signatures.yaml), the
``cause:`` line above the tail, the fitting procedure step first, and the cause in JUnit,
summary.json and remediation.sh."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

import pytest

from afterboot.checks.findings import Finding
from afterboot.procedures.runbook import ProcedureError, load, render
from afterboot.procedures.signatures import find_cause, parse
from afterboot.procedures.signatures import load as load_signatures
from afterboot.procedures.text import procedure_text
from afterboot.reports.reportfiles import script, summary_data
from afterboot.snapshot import ReadResult
from afterboot.verdict.entries import Entry
from afterboot.verdict.evidence import (
    Limits,
    _units,
    collect_journals,
    host_offset,
    load_limits,
    most_specific,
    present_life,
    request_ids,
    section,
    writer_starts,
)

PROCS = load()
SIGS = load_signatures()
LIMITS = Limits(60, 65536, 3, (re.compile(r"\bDEBUG\b"),), SIGS)

# A nova-compute that cannot log in to RabbitMQ: the generic retry noise, the 60-line
# traceback, and the cause in its last line.
_TRACE = [
    '  File "/usr/lib/python3/dist-packages/oslo_messaging/_drivers/impl_rabbit.py", '
    f"line {400 + n}, in ensure_connection\n    self._connection.ensure_connection("
    for n in range(28)
]
ACCESS_REFUSED_LOG = "\n".join(
    [
        "2026-11-29 02:10:01.001 2211 INFO nova.service [-] Starting compute node (version 29.0.1)",
        "2026-11-29 02:10:01.120 2211 DEBUG oslo_concurrency.lockutils [-] Lock acquired",
        "2026-11-29 02:10:02.300 2211 ERROR oslo.messaging._drivers.impl_rabbit [-] "
        "Connection failed: [Errno 111] ECONNREFUSED (retrying in 1.0 seconds)",
        "2026-11-29 02:10:04.411 2211 CRITICAL nova [-] Unhandled error: "
        "amqp.exceptions.AccessRefused: (0, 0): (403) ACCESS_REFUSED - Login was refused "
        "using authentication mechanism PLAIN. For details see the broker logfile.",
        "2026-11-29 02:10:04.411 2211 ERROR nova Traceback (most recent call last):",
        *[
            f"2026-11-29 02:10:04.411 2211 ERROR nova {line}"
            for t in _TRACE
            for line in t.split("\n")
        ],
        "2026-11-29 02:10:04.412 2211 ERROR nova amqp.exceptions.AccessRefused: (0, 0): (403) "
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details "
        "see the broker logfile.",
    ]
)

XFS_LOG = "\n".join(
    [
        "Nov 29 02:01:10 st-01 kernel: blk_update_request: I/O error, dev sdc, sector 19535",
        'Nov 29 02:01:10 st-01 kernel: XFS (sdc): metadata I/O error in "xfs_buf_ioend+0x1b2"'
        " at daddr 0x74706d00 len 8 error 5",
        "Nov 29 02:01:10 st-01 kernel: XFS (sdc): Log I/O Error Detected. Shutting down filesystem",
        "Nov 29 02:01:10 st-01 kernel: XFS (sdc): Please unmount the filesystem and rectify the"
        " problem(s)",
        "Nov 29 02:01:41 st-01 object-server: ERROR __call__ error with PUT /sdc/1021/AUTH_x/c/o"
        " : [Errno 5] Input/output error",
    ]
)


EXAMPLES = [
    (
        "ERROR oslo.messaging._drivers.impl_rabbit AMQPConnectionError: "
        "(0, 0): (403) ACCESS_REFUSED",
        "amqp-access-refused",
    ),
    (  # the lab's nova-compute with RabbitMQ's vhost / down: no login refused, the vhost
        "ERROR oslo.messaging._drivers.impl_rabbit [-] Unable to connect to AMQP server on "
        "10.77.0.10:5672 after inf tries: Connection.open: (541) INTERNAL_ERROR - access to "
        "vhost '/' refused for user 'openstack': vhost '/' is down",
        "amqp-vhost-down",
    ),
    (
        "ERROR keystone sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) "
        "(1045, \"Access denied for user 'keystone'@'10.0.0.11' (using password: YES)\")",
        "db-access-denied",
    ),
    ("ERROR glance OSError: [Errno 28] No space left on device", "no-space"),
    ("2026-11-29 rabbit: disk resource limit alarm set on node rabbit@ctl-01", "no-space"),
    ("kernel: XFS (sdb): Filesystem has been shut down due to log error", "xfs-shutdown"),
    ("kernel: blk_update_request: I/O error, dev sdb, sector 2048", "io-error"),
    (
        "ERROR nova keystoneauth1.exceptions.connection.SSLError: SSL exception connecting "
        "to https://ctl:5000/v3/auth/tokens: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: certificate has expired",
        "certificate",
    ),
    (
        "error : virDBusGetSystemBus:109 : internal error: Failed to connect to socket "
        "/var/run/dbus/system_bus_socket: No such file or directory",
        "dbus-down",
    ),
    (
        "libvirt.libvirtError: Failed to connect socket to "
        "'/var/run/libvirt/libvirt-sock': No such file or directory",
        "libvirt-down",
    ),
    (
        "ERROR oslo.messaging._drivers.impl_rabbit [-] AMQP server on 10.0.0.11:5672 is "
        "unreachable: [Errno 111] ECONNREFUSED. Trying again in 1 seconds.",
        "amqp-unreachable",
    ),
    (
        "ERROR nova pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server "
        "on '10.0.0.12' ([Errno 111] Connection refused)\")",
        "db-unreachable",
    ),
    (
        "ERROR nova keystoneauth1.exceptions.connection.ConnectFailure: Unable to establish "
        "connection to http://ctl-01:5000/v3/auth/tokens: HTTPConnectionPool(host='ctl-01', "
        "port=5000): Max retries exceeded ([Errno 111] Connection refused)",
        "connection-refused",
    ),
    ("kernel: Out of memory: Killed process 2211 (nova-compute) total-vm:2GB", "out-of-memory"),
    (
        "ERROR nova.servicegroup.drivers.db pymysql.err.OperationalError: (1290, 'The MariaDB "
        "server is running with the --read-only option so it cannot execute this statement')",
        "db-read-only",
    ),
    (
        "ERROR keystone.token.providers.fernet.core Either [fernet_tokens] key_repository does "
        "not exist or Keystone does not have sufficient permission to access it: "
        "/etc/keystone/fernet-keys/",
        "fernet-keys",
    ),
    (
        "WARNING keystonemiddleware.auth_token [-] Unable to validate token: "
        "pymemcache.exceptions.MemcacheUnexpectedCloseError",
        "memcache-unreachable",
    ),
    (
        "ERROR cinder.volume.drivers.rbd rados.TimedOut: [errno 110] RADOS timed out "
        "(error connecting to the cluster)",
        "ceph-timeout",
    ),
    (  # swift's proxy (2.30 and later) when a storage host's device is unmounted or full
        "Dec  5 19:45:10 controller proxy-server: Node will be error limited for 60.00s: "
        "10.77.0.32:6200/d2, error: ERROR Insufficient Storage (txn: tx3f2a)",
        "swift-507",
    ),
    (  # swift's proxy when an account server refuses it (swift.common.utils.logs)
        "Dec  6 01:40:10 controller proxy-server: ERROR with Account server "
        "10.77.0.31:6202/d1 re: Trying to HEAD /v1/AUTH_ab: Connection refused (txn: tx1)",
        "swift-backend-down",
    ),
    (  # the lab's nova-compute when neutron-server answered 500 at its start
        "2026-12-05 08:36:52.707 1094 ERROR nova.compute.manager "
        "neutronclient.common.exceptions.InternalServerError: Request Failed: internal "
        "server error while processing your request.",
        "api-5xx",
    ),
]


@pytest.mark.parametrize(("line", "cause"), EXAMPLES)
def test_each_signature_names_its_cause(line: str, cause: str) -> None:
    found = find_cause(f"INFO something healthy\n{line}\nINFO after", SIGS)
    assert found is not None
    assert found.id == cause


def test_every_signature_has_an_example_above() -> None:
    assert {cause for _, cause in EXAMPLES} == {s.id for s in SIGS}


def test_the_proxy_names_the_storage_node_that_answered_507() -> None:
    """The cause of a proxy's failure sits in another service: the object server it names
    (its address and device), older swift's form too."""
    for line in (
        "proxy-server: Node will be error limited for 60.00s: 10.77.0.32:6200/d2, error: "
        "ERROR Insufficient Storage",
        "proxy-server: ERROR Insufficient Storage 10.77.0.32:6200/d2 (txn: tx3f2a)",
    ):
        found = find_cause(line, SIGS)
        assert found is not None
        assert found.id == "swift-507"
        assert "10.77.0.32:6200/d2 answered 507" in found.text


def test_cause_text_takes_the_named_groups() -> None:
    line = "(1045, \"Access denied for user 'nova'@'10.0.0.5' (using password: YES)\")"
    found = find_cause(line, SIGS)
    assert found is not None
    assert "login of nova" in found.text
    xfs = find_cause(XFS_LOG, SIGS)
    assert xfs is not None
    assert (xfs.id, "sdc" in xfs.text) == ("xfs-shutdown", True)  # before the generic EIO


def test_a_60_line_traceback_gets_one_cause_line_above_its_tail() -> None:
    assert len(ACCESS_REFUSED_LOG.splitlines()) >= 60
    text, cause = section("/var/log/nova/nova-compute.log on cmp-01", ACCESS_REFUSED_LOG, LIMITS)
    assert cause is not None
    assert cause.id == "amqp-access-refused"
    first, second = text.splitlines()[:2]
    assert first.startswith("cause: RabbitMQ refused the service's login (ACCESS_REFUSED)")
    assert "ACCESS_REFUSED - Login was refused" in first
    assert second.startswith("/var/log/nova/nova-compute.log on cmp-01 (last 60 lines")
    assert "DEBUG" not in text
    assert text.count("\ncause:") == 0  # one cause line, at the top


def test_a_log_without_signature_gets_no_cause_line() -> None:
    text, cause = section("x.log on h", "INFO all good\nWARNING slow request\n", LIMITS)
    assert cause is None
    assert not text.startswith("cause:")


def test_the_fitting_step_comes_first_instead_of_the_generic_chain() -> None:
    found = [Finding(host="cmp-01")]
    generic = render(PROCS["SVC-003"], found)
    assert "dbus" in generic[0].commands[0]
    assert not any("transport_url" in c for s in generic for c in s.commands)
    fitting = render(PROCS["SVC-003"], found, ["amqp-access-refused"])
    assert "transport_url" in fitting[0].commands[0]
    assert fitting[0].cause == "amqp-access-refused"
    assert "dbus" in fitting[2].commands[0]  # the chain still follows, after


def test_steps_name_known_causes_only() -> None:
    known = {s.id for s in SIGS}
    for proc in PROCS.values():
        for step in proc.steps:
            assert set(step.cause) <= known, (proc.id, step.cause)


def test_the_cause_is_in_the_text_the_plan_and_the_summary() -> None:
    cause = "amqp-access-refused: RabbitMQ refused the service's login (ACCESS_REFUSED)"
    entry = Entry(
        "SVC-003", 4, "t::svc[cmp-01]", "cmp-01", findings=(Finding(host="cmp-01"),), cause=cause
    )
    text = procedure_text(PROCS["SVC-003"], "SVC-003", entry.findings, [cause], tier=entry.tier)
    assert "Cause: RabbitMQ refused the service's login (ACCESS_REFUSED)" in text
    assert text.index("transport_url") < text.index("dbus")
    plan = script([entry], PROCS, {})
    assert "# cause (from the logs): RabbitMQ refused" in plan
    assert plan.index("transport_url") < plan.index("dbus")
    data = summary_data([entry], PROCS, {})
    (check,) = data["checks"]
    assert check["causes"] == [cause]
    assert check["results"][0]["cause"] == cause
    assert check["steps"][0]["cause"] == "amqp-access-refused"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ({"signatures": []}, "must be a list"),
        ({"signatures": [{"id": "x"}]}, "needs id, match and cause"),
        ({"signatures": [{"id": "x", "match": "(", "cause": "c"}]}, "bad regex"),
        ({"signatures": [{"id": "Bad Id", "match": "a", "cause": "c"}]}, "lower-case"),
    ],
)
def test_bad_signatures_are_one_line_errors(yaml_text: dict, message: str) -> None:
    with pytest.raises(ProcedureError, match=message):
        parse(yaml_text)


INVENTORY = """\
defaults:
  connection: local
hosts:
  cmp-01: {roles: [compute]}
"""

CHECK = '''
import pytest

@pytest.mark.check("SVC-003", tier=4, roles=("compute",))
def test_compute_services(host):
    """d-bus, libvirtd and nova-compute run."""
    assert False, f"compute services not running on {host.name}: nova-compute (inactive)"
'''


def compute_logging(suite: pytest.Pytester, inventory: str, text: str) -> None:
    """``suite`` with ``inventory`` and a site procedure that points SVC-003's evidence at
    a nova-compute.log holding ``text``."""
    log = suite.path / "nova-compute.log"
    log.write_text(text + "\n")
    suite.makefile(".yaml", inventory=inventory)
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
        "afterboot_procedures = site\n"
    )
    suite.mkdir("site")
    (suite.path / "site" / "compute.yaml").write_text(f"SVC-003:\n  logs: [{log}]\n")


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_a_failing_check_names_the_cause_everywhere(suite: pytest.Pytester, xdist: bool) -> None:
    compute_logging(suite, INVENTORY, ACCESS_REFUSED_LOG)
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    args = [
        "--junitxml=junit.xml", "--alluredir=allure", "-p", "xdist",
        *(["-n", "2"] if xdist else []),
    ]  # fmt: skip
    result = suite.runpytest_subprocess(*args)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert re.search(r"- Evidence -+\ncause: RabbitMQ refused the service's login", out)
    assert "Cause: RabbitMQ refused" in out
    root = ET.parse(suite.path / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["cause_id"] == "amqp-access-refused"
    assert str(props["cause"]).startswith("amqp-access-refused: RabbitMQ refused")
    summary = json.loads((suite.path / "reports" / "summary.json").read_text())
    (check,) = [c for c in summary["checks"] if c["check"] == "SVC-003"]
    assert check["causes"][0].startswith("amqp-access-refused:")
    assert check["steps"][0]["cause"] == "amqp-access-refused"
    plan = (suite.path / "reports" / "remediation.sh").read_text()
    assert plan.index("transport_url") < plan.index("dbus")
    (result_file,) = (suite.path / "allure").glob("*-result.json")
    attached = {
        a["name"]: (suite.path / "allure" / a["source"]).read_text()
        for a in json.loads(result_file.read_text())["attachments"]
    }
    assert attached["Evidence"].startswith("cause: RabbitMQ refused")
    assert "Cause: RabbitMQ refused" in attached["Remediation"]
    assert "guard: only after d-bus runs" in attached["Remediation"]


def test_a_restarted_service_s_old_errors_name_no_cause() -> None:
    # the ACCESS_REFUSED of the previous process (pid 2211), then a new one (pid 3001)
    # that started cleanly and hangs: the old error is no cause of what happens now
    restarted = (
        ACCESS_REFUSED_LOG
        + "\n"
        + "\n".join(
            [
                "2026-11-29 03:00:00.001 3001 INFO nova.service [-] Starting compute node",
                "2026-11-29 03:00:01.001 3001 INFO nova.compute.manager [-] Looking for unclaimed",
            ]
        )
    )
    _, cause = section("nova-compute.log", restarted, LIMITS)
    assert cause is None
    _, cause = section("nova-compute.log", ACCESS_REFUSED_LOG, LIMITS)
    assert cause is not None
    assert cause.id == "amqp-access-refused"


def test_the_last_writer_keeps_continuation_lines_and_logs_without_pids() -> None:

    lines = [
        "2026-11-29 02:00:00.000 7 ERROR x [-] old",
        "2026-11-29 02:00:01.000 8 ERROR x [-] Traceback",
        "  File 'a.py', line 1",
        "2026-11-29 02:00:01.000 8 ERROR x amqp.exceptions.AccessRefused",
    ]
    assert present_life(lines) == lines[1:]
    plain = ["Nov 29 02:00:00 host kernel: I/O error", "another line"]
    assert present_life(plain) == plain


def test_the_most_specific_signature_wins_over_the_order_of_the_logs() -> None:

    io = find_cause("blk_update_request: I/O error, dev sdb, sector 12", SIGS)
    refused = find_cause("ERROR nova AccessRefused: (403) ACCESS_REFUSED - Login was", SIGS)
    assert io is not None
    assert refused is not None
    # libvirtd.log is read before nova-compute.log: its I/O error must not win
    best = most_specific([io, refused], SIGS)
    assert best is not None
    assert best.id == "amqp-access-refused"
    assert most_specific([], SIGS) is None


def test_libvirt_s_closed_client_connection_is_noise_not_an_io_error() -> None:

    limits = load_limits()
    line = (
        "2026-11-29 02:45:08.791+0000: 31: error : virNetSocketReadWire:1793 : "
        "End of file while reading data: Input/output error"
    )
    _, cause = section("libvirtd.log", line, limits)
    assert cause is None


class _Journal:
    """A systemd host whose journal holds one unit's lines; records what was asked."""

    name = "storage2"

    def __init__(self, text: str) -> None:
        self.text, self.asked = text, []

    def run(self, fmt: str, *args: str) -> object:
        from types import SimpleNamespace

        self.asked.append(fmt % args)
        return SimpleNamespace(rc=0, stdout=self.text)


def test_a_systemd_unit_s_journal_is_evidence_with_its_cause() -> None:
    from types import SimpleNamespace

    found = [
        Finding("swift-object", "storage2", extra={"unit": "swift-object.service"}),
        Finding("rsync", "storage2", extra={"unit": "rsync.service"}),
        Finding("swift-object", "storage1", extra={"unit": "swift-object.service"}),
        Finding("x", "storage2"),  # no unit: a process-managed service, no journal
    ]
    units = _units(found, "storage2")
    assert units == ["swift-object.service", "rsync.service"]
    host = _Journal(
        "2026-11-29T06:10:00+0000 storage2 swift-object-server[88]: ERROR __call__ error "
        "with PUT /d2/1/a/c/o: [Errno 28] No space left on device"
    )
    item = SimpleNamespace(funcargs={"host": host})
    sections = collect_journals(item, units, "storage2", LIMITS)  # type: ignore[arg-type]
    assert [a.split()[:3] for a in host.asked] == [
        ["journalctl", "-u", "swift-object.service"],
        ["journalctl", "-u", "rsync.service"],
    ]
    text, cause = sections[0]
    assert text.startswith("cause:")
    assert "journalctl -u swift-object.service on storage2" in text
    assert cause is not None
    assert cause.id == "no-space"


def test_a_cause_a_later_line_cleared_is_stale() -> None:
    """An ACCESS_REFUSED of an earlier, resolved episode (the same process reconnected
    since) does not name the cause of a new failure (libvirtd stopped)."""
    log = "\n".join(
        [
            "2026-12-05 07:00:01.000 2211 ERROR oslo.messaging._drivers.impl_rabbit [-] "
            "AMQPConnectionError: (0, 0): (403) ACCESS_REFUSED - Login was refused",
            "2026-12-05 07:05:01.000 2211 INFO oslo.messaging._drivers.impl_rabbit [-] "
            "[1f2e] Reconnected to AMQP server on 10.0.0.11:5672 via [amqp] client "
            "with port 41234.",
            "2026-12-05 08:00:01.000 2211 ERROR nova.compute.manager libvirt.libvirtError: "
            "Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file",
        ]
    )
    found = find_cause(log, SIGS)
    assert found is not None
    assert found.id == "libvirt-down"
    only_stale = "\n".join(log.splitlines()[:2])
    assert find_cause(only_stale, SIGS) is None
    refused_again = log.splitlines()[1] + "\n" + log.splitlines()[0]  # refused after it
    again = find_cause(refused_again, SIGS)
    assert again is not None
    assert again.id == "amqp-access-refused"


def test_a_5xx_from_another_api_names_that_api() -> None:
    sdk = (
        "ERROR nova.compute.manager openstack.exceptions.HttpException: HttpException: 500: "
        "Server Error for url: http://10.0.0.11:9696/v2.0/ports?device_id=x"
    )
    found = find_cause(sdk, SIGS)
    assert found is not None
    assert "(http://10.0.0.11:9696)" in found.text
    client = find_cause(EXAMPLES[-1][0], SIGS)
    assert client is not None
    assert "(neutron)" in client.text


def test_an_unknown_key_of_a_signature_is_one_line() -> None:
    with pytest.raises(ProcedureError, match="unknown key"):
        parse({"signatures": [{"id": "x", "match": "y", "cause": "z", "cleared": "w"}]})


# The lab's proxy log after a device of storage1 was full (healed since) and then the
# account servers stopped: the older 507 is another episode; the failing request's own
# lines (its transaction, named in the failure) say what fails now.
_TX_OLD = "tx5f0a0b0c0d0e0f1011121-006b14f000"
_TX_NOW = "tx0133b93d479a460bb2195-006b14f2c0"
_PROXY = "localhost swift-proxy-server:"
PROXY_LOG = "\n".join(
    (
        f"2026-12-06T05:20:01.1+00:00 {_PROXY} ERROR Insufficient Storage 10.77.0.31:6200/d1"
        f" (txn: {_TX_OLD}) (client_ip: 10.77.0.5)",
        f"2026-12-06T05:21:00.2+00:00 {_PROXY} 10.77.0.5 10.77.0.5 06/Dec/2026/05/21/00 GET"
        " /v1/AUTH_x/afterboot/object-0 HTTP/1.0 200 - python-swiftclient-4.11.0",
        f"2026-12-06T05:29:36.8+00:00 {_PROXY} ERROR with Account server 10.77.0.32:6202/d2"
        " re: Trying to HEAD /v1/AUTH_x: Connection refused"
        f" (txn: {_TX_NOW}) (client_ip: 10.77.0.5)",
    )
)
FAILURE = (
    "Failed: object-store API did not answer: ClientException: Account HEAD failed: "
    f"http://10.77.0.10:8080/v1/AUTH_x 503 Service Unavailable (txn: {_TX_NOW})"
)


def test_the_failing_request_s_own_lines_name_the_cause() -> None:
    requests = request_ids(FAILURE)
    assert requests == (_TX_NOW,)
    now = find_cause(PROXY_LOG, SIGS, requests)
    assert now is not None
    assert (now.id, now.root_at) == ("swift-backend-down", "10.77.0.32:6202/d2")
    # without the request, the most specific signature of the whole log wins: the old 507
    old = find_cause(PROXY_LOG, SIGS)
    assert old is not None
    assert old.id == "swift-507"
    # a request whose lines name nothing: the whole log, as before
    other = find_cause(PROXY_LOG, SIGS, ("tx5f0a0b0c0d0e0f1011121-006b14f999",))
    assert other is not None
    assert other.id == "swift-507"


def test_request_ids_are_swift_transactions_and_api_requests() -> None:
    text = (
        "503 (txn: tx0133b93d479a460bb2195-006b14f2c0) ... Request ID: "
        "req-0b6b0c4e-1111-4222-8333-000000000001; again tx0133b93d479a460bb2195-006b14f2c0"
    )
    assert request_ids(text) == (
        "tx0133b93d479a460bb2195-006b14f2c0",
        "req-0b6b0c4e-1111-4222-8333-000000000001",
    )
    assert request_ids("no request here: tx12 req-1") == ()


# A nova-compute whose pid is the same in each life (its own pid namespace, a container's
# first processes): its log's previous life ended in a vhost-down episode, never cleared
# by a reconnect line; this life (started 08:00:58) cannot reach the broker's port.
_SAME_PID_LOG = "\n".join(
    [
        "2026-12-06 07:11:15.422 62 ERROR oslo.messaging._drivers.impl_rabbit [-] Unable to "
        "connect to AMQP server on 10.77.0.10:5672 after inf tries: Connection.open: (541) "
        "INTERNAL_ERROR - access to vhost '/' refused for user 'openstack': vhost '/' is down",
        "2026-12-06 08:00:59.388 62 INFO os_vif [-] Loaded VIF plugins: noop, ovs",
        "2026-12-06 08:01:00.378 62 INFO nova.service [-] Starting compute node (version 34.0.0)",
        "2026-12-06 08:47:35.293 62 ERROR oslo.messaging._drivers.impl_rabbit [-] [dbac710d] "
        "AMQP server on 10.77.0.10:5672 is unreachable: [Errno 111] Connection refused. Trying "
        "again in 4 seconds.: ConnectionRefusedError: [Errno 111] Connection refused",
    ]
)


def _host(offset: str, etimes: int = 2797, args: str = "/usr/bin/nova-compute") -> Any:
    """A host whose pass read its clock (08:47:35 in UTC, its UTC offset ``offset``) and its
    process table, where pid 62 runs ``args`` since ``etimes`` seconds."""
    now = 1796546855.0  # 2026-12-06 08:47:35 UTC
    return SimpleNamespace(
        name="compute1",
        reads={
            "clock": ReadResult("clock", 0, f"{now:.6f} 2838.96 {offset}\n"),
            "processes": ReadResult(
                "processes", 0, f"top 900\n     62       1 {etimes:7d} Ssl  {args}\n"
            ),
        },
    )


NOVA_LOG = "/var/log/nova/nova-compute.log"


def _cause_id(text: str, host: Any, log: str = NOVA_LOG) -> str | None:
    _, cause = section(log, text, LIMITS, writer_starts(host, log), host_offset(host))
    return getattr(cause, "id", None)


def test_a_same_pid_s_previous_life_names_no_cause() -> None:
    _, stale = section("nova-compute.log", _SAME_PID_LOG, LIMITS)
    assert getattr(stale, "id", None) == "amqp-vhost-down"  # by the pid alone
    assert _cause_id(_SAME_PID_LOG, _host("+0000")) == "amqp-unreachable"


def test_a_writer_s_start_is_taken_in_the_log_s_local_time() -> None:
    """The same log written at UTC+01:00 (its lines an hour later than above)."""
    local = re.sub(
        r"^2026-12-06 (\d\d)",
        lambda m: f"2026-12-06 {int(m.group(1)) + 1:02d}",
        _SAME_PID_LOG,
        flags=re.M,
    )
    assert host_offset(_host("+0100")) == 3600
    assert _cause_id(local, _host("+0100")) == "amqp-unreachable"
    # read as UTC, the start would fall an hour too early and keep the old life
    assert _cause_id(local, _host("+0000")) == "amqp-vhost-down"


def test_a_pid_unknown_or_another_process_s_cuts_nothing() -> None:
    """A container's pid (not the host's), a pid the host runs for another program, or a
    clock without its UTC offset (a snapshot older than that read): the pid alone decides."""
    old_clock = _host("+0000")
    old_clock.reads["clock"] = ReadResult("clock", 0, "1796546855.0 2838.96\n")
    for host in (_host("+0000", args="/usr/sbin/chronyd"), SimpleNamespace(reads={}), old_clock):
        assert _cause_id(_SAME_PID_LOG, host) == "amqp-vhost-down"


# RabbitMQ's node log (its lines carry their UTC offset, no pid): a vhost went down in the
# broker's previous life; this life (started 08:00:58) runs on another port
_RABBIT_LOG = "\n".join(
    [
        "2026-12-06 07:11:15.422288+00:00 [error] <0.15645.0> \"access to vhost '/' refused "
        "for user 'openstack': vhost '/' is down\",",
        "2026-12-06 08:01:02.000000+00:00 [info] <0.230.0> started TCP listener on [::]:5673",
    ]
)


def test_the_broker_s_previous_life_names_no_cause() -> None:
    log = "/var/log/rabbitmq/rabbit@compute1.log"  # the roots' log of rabbitmq, on this host
    beam = "/usr/lib/erlang/erts-13.1.5/bin/beam.smp -W w -- -root /usr/lib/erlang -s rabbit"
    _, stale = section(log, _RABBIT_LOG, LIMITS)
    assert getattr(stale, "id", None) == "amqp-vhost-down"
    assert _cause_id(_RABBIT_LOG, _host("+0000", args=beam), log) is None
    # a broker that ran since before the episode: the line is its own life's
    assert _cause_id(_RABBIT_LOG, _host("+0000", etimes=9000, args=beam), log) == "amqp-vhost-down"


def test_a_line_whose_time_no_calendar_has_is_kept() -> None:
    """A garbled time (month 13) cannot be shown to be older than the writer's start: its
    line stays, and the log's section is still made."""
    garbled = _SAME_PID_LOG.replace("2026-12-06 08:47:35", "2026-13-06 08:47:35")
    assert _cause_id(garbled, _host("+0000")) == "amqp-unreachable"
