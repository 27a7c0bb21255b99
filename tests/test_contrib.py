"""contrib/gitlab-ci.yml's commands, run as written against a sample site.

The site is two compute hosts whose configuration lives in a temporary directory
(``connection: local`` with ``paths:``), the project directory a git checkout; there is no
cloud, so the checks that read through the APIs end could-not-run and the services of the
local machine are what SVC-003 judges. The gate's own verdict (CONF-002) is read from
``summary.json``. ``before_script`` (venv + pip install) is only checked with ``bash -n``:
this run already has afterboot installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from .conftest import ROOT
from .test_baseline import nova

CI = ROOT / "contrib" / "gitlab-ci.yml"


def _jobs() -> dict[str, Any]:
    data = yaml.safe_load(CI.read_text())
    assert isinstance(data, dict)
    return data


def _env(project: Path, variables: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AFTERBOOT_", "OS_", "PYTEST_")) and k != "PYTHONPATH"
    }
    env.update(
        CI_PROJECT_DIR=str(project),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        AFTERBOOT_TIMEOUT="3",
    )
    for name, value in variables.items():
        env[name] = os.path.expandvars(value.replace("$CI_PROJECT_DIR", str(project)))
    env["AFTERBOOT_DIR"] = str(ROOT)  # afterboot's checkout: this one
    return env


def _run(job: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "set -e\n" + "\n".join(job["script"]) + "\n"
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _gate_outcome(reports: Path) -> str:
    """CONF-002's outcome for the compute role, as the job's JUnit file tells it."""
    root = ET.parse(reports / "junit.xml").getroot()
    (case,) = [
        c for c in root.iter("testcase") if c.get("name") == "test_config_matches_baseline[compute]"
    ]
    if case.find("failure") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"


def test_job_definition_is_complete() -> None:
    jobs = _jobs()
    gate, write = jobs["afterboot-config-gate"], jobs["afterboot-write-baseline"]
    assert any("--phase=config-gate" in line for line in gate["script"])
    assert any("--write-baseline=" in line for line in write["script"])
    assert write["when"] == "manual"
    before = "\n".join(jobs[".afterboot"]["before_script"])
    assert subprocess.run(["bash", "-n", "-c", before], check=False).returncode == 0
    assert jobs[".afterboot"]["artifacts"]["reports"]["junit"] == "reports/junit.xml"


def test_jobs_run_as_written(tmp_path: Path) -> None:
    project = tmp_path / "deploy-repo"
    site = project / "site"
    lines = ["defaults:", "  connection: local", "hosts:"]
    for i, host in enumerate(("cmp1", "cmp2"), start=21):
        etc = site / host / "etc" / "nova"
        etc.mkdir(parents=True)
        (etc / "nova.conf").write_text(nova(host, f"10.0.0.{i}"))
        lines.append(f"  {host}: {{roles: [compute], paths: {{/etc/nova: {etc}}}}}")
    (site / "inventory.yaml").write_text("\n".join(lines) + "\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    jobs = _jobs()
    env = _env(project, jobs["variables"])

    written = _run(jobs["afterboot-write-baseline"], env)
    assert written.returncode == 0, written.stdout + written.stderr
    assert "baseline written to" in written.stdout
    assert "nova.conf.yaml" in written.stdout  # git diff --stat of the new baseline
    assert (site / "baseline" / "compute" / "etc" / "nova" / "nova.conf.yaml").is_file()

    gate = _run(jobs["afterboot-config-gate"], env)
    reports = project / "reports"
    assert (reports / "junit.xml").is_file(), gate.stdout[-3000:] + gate.stderr
    assert _gate_outcome(reports) == "passed", gate.stdout[-3000:]

    (site / "cmp2" / "etc" / "nova" / "nova.conf").write_text(
        nova("cmp2", "10.0.0.22", DEFAULT__reserved_host_memory_mb="1024")
    )
    gate = _run(jobs["afterboot-config-gate"], env)
    assert gate.returncode != 0  # the job fails
    assert "cmp2 /etc/nova/nova.conf [DEFAULT] reserved_host_memory_mb changed" in gate.stdout
    assert _gate_outcome(reports) == "failed"
    summary = json.loads((reports / "summary.json").read_text())
    (conf,) = [c for c in summary["checks"] if c["check"] == "CONF-002"]
    assert [(r["outcome"], r["host"]) for r in conf["results"]] == [("failed", "")]


SHARDED = ROOT / "contrib" / "gitlab-ci-sharded.yml"


def _outcomes(reports: Path) -> dict[str, str]:
    summary = json.loads((reports / "summary.json").read_text())
    return {r["nodeid"]: r["outcome"] for r in summary["judged"]["results"]}


def test_sharded_jobs_run_as_written(tmp_path: Path) -> None:
    """Two shards read their hosts, the judge judges both snapshots: the same outcomes
    as one run over the whole site, a difference between hosts of two shards included."""
    project = tmp_path / "site-repo"
    site = project / "site"
    lines = ["defaults:", "  connection: local", "hosts:"]
    for i, host in enumerate(("cmp1", "cmp2", "cmp3"), start=21):
        etc = site / host / "etc" / "nova"
        etc.mkdir(parents=True)
        (etc / "nova.conf").write_text(nova(host, f"10.0.0.{i}"))
        lines.append(f"  {host}: {{roles: [compute], paths: {{/etc/nova: {etc}}}}}")
    (site / "inventory.yaml").write_text("\n".join(lines) + "\n")
    # cmp2 (shard 2 of 2: cmp1 and cmp3 are shard 1) configured apart from its peers
    (site / "cmp2" / "etc" / "nova" / "nova.conf").write_text(
        nova("cmp2", "10.0.0.22", DEFAULT__reserved_host_memory_mb="1024")
    )
    jobs = yaml.safe_load(SHARDED.read_text())
    assert jobs["afterboot-shard"]["parallel"] >= 2
    assert jobs["afterboot-judge"]["needs"] == ["afterboot-shard"]
    before = "\n".join(jobs[".afterboot-sharded"]["before_script"])
    assert subprocess.run(["bash", "-n", "-c", before], check=False).returncode == 0
    env = _env(project, jobs["variables"])
    env["AFTERBOOT_TIMEOUT"] = "2"
    for index in (1, 2):
        shard = _run(
            jobs["afterboot-shard"], {**env, "CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": "2"}
        )
        assert shard.returncode == 0, shard.stdout[-3000:] + shard.stderr
        assert f"shard {index}/2 exit status" in shard.stdout
    judge = _run(jobs["afterboot-judge"], env)
    reports = project / "reports"
    assert (reports / "junit.xml").is_file(), judge.stdout[-3000:] + judge.stderr
    assert "judging 2 saved snapshot(s)" in judge.stdout
    assert "compute hosts differ: nova.conf [DEFAULT] reserved_host_memory_mb" in judge.stdout
    merged = _outcomes(reports)
    assert merged["tests_cloud/test_config.py::test_role_config_consistent[compute]"] == "failed"

    whole = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--reports-dir={tmp_path / 'whole'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert (tmp_path / "whole" / "summary.json").is_file(), whole.stdout[-3000:]
    assert merged == _outcomes(tmp_path / "whole")
    assert judge.returncode == whole.returncode
