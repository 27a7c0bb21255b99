"""What afterboot reads from the cloud as a whole: database rows and API listings.

Each read is fetched once per run by the collection pass, concurrently with the hosts,
and judged by every check that declares it (``@pytest.mark.reads("instances")``).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from afterboot.errors import CouldNotRun
from afterboot.snapshot import records, saved_error


class CloudContext:
    """The cloud's API connection and databases, resolved once in pytest's own thread.

    A source that cannot be opened (bad credentials, keystone down) keeps its error; the
    reads needing it carry that error to their checks, the others go on.
    """

    # a source opened only when the one it stands in for failed: the identity check's
    # connection of its own, when the cloud connection did not open
    SPARE = {"identity": "cloud"}

    def __init__(self, timeout: float, **sources: Callable[[], Any]) -> None:
        self._make = sources
        self._got: dict[str, tuple[Any, BaseException | None]] = {}
        self.seconds: dict[str, float] = {}  # how long opening each source took
        self.timeout = timeout

    def resolve(self, *names: str) -> None:
        """Open the named sources (all when none are named) not opened yet."""
        for name, make in self._make.items():
            if name in self._got or (names and name not in names):
                continue
            if name in self.SPARE and self._got.get(self.SPARE[name], (None, None))[1] is None:
                self._got[name] = (None, CouldNotRun(f"{name}: not opened", "not needed"))
                continue
            started = time.monotonic()
            try:
                self._got[name] = (make(), None)
            except Exception as exc:  # noqa: BLE001 - kept for the reads that need it
                self._got[name] = (None, exc)
            self.seconds[name] = time.monotonic() - started

    def _get(self, name: str) -> Any:
        if name not in self._got:
            self.resolve()
        value, error = self._got[name]
        if error is not None:
            raise error.with_traceback(None)
        return value

    @property
    def cloud(self) -> Any:
        return self._get("cloud")

    @property
    def db(self) -> Any:
        return self._get("db")

    @property
    def identity(self) -> Any:
        return self._get("identity")

    @property
    def swift(self) -> Any:
        return self._get("swift")


@dataclass(frozen=True)
class Answer:
    """How one API answered its read-only probe: what it said, or why it did not."""

    api: str
    latency_ms: float
    value: Any = None
    error: BaseException | None = None


def _answer(saved: dict[str, Any]) -> Answer:
    """A saved answer (a snapshot judged again): its error raised as it was met."""
    error = saved.get("error")
    return Answer(
        str(saved["api"]),
        float(saved["latency_ms"]),
        records(saved.get("value")),
        saved_error(str(error)) if error is not None else None,
    )


def _probe(api: str, call: Callable[[], Any]) -> Answer:
    started = time.monotonic()
    try:
        value = call()
        if isinstance(value, Iterator):  # sdk list calls are lazy: fetch one page
            value = list(itertools.islice(value, 1))
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
        return Answer(api, (time.monotonic() - started) * 1000, None, exc)
    return Answer(api, (time.monotonic() - started) * 1000, value)


def version_document(status: int, body: str, swift: bool = False) -> str:
    """ "" when an API's root answered as an OpenStack API does: its version document
    (2xx or 300, JSON naming ``versions`` or ``version``; swift's ``/info`` naming
    ``swift``), or 401 (it is up and asks for credentials there); else what it said."""
    if status == 401:
        return ""
    if status >= 400:
        return f"HTTP {status}"
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    wanted = ("swift",) if swift else ("versions", "version")
    if isinstance(doc, dict) and any(k in doc for k in wanted):
        return ""
    return f"HTTP {status} without its {'/info' if swift else 'version'} document"


def _endpoints(ctx: CloudContext) -> dict[str, str]:
    """Every endpoint of the catalog's interface -> how its root answered ("" when well)."""
    cloud = ctx.cloud
    interface = cloud.config.get_interface() or "public"
    access = cloud.session.auth.get_access(cloud.session)
    urls = {
        e["url"]: service["type"]
        for service in access.service_catalog.catalog
        for e in service.get("endpoints", [])
        if e.get("interface") == interface
    }

    def root(url: str) -> str:
        parts = urlsplit(url)
        # swift has no version document at its root: its discovery is /info
        swift = urls[url] == "object-store"
        try:
            resp = cloud.session.get(
                f"{parts.scheme}://{parts.netloc}/{'info' if swift else ''}",
                authenticated=False,
                raise_exc=False,
                endpoint_filter=None,
            )
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        return version_document(resp.status_code, resp.text, swift)

    with ThreadPoolExecutor(max_workers=8) as pool:
        said = dict(zip(urls, pool.map(root, urls), strict=True))
    return {f"{urls[u]} {u}": v for u, v in said.items()}


def _identity(ctx: CloudContext) -> Any:
    """Keystone issued the run's token when the cloud connection opened (its latency is
    the probe's); list projects with it. Where that failed, ask keystone again on a
    connection of its own: keystone's own failure is the identity check's finding."""
    try:
        cloud = ctx.cloud
    except CouldNotRun:
        return [ctx.identity.authorize(), *itertools.islice(ctx.identity.identity.projects(), 1)]
    return list(itertools.islice(cloud.identity.projects(), 1))


