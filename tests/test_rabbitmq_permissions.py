"""MQ-005: every user a service's transport_url names exists on the broker, with configure,
write and read on the vhost it names.

The read (``rabbitmq_permissions``: ``rabbitmqctl list_users`` and each vhost's
``list_permissions``, ``-q --no-table-headers``: tab-separated, as RabbitMQ 3.8 to 4.x
print them) is parsed strictly; the URL's user and vhost are read as oslo.messaging reads
them, never its password; the real check function judges hosts whose collection pass
read what is given here, and its findings fill the procedure."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast
from urllib.parse import quote

import pytest

# the check module as a module: pytest collects none of its checks in this file
import tests_cloud.test_rabbitmq as rabbitmq_checks
from afterboot.checks.findings import Finding, Findings, item_findings
from afterboot.collection import read_host
from afterboot.domains.rabbitmq import (
    Login,
    lacking,
    parse_grants,
    transport_logins,
)
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.runbook import load, render
from afterboot.reads.hostreads import PART
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote

PROCS = load()
TEST = rabbitmq_checks.test_transport_users_permitted

# As rabbitmqctl 3.10 prints them with -q --no-table-headers (the table formatter: the
# columns joined by tabs, a list of tags in brackets, an empty regex as nothing).
USERS = (
    "guest\t[administrator]\nopenstack\t[administrator]\nnova\t[]\n"
    "monitor\t[monitoring, policymaker]\n"
)
ROOT = "guest\t.*\t.*\t.*\nopenstack\t.*\t.*\t.*\nmonitor\t\t\t.*\n"
NOVA = "nova\t.*\t.*\t.*\n"
HEALTHY = f"{PART} users\n{USERS}{PART} vhost /\n{ROOT}{PART} vhost nova\n{NOVA}"

PASSWORD = "Pl4nted/s3cr@t:pw"  # holds '/', '@' and ':' as a generated one may
ENCODED = quote(PASSWORD, safe="")


def _url(user: str = "openstack", vhost: str = "", password: str = ENCODED) -> str:
    hosts = ",".join(f"{user}:{password}@10.0.0.{n}:5672" for n in (11, 12))
    return f"rabbit://{hosts}/{vhost}"


def _conf(url: str | None) -> str:
    option = f"transport_url = {url}\n" if url else ""
    return f"[DEFAULT]\ndebug = false\n{option}[database]\nconnection = mysql+pymysql://x\n"


def _configs(files: dict[str, str]) -> ReadResult:
    text = "".join(f"{PART} {path}\n{body}\n" for path, body in files.items())
    return ReadResult("configs", 0, text)


def _cloud(
    permissions: ReadResult | str = HEALTHY,
    ctl: dict[str, str] | None = None,
    cmp: dict[str, str] | None = None,
    st: dict[str, str] | ReadResult | None = None,
) -> Connections:
    """mq1 (messaging only: no service configuration), ctl (controller), cmp1
    (compute), st1 (block-storage); each host's collection pass read what is given."""
    specs = {
        "mq1": ("messaging",),
        "ctl": ("controller",),
        "cmp1": ("compute",),
        "st1": ("block-storage",),
    }
    inventory = Inventory(
        {n: HostSpec(n, roles=r, connection="local") for n, r in specs.items()}, "t"
    )
    connections = Connections(inventory, 5)
    if isinstance(permissions, str):
        permissions = ReadResult("rabbitmq_permissions", 0, permissions)
    ctl = ctl if ctl is not None else {"/etc/nova/nova.conf": _conf(_url())}
    cmp = cmp if cmp is not None else {"/etc/nova/nova.conf": _conf(_url("nova", "nova"))}
    st = st if st is not None else {"/etc/cinder/cinder.conf": _conf(_url())}
    reads = {
        "mq1": {"rabbitmq_permissions": permissions, "configs": _configs({})},
        "ctl": {"configs": _configs(ctl)},
        "cmp1": {"configs": _configs(cmp)},
        "st1": {"configs": st if isinstance(st, ReadResult) else _configs(st)},
    }
    for name, got in reads.items():
        snap = HostSnapshot(name, started=1.0, ended=2.0)
        snap.reads = {"clock": ReadResult("clock", 0, "1000.0 500.0\n"), **got}
        connections[name].adopt(snap)
    return connections


