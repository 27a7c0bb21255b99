"""Redaction, round 2: secrets as other processes' command lines show them, key blocks,
credential tables, URLs without a scheme, hashes; the waiver ledger; control characters.

Every canary holds ``ZQ``; a value masked only in part leaves a ``ZQ`` behind."""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from afterboot import redact as r
from afterboot.verdict.waiverfile import WaiverError, ledger, ledger_lines, load, parse

# Each form with {s} where the secret goes.
FORMS = (
    "rabbitmqctl add_user nova {s}",
    "/usr/lib/rabbitmq/bin/rabbitmqctl -n rabbit@ctl-01 add_user openstack {s}",
    "docker exec rabbitmq rabbitmqctl change_password openstack {s}",
    "rabbitmqctl add_user nova '{s}'",
    "curl -u admin:{s} http://ctl-01:15672/api/overview",
    "curl -sk --user admin:{s} https://ctl-01/",
    "curl -u 'admin:{s}' https://ctl-01/",
    "ipmitool -I lanplus -H bmc-01 -U admin -P {s} chassis status",
    "ipmitool -I lanplus -H bmc-01 -U admin -P'{s}' power on",
    "swift -A http://ctl:8080/auth/v1.0 -U test:tester -K {s} stat",
    "swift --key {s} -U test:tester list",
    "mysql -u root -p{s} nova",
    "mysqldump --password={s} nova",
    "mysql --password {s} -e 'select 1'",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn{s}NzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\n"
    "MIIEow{s}IBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN EC PRIVATE KEY-----\nMHcC{s}AQEE\n-----END EC PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nMIIE{s}vQIBADAN\n-----END PRIVATE KEY-----",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF{s}HzBJBgkq\n-----END ENCRYPTED PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow{s}IBAAKCAQEA",  # cut short
    "| secret     | {s} |",
    "https_proxy=admin:{s}@proxy.example.org:3128",
    "proxy admin:{s}@10.0.0.1:3128 refused",
    "/var/lib/nova/mnt/nova:{s}@ctl-01:5672",
    "nova:{s}@ctl-01:5672,nova:{s}@ctl-02:5672",
    "admin:$apr1${s}$xKzE7Z5Yq1ZvdQyB0q.cs/",
    "admin:$2y$05${s}abcdefghijklmnopqrstuvwxyz0123",
    "admin:{{SHA}}{s}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    "key_data = {s}",
    "rbd --id cinder --key {s} ls volumes",
    "rbd map vol --key={s}",
    "CREATE USER 'nova'@'%' IDENTIFIED BY '{s}';",
    "ALTER USER nova IDENTIFIED WITH mysql_native_password BY '{s}'",
    "GRANT ALL ON nova.* TO 'nova'@'localhost' IDENTIFIED BY \"{s}\"",
    "https://ctl:8080/v1/AUTH_x/c/o?temp_url_sig={s}&temp_url_expires=1700000000",
)

FORM_IDS = [f"form{i}" for i in range(len(FORMS))]  # a node ID is redacted too (xdist)

EC2_TABLE = """\
+----------------------------------+----------------------------------+------------+---------+
| Access                           | Secret                           | Project ID | User ID |
+----------------------------------+----------------------------------+------------+---------+
| 0a1b2c3d4e5f60718293a4b5c6d7e8f9 | ZQ1ZQ2ZQ3ZQ4ZQ5ZQ6ZQ7ZQ8ZQ9ZQaZQb | 6f0c1d2e   | admin   |
| 1a1b2c3d4e5f60718293a4b5c6d7e8f9 | ZQcZQdZQeZQfZQgZQhZQiZQjZQkZQlZQm | 6f0c1d2e   | demo    |
+----------------------------------+----------------------------------+------------+---------+
"""

