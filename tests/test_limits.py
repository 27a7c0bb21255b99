"""--host and --role as Ansible's --limit patterns: globs, regular expressions, slices,
union (``:`` or ``,``), intersection (``&``) and exclusion (``!``), over host names, groups
and roles; a term that matches nothing is one line."""

from __future__ import annotations

import pytest

from afterboot.errors import InputError
from afterboot.inventory.limits import check_roles, limited, select, terms
from afterboot.inventory.load import load_inventory
from afterboot.inventory.model import HostSpec, Inventory

from .conftest import SAMPLES

MULTINODE = SAMPLES / "deployers" / "kolla-ansible" / "multinode"


def spec(name: str, roles: tuple[str, ...], groups: tuple[str, ...] = ()) -> HostSpec:
    return HostSpec(name, roles=roles, groups=groups)


INV = Inventory(
    {
        h.name: h
        for h in (
            spec("ctl01", ("controller", "database"), ("control", "rack1")),
            spec("ctl02", ("controller", "database"), ("control", "rack2")),
            spec("cmp01", ("compute",), ("compute", "rack1")),
            spec("cmp02", ("compute",), ("compute", "rack1")),
            spec("cmp10", ("compute",), ("compute", "rack2")),
            spec("stor01", ("block-storage",), ("storage", "rack2")),
            spec("fe80::1", ("network",), ("network",)),
        )
    },
    "inv",
)


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        ("cmp01", ["cmp01"]),
        ("cmp*", ["cmp01", "cmp02", "cmp10"]),
        ("cmp0?", ["cmp01", "cmp02"]),
        ("ctl0[!3]", ["ctl01", "ctl02"]),
        ("ctl0[12]", []),  # a subscript, as in Ansible: the 13th host "ctl0" matches
        ("~cmp[0-9]+0$", ["cmp10"]),
        ("compute", ["cmp01", "cmp02", "cmp10"]),  # a group, and a role
        ("rack1", ["ctl01", "cmp01", "cmp02"]),  # a group only
        ("database", ["ctl01", "ctl02"]),  # a role only
        ("compute:!cmp01", ["cmp02", "cmp10"]),
        ("compute,!cmp01", ["cmp02", "cmp10"]),
        ("!cmp01:compute", ["cmp02", "cmp10"]),  # order does not matter: unions first
        ("compute:&rack1", ["cmp01", "cmp02"]),
        ("rack1:&controller", ["ctl01"]),
        ("controller:compute:!rack2", ["ctl01", "cmp01", "cmp02"]),
        ("!compute", ["ctl01", "ctl02", "stor01", "fe80::1"]),  # no union: every host
        ("all:!rack1", ["ctl02", "cmp10", "stor01", "fe80::1"]),
        ("compute[0]", ["cmp01"]),
        ("compute[1:]", ["cmp02", "cmp10"]),
        ("compute[0:1]", ["cmp01", "cmp02"]),
        ("compute[-1]", ["cmp10"]),
        ("fe80::1", ["fe80::1"]),  # an IPv6 address stays whole
        ("*storage*", ["stor01"]),
    ],
)
def test_patterns_select_as_ansible_limit_does(pattern: str, hosts: list[str]) -> None:
    assert select(INV.hosts, terms([pattern])) == hosts


def test_repeated_values_unite() -> None:
    assert select(INV.hosts, terms(["cmp01", "ctl02"])) == ["cmp01", "ctl02"]


def test_role_and_host_patterns_both_limit() -> None:
    assert sorted(limited(INV, ["compute"], ["rack1"]).hosts) == ["cmp01", "cmp02"]
    assert sorted(limited(INV, [], []).hosts) == sorted(INV.hosts)


@pytest.mark.parametrize(
    ("pattern", "roles"),
    [
        ("compute", ("compute",)),
        ("compute,network", ("compute", "network")),
        ("*storage*", ("object-storage-proxy", "object-storage", "block-storage")),
        ("compute:!cmp01", ("compute",)),  # a host excluded: the checks stay compute's
        ("rack1", ()),  # a group: its hosts may have any role
        ("!network", tuple(r for r in check_roles(terms(["*"])) or () if r != "network")),
        ("", ()),
    ],
)
def test_the_checks_a_role_pattern_selects(pattern: str, roles: tuple[str, ...]) -> None:
    got = check_roles(terms([pattern] if pattern else []))
    if pattern == "!network":
        assert "network" not in got
        assert "compute" in got
    else:
        assert got == roles


@pytest.mark.parametrize("pattern", ["!", "compute:&", "~[unclosed"])
def test_a_malformed_pattern_is_one_line(pattern: str) -> None:
    with pytest.raises(InputError) as exc:
        select(INV.hosts, terms([pattern]))
    assert "\n" not in str(exc.value)


