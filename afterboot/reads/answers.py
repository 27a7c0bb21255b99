"""Each host's answer to one question, and why the others gave none.

:func:`afterboot.transport.connections.each_answer` leaves out the hosts that could not
answer ("their
own checks say so"); a check that compares hosts, or judges cloud records by their hosts'
state, must not: a host whose read failed is not a host that agrees. :func:`every_answer`
keeps both, and :meth:`Answers.unanswered` is the :class:`CouldNotRun` naming each such
host and its error, for the check to raise once it has said what it could judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from afterboot.errors import CouldNotRun
from afterboot.transport.connections import Remote

T = TypeVar("T")


@dataclass
class Answers(Generic[T]):
    values: dict[str, T] = field(default_factory=dict)  # host -> its answer (None left out)
    failed: dict[str, CouldNotRun] = field(default_factory=dict)  # host -> why not

    def unanswered(self, what: str) -> CouldNotRun:
        """Could-not-run naming every host that did not answer and its error."""
        why = "; ".join(f"{host}: {exc}" for host, exc in sorted(self.failed.items()))
        hosts = ", ".join(sorted(self.failed))
        return CouldNotRun(f"{what}: no answer from {hosts}", why)

    def raise_unanswered(self, what: str) -> None:
        """Raise :meth:`unanswered` if any host did not answer."""
        if self.failed:
            raise self.unanswered(what)


def every_answer(remotes: Iterable[Remote], ask: Callable[[Remote], T | None]) -> Answers[T]:
    """What each host answered (``None``: nothing to say), and each failure by host."""
    got: Answers[T] = Answers()
    for remote in remotes:
        try:
            value = ask(remote)
        except CouldNotRun as exc:
            got.failed[remote.name] = exc
            continue
        if value is not None:
            got.values[remote.name] = value
    return got
