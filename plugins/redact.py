"""One redaction layer for every output: passwords, transport URLs, tokens.

Plain module. Every text afterboot writes (terminal sections, JUnit properties, Allure
files, summary.json, remediation.sh, evidence) passes through :func:`redact`;
:func:`redact_tree` is the last pass over report directories written by other plugins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MASK = "***"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:PASSWORD@host (mysql+pymysql://, rabbit://, amqp://, redis://, http://)
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@'\"]+(@)"), rf"\g<1>{MASK}\g<2>"),
    # password = ..., admin_password: ..., "password": "..."
    (
        re.compile(
            # not a URL path segment (".../auth/tokens: HTTPConnectionPool(...)")
            r"(?im)(?<!/)((?:\b|_)(?:pass(?:word|wd)?|secret|api_key|token|credential)s?\b"
            r"[\"']?\s*[=:]\s*[\"']?)([^\s\"',;}]+)"
        ),
        rf"\g<1>{MASK}",
    ),
    # HTTP headers carrying credentials
    (re.compile(r"(?i)(x-(?:auth|subject)-token\s*[:=]\s*)\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"(?i)(authorization\s*[:=]\s*(?:bearer|basic|token)?\s*)\S+"), rf"\g<1>{MASK}"),
    # fernet tokens (gAAAAA...), anywhere
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), MASK),
)


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_obj(obj: Any) -> Any:
    """Every string inside lists, tuples and dicts redacted (keys too)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(redact_obj(v) for v in obj)
    return obj


TEXT_SUFFIXES = (".json", ".txt", ".xml", ".properties", ".log", ".sh", ".html", ".csv", ".uri")


def redact_file(path: Path) -> bool:
    """Redact a text file in place; True if it changed. Binary files are left alone."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    clean = redact(text)
    if clean == text:
        return False
    path.write_text(clean, encoding="utf-8")
    return True


def redact_tree(paths: Iterable[Path]) -> int:
    """Redact every text file under the given files/directories; returns files changed."""
    changed = 0
    for root in paths:
        files = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for f in files:
            is_text = f.suffix in TEXT_SUFFIXES or "attachment" in f.name
            if f.is_file() and is_text and redact_file(f):
                changed += 1
    return changed
