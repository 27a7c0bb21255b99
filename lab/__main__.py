"""`python -m lab VERB`: install, up, down, status, reboot HOST, fault ...,
reset-instance NAME, run, exec, wait-package-lock."""

from __future__ import annotations

import argparse
import os
import sys
import time

from .shell import LabError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab")
    ap.add_argument("--state", help="state dir (default lab/.state or $AFTERBOOT_LAB_STATE)")
    sub = ap.add_subparsers(dest="verb", required=True)
    sub.add_parser("install", help="what the lab needs installed (apt, venv), nothing started")
    sub.add_parser("up")
    sub.add_parser("down")
    sub.add_parser("status")
    sub.add_parser("wait-package-lock", help="wait (bounded) until apt/dpkg hold no lock")
    rb = sub.add_parser("reboot")
    rb.add_argument("host")
    fl = sub.add_parser("fault")
    fl.add_argument("action", choices=["list", "inject", "heal"])
    fl.add_argument("name", nargs="*")
    rn = sub.add_parser("run")
    rn.add_argument("pytest_args", nargs=argparse.REMAINDER)
    ri = sub.add_parser("reset-instance", help="destroy, reset state, hard reboot")
    ri.add_argument("name", nargs="+")
    ex = sub.add_parser("exec")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    if a.verb == "run":
        return run_suite(
            a.state, a.pytest_args[1:] if a.pytest_args[:1] == ["--"] else a.pytest_args
        )
    if a.verb == "wait-package-lock":
        from .install import wait_for_package_lock

        try:
            wait_for_package_lock()
        except LabError as exc:
            print(f"[lab] error: {exc}", file=sys.stderr)
            return 1
        return 0
    from .lab import Lab

    lab = Lab(a.state)
    t0 = time.monotonic()
    try:
        if a.verb == "install":
            lab.install()
            print(f"[lab] install: {time.monotonic() - t0:.1f}s")
        elif a.verb == "up":
            lab.up()
        elif a.verb == "down":
            lab.down()
            print(f"[lab] down: {time.monotonic() - t0:.1f}s")
        elif a.verb == "status":
            ok = True
            for host, st in lab.status().items():
                procs = st["processes"]
                assert isinstance(procs, dict)
                down = [n for n, alive in procs.items() if not alive]
                ok = ok and bool(st["reachable"]) and not down
                print(
                    f"{host:11} {'up' if st['up'] else 'DOWN':4} "
                    f"ssh={'ok' if st['reachable'] else 'NO'} "
                    f"processes {len(procs) - len(down)}/{len(procs)}"
                    + (f" down: {', '.join(down)}" if down else "")
                )
            return 0 if ok else 1
        elif a.verb == "reboot":
            lab.reboot(a.host)
            print(f"[lab] reboot {a.host}: {time.monotonic() - t0:.1f}s")
        elif a.verb == "fault":
            from . import faults

            if a.action == "list":
                for name, f in sorted(faults.REGISTRY.items()):
                    print(f"{name:32} {f.description}")
            elif not a.name:
                ap.error("fault inject|heal needs a NAME")
            elif a.action == "inject":
                for name in a.name:
                    lab.inject(name)
            else:
                lab.heal_all(a.name)
        elif a.verb == "reset-instance":
            lab.reset_instances(a.name)
            print(f"[lab] reset {', '.join(a.name)}: {time.monotonic() - t0:.1f}s")
        elif a.verb == "exec":
            cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
            if not cmd:
                ap.error("exec needs a command")
            return lab.operator_run(cmd, check=False, capture=False, timeout=86400).returncode
    except LabError as exc:
        print(f"[lab] error: {exc}", file=sys.stderr)
        return 1
    return 0


def run_suite(state_arg: str | None, args: list[str]) -> int:
    """The suite against the lab, brought up first if no host is. This process becomes
    the suite's (exec): the wrapper costs the operator no second interpreter, and imports
    the lab's machinery only to bring it up."""
    from .config import LAB_DIR, operator_env, state_dir, suite_command
    from .hosts import Hosts

    state = state_dir(state_arg)
    if not Hosts(state).any_up():
        from .lab import Lab

        try:
            Lab(state_arg).up()
        except LabError as exc:
            print(f"[lab] error: {exc}", file=sys.stderr)
            return 1
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(LAB_DIR.parent)
    os.execvpe("ip", suite_command(state, args), operator_env(state))
    return 127  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
