"""The ``configs`` read: every configuration file a check or the database lookup reads,
as parts (kept in memory only: it holds secrets)."""

from __future__ import annotations

from afterboot.domains.config import DEPENDENCY_CONFIGS, ROLE_CONFIGS
from afterboot.domains.database import SERVICE_CONFIGS
from afterboot.reads.hostreads import HostRead, file_parts, register

# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------


def config_files() -> list[str]:
    """Every configuration file a check or the database lookup reads."""
    paths = {p for files in ROLE_CONFIGS.values() for p in files} | set(DEPENDENCY_CONFIGS)
    return sorted(paths | {path for path, _, _ in SERVICE_CONFIGS.values()})


register(
    HostRead(
        "configs",
        "the services' configuration files",
        lambda s: file_parts([s.path(p) for p in config_files()]),
        secret=True,
    ),
)
