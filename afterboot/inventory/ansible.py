"""Ansible inventories read into afterboot's model, through Ansible itself when it is there.

With ansible-core installed (``pip install 'afterboot[ansible]'``; ``ansible-inventory`` is
run as a command, looked up beside the running interpreter first and then on PATH, never
imported), every source Ansible reads works as it does for the site's playbooks: files,
directories with ``group_vars/`` and ``host_vars/``, vault-encrypted files when a vault
password source is configured (``ANSIBLE_VAULT_PASSWORD_FILE`` or ``ansible.cfg``), and
dynamic inventories (executable scripts, openstack-ansible's ``dynamic_inventory.py`` among
them). Several sources are given to one ``ansible-inventory`` and merged as Ansible merges
them (groups united; a later source's variables win). A JSON file in ``ansible-inventory
--list`` form is read directly. Without ansible-core, INI and YAML files are parsed here
(host ranges ``cmp[01:06:2]`` and ``[a:c]``, ``host:port``) and an executable is run with
``--list`` as Ansible's script plugin does; a directory, or a file beside ``group_vars/``
or ``host_vars/``, then needs ansible-core (never a partial read). Before Ansible sees an
INI or YAML source its host ranges are counted (:mod:`afterboot.inventory.ranges`).

Group membership is transitive (``[nova-compute:children]`` makes the hosts of ``compute``
members of ``nova-compute``); what the groups mean (roles, how services are found, where
files are) is the deployment tool's layout (:mod:`afterboot.inventory.deployers`). Host
variables understood: ``ansible_host``, ``ansible_user``, ``ansible_port``,
``ansible_ssh_private_key_file``, ``ansible_connection``, ``ansible_ssh_common_args`` and
``ansible_ssh_extra_args`` (kept as an argument list; every ``-J``/``ProxyJump`` becomes
the one ``jump``), ``ansible_become`` / ``ansible_become_user``, and ``afterboot_roles``,
``afterboot_service_manager``, ``afterboot_container_engine`` and ``afterboot_jump`` to
override per host. Group variables apply in Ansible's order (``all`` first, then by depth,
``ansible_group_priority`` and name; host variables last). A value ``{{ other_var }}`` is
resolved from the host's variables; any other Jinja expression in a setting afterboot uses
is refused with one line, since afterboot renders no templates. An inline ``!vault`` value
afterboot uses is decrypted (:mod:`afterboot.inventory.vault`); any other is left alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from afterboot.errors import InputError, shown
from afterboot.inputfile import InputFileError, read_text
from afterboot.inventory import commands, deployers, ranges
from afterboot.inventory.commands import INSTALL_HINT, run_bounded
from afterboot.inventory.deployers import GENERIC_ROLES, HostFacts, KollaGlobals
from afterboot.inventory.model import HostSpec, Inventory, host_spec, merge_jumps
from afterboot.inventory.ranges import (
    HOSTS_LIMIT,
    RANGE_LIMIT,
    SECTION,
    expand_hosts,
    looks_like_ini,
    split_port,
)
from afterboot.inventory.vault import Decryptor, Need, from_json
from afterboot.yamlines import LineDict, Unsafe, Vaulted, load_yaml

__all__ = ["GROUP_ROLES", "HOSTS_LIMIT", "RANGE_LIMIT", "load", "load_all", "looks_like_ini"]

ANSIBLE_INVENTORY = "ansible-inventory"
# A dynamic inventory may ask a cloud API; give it time, but never hang a run.
INVENTORY_TIMEOUT = 300.0
# the groups of an inventory whose layout no deployment tool's is
GROUP_ROLES = GENERIC_ROLES
NO_HOSTS = "Ansible inventory has no hosts"

_CONNECTION = {
    "ssh": "ssh",
    "smart": "ssh",
    "ansible.builtin.ssh": "ssh",
    # openstack-ansible's plugin: ssh to the host (containers: to their own address)
    "openstack.osa.ssh": "ssh",
    "paramiko": "paramiko",
    "paramiko_ssh": "paramiko",
    "ansible.builtin.paramiko_ssh": "paramiko",
    "local": "local",
    "ansible.builtin.local": "local",
    "docker": "docker",
    "community.docker.docker": "docker",
    "podman": "podman",
    "containers.podman.podman": "podman",
}

_SIMPLE_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_VARS_DIRS = ("group_vars", "host_vars")
# the variables afterboot reads: a vaulted one is decrypted, any other is never looked at
_NEEDED = frozenset(
    {
        "ansible_host", "ansible_ssh_host", "ansible_user", "ansible_ssh_user", "ansible_port",
        "ansible_ssh_port", "ansible_ssh_private_key_file", "ansible_private_key_file",
        "ansible_connection", "ansible_ssh_common_args", "ansible_ssh_extra_args",
        "ansible_become", "ansible_become_user", "kolla_container_engine", "container_engine",
        "container_cli", "tripleo_role_name", "physical_host", "docker_runtime_directory",
    }
)  # fmt: skip
_NEEDED_PREFIXES = ("afterboot_", "enable_", "kolla_enable_")


def _needed(key: str) -> bool:
    return key in _NEEDED or key.startswith(_NEEDED_PREFIXES)


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


class _Groups:
    """Groups with their direct hosts, children and vars, and where each came from."""

    def __init__(self, src: str, vars_dirs: Sequence[Path] = (), base: Path | None = None) -> None:
        self.src = src
        self.vars_dirs = tuple(vars_dirs)
        self.base = base if base is not None else (self.vars_dirs[0] if vars_dirs else Path())
        self.hosts: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}
        self.vars: dict[str, dict[str, Any]] = {}
        self.host_vars: dict[str, dict[str, Any]] = {}
        self.host_lines: dict[str, int] = {}
        self.group_where: dict[str, str] = {}
        self.host_where: dict[str, str] = {}
        self.key_where: dict[str, dict[str, str]] = {}  # host -> variable -> where it was set
        self._direct: dict[str, set[str]] | None = None  # host -> its groups, built once
        self._parents: dict[str, list[str]] | None = None
        self._depths: dict[str, int] = {}
        self._texts: dict[Path, str | None] = {}

    def add_host(
        self, group: str, host: str, hvars: Mapping[str, Any], line: int, where: str = ""
    ) -> None:
        self.hosts.setdefault(group, []).append(host)
        self.host_vars.setdefault(host, {}).update(hvars)
        self.host_lines.setdefault(host, line)
        self.host_where.setdefault(host, where or (f"{self.src}:{line}" if line else self.src))

    def add_group_vars(self, group: str, gvars: Mapping[str, Any], where: str) -> None:
        self.vars.setdefault(group, {}).update(gvars)
        if gvars:
            self.group_where.setdefault(group, where)

    def merge(self, later: _Groups) -> None:
        """Another source's groups into these, as Ansible merges its sources: hosts and
        children united, the later source's variables winning."""
        for group, members in later.hosts.items():
            mine = self.hosts.setdefault(group, [])
            mine.extend(h for h in members if h not in mine)
        for group, kids in later.children.items():
            mine = self.children.setdefault(group, [])
            mine.extend(k for k in kids if k not in mine)
        for group, gvars in later.vars.items():
            self.vars.setdefault(group, {}).update(gvars)
            if gvars:
                self.group_where[group] = later.group_where.get(group, later.src)
        for host, hvars in later.host_vars.items():
            known = host in self.host_vars
            self.host_vars.setdefault(host, {}).update(hvars)
            where = later.host_where.get(host, later.src)
            keys = self.key_where.setdefault(host, {})
            keys.update(later.key_where.get(host, {}))
            keys.update({k: where for k in hvars if k not in later.key_where.get(host, {})})
            if not known:
                self.host_where[host] = where
                self.host_lines[host] = later.host_lines.get(host, 0)
        self.vars_dirs += tuple(d for d in later.vars_dirs if d not in self.vars_dirs)
        self.src = f"{self.src},{later.src}"
        self._direct, self._parents, self._depths = None, None, {}

    def parents(self, group: str) -> list[str]:
        if self._parents is None:
            self._parents = {}
            for parent, kids in self.children.items():
                for kid in kids:
                    if kid != parent and parent not in self._parents.setdefault(kid, []):
                        self._parents[kid].append(parent)
        return self._parents.get(group, [])

    def groups_of(self, host: str) -> list[str]:
        if self._direct is None:
            self._direct = {}
            for g, members in self.hosts.items():
                for member in members:
                    self._direct.setdefault(member, set()).add(g)
        direct = self._direct.get(host, set())
        found: list[str] = []
        todo = sorted(direct)
        while todo:
            group = todo.pop()
            if group in found:
                continue
            found.append(group)
            todo.extend(self.parents(group))
        return found

    def _depth(self, group: str, seen: frozenset[str] = frozenset()) -> int:
        """How far below ``all`` a group is (its longest chain of parents)."""
        if group == "all" or group in seen:
            return 0
        if group not in self._depths:
            parents = [p for p in self.parents(group) if p != "all"]
            self._depths[group] = 1 + max(
                (self._depth(p, seen | {group}) for p in parents), default=0
            )
        return self._depths[group]

    def _text(self, path: Path) -> str | None:
        if path not in self._texts:
            try:
                self._texts[path] = read_text(path, errors="replace")
            except OSError:
                self._texts[path] = None
        return self._texts[path]

    def _var_file(self, kind: str, name: str, key: str) -> str | None:
        """``group_vars/<name>`` or ``host_vars/<name>`` when such a file sets ``key``."""
        for base in self.vars_dirs:
            folder = base / kind
            candidates = [folder / name, *(folder / f"{name}{e}" for e in (".yml", ".yaml"))]
            candidates.append(folder / f"{name}.json")
            for candidate in candidates:
                files = sorted(candidate.rglob("*")) if candidate.is_dir() else [candidate]
                for f in files:
                    text = self._text(f)
                    if text is not None and (key in text or text.startswith("$ANSIBLE_VAULT")):
                        shown = f.relative_to(base)
                        return str(shown if len(self.vars_dirs) == 1 else f)
        return None

    def _group_origin(self, group: str, key: str) -> str:
        return self._var_file("group_vars", group, key) or self.group_where.get(
            group, f"{self.src} group {group}"
        )

    def _host_origin(self, host: str, key: str) -> str:
        return (
            self._var_file("host_vars", host, key)
            or self.key_where.get(host, {}).get(key)
            or self.host_where.get(host, self.src)
        )

    def _priority(self, group: str) -> int:
        value = self.vars.get(group, {}).get("ansible_group_priority", 1) or 1
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"-?[0-9]{1,9}", text):
            raise InputError(
                f"group {group}: ansible_group_priority {shown(value)} is not a number",
                self.group_where.get(group, self.src),
            )
        return int(text)

    def merged(self, host: str) -> tuple[dict[str, Any], dict[str, str], list[str]]:
        """A host's variables in Ansible's precedence, where each came from, its groups."""
        groups = [g for g in self.groups_of(host) if g != "all"]
        order = sorted(groups, key=lambda g: (self._depth(g), self._priority(g), g))
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for group in ["all", *order]:
            for key, value in self.vars.get(group, {}).items():
                values[key] = value
                origin[key] = self._group_origin(group, key)
        for key, value in self.host_vars[host].items():
            values[key] = value
            origin[key] = self._host_origin(host, key)
        return values, origin, groups

    def all_groups(self) -> set[str]:
        return set(self.hosts) | set(self.children) | set(self.vars)

    def inventory(self, kolla: KollaGlobals | None = None) -> Inventory:
        """The hosts as afterboot's model: each one's settings, roles and layout."""
        decryptor = Decryptor()
        hosts: dict[str, _Vars] = {}
        needs: list[Need] = []
        for host in self.host_vars:
            merged, origin, groups = self.merged(host)
            hosts[host] = _Vars(host, merged, origin, groups, self.src, decryptor)
            needs += hosts[host].needs()
        decryptor.prefetch(needs)  # every vaulted value afterboot reads, in one ansible-vault
        facts = [HostFacts(h, frozenset(v.groups), v.get, v.where) for h, v in hosts.items()]
        layout, placements = deployers.place(self.all_groups(), facts, kolla)
        specs = {h: self._spec(v, placements[h], layout) for h, v in hosts.items()}
        if not specs:
            raise InputError(NO_HOSTS, self.src, 1)
        return Inventory(specs, self.src, layout=layout)

    def _spec(self, v: _Vars, place: deployers.Placement, layout: str) -> HostSpec:
        host, src = v.host, self.src
        where = self.host_where.get(host, src)
        roles, roles_from = list(place.roles), place.roles_from
        if "afterboot_roles" in v.merged:
            roles = [r.strip() for r in str(v.get("afterboot_roles") or "").split(",") if r.strip()]
            roles_from = v.came("afterboot_roles", default="")
        conn_name = str(v.get("ansible_connection") or "ssh")
        words: list[str] = []
        for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
            try:
                words += shlex.split(str(v.get(key) or ""))
            except ValueError as exc:
                raise InputError(f"host {host}: ssh arguments: {exc}", where) from None
        jump, ssh_args = merge_jumps(v.get("afterboot_jump"), words)
        manager = v.get("afterboot_service_manager") or place.service_manager or "systemd"
        fields: dict[str, Any] = {
            "address": v.get("ansible_host", "ansible_ssh_host") or host,
            "roles": roles,
            "connection": _CONNECTION.get(conn_name, conn_name),
            "user": v.get("ansible_user", "ansible_ssh_user"),
            "port": v.get("ansible_port", "ansible_ssh_port"),
            "key": v.get("ansible_ssh_private_key_file", "ansible_private_key_file"),
            "service_manager": manager,
            "container_engine": v.get("afterboot_container_engine") or place.container_engine,
            "paths": dict(place.paths),
            "exclude_services": list(place.exclude_services),
        }
        if jump:
            fields["jump"] = jump
        if fields["connection"] in ("docker", "podman"):
            fields["container"] = fields["address"]
        # `where` already names the line where the host was declared
        line = 0 if re.search(r":[0-9]+$", where) else self.host_lines.get(host, 0)
        spec = host_spec(host, fields, where, line, self.base)
        tool = f"{layout} layout" if layout != deployers.GENERIC else "default"
        origins = {
            "host": where,
            "address": v.came("ansible_host", "ansible_ssh_host", default="inventory name"),
            "port": v.came("ansible_port", "ansible_ssh_port", default="default"),
            "user": v.came("ansible_user", "ansible_ssh_user", default="default"),
            "connection": v.came("ansible_connection", default="default"),
            "roles": roles_from,
            "key": v.came("ansible_ssh_private_key_file", default="default"),
            "become": v.came("ansible_become", default="default"),
            "ssh_args": v.came("ansible_ssh_common_args", "ansible_ssh_extra_args", default=""),
            "jump": v.came(
                "afterboot_jump", "ansible_ssh_common_args", "ansible_ssh_extra_args", default=""
            ),
            "manager": v.came(
                "afterboot_service_manager", default=tool if place.service_manager else "default"
            ),
            "engine": v.came("afterboot_container_engine", default=place.engine_from),
        }
        return dataclasses.replace(
            spec,
            kolla_inventory=src if layout == deployers.KOLLA else "",
            become=_truthy(v.get("ansible_become")),
            become_user=str(v.get("ansible_become_user") or "") or None,
            ssh_args=ssh_args,
            origins=origins,
            groups=tuple(sorted(v.groups)),
            note="" if spec.roles else place.note,
        )


