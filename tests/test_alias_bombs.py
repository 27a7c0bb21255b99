"""A YAML file whose aliases expand past 100,000 nodes ("billion laughs") is refused in
one line, within a second, wherever afterboot reads YAML: waivers, the configuration
baseline, a site's procedures, clouds.yaml (the inventory's own test is in
tests/test_hostile_inventory.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from afterboot.domains.baseline import BaselineError
from afterboot.domains.baseline import load as load_baseline
from afterboot.procedures.runbook import ProcedureError, load
from afterboot.reads.cloud import clouds_yaml_error
from afterboot.verdict.waiverfile import WaiverError
from afterboot.verdict.waiverfile import load as load_waivers
from afterboot.yamlines import TooLarge, bounded_load

LAUGHS = "\n".join(
    ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)
REFUSED = "expands to more than 100000 nodes"


def test_the_bounded_loader_refuses_a_bomb_and_a_recursion_and_loads_the_rest() -> None:
    started = time.monotonic()
    with pytest.raises(TooLarge, match=REFUSED):
        bounded_load(LAUGHS + "\nall: *a9\n")
    assert time.monotonic() - started < 1
    with pytest.raises(TooLarge):
        bounded_load("a: &a [1, *a]\n")
    assert bounded_load("a: &a [1, 2]\nb: *a\n") == {"a": [1, 2], "b": [1, 2]}


def test_a_waiver_file_bomb_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(LAUGHS + "\nwaivers: *a9\n")
    with pytest.raises(WaiverError, match=REFUSED) as err:
        load_waivers(path)
    assert len(str(err.value).splitlines()) == 1


def test_a_baseline_bomb_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "baseline.yaml").write_text(LAUGHS + "\nroles: *a9\n")
    with pytest.raises(BaselineError, match=REFUSED) as err:
        load_baseline(tmp_path)
    assert len(str(err.value).splitlines()) == 1


def test_a_site_procedures_bomb_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(LAUGHS + "\nSVC-003: {runbook: *a9}\n")
    with pytest.raises(ProcedureError, match=REFUSED) as err:
        load([tmp_path])
    assert len(str(err.value).splitlines()) == 1


def test_a_clouds_yaml_bomb_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text(LAUGHS + "\nclouds: {prod: {auth: *a9}}\n")
    monkeypatch.setitem(os.environ, "OS_CLIENT_CONFIG_FILE", str(path))
    problem = clouds_yaml_error()
    assert problem is not None
    assert REFUSED in problem
    assert len(problem.splitlines()) == 1