def _item() -> pytest.Item:
    return cast(pytest.Item, SimpleNamespace(stash=pytest.Stash()))


def _judge(connections: Connections) -> tuple[str, list[Finding]]:
    """The check's failure message and its findings (it must fail)."""
    item = _item()
    with pytest.raises(AssertionError) as failed:
        TEST(connections, Findings(item))
    return str(failed.value), item_findings(item)


# -- the read: strict --------------------------------------------------------------------------


def test_the_read_parses_users_and_each_vhosts_permissions() -> None:
    got = parse_grants(HEALTHY, "mq1")
    assert got.host == "mq1"
    assert got.users == {"guest", "openstack", "nova", "monitor"}
    assert got.vhosts["/"]["openstack"] == (".*", ".*", ".*")
    assert got.vhosts["/"]["monitor"] == ("", "", ".*")  # empty regexes kept as empty
    assert got.vhosts["nova"] == {"nova": (".*", ".*", ".*")}
    # a vhost without permissions, one whose name has a blank, a broker without vhosts
    odd = parse_grants(f"{PART} users\n{USERS}{PART} vhost empty\n{PART} vhost a b\n{NOVA}")
    assert odd.vhosts == {"empty": {}, "a b": {"nova": (".*", ".*", ".*")}}
    assert parse_grants(f"{PART} users\n{USERS}").vhosts == {}


@pytest.mark.parametrize(
    "text", ["", "\n", f"{PART} vhost /\n{ROOT}"], ids=["empty", "blank", "no-users"]
)
def test_an_answer_without_its_users_is_could_not_run(text: str) -> None:
    with pytest.raises(
        CouldNotRun, match=r"host mq1: read 'rabbitmq_permissions': no list of users"
    ):
        parse_grants(text, "mq1")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"Listing users ...\n{HEALTHY}", "Listing users ..."),  # a banner: -q not honoured
        (HEALTHY.replace("nova\t[]", "nova\t[]\textra"), "nova\t[]\textra"),
        (HEALTHY.replace("nova\t[]", "nova administrator"), "nova administrator"),
        (HEALTHY.replace("nova\t[]", "user\ttags"), "user\ttags"),  # a header: not asked for
        (HEALTHY.replace("nova\t.*\t.*\t.*", "nova\t.*\t.*"), "nova\t.*\t.*"),
        (HEALTHY.replace("nova\t.*\t.*\t.*", "nova\t.*\t.*\t.*\t.*"), "nova\t.*\t.*\t.*\t.*"),
        (HEALTHY.replace("nova\t.*\t.*\t.*", "\t.*\t.*\t.*"), "\t.*\t.*\t.*"),
        (HEALTHY + "Error: unable to perform an operation on node\n", "Error: unable to perform"),
        (HEALTHY.replace(f"{PART} vhost nova", f"{PART} nova"), f"{PART} nova"),
    ],
    ids=[
        "banner",
        "users-3-fields",
        "users-no-tab",
        "users-header",
        "permissions-3-fields",
        "permissions-5-fields",
        "permissions-no-user",
        "an-error-on-stdout",
        "unknown-part",
    ],
)
def test_a_line_of_another_shape_is_could_not_run_naming_host_and_read(
    text: str, line: str
) -> None:
    with pytest.raises(CouldNotRun) as got:
        parse_grants(text, "mq1")
    said = str(got.value)
    assert said.startswith("host mq1: read 'rabbitmq_permissions': unexpected line "), said
    assert repr(line)[1:-1][:40] in said


