"""DSNs from service configs: parsed, and their passwords never shown."""

from __future__ import annotations

import ssl

import pytest

from afterboot.domains.database import DSN, parse_service_config, session_class
from afterboot.errors import InputError

NOVA_CONF = """[DEFAULT]
transport_url = rabbit://nova:RABBIT-CANARY@10.0.0.10:5672/

[database]
connection = mysql+pymysql://nova:DB-CANARY%40x@10.0.0.10:3307/nova?charset=utf8

[api_database]
connection = mysql+pymysql://nova:DB-CANARY@10.0.0.10/nova_api
"""


def test_connection_line_is_read_from_config() -> None:
    value = parse_service_config(NOVA_CONF, "database", "connection")
    assert value is not None
    dsn = DSN.parse(value)
    assert (dsn.host, dsn.port, dsn.user, dsn.database) == ("10.0.0.10", 3307, "nova", "nova")
    assert dsn.password == "DB-CANARY@x"
    assert parse_service_config(NOVA_CONF, "placement_database", "connection") is None


def test_password_never_shown() -> None:
    dsn = DSN.parse("mysql+pymysql://nova:DB-CANARY@db/nova")
    assert "DB-CANARY" not in str(dsn)
    assert "DB-CANARY" not in repr(dsn)
    assert str(dsn) == "mysql+pymysql://nova:***@db:3306/nova"


def test_non_mysql_dsn_is_refused() -> None:
    with pytest.raises(InputError, match="only MySQL/MariaDB"):
        DSN.parse("postgresql://u:p@h/db")


@pytest.mark.parametrize(
    ("url", "user", "password", "hostname", "port", "database"),
    [
        ("mysql+pymysql://nova:4711/SECRET@db/nova", "nova", "4711/SECRET", "db", 3306, "nova"),
        ("mysql+pymysql://nova:p@ss:w@rd@db:3307/nova", "nova", "p@ss:w@rd", "db", 3307, "nova"),
        ("mysql+pymysql://nova:a[b]c@db/nova", "nova", "a[b]c", "db", 3306, "nova"),
        (
            "mysql+pymysql://nova:a%20b%27c@[fd00::1]:3306/nova",
            "nova",
            "a b'c",
            "fd00::1",
            3306,
            "nova",
        ),
        ("mysql://r%40x:pw@db/", "r@x", "pw", "db", 3306, ""),
        ("mysql+pymysql://nova@db/nova", "nova", "", "db", 3306, "nova"),
    ],
)
def test_dsn_is_parsed_as_sqlalchemy_parses_it(
    url: str, user: str, password: str, hostname: str, port: int, database: str
) -> None:
    dsn = DSN.parse(url)
    assert (dsn.user, dsn.password, dsn.host, dsn.port, dsn.database) == (
        user,
        password,
        hostname,
        port,
        database,
    )
    assert password not in str(dsn) or not password


def test_dsn_keeps_query_and_tls() -> None:
    dsn = DSN.parse(
        "mysql+pymysql://nova:pw@db/nova?charset=utf8&ssl_ca=/etc/ssl/ca.pem"
        "&ssl_cert=/etc/ssl/c.pem&ssl_key=/etc/ssl/k.pem&ssl_verify_cert=true"
    )
    assert ("charset", "utf8") in dsn.query
    assert dsn.tls() == {
        "ssl": {"ca": "/etc/ssl/ca.pem", "cert": "/etc/ssl/c.pem", "key": "/etc/ssl/k.pem"},
        "ssl_verify_cert": True,
    }


@pytest.mark.parametrize("url", ["mysql+pymysql://u:p@db:99999/x", "mysql+pymysql://u:p@db:x/y"])
def test_bad_port_is_one_line(url: str) -> None:
    with pytest.raises(InputError, match="bad port"):
        DSN.parse(url)


def test_a_tls_context_is_made_once_per_set_of_options() -> None:
    """PyMySQL makes a TLS context for every connection (its "preferred" mode too, where
    it verifies nothing), loading the CA bundle each time: the run makes one per set of
    options and shares it; other options get a context of their own."""
    session = session_class()
    first = session(defer_connect=True)
    second = session(defer_connect=True)
    assert first.ctx is not None
    assert first.ctx is second.ctx
    assert first.ctx.verify_mode == ssl.CERT_NONE  # preferred: PyMySQL's own settings kept
    required = session(defer_connect=True, ssl={"check_hostname": False, "verify_mode": True})
    assert required.ctx is not first.ctx
    assert required.ctx.verify_mode == ssl.CERT_REQUIRED
