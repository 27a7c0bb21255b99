"""The redaction layer, unit level: every secret form of an OpenStack deployment is masked,
and what an operator needs (IDs, UUIDs, hosts, paths, option names) stays visible.

Every canary is built from ``ZQ`` parts between hostile characters, so a value masked only
in part still leaves a ``ZQ`` behind."""

from __future__ import annotations

import json
import logging

import pytest

from afterboot import redact as r
from afterboot.domains.config import effective

HOSTILE = "ZQ1 ZQ2'ZQ3\"ZQ4;ZQ5,ZQ6}ZQ7@ZQ8/ZQ9:ZQa?ZQb#ZQc[ZQd]ZQe%ZQfüZQg€ZQh"

# Every option name that marks a secret in OpenStack services and their neighbours.
SECRET_OPTIONS = (
    "password",
    "admin_password",
    "rabbit_password",
    "metadata_proxy_shared_secret",
    "memcache_secret_key",
    "secret_key",
    "auth_encryption_key",
    "encryption_key",
    "passphrase",
    "fixed_key",
    "api_key",
    "admin_token",
    "auth_token",
    "token",
    "credential",
    "adminPass",
    "new_pass",
    "sys_pswd",
    "chap_password",
    "private_key",
    "ssl_key_password",
    "backup_swift_key",
    "fernet_key",
)

LINES = [
    # URLs: every userinfo of a multi-host URL, reserved characters URL-encoded or not
    "transport_url = rabbit://nova:ZQ1@ctl-01:5672,nova:ZQ2@ctl-02:5672,nova:ZQ3@ctl-03/",
    "transport_url = rabbit://nova:ZQ1%40ZQ2@ctl-01:5672,nova:ZQ3%2FZQ4@ctl-02:5672/",
    "connection = mysql+pymysql://nova:ZQ1/ZQ2@db-01/nova?ssl_ca=/etc/ca.pem",
    "connection = mysql+pymysql://nova:ZQ1@ZQ2:ZQ3@db-01/nova",
    'url: "redis://:ZQ1ZQ2@ctl-01:6379/0"',
    # options: quoted, multi-word, values ending at ; , }
    "password = ZQ1 ZQ2 ZQ3",
    "  password: 'ZQ1 ZQ2'",
    'password: "ZQ1 \\" ZQ2"',
    "secret_key = ZQ1;ZQ2,ZQ3}ZQ4",
    "{'admin_password': 'ZQ1;ZQ2', 'host': 'ctl-01'}",
    '{"password": "ZQ1,ZQ2}ZQ3", "user": "admin"}',
    "key = AQZQ1ZQ2ZQ3ZQ4ZQ5ZQ6ZQ7ZQ8ZQ9==",  # ceph keyring
    "\tkey = AQDZQ1ZQ2ZQ3ZQ4ZQ5ZQ6ZQ7ZQ8ZQ9ZQ0+/ZQ1==",
    "user_admin_admin = ZQ1 .admin .reseller_admin",
    "user_test_tester = ZQ1",
    # command lines
    "PGPASSWORD=ZQ1 psql -h db-01 nova",
    "MYSQL_PWD='ZQ1 ZQ2' mysqldump nova",
    "OS_PASSWORD=ZQ1 openstack server list",
    "NOVA_PASSWORD=ZQ1 ./deploy.sh",
    "mysql -u root -pZQ1 -h db-01 nova",
    "mysql -u root -p'ZQ1 ZQ2' -h db-01",
    "openstack --os-password ZQ1 server list",
    "openstack --os-password 'ZQ1 ZQ2' server list",
    "keystone-manage bootstrap --bootstrap-password=ZQ1",
    "sshpass -p ZQ1 ssh ctl-01",
    # tokens
    "X-Auth-Token: gAAAAABZQ1ZQ2ZQ3ZQ4ZQ5ZQ6ZQ7ZQ8",
    "X-Subject-Token: ZQ1",
    "Authorization: Bearer ZQ1",
    "Authorization: Basic ZQ1ZQ2==",
    "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJaUTEifQ.ZQ1ZQ2ZQ3ZQ4",
    "got gAAAAABZQ1ZQ2ZQ3ZQ4ZQ5ZQ6ZQ7ZQ8_-= from keystone",
]


