"""The ``containers`` read of a kolla-style host, parsed: every container docker or podman
knows on the host, the image each runs, what its image name resolves to now, and the
``kolla-<name>-container`` units that start them (podman under systemd).

The read (:func:`script`) is one round trip, composed into the host's one script::

    engine podman
    <name> <status> <exit code> <restarts> <started at> <image id> <image name>
        <health> <health log JSON> <health test JSON>         (one line, tab-separated)
    @@afterboot-part images
    <repository:tag>\\t<image id>
    @@afterboot-part units
    <systemctl show of the kolla-<name>-container units and the host's own (dbus)>

One inspect template serves both engines: podman's inspect carries docker's fields
(``.Config.Image``, ``.State.Health``, ``.RestartCount``); docker's ``.Name`` starts with
``/``, its ids with ``sha256:`` and its ``StartedAt`` is RFC 3339 where podman prints Go's
``2026-11-29 08:52:04.84 +0000 UTC``. Snapshots of the older read (``name status restarts
health``, blank-separated) still parse.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from afterboot.domains.servicemap import host_services, service
from afterboot.domains.units import unit_blocks
from afterboot.inventory.kollatags import KollaTags
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import PART, HostRead, engine_setup, register, unexpected
from afterboot.redact import redact

# One line per container, tab-separated; JSON fields carry no raw tab or newline.
INSPECT_FORMAT = "\t".join(
    (
        "{{.Name}}",
        "{{.State.Status}}",
        "{{.State.ExitCode}}",
        "{{.RestartCount}}",
        "{{.State.StartedAt}}",
        "{{.Image}}",
        "{{.Config.Image}}",
        "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
        "{{if .State.Health}}{{json .State.Health.Log}}{{end}}",
        "{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}",
        "{{.HostConfig.RestartPolicy.Name}}",
    )
).replace("\t", '{{"\\t"}}')
IMAGES_FORMAT = '{{.Repository}}:{{.Tag}}{{"\\t"}}{{.ID}}'
UNIT_PROPS = (
    "--property=Id,ActiveState,SubState,NRestarts,ExecMainStartTimestamp,UnitFileState --no-pager"
)
HEALTH_OUTPUT_CHARS = 300


def _host_units(spec: HostSpec) -> str:
    """The units of the host's services: kolla's ``kolla-<name>-container`` of each
    container (podman), the service's own where it runs on the host itself (d-bus)."""
    units = []
    for svc in (service(n) for n in host_services(spec)):
        units += [unit_of(c) for c in svc.containers if "*" not in c] or list(svc.units)
    return " ".join(shlex.quote(u) for u in dict.fromkeys(units))


def script(spec: HostSpec) -> str:
    """The ``containers`` read: read-only (ps, inspect, images, systemctl show).

    A failing ``ps`` or ``images`` fails the read (no container, no image are answers it
    cannot give); so does an ``inspect`` that answered nothing (one that names the others
    and errs on a container removed since ``ps`` is an answer)."""
    units = _host_units(spec)
    return (
        engine_setup(spec)
        + 'echo "engine $rt"; ids=$("$rt" ps -aq) || exit $?; '
        + 'if [ -n "$ids" ]; then '
        + f'o=$("$rt" inspect --format {shlex.quote(INSPECT_FORMAT)} $ids) || '
        + '{ r=$?; [ -n "$o" ] || exit "$r"; }; '
        + "printf '%s\\n' \"$o\"; fi; "
        + f'echo "{PART} images"; '
        + f'"$rt" images --no-trunc --format {shlex.quote(IMAGES_FORMAT)} || exit $?; '
        + f'echo "{PART} units"; '
        + "command -v systemctl >/dev/null 2>&1 && "
        + f"{{ systemctl show --timestamp=unix {UNIT_PROPS} {units} "
        + f"2>/dev/null || systemctl show {UNIT_PROPS} {units}; }} "
        + "2>/dev/null; true"
    )


def unit_of(container: str) -> str:
    """kolla's unit of a container on podman hosts: ``kolla-nova_compute-container.service``."""
    return f"kolla-{container}-container.service"


