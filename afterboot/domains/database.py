"""Read-only database access, the way each service itself reaches its database.

The DSN comes from the inventory (``database: {dsn: ...}``) or from the ``connection =``
line of the service's own config on a controller (``/etc/nova/nova.conf`` ...). Sessions
are opened ``READ ONLY`` with connect/read timeouts; a DSN's password never leaves
:class:`DSN` (its repr and str hide it).
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote

from afterboot.domains.config import ConfigSyntaxError, config_text, option_values
from afterboot.errors import CouldNotRun, InputError, shown
from afterboot.redact import remember
from afterboot.transport.connections import Connections, Remote, first_answer

# service -> (config file, section, option) where the service keeps its DSN.
SERVICE_CONFIGS: dict[str, tuple[str, str, str]] = {
    "nova": ("/etc/nova/nova.conf", "database", "connection"),
    "nova_api": ("/etc/nova/nova.conf", "api_database", "connection"),
    "glance": ("/etc/glance/glance-api.conf", "database", "connection"),
    "cinder": ("/etc/cinder/cinder.conf", "database", "connection"),
    "keystone": ("/etc/keystone/keystone.conf", "database", "connection"),
    "placement": ("/etc/placement/placement.conf", "placement_database", "connection"),
    "neutron": ("/etc/neutron/neutron.conf", "database", "connection"),
}


# SQLAlchemy's URL grammar (``make_url``), except that userinfo ends at the *last* ``@``
# before the host, so a password may hold ``@``, ``/``, ``:`` or ``[`` unencoded.
_URL = re.compile(
    r"""
    (?P<scheme>[\w+]+)://
    (?:(?P<user>[^:/]*)(?::(?P<password>.*))?@)?
    (?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?
    (?::(?P<port>[^/?]*))?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.X | re.S,
)

# URL query keys that PyMySQL takes in its ``ssl=`` dict (as SQLAlchemy's pymysql dialect
# passes them), and the ones it takes as keyword arguments of their own.
_SSL_DICT = {
    "ssl_ca": "ca",
    "ssl_capath": "capath",
    "ssl_cert": "cert",
    "ssl_key": "key",
    "ssl_cipher": "cipher",
    "ssl_check_hostname": "check_hostname",
}
_SSL_FLAGS = ("ssl_verify_cert", "ssl_verify_identity", "ssl_disabled")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on", "required")


@dataclass(frozen=True)
class DSN:
    """A parsed SQLAlchemy-style URL; the password is kept but never shown."""

    scheme: str
    host: str
    port: int
    user: str
    database: str
    password: str = field(default="", repr=False)
    socket: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, url: str, source: str = "dsn") -> DSN:
        """Parse as SQLAlchemy does: URL-decoded user and password, query kept."""
        m = _URL.fullmatch(url.strip())
        if m is None:
            raise InputError(f"{source}: not a database URL")
        scheme = m["scheme"]
        if not scheme.startswith("mysql"):
            raise InputError(
                f"{source}: only MySQL/MariaDB DSNs are supported (got scheme {shown(scheme)})"
            )
        password = unquote(m["password"] or "")
        remember(password)
        remember(m["password"])
        try:
            port = int(m["port"]) if m["port"] else 3306
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise InputError(f"{source}: bad port in DSN")
        query = tuple(parse_qsl(m["query"] or "", keep_blank_values=True))
        return cls(
            scheme=scheme,
            host=unquote(m["ipv4host"] or m["ipv6host"] or "") or "localhost",
            port=port,
            user=unquote(m["user"] or ""),
            database=unquote(m["database"] or ""),
            password=password,
            socket=dict(query).get("unix_socket"),
            query=query,
        )

    def __str__(self) -> str:
        return f"{self.scheme}://{self.user}:***@{self.host}:{self.port}/{self.database}"

    def tls(self) -> dict[str, Any]:
        """PyMySQL keyword arguments for the TLS settings of the URL's query."""
        ssl: dict[str, Any] = {}
        kwargs: dict[str, Any] = {}
        for key, value in self.query:
            if key in _SSL_DICT:
                ssl[_SSL_DICT[key]] = _flag(value) if key == "ssl_check_hostname" else value
            elif key in _SSL_FLAGS:
                kwargs[key] = _flag(value)
        if ssl:
            kwargs["ssl"] = ssl
        return kwargs

    def connect(self, timeout: float) -> Any:
        """A read-only PyMySQL session, or CouldNotRun naming the DSN (without password)."""
        import pymysql

        try:
            conn = session_class()(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=self.database or None,
                unix_socket=self.socket,
                connect_timeout=max(1, int(timeout)),
                read_timeout=max(1, int(timeout)),
                write_timeout=max(1, int(timeout)),
                charset="utf8mb4",
                cursorclass=pymysql.cursors.DictCursor,
                **self.tls(),
            )
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else "?"
            raise DatabaseUnavailable(str(self), f"MySQL error {code}") from None
        except (OSError, ValueError) as exc:  # a TLS file that cannot be read, ...
            raise DatabaseUnavailable(str(self), type(exc).__name__) from None
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
        return conn


_TLS_CONTEXTS: dict[str, Any] = {}
_TLS_LOCK = threading.Lock()