@pytest.mark.parametrize("line", LINES)
def test_every_secret_form_is_masked(line: str) -> None:
    out = r.redact(line)
    assert "ZQ" not in out, out
    assert "***" in out


@pytest.mark.parametrize("name", SECRET_OPTIONS)
@pytest.mark.parametrize("sep", [" = ", "=", ": "])
def test_every_secret_option_name_is_masked_and_stays_visible(name: str, sep: str) -> None:
    for text in (f"{name}{sep}{HOSTILE}", f'"{name}"{sep}"{HOSTILE.replace(chr(34), "")}"'):
        out = r.redact(text)
        assert "ZQ" not in out, out
        assert name in out


@pytest.mark.parametrize(
    "text",
    [
        "NOVA-005 failed on cmp-01: 6f0c1d2e-1111-2222-3333-444455556666 (/etc/nova/nova.conf)",
        "Unable to connect to http://10.0.0.1:5000/v3/auth/tokens: Pool(host='ctl-01')",
        "key: /root/.ssh/id_ed25519",
        "ssl_key = /etc/pki/tls/private/nova.key",
        "secret_uuid = 6f0c1d2e-1111-2222-3333-444455556666",
        "auth_type = password",
        "user_domain_name = Default",
        "transport_url = rabbit://ctl-01:5672/",
        "[keystone_authtoken] memcache_security_strategy = ENCRYPT",
        "tests_cloud/test_x.py::test_password_rules[ctl-01] PASSED",
        "token_expiration = 3600",
        "[compute:vars] expects key=value, got 'x'",
    ],
)
def test_what_the_operator_needs_stays_visible(text: str) -> None:
    assert r.redact(text) == text


def test_json_stays_json() -> None:
    data = {"a": "admin_password = ZQ1", "b": "rabbit://u:ZQ2@h1,u:ZQ3@h2/", "c": "x@y"}
    for text in (json.dumps(data), json.dumps(data, indent=2)):
        out = json.loads(r.redact(text))
        assert "ZQ" not in json.dumps(out)
        assert out["c"] == "x@y"


def test_secrets_read_from_configs_are_masked_wherever_they_appear() -> None:
    r.forget_all()
    try:
        effective(
            "[keystone_authtoken]\npassword = ZQ1 ZQ2\n"
            "[DEFAULT]\ntransport_url = rabbit://nova:ZQ3%2FZQ4@ctl-01:5672/\n",
            "nova.conf",
        )
        assert r.redact("login as nova with ZQ1 ZQ2 refused") == "login as nova with *** refused"
        assert "ZQ" not in r.redact("pika: PLAIN nova ZQ3/ZQ4 at ctl-01")
        assert "ZQ" not in r.redact("encoded: ZQ3%2FZQ4")
    finally:
        r.forget_all()


def test_log_records_are_redacted_before_formatting() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "password = %s", ("ZQ1 ZQ2",), None)
    try:
        raise ValueError("connection = mysql://nova:ZQ3@db/nova")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert r.RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "ZQ" not in text
    assert "password = ***" in text


PROCESS_TABLE = "\n".join(
    f"{pid} 1 {pid * 7} Sl /usr/bin/python3 /usr/bin/nova-api --config-file=/etc/nova/nova.conf"
    for pid in range(100, 180)
)


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("tail", ["", " \u00e9"])
def test_a_secret_in_a_long_text_is_masked_ascii_or_not(line: str, tail: str) -> None:
    """Long texts skip the rules whose words they lack (ASCII) or run them all (any other
    text: case folding matches more than lowercase): a secret is masked either way."""
    text = f"{PROCESS_TABLE}\n{line}{tail}\n{PROCESS_TABLE}"
    assert len(text) > r.CACHED_LEN
    out = r.redact(text)
    assert "ZQ" not in out, out
    assert out.count("--config-file=/etc/nova/nova.conf") == 160


def test_a_case_folded_option_is_still_masked() -> None:
    # "(?i)password" also matches U+017F (long s) for each "s"
    assert r.redact("cmd --pa\u017f\u017fword ZQ1") == "cmd --pa\u017f\u017fword ***"
