"""A failure's root in another service: a cause its evidence names that lies elsewhere
(nova-compute logging neutron's 500, the proxy logging an object server's 507) names that
service and its hosts as the root, reads the root's own log, and the failure is blocked
by the root's own check where that failed too (afterboot/verdict/roots.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from afterboot.checks.findings import Finding
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.runbook import ProcedureError, load
from afterboot.procedures.signatures import Cause, find_cause, parse, parse_roots
from afterboot.procedures.signatures import load as load_signatures
from afterboot.reports.reportfiles import script, summary_data, summary_lines
from afterboot.verdict.entries import BLOCKED, FAILED, Entry
from afterboot.verdict.roots import (
    address,
    blocked_by_root,
    locate,
    resolve,
    root_hosts,
    roots,
)
from tests.test_evidence_causes import compute_logging

SIGS = load_signatures()
NEUTRON_500 = (
    "2026-12-05 08:36:52.707 1094 ERROR nova.compute.manager "
    "neutronclient.common.exceptions.InternalServerError: Request Failed: internal "
    "server error while processing your request."
)
SDK_500 = (
    "2026-12-05 08:36:52.707 1094 ERROR nova.compute.manager openstack.exceptions."
    "HttpException: HttpException: 500: Server Error for url: http://10.0.0.99:9696/v2.0/ports"
)
PROXY_507 = (
    "Dec  5 19:45:10 controller proxy-server: Node will be error limited for 60.00s: "
    "10.77.0.32:6200/d2, error: ERROR Insufficient Storage (txn: tx3f2a)"
)
INV = Inventory(
    {
        "ctl-01": HostSpec("ctl-01", "10.0.0.11", ("controller",)),
        "ctl-02": HostSpec("ctl-02", "10.0.0.12", ("controller",)),
        "cmp-01": HostSpec("cmp-01", "10.0.0.21", ("compute",)),
        "st-02": HostSpec("st-02", "10.77.0.32", ("object-storage",)),
    },
    "inventory.yaml",
)


def cause(line: str, source: str = "/var/log/nova/nova-compute.log on cmp-01") -> Cause:
    found = find_cause(line, SIGS)
    assert found is not None
    return Cause(found.id, found.text, found.line, found.root, found.root_at, source)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://10.0.0.11:9696/v2.0/ports", ("10.0.0.11", 9696)),
        ("https://cloud.example.org/network", ("cloud.example.org", None)),
        ("10.77.0.32:6200/d2", ("10.77.0.32", 6200)),
        ("[fd00::32]:6200/d2", ("fd00::32", 6200)),
        ("", ("", None)),
        ("http://[bad", ("", None)),
    ],
)
def test_the_address_a_line_names(text: str, expected: tuple[str, int | None]) -> None:
    assert address(text) == expected


def test_a_client_s_500_names_the_api_s_service_on_the_hosts_that_run_it() -> None:
    found = locate(cause(NEUTRON_500), INV)
    assert found is not None
    assert found.root.service == "neutron-server"
    assert found.hosts == ("ctl-01", "ctl-02")  # no address in the line: who runs it
    assert found.label() == "neutron-server on ctl-01, ctl-02"
    assert json.loads(found.to_json())["line"] == find_cause(NEUTRON_500, SIGS).line  # type: ignore[union-attr]


def test_a_url_names_the_root_by_its_port_and_the_host_by_its_address() -> None:
    at_vip = locate(cause(SDK_500), INV)  # a VIP no host has: every neutron-server host
    assert at_vip is not None
    assert (at_vip.root.service, at_vip.hosts) == ("neutron-server", ("ctl-01", "ctl-02"))
    on_host = locate(cause(SDK_500.replace("10.0.0.99", "10.0.0.12")), INV)
    assert on_host is not None
    assert on_host.hosts == ("ctl-02",)


def test_the_proxy_s_507_names_the_object_server_on_the_storage_host() -> None:
    found = locate(cause(PROXY_507, "/var/log/swift/proxy-server.log on controller"), INV)
    assert found is not None
    assert (found.root.service, found.hosts) == ("swift-object-server", ("st-02",))


def test_the_proxy_s_refused_account_server_names_it_on_its_host() -> None:
    line = (
        "proxy-server: ERROR with Account server 10.77.0.32:6202/d1 re: Trying to HEAD "
        "/v1/AUTH_ab: Connection refused (txn: tx1)"
    )
    found = locate(cause(line, "/var/log/swift/proxy-server.log on controller"), INV)
    assert found is not None
    assert (found.root.service, found.hosts) == ("swift-account-server", ("st-02",))


def test_a_log_several_services_write_is_nobody_s_own() -> None:
    """swift's proxy logging to syslog, as swift's sample rsyslog setup does elsewhere: its
    line naming an object server there still names that server as the root."""
    found = locate(cause(PROXY_507, "/var/log/syslog on controller"), INV)
    assert found is not None
    assert found.root.service == "swift-object-server"


def test_a_service_s_own_log_names_no_root_in_another() -> None:
    own = cause(NEUTRON_500, "/var/log/neutron/neutron-server.log on ctl-01")
    assert locate(own, INV) is None
    assert locate(cause(NEUTRON_500, "podman logs neutron_server on ctl-01"), INV) is None


def test_causes_without_a_root_and_unknown_ports_name_none() -> None:
    refused = find_cause("ERROR x ACCESS_REFUSED - Login was refused", SIGS)
    assert locate(refused, INV) is None
    assert locate(None, INV) is None
    odd = cause(SDK_500.replace(":9696", ":1234"))
    assert resolve(odd, roots()) is None


def test_without_an_inventory_the_root_is_named_without_hosts() -> None:
    found = locate(cause(NEUTRON_500), None)
    assert found is not None
    assert (found.hosts, found.label()) == ((), "neutron-server")


def test_root_hosts_follow_the_inventory_s_services() -> None:
    (neutron,) = [r for r in roots().values() if r.service == "neutron-server"]
    only = Inventory(
        {
            "ctl-01": HostSpec(
                "ctl-01", None, ("controller",), exclude_services=("neutron-server",)
            ),
            "net-01": HostSpec("net-01", None, ("network",), services=("neutron-server",)),
        },
        "inventory.yaml",
    )
    assert root_hosts(neutron, "", only) == ("net-01",)


def entry(check: str, host: str, **kw: object) -> Entry:
    return Entry(check, 4, f"tests_cloud/t.py::{check}[{host}]", host, **kw)  # type: ignore[arg-type]


COMPUTE = entry(
    "SVC-003",
    "cmp-01",
    findings=(Finding("nova-compute", "cmp-01", extra={"service": "nova-compute"}),),
    root="neutron-server",
    root_hosts=("ctl-01",),
)


def neutron_down(check: str, host: str, **kw: object) -> Entry:
    """``check`` failed on ``host`` saying neutron-server is not running there."""
    found = Finding("neutron-server", host, "running", extra={"service": "neutron-server"})
    return entry(check, host, findings=(found,), **kw)


def test_a_failure_is_blocked_by_its_root_s_own_failed_check() -> None:
    svc = neutron_down("SVC-004", "ctl-01")
    assert blocked_by_root(COMPUTE, [COMPUTE, svc]) == "SVC-004 on ctl-01"
    api = entry(
        "NEUTRON-001", "ctl-01", findings=(Finding("network", "ctl-01", extra={"api": "network"}),)
    )
    assert blocked_by_root(COMPUTE, [COMPUTE, api]) == "NEUTRON-001 on ctl-01"


def test_no_block_when_the_root_passed_ran_elsewhere_or_names_this_one_back() -> None:
    assert blocked_by_root(COMPUTE, [COMPUTE]) == ""
    elsewhere = neutron_down("SVC-004", "ctl-02")
    assert blocked_by_root(COMPUTE, [COMPUTE, elsewhere]) == ""
    unrun = neutron_down("SVC-004", "ctl-01", outcome="could-not-run")
    assert blocked_by_root(COMPUTE, [COMPUTE, unrun]) == ""  # it did not see neutron broken
    at_boot = entry(
        "SVC-011",
        "ctl-01",
        findings=(
            Finding(
                "neutron-server", "ctl-01", "enabled", "disabled", {"service": "neutron-server"}
            ),
        ),
    )
    assert blocked_by_root(COMPUTE, [COMPUTE, at_boot]) == ""  # it runs now
    back = neutron_down("SVC-004", "ctl-01", root="nova-compute")
    assert blocked_by_root(COMPUTE, [COMPUTE, back]) == ""


def test_the_root_survives_the_entry_s_json() -> None:
    again = Entry.from_json(COMPUTE.to_json())
    assert again == COMPUTE
    assert Entry.from_json(json.dumps({"check": "X", "tier": 1, "nodeid": "n"})).root_hosts == ()


def test_the_root_leads_the_summary_the_procedure_the_plan_and_summary_json() -> None:
    procs = load()
    lines = summary_lines([COMPUTE], procs)
    assert lines[0] == (
        "--- root in another service: neutron-server on ctl-01, named by the evidence of "
        "SVC-003 on cmp-01  <== start there"
    )
    assert any(
        line.strip().startswith("Root: neutron-server on ctl-01: the failure starts there")
        for line in lines
    )
    data = summary_data([COMPUTE], procs, {"generated": "now"})
    assert data["roots"] == [
        {"root": "neutron-server on ctl-01", "named_by": ["SVC-003 on cmp-01"]}
    ]
    (check,) = data["checks"]
    assert check["roots"] == ["neutron-server on ctl-01"]
    plan = script([COMPUTE], procs, {"generated": "now"})
    assert "# root (the failure starts there, fix it first): neutron-server on ctl-01" in plan
    blocked = Entry(**{**COMPUTE.__dict__, "outcome": BLOCKED})
    assert not any("root in another service" in line for line in summary_lines([blocked], procs))
    assert COMPUTE.outcome == FAILED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"roots": ["x"]}, "'roots' maps names"),
        ({"roots": {"x": {}}}, "needs a service"),
        ({"roots": {"x": {"service": "a", "port": [1]}}}, "unknown key"),
        ({"roots": {"x": {"service": "a", "ports": ["80"]}}}, "list of port numbers"),
        ({"roots": {"x": {"service": "a", "logs": [""]}}}, "list of paths"),
    ],
)
def test_bad_roots_are_one_line_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ProcedureError, match=message):
        parse_roots(data)


def test_a_root_at_without_a_root_is_one_line() -> None:
    with pytest.raises(ProcedureError, match="root_at needs the root"):
        parse({"signatures": [{"id": "x", "match": "y", "cause": "z", "root_at": "{a}"}]})


def test_every_literal_root_of_a_signature_is_a_known_root() -> None:
    known = roots()
    for sig in SIGS:
        if sig.root and "{" not in sig.root:
            assert sig.root in known, sig.id
    assert all(r.logs for r in known.values())


INVENTORY = """\
defaults:
  connection: local