@functools.cache
def session_class() -> Any:
    """PyMySQL's connection, its TLS context made once per run for each set of TLS
    options. PyMySQL (1.2) makes one for every connection, in its "preferred" mode too
    where it verifies nothing, and each loads the system's CA bundle: ~25 ms of CPU, a
    dozen times a run. A context is safe to share between threads."""
    import pymysql

    class Session(pymysql.connections.Connection):  # type: ignore[misc]
        def _create_ssl_ctx(self, sslp: Any) -> Any:
            if not isinstance(sslp, dict):
                return super()._create_ssl_ctx(sslp)
            key = repr(sorted((str(k), repr(v)) for k, v in sslp.items()))
            with _TLS_LOCK:
                if key not in _TLS_CONTEXTS:
                    _TLS_CONTEXTS[key] = super()._create_ssl_ctx(sslp)
                return _TLS_CONTEXTS[key]

    return Session


class DatabaseUnavailable(CouldNotRun):
    """The database did not accept a connection (down, wrong password, no grant)."""

    def __init__(self, dsn: str, reason: str) -> None:
        super().__init__(f"database {dsn} did not accept a connection", reason)
        self.dsn = dsn


def parse_service_config(text: str, section: str, option: str) -> str | None:
    """One option as the service reads it (oslo.config: the last occurrence wins, and
    ``[DEFAULT]`` does not stand in for other sections); ``None`` if unset or unparsable."""
    try:
        values = option_values(text, section, option)
    except ConfigSyntaxError:
        return None
    value = values[-1].strip() if values else ""
    return value or None


def configured_dsns(remote: Remote) -> dict[str, tuple[str, str, DSN | InputError]]:
    """service -> (config file, section, its DSN or why it does not parse), for each
    service whose configuration on the host names a database or does not parse."""
    found: dict[str, tuple[str, str, DSN | InputError]] = {}
    for service, (path, section, option) in SERVICE_CONFIGS.items():
        text = config_text(remote, path)
        if text is None:
            continue
        try:  # a file that does not parse is no "unset": its service refuses it
            values = option_values(text, section, option, path)
        except ConfigSyntaxError as exc:
            found[service] = (path, section, InputError(f"{exc} (does not parse)"))
            continue
        value = values[-1].strip() if values else ""
        if not value:
            continue
        try:
            found[service] = (path, section, DSN.parse(value, f"{path} [{section}] {option}"))
        except InputError as exc:
            found[service] = (path, section, exc)
    return found


class Databases:
    """DSNs by service, resolved once: ``db.dsn("nova")``, ``db.query("nova", sql)``."""

    def __init__(self, connections: Connections, inventory_dsn: str | None, timeout: float):
        self._connections = connections
        self._inventory_dsn = inventory_dsn
        self._timeout = timeout
        self._dsns: dict[str, DSN] = {}
        self._sessions: dict[str, Any] = {}
        self._tried: dict[DSN, CouldNotRun | None] = {}

    def dsn(self, service: str) -> DSN:
        if service in self._dsns:
            return self._dsns[service]
        if service not in SERVICE_CONFIGS:
            raise CouldNotRun(f"no known config for service {shown(service)}", "")
        path, section, option = SERVICE_CONFIGS[service]
        if self._inventory_dsn:
            base = DSN.parse(self._inventory_dsn, "inventory database.dsn")
            db_name = "nova_api" if service == "nova_api" else service
            dsn = replace(base, database=db_name)
        else:
            controllers = self._connections.with_role("controller")
            if not controllers:
                raise CouldNotRun(
                    "no DSN: the inventory has no database.dsn and no controller",
                    "add database: {dsn: ...} to the inventory",
                )

            def option_of(remote: Remote) -> str | None:
                text = config_text(remote, path)
                return parse_service_config(text, section, option) if text else None

            try:
                value = first_answer(controllers, option_of, f"[{section}] {option} of {path}")
            except CouldNotRun:
                raise CouldNotRun(
                    f"no [{section}] {option} in {path} on any controller",
                    "set database: {dsn: ...} in the inventory",
                ) from None
            try:
                dsn = DSN.parse(value, f"{path} [{section}] {option}")
            except InputError as exc:
                raise CouldNotRun(str(exc), "") from None
        self._dsns[service] = dsn
        return dsn

    def refusal(self, dsn: DSN) -> CouldNotRun | None:
        """Why a session on ``dsn`` cannot be opened (None: it opens); each DSN is tried
        once per run, however many hosts' configurations name it."""
        self._online()
        if dsn not in self._tried:
            try:
                dsn.connect(self._timeout).close()
                self._tried[dsn] = None
            except CouldNotRun as exc:
                self._tried[dsn] = exc
        return self._tried[dsn]

    def sessions(self) -> dict[str, dict[str, str]]:
        """Whether each controller's configured DSNs open a session: host -> service ->
        why not ("" when one opened); each DSN tried once (hosts that could not be read,
        and DSNs that do not parse, are left to the check)."""
        opened: dict[str, dict[str, str]] = {}
        for remote in self._connections.with_role("controller"):
            try:
                dsns = configured_dsns(remote)
            except CouldNotRun:
                continue
            for service, (_, _, dsn) in dsns.items():
                if isinstance(dsn, DSN):
                    refused = self.refusal(dsn)
                    opened.setdefault(remote.name, {})[service] = refused.reason if refused else ""
        return opened

    def _online(self) -> None:
        if self._connections.offline:
            raise CouldNotRun(f"no database session: {self._connections.offline}", "")

    def session(self, service: str) -> Any:
        self._online()
        if service not in self._sessions:
            self._sessions[service] = self.dsn(service).connect(self._timeout)
        return self._sessions[service]

    def query(self, service: str, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.session(service).cursor() as cur:
            cur.execute(sql, args or None)  # no args: a literal % stays a %
            return list(cur.fetchall())

    def close(self) -> None:
        for conn in self._sessions.values():
            with contextlib.suppress(Exception):  # closing a dead session is fine
                conn.close()
