"""The cloud's APIs: one openstacksdk connection per session, and swift on the same token.

Credentials come from ``clouds.yaml`` (``--os-cloud``/``$OS_CLOUD``) or ``OS_*`` variables.
Missing configuration or rejected credentials make dependent checks *could not run*; an
identity endpoint that does not answer is the cloud's fault, and the identity check says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from afterboot.errors import CouldNotRun, shown
from afterboot.reads.cloudreads import CloudContext, CloudRead, register
from afterboot.yamlines import TooLarge, bounded_load

if TYPE_CHECKING:
    from concurrent.futures import Future


def clouds_yaml_error() -> str | None:
    """The YAML error of the clouds.yaml/secure.yaml openstacksdk reads, if any (the SDK
    itself skips a broken file and then reports the cloud as not found)."""
    import yaml
    from openstack.config import loader

    for env, defaults in (
        ("OS_CLIENT_CONFIG_FILE", loader.CONFIG_FILES),
        ("OS_CLIENT_SECURE_FILE", loader.SECURE_FILES),
    ):
        override = os.environ.get(env)
        for path in ([override] if override else []) + list(defaults):
            if not os.path.exists(path):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    bounded_load(f.read(), yaml.SafeLoader)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                where = f"{path}:{mark.line + 1}" if mark else path
                return f"{where}: invalid YAML ({exc.problem or exc.context})"
            except TooLarge as exc:
                return f"{path}: {exc}"
            except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
                return f"{path}: cannot be read ({type(exc).__name__})"
            break  # the SDK reads the first file that exists
    return None


def open_cloud(name: str | None, timeout: float) -> Any:
    """Open (not yet authenticate) an openstacksdk connection, or raise CouldNotRun."""
    import openstack
    from openstack import exceptions as sdk_exc

    label = f"cloud {shown(name)}" if name else "cloud from OS_* variables"
    try:
        return openstack.connect(cloud=name, api_timeout=timeout, app_name="afterboot")
    except sdk_exc.ConfigException as exc:
        problem = clouds_yaml_error()
        if problem:
            raise CouldNotRun(f"{label}: clouds.yaml is broken", problem) from None
        raise CouldNotRun(f"{label}: bad clouds.yaml or OS_* configuration", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - keystoneauth's MissingRequiredOptions and friends
        raise CouldNotRun(f"{label}: cannot configure", f"{type(exc).__name__}: {exc}") from None


def authenticate(conn: Any, label: str) -> None:
    """Get a token; rejected credentials are could-not-run, an absent keystone is not."""
    from keystoneauth1 import exceptions as ksa

    try:
        conn.authorize()
    except ksa.http.Unauthorized:
        raise CouldNotRun(
            f"{label}: credentials rejected by keystone",
            "fix username/password/project in clouds.yaml",
        ) from None
    except ksa.MissingRequiredOptions as exc:
        raise CouldNotRun(f"{label}: incomplete credentials", str(exc)) from None


def api_unavailable(exc: BaseException) -> CouldNotRun | None:
    """An API that errs on its side (5xx) or does not answer while a check *reads* the cloud
    through it: that check could not look; the API's own check (``*-001``) is the failure.

    Only the client libraries already imported are asked: an exception of one not imported
    cannot have been raised (a saved snapshot judged imports none: ~1 s of CPU saved)."""
    sdk_exc: Any = sys.modules.get("openstack.exceptions")
    ksa: Any = sys.modules.get("keystoneauth1.exceptions")
    http: Any = sys.modules.get("requests.exceptions")
    if (
        sdk_exc is not None
        and isinstance(exc, sdk_exc.HttpException)
        and (exc.status_code or 0) >= 500
    ):
        url = urlsplit(str(exc.url or ""))
        return CouldNotRun(
            f"an API answered {exc.status_code} to {exc.method or 'a request'} "
            f"{url.netloc}{url.path or '?'}",
            "the cloud could not be read; the failed API check (*-001) says why",
        )
    silent = (
        *((ksa.ConnectionError, ksa.RequestTimeout) if ksa is not None else ()),
        *((http.Timeout, http.ConnectionError) if http is not None else ()),
    )
    if silent and isinstance(exc, silent):
        return CouldNotRun(
            "an API did not answer while the cloud was read",
            f"{type(exc).__name__}; the failed API check (*-001) says which",
        )
    failed_discovery = (
        *((sdk_exc.NotSupported,) if sdk_exc is not None else ()),
        *((ksa.DiscoveryFailure,) if ksa is not None else ()),
    )
    if failed_discovery and isinstance(exc, failed_discovery):
        # its version discovery failed: the endpoint did not answer with its versions
        return CouldNotRun(
            "an API's version discovery failed while the cloud was read",
            f"{str(exc)[:160]}; the failed API check (*-001) says why",
        )
    return None


def connected(name: str | None, timeout: float) -> Any:
    """An openstacksdk connection holding the run's token, or CouldNotRun saying why not."""
    conn = open_cloud(name, timeout)
    label = f"cloud {shown(name)}" if name else "cloud"
    try:
        authenticate(conn, label)
    except CouldNotRun:
        raise
    except Exception as exc:  # noqa: BLE001 - keystone down: KEYSTONE-001 fails, we cannot look
        raise CouldNotRun(
            f"{label}: the identity API does not answer, nothing can be read through the APIs",
            f"{type(exc).__name__}; see KEYSTONE-001",
        ) from None
    return conn


