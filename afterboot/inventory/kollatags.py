"""The image tag kolla-ansible deploys each container on, as ``globals.yml``
(``--kolla-globals``) says: what KOLLA-002 holds a host's kolla containers to.

kolla-ansible's own defaults (``ansible/group_vars/all.yml``; ``all/common.yml`` and each
role's defaults since 2025.2) chain a container's tag to its service's, its service's to
the deployment's: ``nova_libvirt_tag`` is ``nova_tag``, ``nova_tag`` is
``openstack_tag``, and ``openstack_tag`` is ``openstack_release``, ``-``,
``kolla_base_distro``, ``-``, ``kolla_base_distro_version``, then
``openstack_tag_suffix`` (empty) since Zed's image names (before: the release and the
suffix alone). ``globals.yml`` is passed to kolla-ansible as extra variables, so each one
it sets wins. What it leaves to a default that differs from one kolla-ansible release to
the next is not known here: without ``openstack_release`` (nor a tag) no tag is; without
the distribution or its version, any text stands in their place (``2024.1-*-*``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from afterboot.errors import InputError, shown
from afterboot.inventory.deployers import KollaGlobals

DEPLOYMENT_TAG = "openstack_tag"
RELEASE = "openstack_release"
UNKNOWN = "\x00"  # a part of a tag a default of kolla-ansible's gives: any text
_BLOCK = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TERM = re.compile(r"\s*(?:([A-Za-z_]\w*)|'([^']*)'|\"([^\"]*)\")\s*")
_TAG_TEXT = re.compile(r"[\w.\-]{0,128}", re.ASCII)  # what a container engine takes as a tag
_DEPTH = 8  # variables naming variables, at most (a cycle is an error)
# before Zed, a tag was the release and its suffix; a release named by a number is later
_OLD_SCHEME = re.compile(r"[a-y][a-z]*")


@dataclass(frozen=True)
class Intended:
    """The tag a container should run and the ``globals.yml`` variable that says so."""

    pattern: str  # the tag, a part not known as UNKNOWN
    variable: str  # nova_tag, openstack_tag; openstack_release where the tag is derived

    @property
    def tag(self) -> str:
        """As a finding shows it: ``2024.1-rocky-9``, ``2024.1-*-*``."""
        return self.pattern.replace(UNKNOWN, "*")

    @property
    def basis(self) -> str:
        return f"globals.yml {self.variable}"

    def matches(self, tag: str) -> bool:
        parts = (re.escape(p) for p in self.pattern.split(UNKNOWN))
        return re.fullmatch(".+".join(parts), tag) is not None


@dataclass(frozen=True)
class KollaTags:
    """What ``globals.yml`` says of the deployment's image tags (its variables, checked
    when read: each tag a string whose templates afterboot can resolve)."""

    values: Mapping[str, str]  # the tag variables it sets, as strings
    source: str
    lines: Mapping[str, int] = field(default_factory=dict)

    def of(self, container: str, service: str) -> Intended | None:
        """The tag of ``container`` (``nova_libvirt``) of ``service`` (``nova``): its own
        override, its service's, the deployment's; None where globals.yml does not say
        (neither a tag nor the release)."""
        for name in (f"{container}_tag", f"{service}_tag", DEPLOYMENT_TAG):
            if name in self.values:
                pattern = self._resolve(name, 0)
                known = pattern.replace(UNKNOWN, "").strip("-_.")
                return Intended(pattern, name) if known else None
        if UNKNOWN in self._resolve(RELEASE, 0):
            return None
        return Intended(self._resolve(DEPLOYMENT_TAG, 0), RELEASE)

    def _resolve(self, name: str, depth: int) -> str:
        """A variable's value with its templates resolved, UNKNOWN for what only
        kolla-ansible's defaults say (a variable globals.yml does not set)."""
        if depth > _DEPTH:
            raise InputError(
                f"{name}: its templates name one another in a cycle",
                self.source,
                self.lines.get(name),
            )
        if name in self.values:
            return self._render(name, self.values[name], depth)
        if name == DEPLOYMENT_TAG:
            release = self._resolve(RELEASE, depth + 1)
            suffix = self._resolve("openstack_tag_suffix", depth + 1)
            if _OLD_SCHEME.fullmatch(release) and release != "zed":
                return release + suffix
            distro = self._resolve("kolla_base_distro", depth + 1)
            version = self._resolve("kolla_base_distro_version", depth + 1)
            return f"{release}-{distro}-{version}{suffix}"
        if name == "openstack_tag_suffix":
            return ""
        if name.endswith("_tag"):  # nova_libvirt_tag: nova_tag; nova_tag: openstack_tag
            base = name.removesuffix("_tag")
            up = f"{base.split('_')[0]}_tag" if "_" in base else DEPLOYMENT_TAG
            return self._resolve(up, depth + 1)
        return UNKNOWN

    def _render(self, name: str, text: str, depth: int) -> str:
        def block(m: re.Match[str]) -> str:
            out = []
            for term in m.group(1).split("~"):
                t = _TERM.fullmatch(term)
                if t is None:
                    raise self._template(name, text)
                variable, literal = t.group(1), t.group(2) or t.group(3) or ""
                out.append(self._resolve(variable, depth + 1) if variable else literal)
            return "".join(out)

        if "{%" in text or "{#" in text:
            raise self._template(name, text)
        rendered = re.sub(f"{UNKNOWN}+", UNKNOWN, _BLOCK.sub(block, text))
        if not _TAG_TEXT.fullmatch(rendered.replace(UNKNOWN, "")):
            raise (
                self._template(name, text)
                if "{" in rendered
                else InputError(
                    f"{name} {shown(text)} is not an image tag", self.source, self.lines.get(name)
                )
            )
        return rendered

    def _template(self, name: str, text: str) -> InputError:
        return InputError(
            f"{name} {shown(text)} is a template afterboot cannot resolve; give the tag itself",
            self.source,
            self.lines.get(name),
        )


def _is_tag_variable(name: str) -> bool:
    return name.endswith("_tag") or name in (
        RELEASE,
        "openstack_tag_suffix",
        "kolla_base_distro",
        "kolla_base_distro_version",
    )


def kolla_tags(kolla: KollaGlobals) -> KollaTags:
    """The tag variables of ``globals.yml``, checked: a value that is no string or number
    (a list, a mapping, a boolean), an empty tag or release, a value that is no image tag,
    or a template afterboot cannot resolve is one InputError line naming the file, the
    line and the variable."""
    values: dict[str, str] = {}
    for name, value in kolla.values.items():
        if not isinstance(name, str) or not _is_tag_variable(name):
            continue
        line = kolla.lines.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InputError(f"{name} {shown(value)} is not an image tag", kolla.source, line)
        text = str(value).strip()
        if not text and name != "openstack_tag_suffix":
            raise InputError(f"{name} is empty", kolla.source, line)
        if UNKNOWN in text:
            raise InputError(f"{name} {shown(text)} is not an image tag", kolla.source, line)
        values[name] = text
    tags = KollaTags(values, kolla.source, dict(kolla.lines))
    for name in values:  # every value resolved once now: a bad one fails the load
        tags._resolve(name, 0)
    return tags
