"""Ansible inventories read into afterboot's model, through Ansible itself when it is there.

With ansible-core installed (``pip install 'afterboot[ansible]'``; ``ansible-inventory`` is
used as a command found on PATH, never imported), every source Ansible reads works as it
does for the site's playbooks: files, directories with ``group_vars/`` and ``host_vars/``,
vault-encrypted files when a vault password source is configured (``ANSIBLE_VAULT_PASSWORD_FILE``
or ``ansible.cfg``), and dynamic inventories (executable scripts, openstack-ansible's
``dynamic_inventory.py`` among them). A JSON file in ``ansible-inventory --list`` form is
read directly. Without ansible-core, INI and YAML files are parsed here (host ranges
``cmp[01:06:2]`` and ``[a:c]``, ``host:port``) and an executable is run with ``--list`` as
Ansible's script plugin does; directories then need ansible-core.

Group membership is transitive (``[nova-compute:children]`` makes the hosts of ``compute``
members of ``nova-compute``), and roles come from the groups a host is in, through
:data:`GROUP_ROLES`. The default mapping covers kolla-ansible's multinode inventory
(``control``, ``network``, ``compute``, ``storage``, ``monitoring`` and its per-service
groups such as ``mariadb`` or ``swift-object-server``) and openstack-ansible's groups
(``shared-infra_hosts``, ``compute_hosts``, ``swift_hosts`` ...). Groups not listed give no
role. Host variables understood: ``ansible_host``, ``ansible_user``, ``ansible_port``,
``ansible_ssh_private_key_file``, ``ansible_connection``, ``ansible_ssh_common_args`` and
``ansible_ssh_extra_args`` (kept as an argument list; ``ProxyJump`` also becomes ``jump``),
``ansible_become`` / ``ansible_become_user``, ``kolla_container_engine`` (or
``afterboot_container_engine``), and ``afterboot_service_manager`` / ``afterboot_roles`` to
override per host. Group variables apply in Ansible's order (``all``
first, then by depth, ``ansible_group_priority`` and name; host variables last). A value
``{{ other_var }}`` is resolved from the host's variables; any other Jinja expression in a
connection setting is refused with one line, since afterboot renders no templates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from afterboot.errors import InputError
from afterboot.inputfile import InputFileError, read_text
from afterboot.inventory.model import HostSpec, Inventory, host_spec
from afterboot.yamlines import LineDict, load_yaml

ANSIBLE_INVENTORY = "ansible-inventory"
# A dynamic inventory may ask a cloud API; give it time, but never hang a run.
INVENTORY_TIMEOUT = 300.0
# How many hosts one pattern (``cmp[1:100]``) may expand to.
RANGE_LIMIT = 10_000

GROUP_ROLES: dict[str, tuple[str, ...]] = {
    # kolla-ansible multinode: base groups
    "control": ("controller",),
    "network": ("network",),
    "compute": ("compute",),
    "storage": ("block-storage",),
    # kolla-ansible per-service groups (children of the base groups)
    "mariadb": ("database",),
    "rabbitmq": ("messaging",),
    "horizon": ("dashboard",),
    "swift-proxy-server": ("object-storage-proxy",),
    "swift-object-server": ("object-storage",),
    "swift-account-server": ("object-storage",),
    "swift-container-server": ("object-storage",),
    "cinder-volume": ("block-storage",),
    "nova-compute": ("compute",),
    "ceph-mon": ("ceph",),
    "ceph-osd": ("ceph",),
    # openstack-ansible
    "shared-infra_hosts": ("controller", "database", "messaging"),
    "os-infra_hosts": ("controller",),
    "identity_hosts": ("controller",),
    "infra_hosts": ("controller", "database", "messaging"),
    "galera_all": ("database",),
    "rabbitmq_all": ("messaging",),
    "compute_hosts": ("compute",),
    "storage_hosts": ("block-storage",),
    "swift_hosts": ("object-storage",),
    "swift-proxy_hosts": ("object-storage-proxy",),
    "network_hosts": ("network",),
    "dashboard_hosts": ("dashboard",),
    # plain names seen in hand-written inventories
    "controller": ("controller",),
    "controllers": ("controller",),
    "computes": ("compute",),
}

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

_RANGE = re.compile(r"\[([^\]:]*):([^\]:]*)(?::([^\]]*))?\]")
_HOST_PORT = re.compile(r"((?:[^:\[\]\s]|\[[^\]]*\])+):([0-9]{1,5})")
_SECTION = re.compile(r"^\[([^\]:]+)(?::(children|vars))?\]\s*$")
_SIMPLE_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_TRUE = {"true", "yes", "on", "1", "y", "t"}


def looks_like_ini(text: str) -> bool:
    """An INI inventory starts (after comments) with a ``[section`` line, even a broken one."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        return line.startswith("[")
    return False


def _too_many(pattern: str, src: str, line: int) -> InputError:
    return InputError(
        f"host pattern {pattern!r} expands to more than {RANGE_LIMIT} hosts", src, line
    )


def _range_values(m: re.Match[str], pattern: str, src: str, line: int) -> Sequence[str]:
    where = f"host range {m.group(0)!r} in {pattern!r}"
    beg, end, step_text = m.group(1) or "0", m.group(2), m.group(3)
    try:
        step = int(step_text) if step_text else 1
    except ValueError:
        raise InputError(f"{where}: step {step_text!r} is not a number", src, line) from None
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
        raise _too_many(pattern, src, line)
    return [str(i).zfill(width) for i in numbers]


def expand_hosts(pattern: str, src: str, line: int) -> list[str]:
    """The host names a pattern stands for: ``cmp[01:06:2]`` is cmp01, cmp03, cmp05."""
    ranges = list(_RANGE.finditer(pattern))
    if not ranges:
        return [pattern]
    parts: list[Sequence[str]] = []
    total = 1
    for m in ranges:
        values = _range_values(m, pattern, src, line)
        total *= len(values)
        if total > RANGE_LIMIT:
            raise _too_many(pattern, src, line)
        parts.append(values)
    pieces = _RANGE.split(pattern)[::4]  # the text around the ranges
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


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


class _Groups:
    """Groups with their direct hosts, children and vars, and where each came from."""

    def __init__(self, src: str, vars_dirs: Sequence[Path] = ()) -> None:
        self.src = src
        self.vars_dirs = tuple(vars_dirs)
        self.hosts: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}
        self.vars: dict[str, dict[str, Any]] = {}
        self.host_vars: dict[str, dict[str, Any]] = {}
        self.host_lines: dict[str, int] = {}
        self.group_where: dict[str, str] = {}
        self.host_where: dict[str, str] = {}
        self._direct: dict[str, set[str]] | None = None  # host -> its groups, built once
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

    def parents(self, group: str) -> list[str]:
        return [p for p, kids in self.children.items() if group in kids and p != group]

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
                        return str(f.relative_to(base))
        return None

    def _group_origin(self, group: str, key: str) -> str:
        return self._var_file("group_vars", group, key) or self.group_where.get(
            group, f"{self.src} group {group}"
        )

    def _host_origin(self, host: str, key: str) -> str:
        return self._var_file("host_vars", host, key) or self.host_where.get(host, self.src)

    def _priority(self, group: str) -> int:
        value = self.vars.get(group, {}).get("ansible_group_priority", 1) or 1
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"-?[0-9]{1,9}", text):
            raise InputError(
                f"group {group}: ansible_group_priority {value!r:.40} is not a number",
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

    def inventory(self, base: Path) -> Inventory:
        src = self.src
        specs: dict[str, HostSpec] = {}
        for host in self.host_vars:
            merged, origin, groups = self.merged(host)
            where = self.host_where.get(host, src)

            def get(
                *keys: str,
                host: str = host,
                merged: dict[str, Any] = merged,
                origin: dict[str, str] = origin,
            ) -> Any:
                for key in keys:
                    if merged.get(key) not in (None, ""):
                        return _render(key, merged[key], merged, host, origin.get(key, src))
                return None

            def came(*keys: str, default: str, origin: dict[str, str] = origin) -> str:
                return next((f"{origin[k]} ({k})" for k in keys if k in origin), default)

            roles: list[str] = []
            role_groups: list[str] = []
            for group in sorted(groups):
                mapped = [r for r in GROUP_ROLES.get(group, ()) if r not in roles]
                roles.extend(mapped)
                if GROUP_ROLES.get(group):
                    role_groups.append(group)
            roles_from = f"groups {','.join(role_groups)}" if role_groups else "no mapped group"
            if "afterboot_roles" in merged:
                roles = [r.strip() for r in str(merged["afterboot_roles"]).split(",") if r.strip()]
                roles_from = came("afterboot_roles", default="")
            conn_name = str(get("ansible_connection") or "ssh")
            common = str(get("ansible_ssh_common_args") or "")
            extra = str(get("ansible_ssh_extra_args") or "")
            try:
                ssh_args = tuple(shlex.split(common) + shlex.split(extra))
            except ValueError as exc:
                raise InputError(f"host {host}: ssh arguments: {exc}", where) from None
            fields: dict[str, Any] = {
                "address": get("ansible_host", "ansible_ssh_host") or host,
                "roles": roles,
                "connection": _CONNECTION.get(conn_name, conn_name),
                "user": get("ansible_user", "ansible_ssh_user"),
                "port": get("ansible_port", "ansible_ssh_port"),
                "key": get("ansible_ssh_private_key_file", "ansible_private_key_file"),
                "service_manager": get("afterboot_service_manager") or "systemd",
                "container_engine": get("afterboot_container_engine", "kolla_container_engine"),
            }
            jump = _proxy_jump(ssh_args)
            if jump:
                fields["jump"] = jump
            if fields["connection"] in ("docker", "podman"):
                fields["container"] = fields["address"]
            # `where` already names the line where the host was declared
            line = 0 if where.startswith(f"{src}:") else self.host_lines.get(host, 0)
            spec = host_spec(host, fields, where, line, base)
            origins = {
                "host": where,
                "address": came("ansible_host", "ansible_ssh_host", default="inventory name"),
                "port": came("ansible_port", "ansible_ssh_port", default="default"),
                "user": came("ansible_user", "ansible_ssh_user", default="default"),
                "connection": came("ansible_connection", default="default"),
                "roles": roles_from,
                "key": came("ansible_ssh_private_key_file", default="default"),
                "become": came("ansible_become", default="default"),
                "ssh_args": came("ansible_ssh_common_args", "ansible_ssh_extra_args", default=""),
            }
            specs[host] = dataclasses.replace(
                spec,
                become=_truthy(get("ansible_become")),
                become_user=str(get("ansible_become_user") or "") or None,
                ssh_args=ssh_args,
                origins=origins,
            )
        if not specs:
            raise InputError("Ansible inventory has no hosts", src, 1)
        return Inventory(specs, src)


def _render(key: str, value: Any, merged: Mapping[str, Any], host: str, where: str) -> Any:
    """Resolve ``{{ var }}`` from the host's variables; refuse any other template."""
    names = {"inventory_hostname": host, "inventory_hostname_short": host.split(".")[0]}
    for _ in range(10):
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value

        def lookup(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in names:
                return names[name]
            if name in merged and merged[name] is not None:
                return str(merged[name])
            return m.group(0)

        rendered = _SIMPLE_TEMPLATE.sub(lookup, value)
        if rendered == value:
            break
        value = rendered
    raise InputError(
        f"host {host}: {key} is a template ({value!r}) afterboot cannot resolve; "
        "give a literal value or read the inventory through ansible-core's templating",
        where,
    )


def _proxy_jump(words: Sequence[str]) -> str | None:
    for i, word in enumerate(words):
        if word == "-J" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("ProxyJump=") or word.startswith("-oProxyJump="):
            return word.split("=", 1)[1]
        if word == "-o" and i + 1 < len(words) and words[i + 1].startswith("ProxyJump="):
            return words[i + 1].split("=", 1)[1]
    return None


def _value(text: str) -> Any:
    """A ``[group:vars]`` value: the rest of the line, one pair of enclosing quotes removed."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            words = shlex.split(text)
        except ValueError:
            return text
        return words[0] if len(words) == 1 else text
    return text


def from_ini(text: str, src: str, base: Path) -> Inventory:
    groups = _Groups(src, [base])
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            m = _SECTION.match(line)
            if not m:
                raise InputError(f"malformed INI section header {line!r}", src, number)
            section, kind = m.group(1), m.group(2) or "hosts"
            groups.hosts.setdefault(section, [])
            continue
        if kind == "children":
            groups.children.setdefault(section, []).append(line.split()[0])
        elif kind == "vars":
            if "=" not in line:
                raise InputError(f"[{section}:vars] expects key=value, got {line!r}", src, number)
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
                        f"host {words[0]}: expected key=value, got {word!r}", src, number
                    )
                key, _, value = word.partition("=")
                hvars[key] = value
            _add_pattern(groups, section, words[0], hvars, number)
    return groups.inventory(base)


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
            f"group {name}: unknown key {key!r} (expected hosts, children, vars)",
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


def from_yaml(data: LineDict, src: str, base: Path) -> Inventory:
    groups = _Groups(src, [base])
    for name, body in data.items():
        _walk_yaml(groups, str(name), body, src, data.line_of(name))
    return groups.inventory(base)


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


def from_list(
    data: Mapping[str, Any], src: str, base: Path, vars_dirs: Sequence[Path] = ()
) -> Inventory:
    """Groups, group vars and ``_meta.hostvars`` of ``--list`` JSON into an Inventory."""
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
            raise InputError(f"group {name}: expected hosts/children/vars, got {body!r:.60}", src)
        hosts, kids, gvars = body.get("hosts") or [], body.get("children") or [], body.get("vars")
        if not isinstance(hosts, list) or not isinstance(kids, list):
            raise InputError(f"group {name}: hosts and children must be lists", src)
        groups.hosts.setdefault(str(name), [])
        groups.children.setdefault(str(name), []).extend(str(k) for k in kids)
        if isinstance(gvars, Mapping):
            groups.add_group_vars(str(name), gvars, f"{src} group {name} vars")
        for host in hosts:
            if not isinstance(host, str):
                raise InputError(f"group {name}: host {host!r:.60} is not a host name", src)
            own = hostvars.get(host) or {}
            groups.add_host(str(name), str(host), own if isinstance(own, Mapping) else {}, 0)
    for host, own in hostvars.items():  # hosts only in _meta are members of "all"
        if str(host) not in groups.host_vars and isinstance(own, Mapping):
            groups.add_host("ungrouped", str(host), own, 0)
    return groups.inventory(base)


def _run_bounded(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a dynamic inventory (or ansible-inventory) in a process group of its own, and
    at the deadline kill the whole group: a child it started and left holding its output
    would otherwise keep the run waiting (and running) past the timeout."""
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=INVENTORY_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _json_output(argv: list[str], src: str, what: str, prefer: str = "") -> Any:
    env = {**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_NOCOLOR": "1"}
    try:
        done = _run_bounded(argv, env)
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
                return line.removeprefix("[WARNING]: ")[:300]
    return (lines[-1] if lines else "no message")[:300]


def _vars_dirs(path: Path) -> list[Path]:
    return [path] if path.is_dir() else [path.parent]


def through_ansible(path: Path, command: str, text: str | None = None) -> Inventory:
    """Any inventory source, as ``ansible-inventory --list --export`` reads it."""
    src = str(path)
    if _executable(path):
        prefer = "script"
    elif text is not None:
        prefer = "ini" if looks_like_ini(text) else "yaml"
    else:
        prefer = ""
    data = _json_output(
        [command, "-i", src, "--list", "--export"],
        src,
        f"{ANSIBLE_INVENTORY} -i {src} --list",
        prefer,
    )
    if not isinstance(data, Mapping):
        raise InputError(f"{ANSIBLE_INVENTORY} printed no inventory", src)
    return from_list(data, src, path if path.is_dir() else path.parent, _vars_dirs(path))


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _from_script(path: Path) -> Inventory:
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
    return from_list(data, src, path.parent, [path.parent])


def load(path: Path, text: str | None = None) -> Inventory:
    """An Ansible inventory source: through ``ansible-inventory`` if on PATH, else by hand."""
    src = str(path)
    if text is None and path.is_file() and not _executable(path):
        try:
            text = read_text(path)
        except InputFileError as exc:
            raise InputError(str(exc), src) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read inventory: {exc}", src) from None
    if text is not None and text.lstrip().startswith("{"):
        try:
            listed = json.loads(text)
        except ValueError:
            listed = None
        if is_list_form(listed):
            return from_list(listed, src, path.parent, [path.parent])
    command = shutil.which(ANSIBLE_INVENTORY)
    if command:
        try:
            return through_ansible(path, command, text)
        except InputError:
            if text is not None:
                _by_hand(text, path)  # Ansible names no line: ours does, if it finds the fault
            raise
    if path.is_dir():
        raise InputError(
            f"a directory inventory is read through {ANSIBLE_INVENTORY}, which is not on PATH "
            "(pip install 'afterboot[ansible]')",
            src,
        )
    if _executable(path):
        return _from_script(path)
    assert text is not None
    return _by_hand(text, path)


def _by_hand(text: str, path: Path) -> Inventory:
    src = str(path)
    if looks_like_ini(text):
        return from_ini(text, src, path.parent)
    data = load_yaml(text, src)
    if not isinstance(data, LineDict):
        raise InputError("inventory must be a YAML mapping or an Ansible INI inventory", src, 1)
    return from_yaml(data, src, path.parent)
