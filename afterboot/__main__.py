"""``python -m afterboot``: the ``afterboot`` command."""

from __future__ import annotations

import sys

from afterboot.cli import main

sys.exit(main())