def test_the_script_run_here_reads_every_vhost_and_fails_with_rabbitmqctl(
    fakebin: Path,
) -> None:
    """The read's own script, against a rabbitmqctl that prints as 3.10 does (and reads
    its standard input, as an escript may: the loop over the vhosts must not feed it)."""
    ctl = fakebin / "rabbitmqctl"
    ctl.write_text(
        "#!/bin/sh\n"
        'cat >/dev/null; [ "$1 $3" = "-q --no-table-headers" ] || exit 64\n'
        'case "$2" in\n'
        "  list_vhosts) printf '/\\nnova\\nmy vhost\\n' ;;\n"
        "  list_users) printf 'openstack\\t[administrator]\\nnova\\t[]\\n' ;;\n"
        '  list_permissions) [ -n "$FAIL" ] && { echo "Error: vhost $5 gone" >&2; exit 2; }\n'
        "    printf 'openstack\\t.*\\t.*\\t%s\\n' \"$5\" ;;\n"
        "  *) exit 64 ;;\n"
        "esac\n"
    )
    ctl.chmod(0o755)
    remote = Remote(HostSpec("mq1", connection="local", roles=("messaging",)), 5.0, "")
    snap = read_host(remote, ["rabbitmq_permissions"], 5.0)
    read = snap.reads["rabbitmq_permissions"]
    assert read.rc == 0, read
    got = parse_grants(read.stdout, "mq1")
    assert got.users == {"openstack", "nova"}
    assert {v: rows["openstack"][2] for v, rows in got.vhosts.items()} == {
        "/": "/",
        "nova": "nova",
        "my vhost": "my vhost",
    }
    ctl.write_text(ctl.read_text().replace('[ -n "$FAIL" ]', "true"))
    failed = read_host(remote, ["rabbitmq_permissions"], 5.0).reads["rabbitmq_permissions"]
    assert failed.rc == 2
    with pytest.raises(CouldNotRun, match=r"host mq1: read 'rabbitmq_permissions' failed"):
        failed.require("mq1")


# -- transport_url: the user and the vhost, never the password ------------------------------


@pytest.mark.parametrize(
    ("path", "vhost"),
    [("", "/"), ("/", "/"), ("//", "/"), ("/%2F", "/"), ("/nova", "nova"), ("/nova?ssl=1", "nova")],
)
def test_the_vhost_is_the_one_oslo_messaging_logs_in_to(path: str, vhost: str) -> None:
    url = f"rabbit://nova:{ENCODED}@10.0.0.11:5672,nova:{ENCODED}@10.0.0.12:5672{path}"
    assert transport_logins(url) == [Login("nova", vhost)]


def test_no_part_of_a_password_is_ever_the_vhost_or_the_user() -> None:
    # unencoded, as a careless configuration writes it: '/' and '@' in the password
    raw = f"rabbit://nova:{PASSWORD}@10.0.0.11:5672/nova"
    (login,) = transport_logins(raw) or []
    assert login == Login("nova", "nova")
    for part in ("s3cr", "t:pw", PASSWORD):
        assert part not in repr(login)


def test_urls_of_other_drivers_substitutions_and_several_users() -> None:
    assert transport_logins("kafka://k1:9092/") == []
    assert transport_logins("rabbit://10.0.0.11:5672/") == []  # no user: nothing to judge
    assert transport_logins(f"rabbit://$rabbit_user:{ENCODED}@h:5672/") is None
    assert transport_logins(f"rabbit://nova:{ENCODED}@h:5672/$vhost") is None
    two = f"rabbit://a:{ENCODED}@h1:5672,b:{ENCODED}@h2:5672/x"
    assert transport_logins(two) == [Login("a", "x"), Login("b", "x")]


# -- the judgement of a regex --------------------------------------------------------------


@pytest.mark.parametrize(
    ("regexes", "missing"),
    [
        ((".*", ".*", ".*"), []),
        (("^.*$", ".+", ".*"), []),  # every name oslo.messaging uses is matched
        ((".*", "", ".*"), ["write"]),  # '' is '^$': nothing
        (("^nova.*", ".*", ".*"), ["configure"]),  # not reply_<id>, not conductor_fanout_<id>
        (("^(nova|reply_).*", ".*", "^(?!amq\\.)"), ["configure", "read"]),
        (("", "", ""), ["configure", "write", "read"]),
    ],
)
def test_a_permission_grants_only_if_it_matches_every_name_oslo_messaging_uses(
    regexes: tuple[str, str, str], missing: list[str]
) -> None:
    assert lacking(regexes) == missing


def test_a_regex_python_cannot_read_is_could_not_run() -> None:
    with pytest.raises(CouldNotRun, match=r"the write permission of nova on vhost /, '\(\.\*'"):
        lacking((".*", "(.*", ".*"), "nova", "/")


# -- the check ---------------------------------------------------------------------------------


def test_users_with_their_permissions_pass() -> None:
    item = _item()
    TEST(_cloud(), Findings(item))  # no AssertionError, no CouldNotRun
    assert item_findings(item) == []


