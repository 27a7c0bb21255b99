"""The Prometheus textfile: one run's results in node_exporter's text format.

Plain module. :func:`render` turns :class:`Result` rows into the exposition format (HELP and
TYPE once per metric, samples grouped under them, label values escaped);
:func:`last_successes` reads the previous file back, so a check that fails now keeps the
time it last passed; :func:`write_atomically` writes a temporary file beside the target
and renames it over, so the collector never reads half a file (its name does not end in
``.prom``, which node_exporter's textfile collector skips).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

OUTCOMES = ("passed", "failed", "broken", "could_not_run", "waived", "blocked", "skipped")
PREFIX = "afterboot"
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Result:
    """One check on one host (host "" for a cloud-wide check) in this run."""

    check: str
    host: str
    tier: str
    severity: str
    outcome: str  # one of OUTCOMES
    seconds: float


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def render(
    results: Sequence[Result],
    phase: str,
    now: float,
    previous: Mapping[tuple[str, str], float],
) -> str:
    """The textfile for this run; ``previous`` holds last-success times by (check, host)."""
    rows = sorted(results, key=lambda r: (int(r.tier) if r.tier.isdigit() else 0, r.check, r.host))
    out: list[str] = []

    def metric(name: str, kind: str, doc: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {PREFIX}_{name} {doc}")
        out.append(f"# TYPE {PREFIX}_{name} {kind}")
        out.extend(f"{PREFIX}_{name}{labels} {_number(v)}" for labels, v in samples)

    def ident(r: Result) -> list[tuple[str, str]]:
        return [("check", r.check), ("host", r.host)]

    metric(
        "check_outcome",
        "gauge",
        "1 for the outcome of the check on the host in the last run, 0 for the others.",
        [
            (
                _labels(
                    [
                        *ident(r),
                        ("tier", r.tier),
                        ("severity", r.severity),
                        ("phase", phase),
                        ("outcome", o),
                    ]
                ),
                1.0 if r.outcome == o else 0.0,
            )
            for r in rows
            for o in OUTCOMES
        ],
    )
    metric(
        "check_duration_seconds",
        "gauge",
        "Seconds the check took on the host in the last run (setup, call and teardown).",
        [(_labels(ident(r)), round(r.seconds, 6)) for r in rows],
    )
    last: list[tuple[str, float]] = []
    for r in rows:
        when = now if r.outcome == "passed" else previous.get((r.check, r.host))
        if when is not None:
            last.append((_labels(ident(r)), when))
    metric(
        "check_last_success_timestamp_seconds",
        "gauge",
        "Unix time the check last passed on the host (kept from earlier runs while it fails).",
        last,
    )
    metric(
        "last_run_timestamp_seconds",
        "gauge",
        "Unix time the last afterboot run ended.",
        [(_labels([("phase", phase)]), now)],
    )
    return "\n".join(out) + "\n"


def parse_labels(text: str) -> dict[str, str]:
    return {m.group("key"): unescape(m.group("value")) for m in _LABEL.finditer(text or "")}


def last_successes(text: str) -> dict[tuple[str, str], float]:
    """Last-success times by (check, host) from a previous textfile ('' gives none)."""
    found: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or m.group("name") != f"{PREFIX}_check_last_success_timestamp_seconds":
            continue
        labels = parse_labels(m.group("labels"))
        try:
            found[(labels.get("check", ""), labels.get("host", ""))] = float(m.group("value"))
        except ValueError:
            continue
    return found


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