@dataclass(frozen=True)
class Container:
    name: str
    status: str  # created, running, paused, restarting, exited, dead (both engines)
    exit_code: int = 0
    restarts: int = 0  # the engine's restart policy's count (docker; podman --restart)
    started_at: float | None = None  # unix time; None: never started
    image: str = ""  # the image id it runs, without "sha256:"
    image_name: str = ""  # the name it was created from
    health: str = ""  # healthy, unhealthy, starting; "": no health check
    health_output: str = ""  # the last health check's output, one line, short
    health_test: str = ""  # the health check's command
    # docker's restart policy (kolla: unless-stopped): "no" is not started with the
    # engine at the next boot; "" unknown (a snapshot read before it was read)
    restart_policy: str = ""

    @property
    def unit(self) -> str:
        """The systemd unit kolla starts it with on podman hosts."""
        return unit_of(self.name)

    @property
    def project(self) -> str:
        """kolla-ansible's tag for it (``nova_compute`` -> ``nova``)."""
        return self.name.split("_")[0].split("-")[0]


@dataclass(frozen=True)
class ContainerRead:
    engine: str = ""
    containers: dict[str, Container] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # normalised name -> id now
    units: dict[str, dict[str, str]] = field(default_factory=dict)  # by unit Id

    def resolves_to(self, container: Container) -> str | None:
        """The id the container's image name resolves to now on the host; None: unknown."""
        return self.images.get(image_key(container.image_name))


def _id(text: str) -> str:
    return text.strip().removeprefix("sha256:")