def test_a_missing_user_is_named_with_the_files_that_name_it() -> None:
    cmp = {"/etc/nova/nova.conf": _conf(_url("nova-cmp1", "nova"))}
    said, found = _judge(_cloud(cmp=cmp))
    assert said.startswith("RabbitMQ (mq1) refuses what transport_url names: ")
    assert "nova-cmp1 on vhost nova: no such user (named in cmp1:/etc/nova/nova.conf)" in said
    (finding,) = found
    assert finding.host == "mq1"  # the messaging host whose broker answered
    assert finding.extra["user"] == "nova-cmp1"
    assert finding.extra["vhost"] == "nova"
    assert finding.extra["state"] == "no-user"
    assert finding.extra["user_state"] == "absent"
    assert finding.extra["permission"] == "configure, write, read"
    assert finding.extra["configs"] == "cmp1:/etc/nova/nova.conf"


def test_an_empty_write_regex_is_named_with_its_permission() -> None:
    permissions = HEALTHY.replace("openstack\t.*\t.*\t.*", "openstack\t.*\t\t.*")
    said, found = _judge(_cloud(permissions))
    (finding,) = found
    assert (finding.extra["user"], finding.extra["vhost"]) == ("openstack", "/")
    assert (finding.extra["state"], finding.extra["permission"]) == ("restricted", "write")
    assert finding.actual == "write ''"
    # every file that names it, on every host
    assert finding.extra["configs"] == "ctl:/etc/nova/nova.conf, st1:/etc/cinder/cinder.conf"
    assert "openstack on vhost /: write ''" in said


def test_a_regex_that_misses_the_reply_queues_counts_as_lacking() -> None:
    permissions = HEALTHY.replace("nova\t.*\t.*\t.*", "nova\t^nova.*\t.*\t^nova.*")
    _, found = _judge(_cloud(permissions))
    (finding,) = found
    assert finding.extra["permission"] == "configure, read"
    assert finding.actual == "configure '^nova.*', read '^nova.*'"


def test_a_missing_vhost_and_a_user_without_permissions_there() -> None:
    no_vhost = HEALTHY.partition(f"{PART} vhost nova")[0]
    _, found = _judge(_cloud(no_vhost))
    assert [(f.extra["vhost"], f.extra["state"], f.actual) for f in found] == [
        ("nova", "no-vhost", "no such vhost")
    ]
    not_there = HEALTHY.replace(NOVA, "openstack\t.*\t.*\t.*\n")
    _, found = _judge(_cloud(not_there))
    assert [(f.extra["user"], f.extra["state"]) for f in found] == [("nova", "no-permissions")]


def test_users_no_transport_url_names_are_not_judged() -> None:
    """guest and monitor have no permission fit for oslo.messaging: no service logs in
    as them, so nothing is wrong."""
    extra = HEALTHY.replace("monitor\t\t\t.*", "monitor\t\t\t\nstranger\t^x$\t\t")
    item = _item()
    TEST(_cloud(extra), Findings(item))
    assert item_findings(item) == []


def test_the_password_is_nowhere_in_what_the_check_says() -> None:
    """A password planted in every transport_url (URL-encoded, as oslo.messaging wants
    it): not in the failure, not in a finding, not in the procedure rendered from them."""
    ctl = {"/etc/nova/nova.conf": _conf(_url("nova-ctl", "/"))}
    permissions = HEALTHY.replace("openstack\t.*\t.*\t.*", "openstack\t\t\t")
    said, found = _judge(_cloud(permissions, ctl=ctl))
    assert {f.extra["user"] for f in found} == {"nova-ctl", "openstack"}
    steps = render(PROCS["MQ-005"], found)
    shown = "\n".join(
        [said, json.dumps([f.to_dict() for f in found])]
        + [line for s in steps for line in (*s.text, *s.commands, *s.guard)]
    )
    for form in (PASSWORD, ENCODED, "Pl4nted", "s3cr"):
        assert form not in shown


