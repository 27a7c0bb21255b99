"""No command runs on the operator's machine through ssh's own expansions.

ssh expands ``%h`` (the HostName) into the ProxyCommand it runs through a shell: the one
it makes for ProxyJump (``-W '[%h]:%p'``) and a site's ``ProxyCommand ... %h``; it puts the
``-F`` path unquoted into the ProxyJump command. An IPv6 scope id (``fe80::1%...``) was the
way in: each payload below only creates a marker file (``>pwned``, in the run's directory).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory.load import load_inventory
from afterboot.inventory.model import HostSpec, is_host
from afterboot.transport.connections import Remote

CHECK = '''
import pytest

@pytest.mark.check("HOST-009", tier=1)
def test_answers(host):
    """The host runs a command."""
'''

# Breaks out of the single quotes of ProxyJump's -W '[%h]:%p' (ssh unescapes \').
QUOTE_BREAK = "fe80::1%h\\'$(>pwned)\\'"
# Expanded unquoted by a site's ProxyCommand ... %h.
BARE = "fe80::1%h$(>pwned)"
PROXY = "ProxyCommand exec true %h %p\n"


def _run(suite: pytest.Pytester, inventory: str, name: str = "inv.yaml") -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    (suite.path / name).write_text(inventory)
    result = suite.runpytest(f"--inventory={name}", "--timeout=2")
    assert not (suite.path / "pwned").exists(), "a command ran on the operator's machine"
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith("ERROR: inventory: "), errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def _yaml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\") + '"'


def test_scope_id_through_proxy_jump(suite: pytest.Pytester) -> None:
    _run(suite, f"hosts:\n  ctl: {{address: {_yaml(QUOTE_BREAK)}, jump: 'nobody@127.0.0.1:1'}}\n")


def test_scope_id_through_the_sites_proxy_command(suite: pytest.Pytester) -> None:
    (suite.path / "ssh_config").write_text(f"Host *\n  {PROXY}")
    _run(suite, f"hosts:\n  ctl: {{address: {_yaml(BARE)}, ssh_config: ssh_config}}\n")


def test_scope_id_in_ansible_host_with_a_proxy_command(suite: pytest.Pytester) -> None:
    line = f"c1 ansible_host='{BARE}' ansible_ssh_common_args='-o \"{PROXY.strip()}\"'"
    _run(suite, f"[compute]\n{line}\n", "hosts.ini")


def test_ssh_config_path_in_the_proxy_jump_command(suite: pytest.Pytester) -> None:
    (suite.path / "c$(>pwned)").write_text("")
    _run(
        suite,
        "hosts:\n  ctl: {address: 127.0.0.1, jump: 'nobody@127.0.0.1:1', "
        "ssh_config: 'c$(>pwned)'}\n",
    )


# -- the rules, one line each ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("fe80::1%eth0", True),
        ("fe80::1%enp0s31f6.100", True),
        ("fe80::1%br-ex_1", True),
        ("[fe80::1%eth0]", True),
        ("fe80::1", True),
        ("fe80::1%h", True),  # an interface may be called h: ssh gets %%h
        (QUOTE_BREAK, False),
        (BARE, False),
        ("fe80::1%eth0 x", False),
        ("fe80::1%eth0;x", False),
        ("fe80::1%", False),
        ("fe80::1%'", False),
        ('fe80::1%"x"', False),
        ("[fe80::1%h$(x)]", False),
    ],
)
def test_an_ipv6_scope_id_is_an_interface_name(value: str, ok: bool) -> None:
    assert is_host(value) is ok


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        (f"address: {_yaml(BARE)}", ":3: host ctl: address "),
        (f"jump: {_yaml('u@[' + BARE + ']')}", ":3: host ctl: jump "),
        ("ssh_config: 'c$(>pwned)'", ":3: host ctl: ssh_config "),
        ("ssh_config: sub", ":3: host ctl: ssh_config "),
        ("key: 'k;x'", ":3: host ctl: key "),
        ("key: 'k`x`'", ":3: host ctl: key "),
        ("key: sub", ":3: host ctl: key "),
    ],
)
def test_paths_and_addresses_ssh_may_expand_are_refused(
    tmp_path: Path, settings: str, where: str
) -> None:
    (tmp_path / "c$(>pwned)").write_text("")
    (tmp_path / "sub").mkdir()
    path = tmp_path / "inv.yaml"
    path.write_text(f"defaults: {{connection: ssh}}\nhosts:\n  ctl: {{{settings}}}\n")
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert str(exc.value).startswith(str(path) + where), str(exc.value)
    assert "\n" not in str(exc.value)


def test_plain_existing_paths_and_scoped_addresses_are_kept(tmp_path: Path) -> None:
    (tmp_path / "ssh_config").write_text("")
    (tmp_path / "id_ed25519").write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "defaults: {key: id_ed25519, ssh_config: ssh_config}\n"
        "hosts:\n  ctl: {address: 'fe80::1%eth0', jump: 'ops@[fe80::2%br-ex]:2222'}\n"
        "  cmp: {key: missing-yet, ssh_config: written-later}\n"
    )
    inv = load_inventory(path)
    assert inv.hosts["ctl"].address == "fe80::1%eth0"
    assert inv.hosts["ctl"].ssh_config == str(tmp_path / "ssh_config")
    assert inv.hosts["cmp"].key == str(tmp_path / "missing-yet")  # ssh warns and goes on
    assert inv.hosts["cmp"].ssh_config == str(tmp_path / "written-later")  # ssh says so


def test_the_sites_own_proxy_command_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(
        "[compute]\nc1 ansible_host=10.0.0.5 "
        "ansible_ssh_common_args='-o ProxyCommand=\"ssh -W %h:%p -q bastion\"'\n"
    )
    inv = load_inventory(path)
    assert inv.hosts["c1"].ssh_args == ("-o", "ProxyCommand=ssh -W %h:%p -q bastion")


def test_a_scoped_address_reaches_ssh_escaped(tmp_path: Path) -> None:

    spec = HostSpec(name="ctl", address="fe80::1%eth0", jump="ops@bastion")
    remote = Remote(spec, timeout=2, control_dir=str(tmp_path))
    argv = remote.backend.ssh_argv("true")  # type: ignore[attr-defined]
    assert "HostName=fe80::1%%eth0" in argv