class _Vars:
    """One host's variables as afterboot reads them: templates of other variables
    resolved, a vaulted value decrypted when (and only when) it is read."""

    def __init__(
        self,
        host: str,
        merged: dict[str, Any],
        origin: dict[str, str],
        groups: list[str],
        src: str,
        decryptor: Decryptor,
    ) -> None:
        self.host, self.merged, self.origin, self.groups = host, merged, origin, groups
        self.src = src
        self._decryptor = decryptor

    def needs(self) -> list[Need]:
        """The vaulted values of the variables afterboot reads."""
        return [
            Need(self.host, k, self.origin.get(k, self.src), v)
            for k, v in self.merged.items()
            if isinstance(v, Vaulted) and _needed(k)
        ]

    def _plain(self, key: str) -> Any:
        value = self.merged.get(key)
        if isinstance(value, Vaulted):
            need = Need(self.host, key, self.origin.get(key, self.src), value)
            return self._decryptor.reveal(need)
        return value

    def get(self, *keys: str) -> Any:
        """The first of ``keys`` set (not empty), resolved; None when none is."""
        for key in keys:
            if self.merged.get(key) not in (None, ""):
                return _render(key, self._plain(key), self, self.origin.get(key, self.src))
        return None

    def came(self, *keys: str, default: str) -> str:
        return next((f"{self.origin[k]} ({k})" for k in keys if k in self.origin), default)

    def where(self, key: str) -> str:
        """Where one variable was set, as --list-hosts shows it."""
        return self.came(key, default=key)