EC2_SHOW = """\
+------------+----------------------------------+
| Field      | Value                            |
+------------+----------------------------------+
| access     | 0a1b2c3d4e5f60718293a4b5c6d7e8f9 |
| project_id | 6f0c1d2e                         |
| secret     | ZQ1ZQ2ZQ3ZQ4ZQ5ZQ6ZQ7ZQ8ZQ9ZQaZQb |
| user_id    | admin                            |
+------------+----------------------------------+
"""


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_every_form_is_masked(form: str) -> None:
    out = r.redact(form.format(s="ZQ1ZQ2ZQ3"))
    assert "ZQ" not in out, out
    assert r.MASK in out


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_every_form_is_masked_in_a_long_process_table(form: str) -> None:
    table = "\n".join(
        f"{p} 1 Sl /usr/bin/nova-api --config-file=/etc/nova/nova.conf" for p in range(80)
    )
    row = "" if form.startswith("|") else "4711 1 S "  # a table row is a line of its own
    text = f"{table}\n{row}{form.format(s='ZQ1ZQ2ZQ3')}\n{table}"
    assert len(text) > r.CACHED_LEN
    assert "ZQ" not in r.redact(text)


@pytest.mark.parametrize("table", [EC2_TABLE, EC2_SHOW])
def test_ec2_credentials_tables_lose_the_secret_column(table: str) -> None:
    out = r.redact(table)
    assert "ZQ" not in out, out
    assert "0a1b2c3d4e5f60718293a4b5c6d7e8f9" in out  # the access key is an ID
    assert [len(line) for line in out.splitlines()] == [len(x) for x in table.splitlines()]


def test_ec2_credentials_json_loses_the_secret() -> None:
    rows = [{"Access": "0a1b2c3d", "Secret": "ZQ1ZQ2ZQ3", "Project ID": "p", "User ID": "u"}]
    for text in (json.dumps(rows), json.dumps(rows, indent=2), json.dumps(rows[0])):
        out = json.loads(r.redact(text))
        assert "ZQ" not in json.dumps(out)


def test_a_key_block_inside_json_keeps_the_json() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowZQ1ZQ2\nZQ3ZQ4==\n-----END RSA PRIVATE KEY-----\n"
    out = r.redact(json.dumps({"private": key, "host": "ctl-01"}))
    assert json.loads(out)["host"] == "ctl-01"
    assert "ZQ" not in out
    cut = json.dumps({"private": key[:40], "host": "ctl-01"})  # no END line
    assert json.loads(r.redact(cut))["host"] == "ctl-01"
    assert "ZQ" not in r.redact(cut)


@pytest.mark.parametrize(
    "text",
    [
        "rabbitmqctl list_users",
        "rabbitmqctl add_vhost /nova",
        "curl -s http://ctl-01:5000/v3",
        "curl -u admin https://ctl-01/",  # curl asks for the password
        "ipmitool -I lanplus -H bmc-01 -U admin -E chassis status",
        "swift -A http://ctl:8080/auth/v1.0 -U test:tester stat",
        "rbd --id cinder --keyring /etc/ceph/ceph.client.cinder.keyring ls volumes",
        "owner: ops@example.org",
        "jump: ops@bastion",
        "ssh -J ops@bastion root@10.0.0.11",
        "Started getty@tty1.service",
        "ctl-01:5672 refused the connection",
        "transport_url = rabbit://ctl-01:5672/",
        "NOVA-005 failed on cmp-01 at 02:10:11",
        "echo $2 $1",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "| Field | Value |",
        "identified by a uuid: 6f0c1d2e-1111-2222-3333-444455556666",
    ],
)
def test_what_the_operator_needs_stays_visible(text: str) -> None:
    assert r.redact(text) == text


# -- a planted secret never survives ------------------------------------------------------

SURROUNDING = st.text(
    alphabet=string.ascii_letters + string.digits + " \n\t.,;:=/-_()[]", max_size=300
)
SECRET = st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=40)
SEPARATOR = st.sampled_from([" ", "\n", "\t", "  "])