def _apis(ctx: CloudContext) -> dict[str, Answer]:
    """Each API's read-only probe (the Ops Guide's list commands), concurrently."""

    def on_cloud(call: Callable[[Any], Any]) -> Callable[[], Any]:
        return lambda: call(ctx.cloud)

    probes: dict[str, Callable[[], Any]] = {
        "identity": lambda: _identity(ctx),
        "image": on_cloud(lambda c: c.image.images(limit=1)),
        "placement": on_cloud(lambda c: c.placement.resource_providers()),
        "volume": on_cloud(lambda c: c.block_storage.volumes(all_projects=True, limit=1)),
        "compute": on_cloud(lambda c: c.compute.servers(all_projects=True, limit=1)),
        "network": on_cloud(lambda c: c.network.networks(limit=1)),
        "object-store": lambda: ctx.swift.head_account(),
        "endpoints": lambda: _endpoints(ctx),
    }
    # All at once: each probe is one request to an API of its own (the sources are open
    # already). Each latency is still its own call's, measured beside the others: on the
    # 2-core lab, where the APIs share the CPU, 0.28 s one after the other, 0.2 s at once.
    with ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="ab-probe") as pool:
        started = {api: pool.submit(_probe, api, call) for api, call in probes.items()}
        answers = {api: future.result() for api, future in started.items()}
    token = answers["identity"]
    if token.error is None and "cloud" in ctx.seconds:
        answers["identity"] = Answer(
            "identity", token.latency_ms + ctx.seconds["cloud"] * 1000, token.value
        )
    return answers


@dataclass(frozen=True)
class CloudRead:
    name: str
    doc: str
    fetch: Callable[[CloudContext], Any]
    # what it asks: the APIs (one read at a time, see afterboot.collection) or the
    # database (beside the APIs: it queues behind no token validation)
    source: str = "api"
    # its value saved in a snapshot (JSON) back into what the checks judge
    # (--from-snapshot): objects as records, unless the read's own types are needed
    thaw: Callable[[Any], Any] = records


# What a before/after comparison keeps of a Galera node's status (none: not Galera).
GALERA_STATUS = (
    "wsrep_cluster_size",
    "wsrep_cluster_status",
    "wsrep_local_state_comment",
    "wsrep_ready",
)


def _galera(ctx: CloudContext) -> dict[str, str]:
    wsrep_on = ctx.db.query("nova", "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
    if not wsrep_on or str(wsrep_on[0]["Value"]).upper() != "ON":
        return {}
    rows = ctx.db.query("nova", "SHOW GLOBAL STATUS LIKE 'wsrep_%'")
    return {
        str(r["Variable_name"]): str(r["Value"])
        for r in rows
        if r["Variable_name"] in GALERA_STATUS
    }


# The database server's own state, as the server nova's DSN reaches reports it (its
# variables and status; none needs a privilege beyond a login).
SERVER_VARIABLES = (
    "read_only",
    "super_read_only",  # MySQL only
    "innodb_read_only",
    "max_connections",
    "wsrep_on",
)
SERVER_STATUS = ("Threads_connected", "Max_used_connections", "wsrep_ready")


def _database_server(ctx: CloudContext) -> dict[str, str]:
    names = ", ".join(f"'{n}'" for n in SERVER_VARIABLES)
    found = {
        str(r["Variable_name"]).lower(): str(r["Value"])
        for r in ctx.db.query("nova", f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})")
    }
    names = ", ".join(f"'{n}'" for n in SERVER_STATUS)
    found.update(
        (str(r["Variable_name"]).lower(), str(r["Value"]))
        for r in ctx.db.query("nova", f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
    )
    host = ctx.db.query("nova", "SELECT @@hostname AS h, @@port AS p")
    if host:
        found["server"] = f"{host[0]['h']}:{host[0]['p']}"
    return found


CLOUD_READS: dict[str, CloudRead] = {}


def register(*reads: CloudRead) -> None:
    """Add reads to the registry: the plain API listings below, and each domain module's
    own, made where it is judged (:mod:`afterboot.domains.all` imports them all)."""
    for read in reads:
        if read.name in CLOUD_READS:
            raise ValueError(f"cloud read {read.name!r} registered twice")
        CLOUD_READS[read.name] = read


register(
    CloudRead(
        "compute_services",
        "nova's service records (API)",
        lambda ctx: list(ctx.cloud.compute.services()),
    ),
    CloudRead(
        "hypervisors",
        "nova's hypervisors, the summary list (from its database: no RPC to a compute host)",
        lambda ctx: list(ctx.cloud.compute.hypervisors(details=False)),
    ),
    CloudRead(
        "volume_services",
        "cinder's service records (API)",
        lambda ctx: list(ctx.cloud.block_storage.services()),
    ),
    CloudRead(
        "servers",
        "every instance of every project, with its host and attached volumes (API)",
        lambda ctx: list(ctx.cloud.compute.servers(all_projects=True, details=True)),
    ),
    CloudRead(
        "volumes",
        "every volume of every project, with its attachments (API)",
        lambda ctx: list(ctx.cloud.block_storage.volumes(all_projects=True, details=True)),
    ),
    CloudRead(
        "migrations",
        "nova's migrations (API)",
        lambda ctx: list(ctx.cloud.compute.migrations()),
    ),
    CloudRead(
        "network_agents",
        "neutron's agents, alive and administratively up or not (API)",
        lambda ctx: list(ctx.cloud.network.agents()),
    ),
    CloudRead(
        "galera",
        "the Galera status of the database nova uses (empty when it is not Galera)",
        _galera,
        "db",
    ),
    CloudRead(
        "database_server",
        "the database server's read-only flags, connections and Galera readiness (database)",
        _database_server,
        "db",
    ),
    CloudRead(
        "database_sessions",
        "whether each controller's configured DSNs open a read-only session (database)",
        lambda ctx: ctx.db.sessions(),
        "db",
    ),
    CloudRead(
        "apis",
        "each API's answer to a read-only probe, and the catalog's endpoints",
        _apis,
        thaw=lambda saved: {api: _answer(a) for api, a in saved.items()},
    ),
)
