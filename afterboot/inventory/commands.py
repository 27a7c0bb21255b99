"""The Ansible commands afterboot runs (never imports): ``ansible-inventory`` and
``ansible-vault``, and a site's dynamic inventory scripts.

A command is looked up beside the running interpreter first (the virtualenv afterboot is
installed in, where ``pip install 'afterboot[ansible]'`` put ansible-core), then on PATH:
which Ansible reads the inventory never depends on PATH alone. Each runs in a process
group of its own and is killed whole at its deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

INSTALL_HINT = "pip install 'afterboot[ansible]'"


def tool(name: str) -> str | None:
    """The command ``name``: beside ``sys.executable``, else on PATH, else None."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def run_bounded(
    argv: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a command in a process group of its own, and at the deadline kill the whole
    group: a child it started and left holding its output would otherwise keep the run
    waiting (and running) past the timeout. Raises ``subprocess.TimeoutExpired``."""
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
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)