hosts:
  cmp-01: {{roles: [compute]}}
  ctl-01:
    roles: [controller]
    paths: {{/var/log/neutron: {neutron_logs}}}
"""

CHECKS = '''
import pytest

@pytest.mark.check("SVC-003", tier=4, roles=("compute",))
def test_compute_services(host):
    """d-bus, libvirtd and nova-compute run."""
    assert False, f"compute services not running on {host.name}: nova-compute (inactive)"

@pytest.mark.check("SVC-004", tier=15, roles=("controller",))
def test_controller_services(host, findings):
    """neutron-server runs."""
    if NEUTRON_DOWN:
        findings.add("neutron-server", host=host.name, expected="running", actual="inactive",
                     service="neutron-server")
    findings.assert_none(f"controller services not running on {host.name}: ")
'''


@pytest.mark.parametrize("neutron_down", [False, True], ids=["root-passed", "root-failed"])
def test_a_compute_failure_names_neutron_as_its_root_end_to_end(
    suite: pytest.Pytester, neutron_down: bool
) -> None:
    neutron_logs = suite.mkdir("neutron-logs")
    (neutron_logs / "neutron-server.log").write_text(
        "2026-12-05 08:36:52.701 77 ERROR neutron.api.v2.resource AttributeError: type object "
        "'Port' has no attribute 'port_forwardings'\n"
    )
    compute_logging(suite, INVENTORY.format(neutron_logs=neutron_logs), NEUTRON_500)
    suite.makepyfile(**{"tests_cloud/test_x.py": f"NEUTRON_DOWN = {neutron_down}\n" + CHECKS})
    result = suite.runpytest_subprocess("--junitxml=junit.xml")
    result.assert_outcomes(failed=2 if neutron_down else 1, passed=0 if neutron_down else 1)
    out = result.stdout.str()
    # the root's own log, read on the host that runs it, is evidence of the compute failure
    assert "(neutron-server, the root)" in out
    assert "'Port' has no attribute 'port_forwardings'" in out
    props = {
        p.get("name"): p.get("value")
        for p in ET.parse(suite.path / "junit.xml").getroot().iter("property")
    }
    assert json.loads(str(props["root"]))["hosts"] == ["ctl-01"]
    summary = json.loads((suite.path / "reports" / "summary.json").read_text())
    (compute,) = [c for c in summary["checks"] if c["check"] == "SVC-003"]
    (result_entry,) = compute["results"]
    if neutron_down:  # the root's own check failed: the compute failure is blocked by it
        assert result_entry["outcome"] == "blocked"
        assert result_entry["blocked_by"] == "SVC-004 on ctl-01"
        assert "root in another service" not in out
    else:  # the root's checks passed: the failure stays, naming where it starts
        assert result_entry["outcome"] == "failed"
        assert summary["roots"] == [
            {"root": "neutron-server on ctl-01", "named_by": ["SVC-003 on cmp-01"]}
        ]
        assert "--- root in another service: neutron-server on ctl-01" in out
        assert "Root: neutron-server on ctl-01: the failure starts there" in out
