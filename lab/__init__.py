"""afterboot lab: a small real OpenStack on one machine (hosts are Linux namespaces)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["Lab"]


def __getattr__(name: str) -> Any:
    """``Lab`` imported when asked for: ``python -m lab run`` on a lab that is up (the
    suite as an operator runs it) loads none of the lab's machinery (~80 ms)."""
    if name == "Lab":
        from .lab import Lab

        return Lab
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
