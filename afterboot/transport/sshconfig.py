"""Which destinations ssh's configuration treats alike.

``ssh -G`` answers where ssh connects for one host; a fleet asks it once per host (a
process each, ~4 ms). ssh applies a ``Host`` block to the destination as given on the
command line, by its patterns: destinations to which the same ``Host`` lines apply get
the same settings, so one ``ssh -G`` stands for all command lines that differ only in
such a destination. A ``Match`` other than ``Match all``, hostname canonicalisation, or
a file this module cannot read says "may differ", and each host is asked as before.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

MAX_FILES = 64  # Include chains past this are not followed: "may differ"
SYSTEM_CONFIG = Path("/etc/ssh/ssh_config")


def _user_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".ssh"


def config_files(argv: Sequence[str]) -> tuple[Path, ...]:
    """The files ssh reads for this command line: ``-F``'s alone, else the user's and
    the system's."""
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word == "-F" and i + 1 < len(argv):
            return (Path(argv[i + 1]),)
        if word.startswith("-F") and len(word) > 2:
            return (Path(word[2:]),)
    return (_user_dir() / "config", SYSTEM_CONFIG)


_LINE = re.compile(r"([^\s=]+)\s*(?:=\s*|\s+|$)(.*)")


def _words(line: str) -> list[str]:
    """A configuration line's keyword and arguments (``Key value`` or ``Key=value``);
    ``["?unparsable"]`` for one whose quotes do not close."""
    line = line.strip()
    if not line or line.startswith("#"):
        return []
    m = _LINE.match(line)
    if m is None:
        return ["?unparsable"]
    try:
        return [m.group(1), *shlex.split(m.group(2), comments=True)]
    except ValueError:
        return ["?unparsable"]


def _per_destination(key: str, args: Sequence[str]) -> bool:
    """A line that may set something per destination in a way not evaluated here."""
    if key == "match":
        return [a.lower() for a in args] != ["all"]
    if key == "canonicalizehostname":
        return (args[:1] or ["no"])[0].lower() not in ("no", "false")
    return key == "?unparsable"


def _host_lines(path: Path, base: Path, seen: list[Path], out: list[tuple[str, ...]]) -> bool:
    """Every ``Host`` line's patterns of ``path`` and what it includes, in order, into
    ``out``; False where something could set a value per destination that this module
    does not evaluate (``Match`` other than ``all``, canonicalisation, unreadable text)."""
    if len(seen) >= MAX_FILES:
        return False
    seen.append(path)
    try:
        text = path.read_text(errors="strict")
    except FileNotFoundError:
        return True  # a file ssh does not find changes nothing
    except (OSError, UnicodeDecodeError):
        return False
    for line in text.splitlines():
        words = _words(line)
        if not words:
            continue
        key, args = words[0].lower(), words[1:]
        if _per_destination(key, args):
            return False
        if key == "host":
            out.append(tuple(args))
        elif key == "include":
            for pattern in args:
                full = os.path.expanduser(pattern)
                full = full if os.path.isabs(full) else str(base / full)
                for found in sorted(glob.glob(full)):
                    if not _host_lines(Path(found), base, seen, out):
                        return False
    return True


def host_patterns(argv: Sequence[str]) -> tuple[tuple[str, ...], ...] | None:
    """The ``Host`` lines (their patterns, in order) of every file this command line's ssh
    reads, or None when the configuration may set something per destination otherwise."""
    seen: list[Path] = []
    out: list[tuple[str, ...]] = []
    for path in config_files(argv):
        # Include's relative paths: under ~/.ssh for a user file, /etc/ssh for the system's
        base = SYSTEM_CONFIG.parent if path == SYSTEM_CONFIG else _user_dir()
        if not _host_lines(path, base, seen, out):
            return None
    return tuple(out)


def _pattern(p: str) -> re.Pattern[str]:
    """One of ssh's host patterns (``*`` and ``?``, nothing else special), as a regex."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p))


def matches(patterns: Sequence[str], host: str) -> bool:
    """Whether a ``Host`` line applies to ``host`` as ssh decides it: any pattern matches
    and no negated one does (case-insensitive)."""
    host = host.lower()
    hit = False
    for p in patterns:
        negated = p.startswith("!")
        if _pattern((p[1:] if negated else p).lower()).fullmatch(host):
            if negated:
                return False
            hit = True
    return hit


def signature(lines: Sequence[Sequence[str]], host: str) -> tuple[bool, ...]:
    """Which ``Host`` lines apply to ``host``: destinations alike here get the same
    settings from the configuration (``Match all`` and the rest apply to every one)."""
    return tuple(matches(p, host) for p in lines)