def _render(key: str, value: Any, variables: _Vars, where: str) -> Any:
    """Resolve ``{{ var }}`` from the host's variables; refuse any other template."""
    host = variables.host
    names = {"inventory_hostname": host, "inventory_hostname_short": host.split(".")[0]}
    for _ in range(10):
        if isinstance(value, Unsafe):
            return str(value)
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value

        def lookup(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in names:
                return names[name]
            if variables.merged.get(name) is not None:
                return str(variables._plain(name))
            return m.group(0)

        rendered = _SIMPLE_TEMPLATE.sub(lookup, value)
        if rendered == value:
            break
        value = rendered
    raise InputError(
        f"host {host}: {key} is a template ({shown(value)}) afterboot cannot resolve; "
        "give a literal value or read the inventory through ansible-core's templating",
        where,
    )


def _value(text: str) -> Any:
    """A ``[group:vars]`` value: the rest of the line, one pair of enclosing quotes removed."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            words = shlex.split(text)
        except ValueError:
            return text
        return words[0] if len(words) == 1 else text
    return text


def ini_groups(text: str, src: str, base: Path) -> _Groups:
    groups = _Groups(src, [base])
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            m = SECTION.match(line)
            if not m:
                raise InputError(f"malformed INI section header {shown(line)}", src, number)
            section, kind = m.group(1), m.group(2) or "hosts"
            groups.hosts.setdefault(section, [])
            continue
        if kind == "children":
            groups.children.setdefault(section, []).append(line.split()[0])
        elif kind == "vars":
            if "=" not in line:
                raise InputError(
                    f"[{section}:vars] expects key=value, got {shown(line)}", src, number
                )
            key, _, value = line.partition("=")
            groups.add_group_vars(
                section, {key.strip(): _value(value.strip())}, f"{src}:{number} [{section}:vars]"
            )
        else:
            try:
                words = shlex.split(line, comments=True)
            except ValueError as exc:
                raise InputError(f"cannot parse host line: {exc}", src, number) from None
            hvars: dict[str, Any] = {}
            for word in words[1:]:
                if "=" not in word:
                    raise InputError(
                        f"host {words[0]}: expected key=value, got {shown(word)}", src, number
                    )
                key, _, value = word.partition("=")
                hvars[key] = value
            _add_pattern(groups, section, words[0], hvars, number)
    return groups


def from_ini(text: str, src: str, base: Path) -> Inventory:
    return ini_groups(text, src, base).inventory()


def _add_pattern(
    groups: _Groups, group: str, pattern: str, hvars: Mapping[str, Any], line: int
) -> None:
    name, port = split_port(pattern)
    own = dict(hvars)
    if port is not None:
        own.setdefault("ansible_port", port)
    for host in expand_hosts(name, groups.src, line):
        groups.add_host(group, host, own, line)


def _walk_yaml(groups: _Groups, name: str, body: Any, src: str, line: int) -> None:
    if body is None:
        groups.hosts.setdefault(name, [])
        return
    if not isinstance(body, Mapping):
        raise InputError(f"group {name}: expected a mapping with hosts/children/vars", src, line)
    unknown = set(body) - {"hosts", "children", "vars"}
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(
            f"group {name}: unknown key {shown(key)} (expected hosts, children, vars)",
            src,
            body.line_of(key) if isinstance(body, LineDict) else line,
        )
    groups.hosts.setdefault(name, [])
    hosts = body.get("hosts") or {}
    if not isinstance(hosts, Mapping):
        raise InputError(f"group {name}: hosts must be a mapping", src, line)
    for host, hvars in hosts.items():
        hline = hosts.line_of(host) if isinstance(hosts, LineDict) else line
        if hvars is not None and not isinstance(hvars, Mapping):
            raise InputError(f"host {host}: variables must be a mapping", src, hline)
        _add_pattern(groups, name, str(host), dict(hvars or {}), hline)
    gvars = body.get("vars") or {}
    if not isinstance(gvars, Mapping):
        raise InputError(f"group {name}: vars must be a mapping", src, line)
    vline = body.line_of("vars") if isinstance(body, LineDict) else line
    groups.add_group_vars(name, gvars, f"{src}:{vline} {name} vars")
    children = body.get("children") or {}
    if not isinstance(children, Mapping):
        raise InputError(f"group {name}: children must be a mapping", src, line)
    for child, child_body in children.items():
        groups.children.setdefault(name, []).append(str(child))
        cline = children.line_of(child) if isinstance(children, LineDict) else line
        _walk_yaml(groups, str(child), child_body, src, cline)


def yaml_groups(data: LineDict, src: str, base: Path) -> _Groups:
    groups = _Groups(src, [base])
    for name, body in data.items():
        _walk_yaml(groups, str(name), body, src, data.line_of(name))
    return groups


def from_yaml(data: LineDict, src: str, base: Path) -> Inventory:
    return yaml_groups(data, src, base).inventory()


# -- ansible-inventory --list form ---------------------------------------------------


def is_list_form(data: Any) -> bool:
    """Whether parsed JSON is in ``ansible-inventory --list`` (dynamic inventory) form."""
    if not isinstance(data, Mapping):
        return False
    if "_meta" in data:
        return True
    return any(
        isinstance(v, list) or (isinstance(v, Mapping) and isinstance(v.get("hosts"), list))
        for v in data.values()
    )


def list_groups(data: Mapping[str, Any], src: str, vars_dirs: Sequence[Path] = ()) -> _Groups:
    """Groups, group vars and ``_meta.hostvars`` of ``--list`` JSON (vaulted values as
    :class:`Vaulted`)."""
    groups = _Groups(src, vars_dirs)
    meta = data.get("_meta") or {}
    hostvars = meta.get("hostvars") if isinstance(meta, Mapping) else None
    hostvars = hostvars if isinstance(hostvars, Mapping) else {}
    for name, body in data.items():
        if name == "_meta":
            continue
        if isinstance(body, list):  # the short form: a group is a list of hosts
            body = {"hosts": body}
        if not isinstance(body, Mapping):
            raise InputError(f"group {name}: expected hosts/children/vars, got {shown(body)}", src)
        hosts, kids, gvars = body.get("hosts") or [], body.get("children") or [], body.get("vars")
        if not isinstance(hosts, list) or not isinstance(kids, list):
            raise InputError(f"group {name}: hosts and children must be lists", src)
        groups.hosts.setdefault(str(name), [])
        groups.children.setdefault(str(name), []).extend(str(k) for k in kids)
        if isinstance(gvars, Mapping):
            groups.add_group_vars(str(name), from_json(gvars), f"{src} group {name} vars")
        for host in hosts:
            if not isinstance(host, str):
                raise InputError(f"group {name}: host {shown(host)} is not a host name", src)
            own = hostvars.get(host) or {}
            own = from_json(own) if isinstance(own, Mapping) else {}
            groups.add_host(str(name), str(host), own, 0)
    for host, own in hostvars.items():  # hosts only in _meta are members of "all"
        if str(host) not in groups.host_vars and isinstance(own, Mapping):
            groups.add_host("ungrouped", str(host), from_json(own), 0)
    return groups


def from_list(
    data: Mapping[str, Any], src: str, base: Path, vars_dirs: Sequence[Path] = ()
) -> Inventory:
    return list_groups(data, src, vars_dirs or [base]).inventory()


def _json_output(argv: list[str], src: str, what: str, prefer: str = "") -> Any:
    env = {**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_NOCOLOR": "1"}
    try:
        done = run_bounded(argv, env, INVENTORY_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise InputError(f"{what} did not finish within {INVENTORY_TIMEOUT:g}s", src) from None
    except OSError as exc:
        raise InputError(f"cannot run {what}: {exc.strerror or exc}", src) from None
    if done.returncode != 0:
        raise InputError(f"{what} failed: {_reason(done.stderr, prefer)}", src)
    try:
        return json.loads(done.stdout)
    except ValueError as exc:
        raise InputError(f"{what} printed no JSON ({exc})", src) from None


_VAULT_HINT = "set ANSIBLE_VAULT_PASSWORD_FILE, or vault_password_file in ansible.cfg"


def _reason(stderr: str, prefer: str = "") -> str:
    """The most telling line of a complaint (ansible-inventory's: the plugin that fits)."""
    lines = [" ".join(line.split()) for line in stderr.splitlines() if line.strip()]
    markers = [f"with '{prefer}' plugin:"] if prefer else []
    for marker in [*markers, "ERROR", "rror"]:
        for line in lines:
            if marker in line:
                if "no vault secrets" in line:
                    line += f" ({_VAULT_HINT})"
                return shown(line.removeprefix("[WARNING]: "), 300, quoted=False)
    return shown(lines[-1] if lines else "no message", 300, quoted=False)


def _vars_dirs(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _prefer(path: Path, text: str | None) -> str:
    """The plugin Ansible should have read a source with (whose complaint to show)."""
    if _executable(path):
        return "script"
    if text is not None:
        return "ini" if looks_like_ini(text) else "yaml"
    return ""


def through_ansible(sources: Sequence[tuple[Path, str | None]], command: str) -> _Groups:
    """Sources as one ``ansible-inventory -i ... --list --export`` reads and merges them."""
    src = ",".join(str(p) for p, _ in sources)
    argv = [command]
    for path, _ in sources:
        argv += ["-i", str(path)]
    shown = " -i ".join(str(p) for p, _ in sources)
    prefer = _prefer(*sources[0]) if len(sources) == 1 else ""
    data = _json_output(
        [*argv, "--list", "--export"], src, f"{ANSIBLE_INVENTORY} -i {shown} --list", prefer
    )
    if not isinstance(data, Mapping):
        raise InputError(f"{ANSIBLE_INVENTORY} printed no inventory", src)
    dirs = list(dict.fromkeys(_vars_dirs(p) for p, _ in sources))
    return list_groups(data, src, dirs)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _script_groups(path: Path) -> _Groups:
    src = str(path)
    data = _json_output([src, "--list"], src, f"{src} --list")
    if not isinstance(data, Mapping):
        raise InputError("dynamic inventory printed no JSON object", src)
    if "_meta" not in data:  # old scripts answer --host per host instead
        hosts = {
            h
            for body in data.values()
            if isinstance(body, Mapping)
            for h in body.get("hosts") or []
        }
        hosts |= {h for body in data.values() if isinstance(body, list) for h in body}
        hostvars = {
            h: _json_output([src, "--host", str(h)], src, f"{src} --host {h}")
            for h in sorted(hosts)
        }
        data = {**data, "_meta": {"hostvars": hostvars}}
    return list_groups(data, src, [path.parent])


def _read(path: Path) -> str:
    src = str(path)
    try:
        return read_text(path)
    except InputFileError as exc:
        raise InputError(str(exc), src) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read inventory: {exc}", src) from None


def _list_form(text: str | None) -> Mapping[str, Any] | None:
    if text is None or not text.lstrip().startswith("{"):
        return None
    try:
        listed = json.loads(text)
    except ValueError:
        return None
    return listed if is_list_form(listed) else None


def _beside_vars(path: Path) -> Path | None:
    """The ``group_vars``/``host_vars`` directory beside a file source, if there is one."""
    for name in _VARS_DIRS:
        if (path.parent / name).is_dir():
            return path.parent / name
    return None


def _by_hand(path: Path, text: str | None) -> _Groups:
    """One source without ansible-core: never a partial read of what only Ansible reads."""
    src = str(path)
    if path.is_dir():
        raise InputError(
            f"a directory inventory is read through {ANSIBLE_INVENTORY}, which is not "
            f"installed ({INSTALL_HINT})",
            src,
        )
    beside = _beside_vars(path)
    if beside is not None:
        raise InputError(
            f"{beside.name}/ beside this inventory is read through {ANSIBLE_INVENTORY}, "
            f"which is not installed ({INSTALL_HINT})",
            src,
        )
    if _executable(path):
        return _script_groups(path)
    assert text is not None
    return _parse(text, path)


def _parse(text: str, path: Path) -> _Groups:
    src = str(path)
    if looks_like_ini(text):
        return ini_groups(text, src, path.parent)
    data = load_yaml(text, src, ansible=True, fast=True)
    if not isinstance(data, LineDict):
        raise InputError("inventory must be a YAML mapping or an Ansible INI inventory", src, 1)
    return yaml_groups(data, src, path.parent)


def _located(
    sources: Sequence[tuple[Path, str | None]],
    kolla: KollaGlobals | None,
    error: InputError,
    same: bool,
) -> InputError:
    """The hand parser's account of an error Ansible's reading led to, when it names a
    line (Ansible's --list names none): any it finds (``same``: only the same message).
    A file beside ``group_vars/`` is not tried (read without them, it would mislead)."""
    for path, text in sources:
        if text is None or _beside_vars(path) is not None or _list_form(text) is not None:
            continue
        try:
            _parse(text, path).inventory(kolla)
        except InputError as mine:
            if not same or mine.message == error.message:
                return mine
    return error


def _batch(sources: list[tuple[Path, str | None]], kolla: KollaGlobals | None) -> _Groups:
    """Sources ansible-inventory reads, through it if installed (else by hand)."""
    command = commands.tool(ANSIBLE_INVENTORY)
    if command is None:
        parts = [_by_hand(path, text) for path, text in sources]
        for part in parts[1:]:
            parts[0].merge(part)
        return parts[0]
    try:
        groups = through_ansible(sources, command)
    except InputError as exc:
        raise _located(sources, kolla, exc, same=False) from None
    _add_lines(groups, sources)
    return groups


def _add_lines(groups: _Groups, sources: Sequence[tuple[Path, str | None]]) -> None:
    """Where each host and group's variables were written, to the line, for the files
    Ansible read (its --list names no line): from the hand parser's reading of them."""
    hosts: dict[str, tuple[str, int]] = {}
    group_where: dict[str, str] = {}
    for path, text in sources:
        if text is None or _list_form(text) is not None:
            continue
        try:
            hand = _parse(text, path)
        except InputError:
            continue  # Ansible read it its own way: its account stands
        for host, where in hand.host_where.items():
            hosts.setdefault(host, (where, hand.host_lines.get(host, 0)))
        for group, where in hand.group_where.items():
            group_where.setdefault(group, where)
    for host, (where, line) in hosts.items():
        if host in groups.host_vars:
            groups.host_where[host], groups.host_lines[host] = where, line
    for group, where in group_where.items():
        if group in groups.vars:
            groups.group_where[group] = where


def load_all(
    sources: Sequence[tuple[Path, str | None]], kolla: KollaGlobals | None = None
) -> Inventory:
    """Ansible inventory sources (each a path, and its text when it is a file already
    read) as one inventory, merged in order as Ansible merges them."""
    parts: list[_Groups] = []
    batch: list[tuple[Path, str | None]] = []
    read: list[tuple[Path, str | None]] = []
    counted = 0
    for path, given in sources:
        text = given
        if text is None and path.is_file() and not _executable(path):
            text = _read(path)
        read.append((path, text))
        listed = _list_form(text)
        if listed is not None:  # ansible-inventory --list output: read as it is
            if batch:
                parts.append(_batch(batch, kolla))
                batch = []
            parts.append(list_groups(listed, str(path), [path.parent]))
            continue
        if text is not None:
            counted = ranges.bound_text(text, str(path), counted)
        elif path.is_dir():
            counted = ranges.bound_directory(path, counted)
        batch.append((path, text))
    if batch:
        parts.append(_batch(batch, kolla))
    for part in parts[1:]:
        parts[0].merge(part)
    try:
        return parts[0].inventory(kolla)
    except InputError as exc:
        # an empty result: whatever the hand parser finds wrong is why
        raise _located(read, kolla, exc, same=exc.message != NO_HOSTS) from None


def load(path: Path, text: str | None = None, kolla: KollaGlobals | None = None) -> Inventory:
    """One Ansible inventory source (:func:`load_all`)."""
    return load_all([(path, text)], kolla)
