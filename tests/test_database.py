"""DSNs from service configs: parsed, and their passwords never shown."""

from __future__ import annotations

import pytest

from fixtures.database import DSN, parse_service_config
from fixtures.errors import InputError

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