@settings(max_examples=400, deadline=None)
@given(SURROUNDING, st.integers(min_value=0), SECRET, st.sampled_from(FORMS), SEPARATOR)
def test_a_planted_secret_never_survives(
    text: str, at: int, secret: str, form: str, sep: str
) -> None:
    at %= len(text) + 1
    assume(secret not in text and secret not in form.format(s=" "))
    sep = "\n" if form.startswith("|") else sep  # a table row is a line of its own
    planted = text[:at] + sep + form.format(s=secret) + sep + text[at:]
    out = r.redact(planted)
    assert secret not in out, (planted, out)
    assert r._redact(planted) == out  # the cached and the uncached way agree


# -- control characters -------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x00", "\r", "\x08", "\x9b", "\x85", "\x7f"])
def test_terminal_control_characters_are_neutralised(char: str) -> None:
    out = r.redact(f"cmp-01: {char}]0;owned{char}[2J journal said so")
    assert char not in out
    assert "owned" in out
    assert r.redact(out) == out


def test_lines_and_tabs_are_kept() -> None:
    assert r.redact("a\tb\nc\r\nd") == "a\tb\nc\r\nd"


# -- the waiver ledger and file -----------------------------------------------------------


def test_the_ledger_is_redacted() -> None:
    raw = {
        "NOVA-005": {
            "justification": "until CHG-1 (db password=ZQ1ZQ2ZQ3 rotated) \x1b[2J",
            "owner": "ops curl -u admin:ZQ4ZQ5ZQ6",
            "expires": "2999-01-01",
        }
    }
    waivers = parse(raw, "w.yaml")
    lines = ledger_lines(ledger(waivers, [], "w.yaml"), dt.date(2026, 1, 1))
    assert len(lines) == 1
    assert "ZQ" not in lines[0], lines
    assert "\x1b" not in lines[0], lines


def test_a_waivers_file_linked_to_another_file_does_not_print_it(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.write_text(
        "zqadmin:$y$j9T$abcdefgh$ZQ1ZQ2ZQ3ZQ4ZQ5ZQ6:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
    )
    link = tmp_path / "waivers.yaml"
    link.symlink_to(shadow)
    with pytest.raises(WaiverError) as exc:
        load(link)
    assert "ZQ" not in str(exc.value), str(exc.value)
    assert "zqadmin" not in str(exc.value).lower(), str(exc.value)
    assert str(exc.value).startswith(f"{link}:")


def test_a_plain_unknown_check_id_is_still_named(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("nova-05: {justification: x, owner: y, expires: 2999-01-01}\n")
    with pytest.raises(WaiverError, match="nova-05: not a check ID"):
        load(path)


CHECK = '''
import pytest

@pytest.mark.check("NOVA-005", tier=5)
def test_fine():
    """Fine."""
'''


def test_the_ledger_in_the_terminal_is_redacted(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    (suite.path / "waivers.yaml").write_text(
        'NOVA-005:\n  justification: "rotate ipmitool -P ZQ1ZQ2ZQ3 \\e[31m"\n'
        "  owner: ops\n  expires: 2999-01-01\n"
    )
    result = suite.runpytest("--waivers=waivers.yaml")
    out = result.stdout.str()
    assert "NOVA-005: not used (until 2999-01-01); owner ops: rotate ipmitool -P ***" in out
    assert "ZQ" not in out
    assert "\x1b[31m" not in out


def test_control_characters_never_reach_the_terminal_or_the_reports(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": '''
import pytest

@pytest.mark.check("NOVA-005", tier=5)
def test_broken(findings):
    """Fine."""
    findings.add("cmp-01\\x1b]0;owned\\x07", host="cmp-01")
    assert False, "journal said \\x1b[2J\\x1b]0;owned\\x07 \\x9b31m"
'''
        }
    )
    result = suite.runpytest("--alluredir=allure")
    out = result.stdout.str() + result.stderr.str()
    assert "owned" in out
    for char in ("\x1b", "\x07", "\x9b"):
        assert char not in out
    written = [p for p in (suite.path / "reports").rglob("*") if p.is_file()]
    written += [p for p in (suite.path / "allure").rglob("*") if p.is_file()]
    assert any(p.name == "remediation.sh" for p in written)
    for path in written:
        text = path.read_text(errors="replace")
        for char in ("\x1b", "\x07", "\x9b"):
            assert char not in text, path