def test_kolla_sample_limited_by_group_glob_and_exclusion() -> None:
    inv = load_inventory(MULTINODE)
    assert sorted(limited(inv, [], ["compute:!cmp01*"]).hosts) == [
        "cmp02.cloud.example.org",
        "cmp03.cloud.example.org",
        "cmp04.cloud.example.org",
    ]
    # Ansible's groups match too: the baremetal group's compute hosts
    assert len(limited(inv, ["compute"], ["baremetal"]).hosts) == 4


CHECKS = """
import pytest

@pytest.mark.check("HOST-009", tier=1)
def test_any_host(host):
    '''Every host.'''

@pytest.mark.check("NOVA-002", tier=4, roles=("compute",))
def test_compute(host):
    '''Computes only.'''

@pytest.mark.check("CINDER-002", tier=4, roles=("block-storage",))
def test_storage(host):
    '''Storage only.'''
"""


def collected(result: pytest.RunResult) -> list[str]:
    return sorted(line.split("::", 1)[1] for line in result.outlines if "::test_" in line)


def test_list_hosts_and_a_run_honour_patterns(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    listed = suite.runpytest(f"--inventory={MULTINODE}", "--list-hosts", "--host=cmp*:!cmp0[34]*")
    assert listed.ret == pytest.ExitCode.OK
    hosts = [line.split()[0] for line in listed.outlines[2:]]
    assert hosts == ["cmp01.cloud.example.org", "cmp02.cloud.example.org"]
    run = suite.runpytest(
        f"--inventory={MULTINODE}", "--collect-only", "-q", "--role=compute:!cmp02*"
    )
    assert collected(run) == [
        "test_any_host[cmp01.cloud.example.org]",
        "test_any_host[cmp03.cloud.example.org]",
        "test_any_host[cmp04.cloud.example.org]",
        "test_compute[cmp01.cloud.example.org]",
        "test_compute[cmp03.cloud.example.org]",
        "test_compute[cmp04.cloud.example.org]",
    ]
    grouped = suite.runpytest(f"--inventory={MULTINODE}", "--collect-only", "-q", "--host=control")
    assert [c for c in collected(grouped) if "test_compute" in c] == ["test_compute[no-host]"]
    assert len([c for c in collected(grouped) if "test_any_host" in c]) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--host=cmp09"],
            "ERROR: --host cmp09 (from --host): not in inventory */multinode "
            "(hosts: cmp01.cloud.example.org, *",
        ),
        (["--host=compute:!cmp99"], "ERROR: --host !cmp99 (from --host): not in inventory *"),
        (["--host=cpm*"], "ERROR: --host cpm* (from --host): not in inventory *"),
        (
            ["--role=comptue"],
            "ERROR: role (from --role): unknown role 'comptue'; choose from controller, *, or a "
            "group or host of inventory */multinode",
        ),
        (["--role=*stroage*"], "ERROR: --role *stroage* (from --role): matches no role, *"),
        (["--host=~[x"], "ERROR: --role/--host: '~[x': not a regular expression*"),
        (["--host=!"], "ERROR: --role/--host: '!': ! names nothing"),
    ],
)
def test_a_pattern_that_matches_nothing_is_one_line(
    suite: pytest.Pytester, args: list[str], message: str
) -> None:
    result = suite.runpytest(f"--inventory={MULTINODE}", "--list-hosts", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    result.stderr.fnmatch_lines([message])


def test_a_host_afterboot_does_not_check_is_listed_but_not_run(suite: pytest.Pytester) -> None:
    listed = suite.runpytest(f"--inventory={MULTINODE}", "--list-hosts", "--host=mon01*")
    assert listed.ret == pytest.ExitCode.OK
    listed.stdout.fnmatch_lines(["mon01.cloud.example.org * not-checked(*"])
    run = suite.runpytest(f"--inventory={MULTINODE}", "--host=mon01*")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(
        [
            "ERROR: --host mon01* (from --host): only hosts afterboot does not check "
            "(mon01.cloud.example.org: a monitoring host: no OpenStack role; --list-hosts "
            "shows them)"
        ]
    )
    excluded = suite.runpytest(f"--inventory={MULTINODE}", "--collect-only", "--host=!mon01*")
    assert excluded.ret != pytest.ExitCode.USAGE_ERROR


def test_a_role_no_host_has_is_not_refused(suite: pytest.Pytester) -> None:
    result = suite.runpytest(f"--inventory={MULTINODE}", "--list-hosts", "--role=ceph")
    assert result.ret == pytest.ExitCode.OK


def test_without_an_inventory_a_role_pattern_names_roles(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    listed = suite.runpytest("--list-checks", "--role=*storage*")
    assert listed.ret == pytest.ExitCode.OK
    out = listed.stdout.str()
    assert "CINDER-002" in out
    assert "NOVA-002" not in out
    assert "HOST-009" in out
    bad = suite.runpytest("--list-checks", "--role=*stroage*")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["ERROR: role (from --role): '*stroage*' matches no role; *"])
