"""The run's manifest: what an audit needs to know a report by.

``summary.json`` carries it as ``run``: afterboot's version and commit, a digest of the
procedures the run rendered, who ran it where, when it started and finished (UTC), every
option with where its value came from, a digest of the inventory file, and the cloud's
auth URL and region as clouds.yaml names them. No secret: the whole summary passes through
redaction, and the auth URL loses any user info.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from afterboot.offline import saved_key
from afterboot.procedures.book import procedures
from afterboot.reads.cloud import cloud_config
from afterboot.settings import settings

ROOT = Path(__file__).resolve().parent.parent
started_key = pytest.StashKey[float]()


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def version() -> str:
    try:
        return metadata.version("afterboot")
    except metadata.PackageNotFoundError:
        return "unknown"


def commit(root: Path = ROOT) -> str:
    """The checkout's commit, read from .git (no git process): "" outside a checkout."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        loose = git / ref
        if loose.is_file():
            return loose.read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    except OSError:
        pass
    return ""


def file_digest(path: object) -> str:
    """sha256 of a regular file's bytes ("" for none, a directory or a script's output);
    several files (comma-separated, as the inventory's sources are): of each one's path
    and digest, in order."""
    if not isinstance(path, str) or not path:
        return ""
    if "," in path:
        digests = {p: file_digest(p) for p in path.split(",")}
        if not any(digests.values()):
            return ""
        text = "\n".join(f"{p} {d}" for p, d in digests.items())
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    p = Path(path)
    try:
        if not p.is_file():
            return ""
        return "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return ""


def procedures_digest(config: pytest.Config) -> str:
    """What the operator is told, wherever its files live: each procedure's content (not
    the ``source`` file it was read from, which moves with the checkout)."""
    book = procedures(config)
    content = {k: {**asdict(v), "source": ""} for k, v in sorted(book.items())}
    text = json.dumps(content, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _plain_url(url: str | None) -> str | None:
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def options(config: pytest.Config) -> dict[str, dict[str, Any]]:
    """The options that chose what the run judged: each value and where it came from."""
    return {
        name: {
            "value": list(s.value) if isinstance(s.value, tuple) else s.value,
            "source": s.source,
        }
        for name, s in settings(config).audited().items()
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name, no passwd entry (a container's uid)
        return ""


_manifest_key = pytest.StashKey[dict[str, Any]]()


def manifest(config: pytest.Config) -> dict[str, Any]:
    """The run's manifest, made once at the session's end (summary.json, JUnit and Allure
    each ask for it: clouds.yaml parsed, the procedures hashed, the inventory read once)."""
    made = config.stash.get(_manifest_key, None)
    if made is None:
        made = config.stash[_manifest_key] = _make(config)
    return made


def _make(config: pytest.Config) -> dict[str, Any]:
    s = settings(config)
    saved = config.stash.get(saved_key, None)
    if saved is not None:  # --from-snapshot: the cloud they were read from
        _, auth_url, region = saved.cloud()
    else:
        auth_url, region = cloud_config(s.os_cloud.value)
    return {
        "afterboot": version(),
        "commit": commit(),
        "procedures": procedures_digest(config),
        "operator": {"user": _user(), "host": socket.gethostname()},
        "started": _utc(config.stash.get(started_key, time.time())),
        "finished": _utc(time.time()),
        "options": options(config),
        "inventory": file_digest(s.inventory.value),
        **({"snapshots": {p: file_digest(p) for p in saved.paths}} if saved is not None else {}),
        "cloud": {"name": s.os_cloud.value, "auth_url": _plain_url(auth_url), "region": region},
    }


def flat(run: dict[str, Any]) -> dict[str, str]:
    """The manifest's identity as flat text (JUnit testsuite properties, Allure's
    environment): who, what, where, which cloud; the options stay in summary.json."""
    cloud, operator = run["cloud"], run["operator"]
    return {
        "afterboot": run["afterboot"],
        "commit": run["commit"] or "(not a checkout)",
        "procedures": run["procedures"],
        "operator": f"{operator['user']}@{operator['host']}",
        "started": run["started"],
        "inventory_digest": run["inventory"] or "(no file)",
        "auth_url": cloud["auth_url"] or "(none)",
        "region": cloud["region"] or "(none)",
    }


def manifest_properties(session: pytest.Session) -> None:
    """The run's manifest as JUnit testsuite properties (before the JUnit writer writes its
    file)."""
    config = session.config
    writers = [p for p in config.pluginmanager.get_plugins() if hasattr(p, "add_global_property")]
    if not writers or hasattr(config, "workerinput"):
        return
    for key, value in flat(manifest(config)).items():
        for writer in writers:
            writer.add_global_property(f"afterboot {key}", value)
