"""A remediation command adapted to the host it runs on (``at: host`` steps).

Plain module. Procedures are written for a packaged host (``systemctl restart
nova-compute``, ``virsh ...``, ``/etc/nova/nova.conf``); :func:`adapt` rewrites one rendered
command for a host as the inventory declares it (:class:`~afterboot.inventory.model.HostSpec`),
segment by segment (split on unquoted ``&&``, ``||``, ``;``, ``|``, separators kept):

========================================  =============================================
segment (after an optional ``sudo``)      on a ``service_manager: container`` host
========================================  =============================================
``systemctl VERB SVC...``                 podman: ``sudo systemctl VERB
(start stop restart status is-active      kolla-<container>-container...`` (status adds
reload; SVC a service the suite knows     ``--no-pager``); docker (or an engine the
with a container: :data:`SERVICES`)       inventory leaves open): ``sudo docker VERB
                                          <container>...``, status: ``sudo docker ps -a
                                          --filter name=^<container>$``; reload: restart
``journalctl ... -u SVC ...``             ``sudo <engine> logs --tail 60 <container>``
a tool of :data:`IN_CONTAINER`            ``sudo <engine> exec <container> <tool> ...``
(``virsh``, ``qemu-img``, ...)            (its paths are the container's: not mapped)
anything else                             absolute paths under a ``paths:`` prefix mapped
                                          (:meth:`HostSpec.path`), on any manager
========================================  =============================================

Host-level units (d-bus, sshd, chronyd, ...) and names the suite does not know stay as
written. A segment left alone keeps its text byte for byte, so a host without ``paths:``
that is not a container host gets today's command unchanged. Nested shells (``sh -c
'...'``) are one segment: only path mapping reaches inside them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping

from afterboot.domains.containers import unit_of
from afterboot.domains.discovery import short_name
from afterboot.domains.servicemap import SERVICES
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import engine_command

# a tool that a kolla host has only inside one of its containers -> that container
IN_CONTAINER: dict[str, str] = {
    "virsh": "nova_libvirt",
    "qemu-img": "nova_compute",
    "nova-manage": "nova_api",
    "cinder-manage": "cinder_api",
    # the projects' upgrade checks and keystone's own tools (tests_cloud/test_upgrade_checks.py)
    "nova-status": "nova_api",
    "cinder-status": "cinder_api",
    "placement-status": "placement_api",
    "placement-manage": "placement_api",
    "keystone-status": "keystone",
    "keystone-manage": "keystone",
    "glance-status": "glance_api",
    "neutron-status": "neutron_server",
    "rabbitmqctl": "rabbitmq",
    "rabbitmq-diagnostics": "rabbitmq",
}
# a subcommand given no password on its command line reads it from standard input
_READS_STDIN = re.compile(r"^\s.*\b(?:add_user|change_password)\s+\S+\s*$")
VERBS = ("start", "stop", "restart", "status", "is-active", "reload")
SEPARATORS = ("&&", "||", ";", "|")
LOG_LINES = "60"

_PATH = re.compile(r"(?<![\w./~$-])/[\w.@+,:%=~-]+(?:/[\w.@+,:%=~-]*)*")
_VALUED = {
    "-n",
    "--lines",
    "-p",
    "--property",
    "-o",
    "--output",
    "-t",
    "--type",
    "-H",
    "--host",
    "-M",
}


def split(command: str) -> list[str]:
    """``command`` cut at its unquoted top-level separators, which are kept as items of
    their own: ``"".join(split(c)) == c``. Quotes, backslashes, ``$(...)``, backticks
    and parentheses are honoured; a lone ``&`` (background, ``2>&1``) does not cut."""
    parts: list[str] = []
    start = i = depth = 0
    quote = ""
    while i < len(command):
        c = command[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1  # the next character is taken as it is
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif quote == "`":
            quote = "" if c == "`" else quote
        elif c in "'\"`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            sep = next((s for s in SEPARATORS if command.startswith(s, i)), "")
            if sep:
                parts += [command[start:i], sep]
                i += len(sep)
                start = i
                continue
        i += 1
    parts.append(command[start:])
    return parts


def _quote_states(text: str) -> list[str]:
    """The quoting in force at each character of ``text`` (``""``, ``"'"`` or ``'"'``)."""
    states: list[str] = []
    quote = ""
    escaped = False
    for c in text:
        states.append(quote)
        if escaped:
            escaped = False
        elif quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            escaped = True
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
    return states


def map_paths(segment: str, spec: HostSpec) -> str:
    """Every absolute path under one of the host's ``paths:`` prefixes, moved there. Bare,
    a moved path that needs quoting is quoted; inside quotes (perhaps a nested ``sh -c``)
    only one that needs none replaces the old."""
    if not spec.paths:
        return segment
    states = _quote_states(segment)

    def one(m: re.Match[str]) -> str:
        old = m.group(0)
        new = spec.path(old)
        if new == old:
            return old
        if not states[m.start()]:
            return shlex.quote(new)
        return new if shlex.quote(new) == new else old

    return _PATH.sub(one, segment)


def container_of(name: str) -> str:
    """kolla's container of a service the suite knows, by name or by one of its units
    (``nova-compute``, ``openstack-nova-compute.service``, ``libvirtd``); ``""`` for the
    host's own (d-bus), a unit that names several services (apache2) or one unknown."""
    name = name.removesuffix(".service")
    svc = SERVICES.get(name)
    if svc is None:
        owners = [s for s in SERVICES.values() if name in s.units]
        svc = owners[0] if len(owners) == 1 else None
    if svc is None or not svc.containers or "*" in svc.containers[0]:
        return ""
    return svc.containers[0].lstrip("/")


