"""Judging saved snapshots: ``--from-snapshot=FILE[,FILE...]`` reads nothing, it judges.

The pytest hooks of it; the work is in :mod:`afterboot.offline`.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from afterboot.offline import load_saved, saved_key
from afterboot.redact import redact
from afterboot.settings import Setting, settings, settings_key
from afterboot.snapshotfile import SnapshotFileError, read_when


def pytest_configure(config: pytest.Config) -> None:
    """The snapshots loaded, checked and merged before the inventory is (they hold it)."""
    s = settings(config)
    if not s.from_snapshot.value:
        return
    try:
        saved = config.stash[saved_key] = load_saved(s.from_snapshot.value)
    except SnapshotFileError as exc:
        raise pytest.UsageError(f"from-snapshot (from {s.from_snapshot.source}): {exc}") from None
    name = saved.cloud()[0]
    if name and s.os_cloud.source == "default":  # the cloud the snapshots were read from
        config.stash[settings_key] = replace(s, os_cloud=Setting(name, "the snapshot"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    saved = config.stash.get(saved_key, None)
    if saved is None:
        return []
    line = f"afterboot: judging {len(saved.paths)} saved snapshot(s), read {read_when(saved.doc)}"
    if saved.doc.get("shards"):
        line += f", shards {', '.join(saved.doc['shards'])}"
    line += " (no host, no API)"
    if saved.missing:
        line += f"; hosts no snapshot read (could not run): {', '.join(saved.missing)}"
    return [redact(line)]
