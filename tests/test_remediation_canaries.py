"""No secret in any output, acceptance layer: hostile passwords (spaces, quotes, unicode,
URL reserved characters), multi-host URLs, every secret-bearing option name, evidence logs,
live logs (``--log-cli-level``) and ``--log-file``; serial and ``-n 2``.

Every canary is made of ``ZQ`` parts between hostile characters, so a value masked only in
part still leaves a ``ZQ`` in the output."""

from __future__ import annotations

import pytest

from .test_redaction import HOSTILE, SECRET_OPTIONS

UUID = "6f0c1d2e-1111-2222-3333-444455556666"

INVENTORY = """\
defaults:
  connection: local
hosts:
  db-01: {roles: [database]}
  ctl-01: {roles: [controller]}
"""

CHECKS = f'''
import logging

import pytest

from afterboot.domains.config import effective

HOSTILE = {HOSTILE!r}
OPTIONS = {SECRET_OPTIONS!r}
CONFIG = (
    "[keystone_authtoken]\\npassword = ZQlit1 ZQlit2\\n"
    "[DEFAULT]\\ntransport_url = rabbit://nova:ZQu1%40ZQu2@ctl-01:5672,nova:ZQu3@ctl-02:5672/\\n"
)
COMMAND = ("ZQc1", "ZQc2")
log = logging.getLogger("afterboot.canary")


@pytest.mark.check("SVC-001", tier=10, roles=("database",))
def test_database(host, findings):
    """The database runs."""
    effective(CONFIG, "nova.conf")  # the suite reads a service config: its secrets are learned
    for name in OPTIONS:
        print(f"{{name}} = {{HOSTILE}}")
        log.warning("%s: %s", name, HOSTILE)
    log.error("rabbit said no to nova ZQlit1 ZQlit2")  # a learned literal, no option name
    log.info("PGPASSWORD=%s psql -h db-01; mysql -uroot -p%s", *COMMAND)
    findings.add(
        "nova.conf", host=host.name, expected="reachable", actual=f"password = {{HOSTILE}}",
        uuid="{UUID}",
    )
    url = "rabbit://nova:ZQm1@ctl-01:5672,nova:ZQm2%2FZQm3@ctl-02:5672/"
    assert False, f"transport_url = {{url}} down on {{host.name}} for {UUID}"


@pytest.mark.check("NOVA-001", tier=3)
def test_compute_api(record_property):
    """Nova answers: a passing check, its property redacted all the same."""
    record_property("request", "X-Auth-Token: gAAAAABZQp1ZQp2ZQp3ZQp4ZQp5ZQp6ZQp7")


@pytest.mark.check("KEYSTONE-001", tier=15)
def test_keystone(record_property):
    """Keystone answers."""
    record_property("request", "X-Auth-Token: gAAAAABZQt1ZQt2ZQt3ZQt4ZQt5ZQt6ZQt7")
    log.warning("openstack --os-password 'ZQo1 ZQo2' token issue")
    raise RuntimeError("POST http://ctl-01:5000/v3/auth/tokens: Authorization: Bearer ZQb1")
'''

EVIDENCE = (
    "2024-01-01 INFO oslo_service.periodic_task noise\n"
    "ERROR db connection = mysql+pymysql://root:ZQe1/ZQe2@localhost/nova refused\n"
    "ERROR amqp rabbit://u:ZQe3@ctl-01:5672,u:ZQe4@ctl-02:5672/ unreachable\n"
    "ERROR memcache_secret_key = ZQe5 ZQe6 rejected\n"
    "ERROR login failed: password: 'ZQe7 ZQe8'\n"
)


@pytest.fixture
def cloud(suite: pytest.Pytester) -> pytest.Pytester:
    suite.makefile(".yaml", inventory=INVENTORY)
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
        "afterboot_procedures = site\n"
    )
    suite.mkdir("site")
    log = suite.path / "mariadb.log"
    log.write_text(EVIDENCE)
    (suite.path / "site" / "db.yaml").write_text(f"SVC-001:\n  logs: [{log}]\n")
    return suite


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_no_hostile_canary_in_any_output(cloud: pytest.Pytester, xdist: bool) -> None:
    cloud.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    args = [
        "--junitxml=junit.xml",
        "--alluredir=allure",
        "-p",
        "xdist",
        "-rA",
        "--show-capture=all",
        "--log-cli-level=INFO",
        "--log-file=run.log",
        "--log-file-level=DEBUG",
        "--no-blocking",
    ]
    result = cloud.runpytest_subprocess(*args, *(["-n", "2"] if xdist else []))
    terminal = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in terminal
    assert "- Evidence -" in terminal
    files = [f for d in ("reports", "allure") for f in (cloud.path / d).rglob("*") if f.is_file()]
    files += [cloud.path / "junit.xml", cloud.path / "run.log"]
    assert len(files) > 6
    outputs = {"terminal": terminal} | {f.name: f.read_text(errors="replace") for f in files}
    for name, text in outputs.items():
        assert "ZQ" not in text, (name, text[text.find("ZQ") - 200 : text.find("ZQ") + 80])
    # what the operator needs stays visible
    assert UUID in terminal
    assert "db-01" in terminal
    assert "memcache_secret_key" in outputs["run.log"] or xdist
    assert "/v3/auth/tokens" in terminal
    assert "rabbit://nova:***@ctl-01:5672,nova:***@ctl-02:5672/" in terminal
