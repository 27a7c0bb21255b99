"""Wait until the cloud is really green: services reported since a given time."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

import openstack


def parse(ts: str | None) -> float:
    if not ts:
        return 0.0
    t = dt.datetime.fromisoformat(ts.replace("Z", ""))
    return t.replace(tzinfo=dt.UTC).timestamp()


def problems(
    conn: openstack.connection.Connection,
    since: float,
    expect: list[str],
    only: bool = False,
    slack: float = 5.0,
) -> list[str]:
    bad: list[str] = []
    conn.identity.get_token()  # keystone
    if not only:
        list(conn.image.images(limit=1))
        list(conn.network.networks(limit=1))
    seen: dict[str, tuple[str, float]] = {}
    for s in conn.compute.services():
        seen[f"{s.binary}@{s.host}"] = (s.state, parse(s.updated_at))
    try:
        for s in conn.block_storage.services():
            seen[f"{s.binary}@{s.host}"] = (s.state, parse(s.updated_at))
    except Exception as exc:  # noqa: BLE001
        bad.append(f"cinder services: {exc}")
    for want in expect:
        if want == "swift":
            try:
                conn.object_store.get_account_metadata()
            except Exception as exc:  # noqa: BLE001
                bad.append(f"swift: {exc}")
            continue
        got = seen.get(want)
        if got is None:
            bad.append(f"{want}: not registered")
        elif got[0] != "up" or got[1] < since - slack:
            bad.append(f"{want}: {got[0]}, updated {got[1] - since:+.0f}s after start")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--since", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=240)
    # how much earlier than --since a report may be and still count: none after a
    # restart (a report before it came from the process that was stopped)
    ap.add_argument("--slack", type=float, default=5.0)
    ap.add_argument("--only", action="store_true", help="just these services, no API probes")
    ap.add_argument("expect", nargs="*")
    a = ap.parse_args()
    conn = openstack.connect(cloud="afterboot-lab")
    deadline = time.monotonic() + a.timeout
    last: list[str] = ["not checked"]
    while time.monotonic() < deadline:
        try:
            last = problems(conn, a.since, a.expect, a.only, a.slack)
        except Exception as exc:  # noqa: BLE001
            last = [repr(exc)]
        if not last:
            print("green")
            return 0
        time.sleep(3)
    print("NOT green: " + "; ".join(last), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