def test_a_failed_or_garbage_permissions_read_is_could_not_run() -> None:
    failed = ReadResult("rabbitmq_permissions", 69, "", "Error: unable to perform an operation")
    with pytest.raises(CouldNotRun) as got:
        TEST(_cloud(failed), Findings(_item()))
    assert "host mq1: read 'rabbitmq_permissions' failed" in str(got.value)
    with pytest.raises(CouldNotRun) as got:
        TEST(_cloud("<html>502 Bad Gateway</html>\n"), Findings(_item()))
    assert "host mq1: read 'rabbitmq_permissions': unexpected line '<html>" in str(got.value)


def test_a_configuration_not_read_is_could_not_run_unless_another_fails() -> None:
    failed = ReadResult("configs", 1, "", "cat: /etc/cinder/cinder.conf: Permission denied")
    with pytest.raises(CouldNotRun) as got:
        TEST(_cloud(st=failed), Findings(_item()))
    assert "host st1: read 'configs' failed" in str(got.value)
    # what was read is judged all the same: a user missing fails the check
    cmp = {"/etc/nova/nova.conf": _conf(_url("nova-cmp1", "nova"))}
    said, _ = _judge(_cloud(cmp=cmp, st=failed))
    assert "nova-cmp1 on vhost nova: no such user" in said


def test_a_configuration_that_does_not_parse_is_could_not_run_naming_it() -> None:
    cmp = {"/etc/nova/nova.conf": f"transport_url = {_url('nova', 'nova')}\n"}  # no section
    with pytest.raises(CouldNotRun) as got:
        TEST(_cloud(cmp=cmp), Findings(_item()))
    assert "cmp1:/etc/nova/nova.conf (does not parse)" in str(got.value)
    assert ENCODED not in str(got.value)


def test_no_transport_url_anywhere_skips_after_reading_the_broker() -> None:
    none = {"/etc/nova/nova.conf": _conf(None)}
    with pytest.raises(pytest.skip.Exception, match="no service configuration names"):
        TEST(_cloud(ctl=none, cmp=none, st=none), Findings(_item()))
    with pytest.raises(CouldNotRun):  # the broker's answer is read first, and judged
        TEST(_cloud("garbage\n", ctl=none, cmp=none, st=none), Findings(_item()))


# -- the procedure its findings fill ---------------------------------------------------------


def test_the_remedy_creates_what_is_missing_and_grants_with_guards() -> None:
    _, found = _judge(_cloud(cmp={"/etc/nova/nova.conf": _conf(_url("nova-cmp1", "nova"))}))
    steps = render(PROCS["MQ-005"], found)
    commands = [c for s in steps for c in s.commands]
    assert commands == [
        "ssh mq1 -- 'sudo rabbitmqctl list_users && sudo rabbitmqctl list_permissions -p nova'",
        "ssh mq1 -- 'sudo rabbitmqctl add_user nova-cmp1'",  # the password read from stdin
        "ssh mq1 -- 'sudo rabbitmqctl set_permissions -p nova nova-cmp1 "
        "'\"'\"'.*'\"'\"' '\"'\"'.*'\"'\"' '\"'\"'.*'\"'\"''",
    ]
    guarded = [
        s for s in steps if any("add_user" in c or "set_permissions" in c for c in s.commands)
    ]
    assert all(
        s.guard and s.guard[0].startswith("only for a user a service's transport_url")
        for s in guarded
    )
    text = " ".join(line for s in steps for line in s.text)
    assert "take it from that file on that host" in text
    assert (
        "restart the services whose transport_url names nova-cmp1 (cmp1:/etc/nova/nova.conf)"
        in text
    )


def test_on_a_kolla_broker_add_user_reads_the_password_through_exec_i() -> None:
    """docker/podman exec without -i hands the tool no standard input: rabbitmqctl would
    read an empty password; the other commands need none."""
    _, found = _judge(_cloud(cmp={"/etc/nova/nova.conf": _conf(_url("nova-cmp1", "nova"))}))
    for engine in ("docker", "podman"):
        hosts = {"mq1": HostSpec("mq1", service_manager="container", container_engine=engine)}
        commands = [c for s in render(PROCS["MQ-005"], found, hosts=hosts) for c in s.commands]
        (add,) = [c for c in commands if "add_user" in c]
        assert add == f"ssh mq1 -- 'sudo {engine} exec -i rabbitmq rabbitmqctl add_user nova-cmp1'"
        others = [c for c in commands if c != add]
        assert others
        assert all(f"{engine} exec rabbitmq rabbitmqctl" in c for c in others)


