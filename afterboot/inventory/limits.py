"""``--host`` and ``--role`` as Ansible's ``--limit`` patterns.

A pattern is terms joined by ``:`` or ``,`` (an IPv6 address stays whole): a name, a glob
(``cmp*``, ``ctl0[1-3]``), a regular expression (``~cmp0[0-9]+``), a slice of what a term
matches (``compute[0]``, ``compute[1:3]``); ``&`` before a term keeps only the hosts it
matches too, ``!`` drops them. A term matches a host by its name, an Ansible group it is in
(through children) or one of its roles; ``all`` matches every host. As in Ansible, the plain
terms are united first (none: every host), then the ``&`` terms intersect, then the ``!``
terms take away: ``compute:!cmp01``, ``cmp*:&rack1``, ``controller,!ctl03``.

``--host`` and ``--role`` each select hosts so; a run's hosts are those both select. The
checks ``--role`` selects are those of the roles its plain terms name (a term that names
a group or a host instead, or no plain term: checks of every role), less the roles ``!``
terms name.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from afterboot.errors import InputError, shown
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.settings import ROLES, Setting

# Ansible's subscripts: [3], [-1], [1:3], [2:] (and its older [1-3]); ``cmp0[12]`` is one
# too, as in Ansible (a glob's class of digits is written ``cmp0[!3]`` or ``~cmp0[12]``)
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]*)[:-]([0-9]*))\]$")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Term:
    """One term of a pattern: its operator ("" unite, "&" intersect, "!" take away)."""

    op: str
    pattern: str

    @property
    def plain(self) -> bool:
        """A literal name: no glob, no regular expression, no slice."""
        return not self.pattern.startswith("~") and not _GLOB.search(self.pattern)

    def __str__(self) -> str:
        return f"{self.op}{self.pattern}"


def _split(text: str) -> list[str]:
    """Ansible's split of a pattern: on ``,`` if there is one, else on ``:`` outside
    brackets; an IPv6 address (with or without ``!``/``&``) stays whole."""
    if "," in text:
        return [p.strip() for p in text.split(",") if p.strip()]
    bare = text.strip()
    try:
        ipaddress.IPv6Address(bare.lstrip("!&").split("%")[0])
        return [bare]
    except ValueError:
        pass
    parts: list[str] = []
    depth, current = 0, ""
    for ch in bare:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def terms(values: Iterable[str]) -> list[Term]:
    """The terms of the patterns given (every --host or --role value), in order."""
    found: list[Term] = []
    for value in values:
        for part in _split(str(value)):
            op = part[0] if part[0] in "!&" else ""
            pattern = part[1:].strip() if op else part
            if not pattern:
                raise InputError(f"{shown(part)}: {op} names nothing")
            found.append(Term(op, pattern))
    return found


def _matcher(pattern: str) -> re.Pattern[str]:
    if pattern.startswith("~"):
        try:
            return re.compile(pattern[1:])
        except re.error as exc:
            raise InputError(f"{shown(pattern)}: not a regular expression ({exc})") from None
    return re.compile(fnmatch.translate(pattern))


def _names(host: HostSpec) -> tuple[str, ...]:
    return (host.name, *host.groups, *host.roles)


def matches(hosts: Sequence[HostSpec], pattern: str) -> list[str]:
    """The hosts (in inventory order) one term's pattern matches: by name, group or role,
    sliced by a subscript (``compute[0:2]``)."""
    sub = None if pattern.startswith("~") else _SUBSCRIPT.match(pattern)
    if sub is not None and (sub.group(2) is not None or sub.group(3) or sub.group(4)):
        base = sub.group(1)
        found = matches(hosts, base)
        if sub.group(2) is not None:
            index = int(sub.group(2))
            return [found[index]] if -len(found) <= index < len(found) else []
        start = int(sub.group(3) or 0)
        end = int(sub.group(4)) + 1 if sub.group(4) else len(found)
        return found[start:end]
    if pattern == "all":  # Ansible's group of every host (a glob matching "all" is not)
        return [h.name for h in hosts]
    regex = _matcher(pattern)
    return [h.name for h in hosts if any(regex.match(n) for n in _names(h))]


def select(hosts: Mapping[str, HostSpec], given: Sequence[Term]) -> list[str]:
    """The hosts a pattern's terms select, as Ansible's --limit selects them."""
    ordered = list(hosts.values())
    unions = [t for t in given if t.op == ""]
    chosen: list[str] = [] if unions else [h.name for h in ordered]
    for term in unions:
        chosen += [n for n in matches(ordered, term.pattern) if n not in chosen]
    for term in given:
        if term.op == "&":
            keep = set(matches(ordered, term.pattern))
            chosen = [n for n in chosen if n in keep]
    for term in given:
        if term.op == "!":
            drop = set(matches(ordered, term.pattern))
            chosen = [n for n in chosen if n not in drop]
    return chosen


def unmatched(hosts: Mapping[str, HostSpec], given: Sequence[Term]) -> list[Term]:
    """The terms that match no host of the inventory."""
    ordered = list(hosts.values())
    return [t for t in given if not matches(ordered, t.pattern)]


def role_names(pattern: str) -> list[str]:
    """The roles a term's pattern names (a glob over the role names)."""
    if pattern.startswith("~") or _SUBSCRIPT.match(pattern):
        return []
    return [r for r in ROLES if fnmatch.fnmatchcase(r, pattern)]


