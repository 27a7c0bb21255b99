"""afterboot: the root conftest only names the plugins; their list, in its order, is
:mod:`afterboot.pytest_plugin` (pytest's hooks in ``plugins/``, the fixtures in
``fixtures/``); the work is in the ``afterboot`` package.

The verdict's order is declared in :mod:`afterboot.pipeline`, not here. For other
hooks of the same priority pytest calls the last registered first.
"""

pytest_plugins = ["afterboot.pytest_plugin"]