def test_a_restricted_user_is_only_granted() -> None:
    permissions = HEALTHY.replace("nova\t.*\t.*\t.*", "nova\t^nova.*\t.*\t.*")
    _, found = _judge(_cloud(permissions))
    commands = [c for s in render(PROCS["MQ-005"], found) for c in s.commands]
    assert not [c for c in commands if "add_user" in c or "add_vhost" in c]
    assert any("set_permissions -p nova nova " in c for c in commands)


# -- [oslo_messaging_notifications] transport_url: judged as RPC's where a site sets it -------

NOTIFY = "[oslo_messaging_notifications] transport_url"


def _notifying(rpc: str, notify: str | None) -> str:
    """A configuration whose notifications go to ``notify`` (None: no such option, as
    most sites write it; oslo.messaging then sends them with RPC's)."""
    own = f"[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = {notify}\n"
    return _conf(rpc) + (own if notify is not None else "")


def test_a_notifications_user_without_permissions_fails_naming_the_option() -> None:
    """RPC's user is fine; only the notifications transport_url names a user the broker
    grants nothing on its vhost: the check fails, naming file, section and option."""
    ctl = {"/etc/nova/nova.conf": _notifying(_url(), _url("notify", "nova"))}
    permissions = HEALTHY.replace(USERS, USERS + "notify\t[]\n")
    said, found = _judge(_cloud(permissions, ctl=ctl))
    (finding,) = found
    assert (finding.extra["user"], finding.extra["vhost"]) == ("notify", "nova")
    assert finding.extra["state"] == "no-permissions"
    assert finding.extra["configs"] == f"ctl:/etc/nova/nova.conf {NOTIFY}"
    assert f"notify on vhost nova: no permissions (named in ctl:/etc/nova/nova.conf {NOTIFY})" in (
        said
    )
    steps = render(PROCS["MQ-005"], found)
    text = " ".join(line for s in steps for line in s.text)
    assert f"is named by the transport_url of ctl:/etc/nova/nova.conf {NOTIFY}" in text
    assert any("set_permissions -p nova notify " in c for s in steps for c in s.commands)


def test_one_user_named_by_both_urls_lists_each_line() -> None:
    ctl = {"/etc/nova/nova.conf": _notifying(_url("nova-ctl"), _url("nova-ctl"))}
    _, found = _judge(_cloud(ctl=ctl))
    (finding,) = found
    assert finding.extra["configs"] == (
        f"ctl:/etc/nova/nova.conf, ctl:/etc/nova/nova.conf {NOTIFY}"
    )


@pytest.mark.parametrize("notify", [None, ""], ids=["unset", "empty"])
def test_no_notifications_url_changes_nothing(notify: str | None) -> None:
    """Unset or empty: oslo.messaging sends notifications with RPC's transport_url, which
    is judged already."""
    ctl = {"/etc/nova/nova.conf": _notifying(_url(), notify)}
    item = _item()
    TEST(_cloud(ctl=ctl), Findings(item))
    assert item_findings(item) == []


def test_a_notifications_url_of_a_substitution_is_not_known_naming_the_option() -> None:
    ctl = {"/etc/nova/nova.conf": _notifying(_url(), _url("$notify_user"))}
    with pytest.raises(CouldNotRun) as got:
        TEST(_cloud(ctl=ctl), Findings(_item()))
    assert f"ctl:/etc/nova/nova.conf {NOTIFY} (its user or vhost is" in str(got.value)


def test_a_password_in_the_notifications_url_is_nowhere_in_what_the_check_says() -> None:
    other = "N0tify/pl4nted@pw:x"
    ctl = {"/etc/nova/nova.conf": _notifying(_url(), _url("notify", "", quote(other, safe="")))}
    said, found = _judge(_cloud(ctl=ctl))
    assert {f.extra["user"] for f in found} == {"notify"}
    steps = render(PROCS["MQ-005"], found)
    shown = "\n".join(
        [said, json.dumps([f.to_dict() for f in found])]
        + [line for s in steps for line in (*s.text, *s.commands, *s.guard)]
    )
    for form in (other, quote(other, safe=""), "N0tify", "pl4nted", PASSWORD, ENCODED):
        assert form not in shown
