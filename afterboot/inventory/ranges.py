"""Host patterns of Ansible inventories: ranges (``cmp[01:06:2]``, ``rack-[a:c]``) and
``host:port``, and the bound on how many hosts an inventory may name.

ansible-core builds every host of a range before anything else: ``cmp[0:99999999]`` costs
it minutes and tens of gigabytes. So the text of every INI and YAML source is counted here
first, without expanding anything, and refused in one line past :data:`RANGE_LIMIT` hosts
for one pattern or :data:`HOSTS_LIMIT` for all of them, before ``ansible-inventory`` sees
it. So is an INI line past :data:`LINE_LIMIT` characters: ansible-core's INI parser spends
minutes on a 5 MB section header before it says anything.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from afterboot.errors import InputError, shown
from afterboot.inputfile import read_text

# How many hosts one pattern (``cmp[1:100]``) may expand to, and all the patterns of the
# inventory sources of a run together.
RANGE_LIMIT = 10_000
HOSTS_LIMIT = 100_000
# Files of an inventory directory counted at most (beyond: the directory is refused).
DIRECTORY_FILES = 1_000
# The longest line of an INI inventory (a host with its variables fits in a few hundred).
LINE_LIMIT = 65_536

RANGE = re.compile(r"\[([^\]:]*):([^\]:]*)(?::([^\]]*))?\]")
_HOST_PORT = re.compile(r"((?:[^:\[\]\s]|\[[^\]]*\])+):([0-9]{1,5})")
SECTION = re.compile(r"^\[([^\]:]+)(?::(children|vars))?\]\s*$")
# a YAML mapping key with a range in it (``swift[1:3]:``, ``"cmp[01:20]":``)
_YAML_RANGE_KEY = re.compile(
    r"""^\s*(?:-\s+)?(['"]?)([^\s'"#{}\[\]]*\[[^\]\s]*:[^\]\s]*\][^\s'"#{}]*?)\1\s*:(?:\s|$)"""
)
_VARS_DIRS = ("group_vars", "host_vars")


def looks_like_ini(text: str) -> bool:
    """An INI inventory starts (after comments) with a ``[section`` line, even a broken one."""
    for raw in io.StringIO(text):  # line by line: the first that counts decides
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        return line.startswith("[")
    return False


def too_many(pattern: str, src: str, line: int) -> InputError:
    return InputError(
        f"host pattern {shown(pattern)} expands to more than {RANGE_LIMIT} hosts", src, line
    )


def _range_values(m: re.Match[str], pattern: str, src: str, line: int) -> Sequence[str]:
    where = f"host range {shown(m.group(0))} in {shown(pattern)}"
    beg, end, step_text = m.group(1) or "0", m.group(2), m.group(3)
    try:
        step = int(step_text) if step_text else 1
    except ValueError:
        raise InputError(f"{where}: step {shown(step_text)} is not a number", src, line) from None
    if step < 1:
        raise InputError(f"{where}: step must be 1 or more", src, line)
    if len(beg) == 1 and len(end) == 1 and beg.isalpha() and end.isalpha():
        if end < beg:
            raise InputError(f"{where}: end comes before begin", src, line)
        return [chr(c) for c in range(ord(beg), ord(end) + 1, step)]
    if not (beg.isdigit() and end.isdigit()):
        raise InputError(f"{where}: expected [begin:end] of numbers or single letters", src, line)
    if len(beg) > 9 or len(end) > 9:
        raise InputError(f"{where}: begin and end are numbers of at most 9 digits", src, line)
    width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
    if width and len(end) != width:
        raise InputError(f"{where}: zero-padded begin and end must be equally long", src, line)
    lo, hi = int(beg), int(end)
    if hi < lo:
        raise InputError(f"{where}: end comes before begin", src, line)
    numbers = range(lo, hi + 1, step)
    if len(numbers) > RANGE_LIMIT:
        raise too_many(pattern, src, line)
    return [str(i).zfill(width) for i in numbers]


def expand_hosts(pattern: str, src: str, line: int) -> list[str]:
    """The host names a pattern stands for: ``cmp[01:06:2]`` is cmp01, cmp03, cmp05."""
    ranges = list(RANGE.finditer(pattern))
    if not ranges:
        return [pattern]
    parts: list[Sequence[str]] = []
    total = 1
    for m in ranges:
        values = _range_values(m, pattern, src, line)
        total *= len(values)
        if total > RANGE_LIMIT:
            raise too_many(pattern, src, line)
        parts.append(values)
    pieces = RANGE.split(pattern)[::4]  # the text around the ranges
    return [
        "".join(itertools.chain.from_iterable(itertools.zip_longest(pieces, combo, fillvalue="")))
        for combo in itertools.product(*parts)
    ]


def split_port(pattern: str) -> tuple[str, int | None]:
    """``host:2222`` is host ``host`` on port 2222 (an IPv6 address is left whole)."""
    m = _HOST_PORT.fullmatch(pattern)
    if not m:
        return pattern, None
    return m.group(1), int(m.group(2))


def _range_count(m: re.Match[str]) -> int:
    """How many values one range stands for, without making them (a malformed range
    counts 1: the parser names its fault)."""
    beg, end, step_text = m.group(1) or "0", m.group(2), m.group(3)
    step = int(step_text) if step_text and step_text.isdigit() and len(step_text) < 19 else 1
    step = max(step, 1)
    if len(beg) == 1 and len(end) == 1 and beg.isalpha() and end.isalpha():
        return max(0, (ord(end) - ord(beg)) // step + 1)
    if beg.isdigit() and end.isdigit():
        if len(end) > 18:  # past any limit, whatever begin is
            return HOSTS_LIMIT + 1
        if len(beg) > 18:  # begins after it ends
            return 0
        return max(0, (int(end) - int(beg)) // step + 1)
    return 1


def count(pattern: str) -> int:
    """How many hosts a pattern names (``cmp[1:10]x[a:c]``: 30), without expanding it."""
    total = 1
    for m in RANGE.finditer(split_port(pattern)[0]):
        total *= _range_count(m)
    return total


def _ini_patterns(text: str, src: str) -> Iterator[tuple[str, int]]:
    kind = "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        if len(raw) > LINE_LIMIT:
            raise InputError(
                f"a line of {len(raw)} characters (at most {LINE_LIMIT}): not an inventory "
                f"line ({shown(raw)})",
                src,
                number,
            )
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            m = SECTION.match(line)
            kind = (m.group(2) or "hosts") if m else "hosts"
            continue
        if kind == "hosts":
            yield line.split()[0], number


def _yaml_patterns(text: str) -> Iterator[tuple[str, int]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if "[" not in raw:  # no range without a bracket: most lines never reach the regex
            continue
        m = _YAML_RANGE_KEY.match(raw)
        if m:
            yield m.group(2), number


def bound_text(text: str, src: str, so_far: int = 0) -> int:
    """``so_far`` plus the hosts an INI or YAML inventory's patterns name; past either
    limit, one InputError line naming the pattern."""
    total = so_far
    patterns = _ini_patterns(text, src) if looks_like_ini(text) else _yaml_patterns(text)
    for pattern, line in patterns:
        n = count(pattern)
        if n > RANGE_LIMIT:
            raise too_many(pattern, src, line)
        total += n
        if total > HOSTS_LIMIT:
            raise InputError(
                f"the inventory names more than {HOSTS_LIMIT} hosts (at pattern {shown(pattern)})",
                src,
                line,
            )
    return total


def bound_directory(directory: Path, so_far: int = 0) -> int:
    """:func:`bound_text` over the files Ansible reads as inventory sources in a directory
    (not ``group_vars/``, ``host_vars/``, scripts or hidden files)."""
    total = so_far
    seen = 0
    todo = [directory]
    while todo:
        folder = todo.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _VARS_DIRS:
                continue
            if entry.is_dir() and not entry.is_symlink():
                todo.append(entry)
                continue
            if not entry.is_file() or entry.suffix in (".py", ".sh", ".json"):
                continue
            seen += 1
            if seen > DIRECTORY_FILES:
                raise InputError(
                    f"inventory directory holds more than {DIRECTORY_FILES} files", str(directory)
                )
            try:
                text = read_text(entry, errors="replace")
            except OSError:
                continue  # Ansible names what it cannot read
            total = bound_text(text, str(entry), total)
    return total
