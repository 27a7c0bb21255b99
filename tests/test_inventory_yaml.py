"""An inventory's YAML is read by libyaml's parser (an inventory of tens of megabytes in a
second, where PyYAML's own took twenty), and says the same as PyYAML's did: the same
data, each mapping and key at the same line, an error one line naming its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afterboot import yamlines
from afterboot.errors import InputError
from afterboot.inventory.deployers import read_kolla_globals
from afterboot.inventory.load import load_inventory
from afterboot.yamlines import LineDict, load_yaml

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.dates(), st.datetimes()
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=40,
)


def _lines(value: Any) -> Any:
    """Where each mapping of a loaded document, and each of its keys, was written."""
    if isinstance(value, LineDict):
        return (value.line, value.key_lines, {k: _lines(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_lines(v) for v in value]
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=DATA, flow=st.booleans())
def test_libyaml_reads_what_pyyaml_read_to_the_line(data: Any, flow: bool) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    pure = load_yaml(text, "inv.yml", ansible=True)
    fast = load_yaml(text, "inv.yml", ansible=True, fast=True)
    assert repr(fast) == repr(pure)  # nan == nan too
    assert _lines(fast) == _lines(pure)


def test_vault_and_unsafe_tags_are_read_alike() -> None:
    text = (
        "a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nb: !unsafe '{{ x }}'\nc: !unsafe [1]\n"
    )
    pure = load_yaml(text, "inv.yml", ansible=True)
    fast = load_yaml(text, "inv.yml", ansible=True, fast=True)
    assert fast == pure
    assert type(fast["b"]) is yamlines.Unsafe
    assert isinstance(fast["a"], yamlines.Vaulted)


@pytest.fixture
def loaders(monkeypatch: pytest.MonkeyPatch) -> list[type[Any]]:
    """The loader classes each YAML parse of the test uses."""
    used: list[type[Any]] = []
    real = yamlines.bounded_load

    def spy(text: str, loader_class: type[Any] = yamlines.SafeLoader) -> Any:
        used.append(loader_class)
        return real(text, loader_class)

    monkeypatch.setattr(yamlines, "bounded_load", spy)
    return used


@pytest.mark.usefixtures("without_ansible")
def test_every_inventory_file_is_parsed_by_libyaml(tmp_path: Path, loaders: list[type]) -> None:
    own = tmp_path / "inv.yaml"
    own.write_text("hosts:\n  ctl: {roles: [controller]}\n")
    ansible = tmp_path / "hosts.yml"
    ansible.write_text("all:\n  children:\n    compute:\n      hosts:\n        c1:\n")
    kolla = tmp_path / "globals.yml"
    kolla.write_text("kolla_base_distro: ubuntu\n")
    load_inventory(own)
    load_inventory(ansible)
    read_kolla_globals(kolla)
    assert len(loaders) >= 3
    assert all(issubclass(c, yaml.CSafeLoader) for c in loaders), loaders


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("hosts:\n  ctl: {}\n  cmp: {address: 'x\x07'}\n", "inv.yaml:3: invalid YAML: unaccep"),
        ("hosts:\n  ctl: {}\n  # é è\n  cmp: \x00\n", "inv.yaml:4: invalid YAML: unacceptable"),
    ],
)
def test_a_character_yaml_refuses_names_its_line(tmp_path: Path, text: str, said: str) -> None:
    """It was the reader's two lines (a position, "<unicode string>"), no line of the file."""
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    message = str(exc.value)
    assert message.startswith(f"{tmp_path}/{said}"), message
    assert "\\x0a" not in message
    assert "unicode string" not in message


def test_an_error_libyaml_gives_no_line_is_told_again_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only then is the text parsed again, by PyYAML's parser, which names the line."""

    class Lineless(yamlines._FastAnsibleLoader):
        def get_single_node(self) -> Any:
            raise yaml.MarkedYAMLError(problem="broken somewhere")

    monkeypatch.setitem(yamlines._LOADERS, (True, True), Lineless)
    with pytest.raises(InputError, match=r"^inv.yaml:4: invalid YAML: expected the node"):
        load_yaml("hosts:\n  ctl: {}\n  cmp: [\n", "inv.yaml", ansible=True, fast=True)
    with pytest.raises(InputError, match=r"^inv.yaml: invalid YAML: broken somewhere$"):
        load_yaml("hosts: {}\n", "inv.yaml", ansible=True, fast=True)  # PyYAML finds none
