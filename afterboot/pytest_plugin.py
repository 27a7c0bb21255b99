"""afterboot's pytest plugins, in the one order the suite relies on, for any pytest run:
this checkout's (its root ``conftest.py`` names this module) and a site's own pytest
repository's: ``pytest_plugins = ["afterboot.pytest_plugin"]`` in its root conftest.py
(registered where this checkout registers them: after every plugin the environment
loads), or ``-p afterboot.pytest_plugin`` on its command line or in its ``addopts``
(registered before the environment's entry-point plugins; the same order among
afterboot's own).

No ``pytest11`` entry point loads it: an entry point would load every afterboot plugin
into every pytest run of the environment afterboot is installed in (afterboot's own tests
among them) and, in this checkout, register them once more before the root conftest
names them, among the other entry points in an order of the installer's. The verdict's
order is declared in :mod:`afterboot.pipeline`, not here; for other hooks of the same
priority pytest calls the last registered first.
"""

pytest_plugins = [
    "plugins.options",
    "plugins.redaction",
    # a saved snapshot judged instead of the cloud read (its inventory among it)
    "plugins.offline",
    # the hosts and how to reach them
    "fixtures.inventory",
    "plugins.inventory",
    "fixtures.connections",
    # what the checks judge: read once, before the first check
    "fixtures.database",
    "fixtures.collection",
    "plugins.collection",
    "fixtures.cloud",
    "plugins.cloud",
    "fixtures.nova",
    "fixtures.placement",
    "fixtures.usage",
    # which checks run, and where
    "plugins.identity",
    "plugins.hostlist",
    # the verdict, and what its stages keep
    "plugins.verdict",
    "plugins.outcomes",
    "plugins.hosts",
    "fixtures.findings",
    "plugins.procedure_book",
    "plugins.evidence",
    "plugins.blocking",
    "plugins.settle",
    "plugins.manifest",
    "plugins.remediation",
    "plugins.waivers",
    "plugins.compare",
    "fixtures.compare",
    "plugins.exitstatus",
    "plugins.prometheus",
    # what a phase needs; the configuration baseline writer
    "plugins.phases",
    "plugins.baseline",
]