# The run's token, asked for while pytest starts and collects (keystone's answer takes a
# third of a second or more, a wait the run need not make before its first read).
early_key: pytest.StashKey[Future[Any]] = pytest.StashKey()


class Loggers(dict[str, Any]):
    """logging's registry of loggers, whose ``values()`` is a copy taken at once.

    pytest's log capture walks the registry's values as each hook and test phase starts;
    the thread asking for the early token imports the SDK meanwhile, and an import adds
    loggers. Walking the view while a logger is added ends the run in an internal error
    ("dictionary changed size during iteration"); a copy cannot change under the walk."""

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(super().values())


def guard_loggers() -> None:
    """Make logging's registry of loggers safe for pytest to walk while threads add to it
    (before the first thread that may add one starts)."""
    manager = logging.Logger.manager
    if type(manager.loggerDict) is dict:
        manager.loggerDict = Loggers(manager.loggerDict)


# Options under which the run reads no API: no token is asked for early.
NO_CLOUD = (
    "collectonly",
    "afterboot_list_checks",
    "afterboot_write_baseline",
    "afterboot_snapshot_file",
    "afterboot_from_snapshot",
)


READ_CAP = 1024 * 1024  # bytes of an object read to prove the proxy serves it


def read_object(
    swift: Any, container: str, name: str, timeout: float, cap: int = READ_CAP
) -> tuple[dict[str, str], int, str]:
    """GET an object streamed: at most ``cap`` bytes, all within ``timeout`` seconds.

    Returns the headers, the bytes read and the MD5 of the whole object ("" when it was
    cut at ``cap``); past the deadline it is could-not-run (each read is also bounded by
    the connection's own timeout)."""
    ends_at = time.monotonic() + timeout
    headers, body = swift.get_object(container, name, resp_chunk_size=65536)
    read = 0
    digest = hashlib.md5(usedforsecurity=False)
    whole = True
    try:
        for chunk in body:
            read += len(chunk)
            digest.update(chunk)
            if read >= cap:
                whole = False
                break
            if time.monotonic() > ends_at:
                raise CouldNotRun(
                    f"GET {container}/{name} did not finish within {timeout:g}s",
                    f"{read} bytes read",
                )
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return headers, read, digest.hexdigest() if whole else ""


# -- the cloud reads this module makes (afterboot.reads.cloudreads' registry) ----------


def _object_read(ctx: CloudContext) -> dict[str, Any]:
    """The account's first object, read back through the proxy (streamed, at most 1 MiB,
    within the timeout): its container, name, etag, the listing's hash and the MD5 of the
    bytes read ("" for an object past 1 MiB); {} when the account holds none; the proxy's
    server error (5xx) as ``error``."""
    from requests import exceptions as http

    swift = ctx.swift
    try:
        return _first_object(swift, ctx.timeout)
    except (http.Timeout, http.ConnectionError) as exc:
        # the proxy took the request and did not serve it in time (a replica's disk hangs):
        # what SWIFT-005 exists to see; a proxy that answers nothing is SWIFT-001's
        return {
            "error": f"no answer within {ctx.timeout:g}s ({type(exc).__name__})",
            "said": str(exc)[:200],
        }
    except Exception as exc:
        status = getattr(exc, "http_status", None)  # swiftclient's ClientException
        if not isinstance(status, int) or status < 500:
            raise
        # the proxy answered, with a server error: what SWIFT-005 exists to see
        reason = getattr(exc, "http_reason", "") or ""
        return {"error": f"{status} {reason}".strip(), "said": str(exc)[:200]}


def _first_object(swift: Any, timeout: float) -> dict[str, Any]:
    _, containers = swift.get_account(limit=20)
    # not by the account's object counts: the container updater brings them there some
    # time after an upload (a fresh account lists its containers with a count of 0)
    for container in containers:
        _, objects = swift.get_container(container["name"], limit=20)
        if objects:
            # a whole object to check its bytes against its etag, where one is small
            small = [o for o in objects if int(o.get("bytes") or 0) < READ_CAP]
            obj = (small or objects)[0]
            headers, size, md5 = read_object(swift, container["name"], obj["name"], timeout)
            return {
                "container": container["name"],
                "object": obj["name"],
                "etag": headers.get("etag"),
                "listed_hash": obj.get("hash"),
                "bytes": size,
                "md5": md5,
            }
    return {}


register(
    CloudRead(
        "object_read", "the account's first object, read back through the proxy", _object_read
    ),
)


def cloud_config(name: str | None) -> tuple[str | None, str | None]:
    """auth_url and region of the cloud as clouds.yaml (or OS_*) says, without a request."""
    try:
        from openstack import config as os_config

        cloud = os_config.OpenStackConfig().get_one(cloud=name)
        auth = cloud.config.get("auth") or {}
        return auth.get("auth_url"), cloud.get_region_name() or None
    except Exception:  # noqa: BLE001 - no cloud configured: nothing to tell it by
        return None, None
