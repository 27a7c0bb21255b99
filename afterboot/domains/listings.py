"""Listings of a backend's store made from a host, each framed with its own status.

A read that lists several stores in one command (cinder's RBD pools, glance's stores)
prints, for each, a part: the tool's errors, a status line (``RC <exit status>``), then
what it listed, one entry a line. One store that could not be listed is that store's
error, never an empty store, and the others still count.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from afterboot.domains.config import ConfigSyntaxError
from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import PART, parts, unexpected, whole_parts
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote

RC = "@@afterboot-rc"  # the line after a listing's errors and before its entries: its status
LIST_S = 5  # one listing's bound: a healthy store lists in a tenth of a second
TIMED_OUT = (124, 137)


@dataclass(frozen=True)
class Listing:
    """What listing one store gave: its entries, or why there are none."""

    entries: tuple[str, ...]
    error: str = ""  # the listing failed: this, not an empty store


def framed(commands: list[tuple[str, str]]) -> str:
    """Each ``(name, command)`` run bounded (:data:`LIST_S`), as a part: its stderr, its
    status line, its stdout."""
    return "; ".join(
        f"echo {shlex.quote(f'{PART} {name}')}; "
        f"{{ out=$(timeout -k 1 {LIST_S} {command} 2>&3); rc=$?; }} 3>&1; "
        f'echo "{RC} $rc"; [ -z "$out" ] || printf \'%s\\n\' "$out"'
        for name, command in commands
    )


def unframed(
    text: str, names: list[str], host: str, read: str, slow: str = ""
) -> dict[str, Listing]:
    """Each named listing from the read's output. A name the output has no part for, or a
    part without its status line, is could-not-run (:func:`unexpected`); a listing whose
    command failed is its :class:`Listing` with the error (``slow``: why it may not answer
    in time)."""
    listed = parts(text)
    got = {}
    for name in names:
        if name not in listed:
            raise unexpected(host, read, f"no listing of {name}")
        errors, sep, rest = listed[name].partition(RC + " ")
        status, _, entries = rest.partition("\n")
        if not sep or not status.strip().isdigit():
            raise unexpected(host, read, listed[name][:80])
        if int(status) == 0:
            got[name] = Listing(tuple(e.strip() for e in entries.splitlines() if e.strip()))
        elif int(status) in TIMED_OUT:
            got[name] = Listing((), f"no answer within {LIST_S} s{slow}")
        else:
            got[name] = Listing((), " ".join(errors.split())[:200] or f"exited {status}")
    return got


def list_from(
    read: str,
    file: str,
    configs: ReadResult | None,
    commands: Callable[[dict[str, str]], list[tuple[str, str]]],
) -> str | ReadResult:
    """A listing read's command, made from the host's ``configs`` read (``commands``: the
    stores its configuration enables, as ``(name, command)``); its result where no command
    is needed: configs that could not be read, or a ``file`` that does not parse, fail it
    too (no listing is not an empty store), a host that enables none has nothing to list."""
    if configs is None or configs.rc != 0:
        return ReadResult(read, 1, "", "its configuration could not be read")
    try:
        listed = commands(parts(configs.stdout))
    except ConfigSyntaxError as exc:
        return ReadResult(read, 1, "", f"{file} does not parse: {exc}")
    return framed(listed) if listed else ReadResult(read, 0, "")


def unparsable(host: str, file: str, error: Exception) -> CouldNotRun:
    """Could-not-run for a configuration that does not parse: what it enables is not known
    (never "nothing enabled")."""
    return CouldNotRun(f"host {host}: its {file} does not parse", str(error))


def config_files(remote: Remote) -> dict[str, str]:
    """The host's ``configs`` read as files (path -> text). A read that is not the files
    it frames is could-not-run, never "no such file"."""
    return whole_parts(remote.read("configs").stdout, remote.name, "configs")
