"""Service configs read with oslo.config's semantics, and the paths read from them."""

from __future__ import annotations

import pytest

from afterboot.domains.config import ConfigSyntaxError, effective, parse_ini, service_paths
from afterboot.domains.database import parse_service_config
from afterboot.errors import CouldNotRun

NOVA = """[DEFAULT]
debug = true
connection = sqlite:///leak

[pci]
device_spec = {"address": "0000:81:00.0"}
device_spec = {"address": "0000:81:00.1"}
alias = {"name": "a1",
  "product_id": "154d"}

[Database]
max_retries = 10
# connection = mysql://commented/out
"""


def test_repeated_keys_are_kept_in_order() -> None:
    sections = parse_ini(NOVA)
    assert sections["pci"]["device_spec"] == [
        '{"address": "0000:81:00.0"}',
        '{"address": "0000:81:00.1"}',
    ]


def test_hosts_differing_in_an_earlier_repeated_value_compare_different() -> None:
    other = NOVA.replace("0000:81:00.0", "0000:82:00.0")
    key = ("nova.conf", "pci", "device_spec")
    assert effective(NOVA, "nova.conf")[key] != effective(other, "nova.conf")[key]
    assert effective(NOVA, "nova.conf")[key] == effective(NOVA, "nova.conf")[key]


def test_default_does_not_leak_and_sections_are_case_insensitive() -> None:
    values = effective(NOVA, "nova.conf")
    assert ("nova.conf", "database", "max_retries") in values
    assert ("nova.conf", "database", "debug") not in values
    assert ("nova.conf", "pci", "debug") not in values
    assert parse_service_config(NOVA, "database", "connection") is None
    assert parse_service_config(NOVA, "DEFAULT", "debug") == "true"


def test_continuation_lines_join_with_newlines() -> None:
    assert parse_ini(NOVA)["pci"]["alias"] == ['{"name": "a1",\n"product_id": "154d"}']


def test_colon_delimiter_quotes_and_inline_hash() -> None:
    sections = parse_ini("[a]\nurl: http://x:5000 # kept\nq = 'quoted'\n")
    assert sections["a"] == {"url": ["http://x:5000 # kept"], "q": ["quoted"]}


def test_last_value_wins_for_a_single_option() -> None:
    text = "[database]\nconnection = mysql://a/nova\nconnection = mysql://b/nova\n"
    assert parse_service_config(text, "database", "connection") == "mysql://b/nova"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[DEFAULT\nx = 1\n", "f.conf:1: section header"),
        ("x = 1\n", "f.conf:1: option .x. before any .section."),
        ("[a]\n  orphan\n", "f.conf:2: continuation line"),
        ("[a]\njust words\n", "f.conf:2: no '=' or ':'"),
    ],
)
def test_syntax_errors_name_file_and_line(text: str, where: str) -> None:
    with pytest.raises(ConfigSyntaxError, match=where):
        parse_ini(text, "f.conf")
    with pytest.raises(CouldNotRun, match=where):
        effective(text, "f.conf")


def test_secrets_in_repeated_options_are_digests() -> None:
    text = "[a]\npassword = one\npassword = two\n"
    assert effective(text, "x.conf")[("x.conf", "a", "password")].startswith("sha256:")


def test_service_paths_defaults() -> None:
    assert service_paths({}) == {
        "nova_instances_path": "/var/lib/nova/instances",
        "swift_devices": "/srv/node",
        "swift_recon_cache_path": "/var/cache/swift",
    }


def test_service_paths_from_configs() -> None:
    paths = service_paths(
        {
            "/etc/nova/nova.conf": "[DEFAULT]\nstate_path = /data/nova\n",
            "/etc/swift/object-server.conf": (
                "[DEFAULT]\ndevices = /srv/disks\nrecon_cache_path = /var/cache/x\n\n"
                "[filter:recon]\nrecon_cache_path = /var/cache/swift-recon\n"
            ),
        }
    )
    assert paths == {
        "nova_instances_path": "/data/nova/instances",
        "swift_devices": "/srv/disks",
        "swift_recon_cache_path": "/var/cache/swift-recon",
    }
    explicit = "[DEFAULT]\nstate_path = /x\ninstances_path = ${state_path}/vms\n"
    assert service_paths({"nova.conf": explicit})["nova_instances_path"] == "/x/vms"
    absolute = "[DEFAULT]\ninstances_path = /mnt/instances\n"
    assert service_paths({"nova.conf": absolute})["nova_instances_path"] == "/mnt/instances"
