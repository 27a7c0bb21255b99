"""A service is one daemon on one host, started in the foreground of its own session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Service:
    name: str  # canonical name, also the PID file name (/run/lab/<name>.pid)
    host: str
    command: str
    log: str
    env: str = ""
    stop_timeout: float = 10
    stop_signal: str = "TERM"
    ready: Callable[[], object] | None = field(default=None, repr=False)
    ready_timeout: float = 90
