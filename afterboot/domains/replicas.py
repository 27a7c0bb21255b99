"""Which copy of a replicated file is right: the reference host and the odd ones.

Pure functions, no fixtures. A file every swift host holds (a ring, ``swift.conf``) is
compared by checksum; :func:`choose_reference` says which host holds the copy to trust.
The majority wins, but never blindly:

- a tie names no reference (nothing may be copied until a human decides);
- when a ring-builder (proxy) host is among the odd ones, every other node agrees and the
  builder differs: its ring is to be inspected, never copied over the nodes (nor
  overwritten from them) until the builder's state is understood;
- with ring versions known, odd hosts holding a *newer* ring than the majority mean a
  distribution left half done: the majority's older ring is not copied over them.

:meth:`Verdict.findings` gives the finding fields SWIFT-002's procedure reads
(``afterboot/procedures/data/swift.yaml``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

AGREE = "agree"  # every host holds the same copy
NODE_ODD = "node-odd"  # a majority (with the builder) agrees; copy from the reference
BUILDER_ODD = "builder-odd"  # a builder host differs from the majority: inspect it
TIE = "tie"  # no majority: no reference
STALE_MAJORITY = "stale-majority"  # the odd hosts hold a newer ring than the majority
ABSENT = "absent"  # no host holds the file
KINDS = (AGREE, NODE_ODD, BUILDER_ODD, TIE, STALE_MAJORITY, ABSENT)
MISSING = "missing"  # what the checksum read says for a file that is not there


@dataclass(frozen=True)
class Verdict:
    kind: str
    reference: str  # the host whose copy is the reference ("" when none may be named)
    checksum: str  # the reference checksum ("" when none)
    odd: tuple[str, ...]  # hosts whose copy differs from the reference (all, for a tie)
    explanation: str  # one or two sentences for the operator
    builders: tuple[str, ...] = ()  # the builder/proxy hosts taken into account

    @property
    def ok(self) -> bool:
        return self.kind == AGREE

    def findings(
        self, file: str, sums: Mapping[str, str | None], directory: str = "/etc/swift"
    ) -> list[dict[str, str]]:
        """One finding per odd host, as ``findings.add(**fields)`` takes it: subject, host,
        expected, actual, ``said`` (its sentence in the failure message), and the fields
        the procedure selects its steps by (``verdict``, ``file``, ``ring``, ``reference``,
        ``hosts``, ``builder``, ``explanation``)."""
        ring = file.removesuffix(".ring.gz") if file.endswith(".ring.gz") else ""
        source = f", reference {_short(self.checksum)}" if self.checksum else ""
        source += f" from {self.reference}" if self.reference else ""
        if self.kind == BUILDER_ODD:  # the majority's copy, to compare: not one to copy
            source = f", the other nodes hold {_short(self.checksum)}"
        return [
            {
                "said": f"{file} on {host} ({self.kind}: "
                f"{_short(_present(sums.get(host))) or MISSING}{source})",
                "subject": f"{directory}/{file}",
                "host": host,
                "expected": self.checksum or "the copy the builder intends",
                "actual": _present(sums.get(host)) or MISSING,
                "verdict": self.kind,
                "file": file,
                "ring": ring,
                "reference": self.reference,
                "hosts": ", ".join(self.odd),
                "builder": self.builders[0] if self.builders else "",
                "explanation": self.explanation,
            }
            for host in self.odd
        ]


def _present(value: str | None) -> str:
    return "" if value is None or value in ("", MISSING) else value


def _short(checksum: str) -> str:
    return checksum[:8]


def _names(hosts: Collection[str]) -> str:
    return ", ".join(sorted(hosts))


def _hold(hosts: Collection[str]) -> str:
    return f"{_names(hosts)} {'holds' if len(hosts) == 1 else 'hold'}"


def choose_reference(
    sums: Mapping[str, str | None],
    builders: Collection[str] = (),
    versions: Mapping[str, int] | None = None,
) -> Verdict:
    """The reference copy of one file among ``sums`` (host -> checksum; ``None``, ``""``
    or ``"missing"`` when the host lacks it), given the ring-builder (proxy) hosts and, if
    known, each host's ring version (higher is newer)."""
    hosts = sorted(sums)
    builder_hosts = tuple(sorted(h for h in builders if h in sums))
    absent = [h for h in hosts if not _present(sums[h])]
    groups: dict[str, list[str]] = {}
    for h in hosts:
        if _present(sums[h]):
            groups.setdefault(str(sums[h]), []).append(h)
    if not groups:
        return Verdict(ABSENT, "", "", tuple(hosts), "No host holds the file.", builder_hosts)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    checksum, majority = ranked[0]
    if len(ranked) == 1 and not absent:
        return Verdict(
            AGREE, _reference(majority, builder_hosts), checksum, (), "Every host agrees.",
            builder_hosts,
        )  # fmt: skip
    if len(ranked) > 1 and len(ranked[1][1]) == len(majority):
        tied = [f"{_hold(g)} {_short(c)}" for c, g in ranked if len(g) == len(majority)]
        text = f"A tie, no majority: {'; '.join(tied)}."
        if absent:
            text += f" Missing on {_names(absent)}."
        return Verdict(
            TIE, "", "", tuple(hosts), text + _versions_note(versions, hosts), builder_hosts
        )
    odd = tuple(h for h in hosts if h not in majority)
    reference = _reference(majority, builder_hosts)
    differs = [h for h in odd if h not in absent]
    described = (
        f"{len(majority)} of {len(hosts)} hosts hold {_short(checksum)} ({_names(majority)})"
        + (f"; {_hold(differs)} another copy" if differs else "")
        + (f"; missing on {_names(absent)}" if absent else "")
        + "."
    )
    odd_builders = [h for h in builder_hosts if h in odd]
    if odd_builders:
        return Verdict(
            BUILDER_ODD,
            reference,
            checksum,
            odd,
            f"{described} The ring-builder host {_names(odd_builders)} is the odd one: "
            "inspect its builder before anything is copied; never spread its copy to the "
            "nodes, nor overwrite it from them, until you know why it differs."
            + _versions_note(versions, [*odd_builders, reference]),
            builder_hosts,
        )
    if versions:
        ref_version = max(versions.get(h, -1) for h in majority)
        newer = [h for h in differs if versions.get(h, -1) > ref_version]
        if newer and ref_version >= 0:
            return Verdict(
                STALE_MAJORITY,
                "",
                checksum,
                odd,
                f"{described} {_hold(newer)} a newer ring (version "
                f"{max(versions[h] for h in newer)} > {ref_version}): a distribution left "
                "half done. Do not copy the majority's older ring over it; confirm on the "
                "builder which ring is intended and finish distributing that one.",
                builder_hosts,
            )
    return Verdict(
        NODE_ODD,
        reference,
        checksum,
        odd,
        f"{described} Reference: {reference}"
        + (" (the ring-builder host agrees)." if reference in builder_hosts else ".")
        + _versions_note(versions, [*odd, reference]),
        builder_hosts,
    )


def _reference(majority: list[str], builders: tuple[str, ...]) -> str:
    """A builder host of the majority if there is one, else its first host."""
    return next((h for h in majority if h in builders), majority[0])


def _versions_note(versions: Mapping[str, int] | None, hosts: Collection[str]) -> str:
    if not versions:
        return ""
    known = [f"{h} v{versions[h]}" for h in sorted(set(hosts)) if h in versions]
    return f" Ring versions: {', '.join(known)}." if known else ""