def check_roles(given: Sequence[Term]) -> tuple[str, ...]:
    """The roles whose checks a --role pattern selects; () for every check."""
    unions = [t for t in given if t.op == ""]
    named: list[str] = []
    for term in unions:
        roles = role_names(term.pattern)
        if not roles:  # a group or a host: its hosts may have any role
            named = list(ROLES)
            break
        named += [r for r in roles if r not in named]
    if not unions:
        named = list(ROLES)
    dropped = {r for t in given if t.op == "!" and t.plain for r in role_names(t.pattern)}
    kept = tuple(r for r in ROLES if r in named and r not in dropped)
    return () if set(kept) == set(ROLES) else kept


def limited(inv: Inventory, roles: Sequence[str], hosts: Sequence[str]) -> Inventory:
    """The hosts that ``--role`` and ``--host`` leave in scope (each: every host if not
    given)."""
    chosen = set(select(inv.hosts, terms(roles))) & set(select(inv.hosts, terms(hosts)))
    kept = {n: h for n, h in inv.hosts.items() if n in chosen}
    return dataclasses.replace(inv, hosts=kept)


def _term(term: object) -> str:
    """A pattern's term as an error line shows it: shortened, escaped, unquoted."""
    return shown(str(term), quoted=False)


def _names_shown(inv: Inventory, most: int = 10) -> str:
    names = list(inv.hosts)
    return ", ".join(names[:most]) + (
        f", and {len(names) - most} more" if len(names) > most else ""
    )


def problem(inv: Inventory, roles: Setting, hosts: Setting, listing: bool = False) -> str | None:
    """Why a --role or --host pattern cannot be, in one line: a term that matches nothing
    (a mistyped host would otherwise judge nothing, and pass), or, for a run (not
    ``listing`` the hosts), only hosts afterboot does not check."""
    given = terms(hosts.value)
    for term in unmatched(inv.hosts, given):
        return (
            f"--host {_term(term)} (from {hosts.source}): not in inventory {inv.source} "
            f"(hosts: {_names_shown(inv)})"
        )
    ordered = list(inv.hosts.values())
    for term in given if not listing else ():
        found = [inv.hosts[n] for n in matches(ordered, term.pattern)]
        if term.op != "!" and not any(h.roles for h in found):
            why = found[0].note or "no role"
            return (
                f"--host {_term(term)} (from {hosts.source}): only hosts afterboot does not check "
                f"({found[0].name}: {why}; --list-hosts shows them)"
            )
    for term in unmatched(inv.hosts, terms(roles.value)):
        if term.plain and term.pattern in ROLES:
            continue  # a role no host has: its checks are skipped, saying so
        if term.plain:
            return (
                f"role (from {roles.source}): unknown role {shown(term.pattern)}; choose from "
                f"{', '.join(ROLES)}, or a group or host of inventory {inv.source}"
            )
        return (
            f"--role {_term(term)} (from {roles.source}): matches no role, group or host of "
            f"inventory {inv.source}"
        )
    return None


def role_problem(roles: Setting) -> str | None:
    """Without an inventory: a --role term must name roles (there is no group or host)."""
    for term in terms(roles.value):
        if term.pattern.startswith("~") or role_names(term.pattern):
            continue
        if term.plain:
            return f"unknown role {shown(term.pattern)}; choose from {', '.join(ROLES)}"
        return f"{shown(term.pattern)} matches no role; choose from {', '.join(ROLES)}"
    return None