def image_key(name: str) -> str:
    """An image name as both engines list it: ``nginx`` -> ``docker.io/library/nginx:latest``;
    a digest reference (``name@sha256:...``) stays as it is (no tag resolves it)."""
    name = name.strip()
    if not name or "@" in name:
        return name
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    tag = tag or "latest"
    first = repo.split("/", 1)[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    elif not ("." in first or ":" in first or first == "localhost"):
        repo = f"docker.io/{repo}"
    return f"{repo}:{tag}"


_STAMP = re.compile(
    r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?",
)


def timestamp(text: str) -> float | None:
    """docker's RFC 3339 or podman's Go time as unix time; the zero time: None."""
    m = _STAMP.match(text.strip())
    if not m or m.group(1).startswith("0001-"):
        return None
    frac = (m.group(3) or "0")[:6].ljust(6, "0")
    zone = m.group(4) or "Z"
    offset = timedelta()
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        hh, mm = int(zone[1:3]), int(zone[-2:])
        offset = sign * timedelta(hours=hh, minutes=mm)
    local = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{frac}")
    return (local.replace(tzinfo=UTC) - offset).timestamp()


def _health_output(log_json: str) -> str:
    """The last health check's output, on one line and short."""
    try:
        log = json.loads(log_json) if log_json.strip() else None
    except ValueError:
        return ""
    if not isinstance(log, list) or not log or not isinstance(log[-1], dict):
        return ""
    out = " / ".join(s.strip() for s in str(log[-1].get("Output") or "").splitlines() if s.strip())
    out = redact(out)  # a health check's curl may print a URL with its password
    return out if len(out) <= HEALTH_OUTPUT_CHARS else out[: HEALTH_OUTPUT_CHARS - 3] + "..."


def _health_test(test_json: str) -> str:
    """``["CMD-SHELL", "healthcheck_port nova-compute 5672"]`` -> the command."""
    try:
        test = json.loads(test_json) if test_json.strip() else None
    except ValueError:
        return ""
    if not isinstance(test, list) or not test or test[0] == "NONE":
        return ""
    words = [str(w) for w in test[1:]] if test[0] in ("CMD", "CMD-SHELL") else map(str, test)
    return " ".join(words)


def _int(text: str) -> int:
    return int(text) if text.strip().lstrip("-").isdigit() else 0


# the states both engines give a container (docker; podman adds its own)
STATUSES = frozenset(
    {
        "created", "restarting", "running", "removing", "paused", "exited", "dead",
        "configured", "initialized", "stopped", "stopping", "unknown",
    }
)  # fmt: skip
_STATUS = re.compile(r"^[a-z]+$")
_COUNT = re.compile(r"^-?\d*$")


def _well_formed(line: str) -> bool:
    """A container's line as the inspect template prints it (tab-separated: a name, a
    state word, exit code and restarts as numbers), or the older read's ``name status
    [restarts [health]]``."""
    if "\t" in line:
        f = line.split("\t") + [""] * 3
        return bool(
            f[0].strip()
            and _STATUS.match(f[1].strip())
            and _COUNT.match(f[2].strip())
            and _COUNT.match(f[3].strip())
        )
    old = line.split()
    return (
        2 <= len(old) <= 4
        and old[1] in STATUSES
        and (len(old) < 3 or old[2].isdigit())
        and (len(old) < 4 or old[3] in ("healthy", "unhealthy", "starting"))
    )


def _container(line: str) -> Container | None:
    if "\t" in line:
        f = line.split("\t") + [""] * 11
        return Container(
            f[0].strip().lstrip("/"),
            f[1].strip(),
            _int(f[2]),
            _int(f[3]),
            timestamp(f[4]),
            _id(f[5]),
            f[6].strip(),
            f[7].strip(),
            _health_output(f[8]),
            _health_test(f[9]),
            f[10].strip(),
        )
    old = line.split()  # the read before this one: "name status restarts [health]"
    if len(old) < 2:
        return None
    return Container(
        old[0].lstrip("/"),
        old[1],
        restarts=_int(old[2]) if len(old) > 2 else 0,
        health=old[3] if len(old) > 3 else "",
    )


def parse(text: str, host: str = "") -> ContainerRead:
    """The ``containers`` read's output. A line of none of its forms (a container, an
    image ``name<TAB>id``, a unit's ``Property=value``) or a part it has not is
    could-not-run naming it: garbage is no "no container"."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    engine = ""
    for line in text.split("\n"):
        if line.startswith(PART + " "):
            current = line[len(PART) + 1 :].strip()
            if current not in ("images", "units"):
                raise unexpected(host, "containers", line)
            sections[current] = []
        elif not current and line.startswith("engine "):
            engine = line.split(None, 1)[1].strip().rsplit("/", 1)[-1]
        else:
            sections[current].append(line)
    containers = {}
    for line in sections[""]:
        if not line.strip():
            continue
        c = _container(line) if _well_formed(line) else None
        if c is None or not c.name:
            raise unexpected(host, "containers", line)
        containers[c.name] = c
    images = {}
    for line in sections.get("images", []):
        if not line.strip():
            continue
        name, tab, image_id = line.partition("\t")
        if not tab or not name.strip() or not image_id.strip() or "\t" in image_id:
            raise unexpected(host, "containers", line)
        if "<none>" not in name:
            images[image_key(name)] = _id(image_id)
    units = unit_blocks("\n".join(sections.get("units", [])), host, "containers")
    return ContainerRead(engine, containers, images, units)


# What kolla's health checks test, for the remediation (kolla's healthcheck_* scripts).
_HEALTH_MEANINGS = (
    (
        re.compile(r"healthcheck_port\s+(\S+)\s+(\d+)"),
        "{0} holds a TCP connection to port {1} (5672: RabbitMQ)",
    ),
    (re.compile(r"healthcheck_listen\s+(\S+)\s+(\d+)"), "{0} listens on port {1}"),
    (re.compile(r"healthcheck_curl\s+(\S+)"), "{0} answers HTTP"),
    (re.compile(r"virsh\s+version\s+--daemon"), "libvirtd answers virsh on its socket"),
    (re.compile(r"healthcheck_socket\s+(\S+)\s+(\S+)"), "{0} has its socket {1} open"),
)


def health_meaning(test: str) -> str:
    """What a health check tests, in words (kolla's scripts), else its command."""
    for pattern, words in _HEALTH_MEANINGS:
        m = pattern.search(test)
        if m:
            said = words.format(*m.groups())
            return said if "5672" in m.groups() else said.replace(" (5672: RabbitMQ)", "")
    return test


# -- image drift ------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    container: Container
    expected: str  # the image id its name resolves to now / the tag it should run
    actual: str  # the image id it runs / its tag
    basis: str = ""  # why that tag: "globals.yml openstack_tag"; "": most of the others run it


def stale(read: ContainerRead) -> list[Drift]:
    """Containers that run an image other than the one their image name resolves to on
    the host now: a newer image was pulled (an upgrade's pull) and the container was not
    recreated. A name that resolves to nothing (untagged since, a digest) says nothing."""
    out = []
    for c in sorted(read.containers.values(), key=lambda c: c.name):
        now = read.resolves_to(c)
        if now and c.image and now != c.image:
            out.append(Drift(c, now, c.image))
    return out


def tag_of(image_name: str) -> tuple[str, str]:
    """``quay.io/openstack.kolla/nova-compute:2023.1-debian-bookworm`` ->
    (``quay.io/openstack.kolla``, ``2023.1-debian-bookworm``): the deployment's registry
    and namespace, and the release tag."""
    key = image_key(image_name)
    if "@" in key or ":" not in key.rsplit("/", 1)[-1]:
        return "", ""
    repo, _, tag = key.rpartition(":")
    return repo.rsplit("/", 1)[0], tag


def _kolla_groups(read: ContainerRead) -> list[list[tuple[Container, str]]]:
    """The containers of each kolla deployment on the host (images from one registry and
    namespace with ``kolla`` in it), each with its tag, in name order."""
    groups: dict[str, list[tuple[Container, str]]] = {}
    for c in sorted(read.containers.values(), key=lambda c: c.name):
        namespace, tag = tag_of(c.image_name)
        if tag and "kolla" in namespace:
            groups.setdefault(namespace, []).append((c, tag))
    return list(groups.values())


def _off_intended(
    members: list[tuple[Container, str]], tags: KollaTags | None
) -> list[Drift] | None:
    """The containers not on the tag globals.yml gives each (its own override, its
    service's, the deployment's); None where it does not give one for every container."""
    if tags is None:
        return None
    wanted = [(c, tag, tags.of(c.name, c.project)) for c, tag in members]
    if any(w is None for _, _, w in wanted):
        return None
    return [
        Drift(c, w.tag, tag, w.basis)
        for c, tag, w in wanted
        if w is not None and not w.matches(tag)
    ]


def _majority(members: list[tuple[Container, str]]) -> str | None:
    """The tag most of the containers run; None where two tags or more tie for it."""
    counts = Counter(tag for _, tag in members)
    top = counts.most_common()
    if len(top) > 1 and top[0][1] == top[1][1]:
        return None
    return top[0][0]


class Releases(NamedTuple):
    """What the kolla containers of a host say of their release: the containers off the
    tag they should run, and each deployment where no tag is known to be the one."""

    drift: list[Drift]
    # per deployment: its (container, tag) pairs in name order, where they run two tags or
    # more, none run by most, and globals.yml gives none: which one is odd is not known
    ties: list[list[tuple[str, str]]]


def release_tags(read: ContainerRead, tags: KollaTags | None = None) -> Releases:
    """Each kolla deployment on the host judged once: its containers not on the tag
    ``globals.yml`` gives them (``tags``, from ``--kolla-globals``), whatever most of
    them run; without it, those not on the tag most of the others run (a partial
    upgrade); where no tag is run by most, a tie, no container named."""
    drift: list[Drift] = []
    ties: list[list[tuple[str, str]]] = []
    for members in _kolla_groups(read):
        decided = _off_intended(members, tags)
        if decided is not None:
            drift += decided
            continue
        common = _majority(members)
        if common is None:
            ties.append([(c.name, tag) for c, tag in members])
        else:
            drift += [Drift(c, common, tag) for c, tag in members if tag != common]
    return Releases(sorted(drift, key=lambda d: d.container.name), ties)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

register(
    HostRead(
        "containers",
        "every container (docker/podman): state, health, image; image names now; kolla units",
        script,
        engine=True,
    ),
)
