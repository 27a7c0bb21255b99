"""A check's result as the verdict carries it: an :class:`Entry` per failed, blocked,
waived or could-not-run check run (from xdist workers to the controller, as a user property),
and the outcome names every report uses."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from afterboot.checks.findings import Finding
from afterboot.redact import redact

FAILED, COULD_NOT_RUN, BLOCKED = "failed", "could-not-run", "blocked"
WAIVED = "waived"  # a failure a site waiver accepts until its expiry (afterboot/verdict/waivers.py)
BROKEN = "broken"  # an unexpected exception: a bug in the check, not a verdict on the cloud
ENTRY_PROPERTY = "afterboot"  # the user property carrying an Entry as JSON
NEW_PROPERTY = "new"  # "true"/"false": failing, or not, in the compared run (--compare)


@dataclass(frozen=True)
class Entry:
    check: str
    tier: int
    nodeid: str
    host: str = ""
    outcome: str = FAILED
    message: str = ""
    blocked_by: str = ""
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    waiver: str = ""  # waived: the waiver(s) applied; failed: the waiver(s) that expired
    cause: str = (
        ""  # the cause a log signature named (afterboot/procedures/signatures.py): "id: text"
    )
    new: bool | None = None  # --compare: not failing in the compared run (None: no compare)
    # the service the cause lies in, where it is another's (afterboot/verdict/roots.py),
    # and the hosts that run it
    root: str = ""
    root_hosts: tuple[str, ...] = ()

    def to_json(self) -> str:
        data = asdict(self)
        data["findings"] = [f.to_dict() for f in self.findings]
        if self.new is None:
            del data["new"]
        return redact(json.dumps(data, sort_keys=True))

    @classmethod
    def from_json(cls, text: str) -> Entry:
        data = json.loads(text)
        data["findings"] = tuple(Finding.from_dict(f) for f in data.get("findings", ()))
        data["root_hosts"] = tuple(data.get("root_hosts", ()))
        return cls(**data)