def _options(args: list[str]) -> tuple[list[str], list[str], list[str]]:
    """A systemctl line's words as (options before the verb, verb and names, options
    after); an option that takes a value (``--lines 0``, ``-p NRestarts``) keeps it."""
    before: list[str] = []
    plain: list[str] = []
    after: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        into = after if plain else before
        if a in _VALUED and i + 1 < len(args):
            into += [a, args[i + 1]]
            i += 2
            continue
        (into if a.startswith("-") else plain).append(a)
        i += 1
    return before, plain, after


def _systemctl(args: list[str], spec: HostSpec, sudo: str) -> str | None:
    before, plain, after = _options(args)
    if not plain or plain[0] not in VERBS or len(plain) < 2:
        return None
    verb, names = plain[0], plain[1:]
    containers = [container_of(n) for n in names]
    if not all(containers):
        return None
    if verb == "reload":
        verb = "restart"  # kolla's containers have no reload
    if spec.container_engine == "podman":  # kolla on podman: a unit per container
        units = [unit_of(c).removesuffix(".service") for c in containers]
        paged = verb == "status" and "--no-pager" not in (*before, *after)
        pager = ["--no-pager"] if paged else []
        return sudo + shlex.join(["systemctl", *before, verb, *units, *after, *pager])
    engine = engine_command(spec)
    if verb in ("status", "is-active"):
        filters = [w for c in containers for w in ("--filter", f"name=^{c}$")]
        return f"sudo {engine} " + shlex.join(["ps", "-a", *filters])
    return f"sudo {engine} " + shlex.join([verb, *containers])


def _journalctl(args: list[str], spec: HostSpec, sudo: str) -> str | None:
    units = [
        a.removeprefix("--unit=") if a.startswith("--unit=") else b
        for a, b in zip(args, [*args[1:], ""], strict=True)
        if a.startswith("--unit=") or a in ("-u", "--unit")
    ]
    container = container_of(units[0]) if len(units) == 1 else ""
    if not container:
        return None
    return f"sudo {engine_command(spec)} " + shlex.join(["logs", "--tail", LOG_LINES, container])


# the engine's commands always go through sudo (kolla's containers are root's); systemctl
# keeps the line's own sudo (or its absence: ``systemctl status`` needs none)
_RULES: dict[str, Callable[[list[str], HostSpec, str], str | None]] = {
    "systemctl": _systemctl,
    "journalctl": _journalctl,
}
_TOOL = re.compile(
    r"(\s*)(?:sudo\s+)?(" + "|".join(map(re.escape, IN_CONTAINER)) + r")(?=\s|$)(.*)", re.S
)


def _container_segment(segment: str, spec: HostSpec) -> str | None:
    """The segment for a container host, or ``None`` when no container rule applies."""
    tool = _TOOL.fullmatch(segment)
    if tool:  # the tool's own words as written: its paths are the container's
        lead, name, rest = tool.groups()
        # a tool that reads a secret from its standard input (rabbitmqctl add_user without
        # the password) gets it only through ``exec -i``: without, it reads an empty line
        stdin = " -i" if _READS_STDIN.search(rest) else ""
        return f"{lead}sudo {engine_command(spec)} exec{stdin} {IN_CONTAINER[name]} {name}{rest}"
    try:
        words = shlex.split(segment)
    except ValueError:
        return None
    sudo = "sudo " if words[:1] == ["sudo"] else ""
    words = words[1:] if sudo else words
    rule = _RULES.get(words[0]) if words else None
    new = rule(words[1:], spec, sudo) if rule else None
    if new is None:
        return None
    lead = segment[: len(segment) - len(segment.lstrip())]
    trail = segment[len(segment.rstrip()) :]
    return lead + new + trail


def spec_for(hosts: Mapping[str, HostSpec] | None, host: str) -> HostSpec | None:
    """The inventory's host a finding names: by its name, else by its short name (nova's
    ``compute2.example.org``, cinder's ``storage1@lvm#pool``) when one host has it."""
    if not hosts or not host:
        return None
    if host in hosts:
        return hosts[host]
    same = [spec for name, spec in hosts.items() if short_name(name) == short_name(host)]
    return same[0] if len(same) == 1 else None


def adapt(command: str, spec: HostSpec | None) -> str:
    """``command`` (a filled-in ``run`` line, before ``ssh``) as it runs on ``spec``'s host;
    unchanged without a spec, or where no rule applies."""
    if spec is None or (spec.service_manager != "container" and not spec.paths):
        return command
    out = []
    for part in split(command):
        if part in SEPARATORS:
            out.append(part)
            continue
        new = _container_segment(part, spec) if spec.service_manager == "container" else None
        out.append(new if new is not None else map_paths(part, spec))
    return "".join(out)
