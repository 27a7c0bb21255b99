"""afterboot lab: a small real OpenStack on one machine (hosts are Linux namespaces)."""

from .lab import Lab

__all__ = ["Lab"]
