"""``afterboot``: the suite from any directory. It runs this checkout's checks
(``tests_cloud/``) with the options given, as ``pytest tests_cloud ...`` does from inside
the checkout: ``afterboot --inventory=site/inventory.yaml --os-cloud=prod``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CHECKS = Path(__file__).resolve().parent.parent / "tests_cloud"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not CHECKS.is_dir():
        sys.stderr.write(
            f"ERROR: afterboot: no checks beside this package ({CHECKS}): install afterboot "
            "from its checkout (pip install -e .)\n"
        )
        return int(pytest.ExitCode.USAGE_ERROR)
    return int(pytest.main([str(CHECKS), *args]))


if __name__ == "__main__":
    sys.exit(main())
